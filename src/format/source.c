/*-------------------------------------------------------------------------
 *
 * source.c
 *	  Byte sources (ranges of a storage object or a memory buffer), byte
 *	  sinks (a storage write stream or a StringInfo), and the buffered,
 *	  decompressing input stream the CSV and JSONL readers pull from.
 *
 * The input stream fetches the object in large ranges (read_ahead_bytes,
 * 8 MB by default) so an S3 object costs size/8MB GETs and memory stays
 * at one range plus one decompression buffer, whatever the object size.
 *
 * IDENTIFICATION
 *	  src/format/source.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "format/format_int.h"
#include "miscadmin.h"
#include "utils/memutils.h"

/* ---- sources ---- */

typedef struct StorageSourceArg
{
	DlakeStorage *st;
	DlakeLocation *loc;
} StorageSourceArg;

static void
storage_source_read(DlakeByteSource *src, int64 offset, int64 len, StringInfo buf)
{
	StorageSourceArg *a = (StorageSourceArg *) src->arg;

	storage_read_range(a->st, a->loc, offset, len, buf);
}

DlakeByteSource *
format_source_from_storage(DlakeStorage *st, const DlakeLocation *loc, int64 size)
{
	DlakeByteSource *src = palloc0(sizeof(DlakeByteSource));
	StorageSourceArg *a = palloc0(sizeof(StorageSourceArg));

	a->st = st;
	a->loc = (DlakeLocation *) loc;
	if (size < 0)
	{
		DlakeObjectInfo info;

		if (!storage_stat(st, loc, &info))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("object %s does not exist", loc->uri)));
		size = info.size;
	}
	src->size = size;
	src->object_name = loc->uri;
	src->read_range = storage_source_read;
	src->arg = a;
	return src;
}

typedef struct MemorySourceArg
{
	const char *data;
} MemorySourceArg;

static void
memory_source_read(DlakeByteSource *src, int64 offset, int64 len, StringInfo buf)
{
	MemorySourceArg *a = (MemorySourceArg *) src->arg;

	appendBinaryStringInfo(buf, a->data + offset, (int) len);
}

DlakeByteSource *
format_source_from_memory(const char *data, int64 size, const char *object_name)
{
	DlakeByteSource *src = palloc0(sizeof(DlakeByteSource));
	MemorySourceArg *a = palloc0(sizeof(MemorySourceArg));

	a->data = data;
	src->size = size;
	src->object_name = object_name ? pstrdup(object_name) : "(memory)";
	src->read_range = memory_source_read;
	src->arg = a;
	return src;
}

/*
 * format_source_read reads [offset, offset+len) and checks the range lies
 * inside the object: readers compute offsets from file contents (Parquet
 * footers), so an out-of-range request means a corrupt file.
 */
void
format_source_read(DlakeByteSource *src, int64 offset, int64 len, StringInfo buf)
{
	int			before = buf->len;

	if (offset < 0 || len < 0 || offset > src->size || len > src->size - offset)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("read past the end of %s", src->object_name),
				 errdetail("Range " INT64_FORMAT "+" INT64_FORMAT " requested, object size is " INT64_FORMAT " bytes.",
						   offset, len, src->size)));
	if (len > MaxAllocSize - 1 - buf->len)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("range of " INT64_FORMAT " bytes of %s is too large to read at once",
						len, src->object_name)));
	if (len == 0)
		return;
	src->read_range(src, offset, len, buf);
	if (buf->len - before != len)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("short read from %s", src->object_name),
				 errdetail("Expected " INT64_FORMAT " bytes at offset " INT64_FORMAT ", got %d; the object may have changed while being read.",
						   len, offset, buf->len - before)));
	src->bytes_read += len;
	src->requests++;
}

/* ---- sinks ---- */

static void
stream_sink_write(DlakeByteSink *sink, const char *data, size_t len)
{
	storage_write((DlakeWriteStream *) sink->arg, data, len);
}

