/*-------------------------------------------------------------------------
 *
 * compress.c
 *	  Streaming gzip (zlib) and zstd compression for CSV and JSON-lines
 *	  objects, both ways, with no whole-file buffering.
 *
 * Decompression output is bounded by the caller's buffer on every call,
 * so a decompression bomb costs CPU time (with CHECK_FOR_INTERRUPTS in the
 * callers' loops), never memory; zstd's window is capped at 128 MB.
 * Library state is freed by a memory-context reset callback, so an ERROR
 * in the middle of a stream leaks nothing.  Concatenated gzip members and
 * zstd frames are read as one stream (what `cat a.gz b.gz` produces).
 *
 * IDENTIFICATION
 *	  src/format/compress.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <zlib.h>
#include <zstd.h>

#include "format/format_int.h"
#include "miscadmin.h"

#define COMPRESS_OUT_BYTES (256 * 1024)

struct DlakeDecompressor
{
	DlakeCompression kind;
	const char *object_name;
	z_stream	z;
	bool		z_live;
	bool		z_member_done;	/* gzip member ended; reset on more input */
	ZSTD_DCtx  *zd;
	MemoryContextCallback cb;
};

static void
decompressor_cleanup(void *arg)
{
	DlakeDecompressor *d = (DlakeDecompressor *) arg;

	if (d->z_live)
		inflateEnd(&d->z);
	d->z_live = false;
	if (d->zd)
		ZSTD_freeDCtx(d->zd);
	d->zd = NULL;
}

DlakeDecompressor *
decompressor_create(DlakeCompression c, const char *object_name)
{
	DlakeDecompressor *d = palloc0(sizeof(DlakeDecompressor));

	d->kind = c;
	d->object_name = object_name;
	if (c == DLAKE_COMPRESSION_GZIP)
	{
		/* 15 + 32: accept gzip and zlib headers */
		if (inflateInit2(&d->z, 15 + 32) != Z_OK)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not initialise gzip decompression")));
		d->z_live = true;
	}
	else if (c == DLAKE_COMPRESSION_ZSTD)
	{
		d->zd = ZSTD_createDCtx();
		if (d->zd == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not initialise zstd decompression")));
		ZSTD_DCtx_setParameter(d->zd, ZSTD_d_windowLogMax, 27);
	}
	else
		elog(ERROR, "unsupported stream compression %d", (int) c);
	d->cb.func = decompressor_cleanup;
	d->cb.arg = d;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &d->cb);
	return d;
}

size_t
decompressor_run(DlakeDecompressor *d, const char *in, size_t inlen,
				 size_t *consumed, char *out, size_t outcap, bool *stream_end)
{
	*consumed = 0;
	if (d->kind == DLAKE_COMPRESSION_GZIP)
	{
		int			rc;

		if (d->z_member_done)
		{
			if (inlen == 0)
				return 0;
			/* another gzip member follows */
			if (inflateReset(&d->z) != Z_OK)
				elog(ERROR, "inflateReset failed");
			d->z_member_done = false;
			*stream_end = false;
		}
		d->z.next_in = (Bytef *) in;
		d->z.avail_in = (uInt) inlen;
		d->z.next_out = (Bytef *) out;
		d->z.avail_out = (uInt) outcap;
		rc = inflate(&d->z, Z_NO_FLUSH);
		*consumed = inlen - d->z.avail_in;
		if (rc == Z_STREAM_END)
		{
			d->z_member_done = true;
			*stream_end = true;
		}
		else if (rc == Z_BUF_ERROR)
		{
			/* no progress possible: fine, caller gives more input */
		}
		else if (rc != Z_OK)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid gzip data in %s", d->object_name),
					 errdetail("zlib reports: %s.", d->z.msg ? d->z.msg : "unknown error")));
		else if (*consumed > 0)
			*stream_end = false;
		return outcap - d->z.avail_out;
	}
	else
	{
		ZSTD_inBuffer ib = {in, inlen, 0};
		ZSTD_outBuffer ob = {out, outcap, 0};
		size_t		rc;

		rc = ZSTD_decompressStream(d->zd, &ob, &ib);
		if (ZSTD_isError(rc))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid zstd data in %s", d->object_name),
					 errdetail("zstd reports: %s.", ZSTD_getErrorName(rc))));
		*consumed = ib.pos;
		if (rc == 0)
			*stream_end = true;
		else if (ib.pos > 0 || ob.pos > 0)
			*stream_end = false;
		return ob.pos;
	}
}

void
decompressor_free(DlakeDecompressor *d)
{
	decompressor_cleanup(d);
}

/* ---- compression ---- */

struct DlakeCompressor
{
	DlakeByteSink sink;			/* what writers write into */
	DlakeByteSink *inner;		/* borrowed */
	DlakeCompression kind;
	const char *object_name;
	z_stream	z;
	bool		z_live;
	ZSTD_CCtx  *zc;
	char	   *outbuf;
	MemoryContextCallback cb;
};

static void
compressor_cleanup(void *arg)
{
	DlakeCompressor *c = (DlakeCompressor *) arg;

	if (c->z_live)
		deflateEnd(&c->z);
	c->z_live = false;
	if (c->zc)
		ZSTD_freeCCtx(c->zc);
	c->zc = NULL;
}

/* push input through the compressor; mode: 0 continue, 1 finish */
static void
compressor_push(DlakeCompressor *c, const char *data, size_t len, bool finish)
{
	if (c->kind == DLAKE_COMPRESSION_GZIP)
	{
		c->z.next_in = (Bytef *) data;
		c->z.avail_in = (uInt) len;
		for (;;)
		{
			int			rc;

			c->z.next_out = (Bytef *) c->outbuf;
			c->z.avail_out = COMPRESS_OUT_BYTES;
			rc = deflate(&c->z, finish ? Z_FINISH : Z_NO_FLUSH);
			if (rc == Z_STREAM_ERROR)
				elog(ERROR, "deflate failed for %s", c->object_name);
			format_sink_write(c->inner, c->outbuf, COMPRESS_OUT_BYTES - c->z.avail_out);
			if (finish ? rc == Z_STREAM_END : (c->z.avail_in == 0 && c->z.avail_out != 0))
				break;
		}
	}
	else
	{
		ZSTD_inBuffer ib = {data, len, 0};

		for (;;)
		{
			ZSTD_outBuffer ob = {c->outbuf, COMPRESS_OUT_BYTES, 0};
			size_t		rc = ZSTD_compressStream2(c->zc, &ob, &ib,
												  finish ? ZSTD_e_end : ZSTD_e_continue);

			if (ZSTD_isError(rc))
				ereport(ERROR,
						(errcode(ERRCODE_INTERNAL_ERROR),
						 errmsg("zstd compression failed for %s: %s",
								c->object_name, ZSTD_getErrorName(rc))));
			format_sink_write(c->inner, c->outbuf, ob.pos);
			if (finish ? rc == 0 : ib.pos == ib.size)
				break;
		}
	}
}

static void
compressor_sink_write(DlakeByteSink *sink, const char *data, size_t len)
{
	DlakeCompressor *c = (DlakeCompressor *) sink->arg;

	compressor_push(c, data, len, false);
}

DlakeCompressor *
compressor_create(DlakeByteSink *inner, DlakeCompression kind, int level,
				  const char *object_name)
{
	DlakeCompressor *c = palloc0(sizeof(DlakeCompressor));

	c->inner = inner;
	c->kind = kind;
	c->object_name = object_name;
	c->outbuf = palloc(COMPRESS_OUT_BYTES);
	c->sink.write = compressor_sink_write;
	c->sink.arg = c;
	if (kind == DLAKE_COMPRESSION_GZIP)
	{
		if (level < 0 || level > 9)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("gzip compression_level must be between 1 and 9")));
		/* 15 + 16: gzip wrapper */
		if (deflateInit2(&c->z, level == 0 ? 6 : level, Z_DEFLATED, 15 + 16, 8,
						 Z_DEFAULT_STRATEGY) != Z_OK)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not initialise gzip compression")));
		c->z_live = true;
	}
	else if (kind == DLAKE_COMPRESSION_ZSTD)
	{
		c->zc = ZSTD_createCCtx();
		if (c->zc == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not initialise zstd compression")));
		ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel, level == 0 ? 3 : level);
	}
	else
		elog(ERROR, "unsupported stream compression %d", (int) kind);
	c->cb.func = compressor_cleanup;
	c->cb.arg = c;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &c->cb);
	return c;
}

DlakeByteSink *
compressor_sink(DlakeCompressor *c)
{
	return &c->sink;
}

void
compressor_finish(DlakeCompressor *c)
{
	compressor_push(c, NULL, 0, true);
}

void
compressor_free(DlakeCompressor *c)
{
	compressor_cleanup(c);
}