DlakeByteSink *
format_sink_from_stream(DlakeWriteStream *ws)
{
	DlakeByteSink *s = palloc0(sizeof(DlakeByteSink));

	s->write = stream_sink_write;
	s->arg = ws;
	return s;
}

static void
stringinfo_sink_write(DlakeByteSink *sink, const char *data, size_t len)
{
	appendBinaryStringInfo((StringInfo) sink->arg, data, (int) len);
}

DlakeByteSink *
format_sink_from_stringinfo(StringInfo buf)
{
	DlakeByteSink *s = palloc0(sizeof(DlakeByteSink));

	s->write = stringinfo_sink_write;
	s->arg = buf;
	return s;
}

void
format_sink_write(DlakeByteSink *sink, const char *data, size_t len)
{
	if (len == 0)
		return;
	sink->write(sink, data, len);
	sink->bytes_written += len;
}

/* ---- input stream ---- */

struct DlakeInputStream
{
	DlakeByteSource *src;
	int64		offset;			/* next source offset to fetch */
	int64		chunk_bytes;
	StringInfoData raw;			/* fetched, not yet consumed bytes */
	int			rawpos;
	DlakeDecompressor *dec;		/* NULL when not compressed */
	bool		stream_end;		/* decompressor saw a complete frame end */
};

DlakeInputStream *
input_stream_open(DlakeByteSource *src, DlakeCompression compression, int64 chunk_bytes)
{
	DlakeInputStream *s = palloc0(sizeof(DlakeInputStream));

	s->src = src;
	s->chunk_bytes = chunk_bytes > 0 ? chunk_bytes : 8 * 1024 * 1024;
	initStringInfo(&s->raw);
	if (compression == DLAKE_COMPRESSION_GZIP || compression == DLAKE_COMPRESSION_ZSTD)
		s->dec = decompressor_create(compression, src->object_name);
	return s;
}

/* fetch the next range when everything fetched was consumed */
static bool
input_stream_fill(DlakeInputStream *s)
{
	int64		n;

	if (s->rawpos < s->raw.len)
		return true;
	if (s->offset >= s->src->size)
		return false;
	CHECK_FOR_INTERRUPTS();
	resetStringInfo(&s->raw);
	s->rawpos = 0;
	n = Min(s->chunk_bytes, s->src->size - s->offset);
	format_source_read(s->src, s->offset, n, &s->raw);
	s->offset += n;
	return true;
}

size_t
input_stream_read(DlakeInputStream *s, char *buf, size_t len)
{
	size_t		got = 0;

	while (got < len)
	{
		if (!input_stream_fill(s))
		{
			if (s->dec)
			{
				/* flush what the decompressor still holds */
				size_t		consumed;
				size_t		n = decompressor_run(s->dec, NULL, 0, &consumed,
												 buf + got, len - got, &s->stream_end);

				if (n > 0)
				{
					got += n;
					continue;
				}
				if (!s->stream_end && got == 0)
					ereport(ERROR,
							(errcode(ERRCODE_DATA_CORRUPTED),
							 errmsg("compressed data of %s is truncated", s->src->object_name),
							 errdetail("The compressed stream ended before its end marker.")));
			}
			break;
		}
		if (s->dec == NULL)
		{
			size_t		n = Min(len - got, (size_t) (s->raw.len - s->rawpos));

			memcpy(buf + got, s->raw.data + s->rawpos, n);
			s->rawpos += n;
			got += n;
		}
		else
		{
			size_t		consumed = 0;
			size_t		n;

			n = decompressor_run(s->dec, s->raw.data + s->rawpos, s->raw.len - s->rawpos,
								 &consumed, buf + got, len - got, &s->stream_end);
			s->rawpos += consumed;
			got += n;
			if (n == 0 && consumed == 0)
				break;			/* should not happen; avoid spinning */
		}
		/* return what we have as soon as it is a useful amount */
		if (got > 0 && s->rawpos >= s->raw.len)
			break;
	}
	return got;
}

void
input_stream_close(DlakeInputStream *s)
{
	if (s->dec)
		decompressor_free(s->dec);
	pfree(s->raw.data);
	pfree(s);
}
