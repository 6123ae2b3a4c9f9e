/*-------------------------------------------------------------------------
 *
 * csv.c
 *	  CSV reader and writer behind the format.h interface.
 *
 * Reader: streams the object through the buffered, decompressing input
 * stream and the backend-free tokenizer of csv_tok.c; the header (or the
 * first record's width) is read at open, column types are inferred lazily
 * from a sample when someone asks for the schema.  Fields are converted by
 * the target types' input functions.  An unquoted field equal to the null
 * string is NULL; a quoted one is a string ("" is the empty string).
 * Blank lines are skipped when the file has more than one column.
 *
 * Writer: header line, then one record per row; fields are quoted when
 * they contain the delimiter, quote, escape, CR or LF, start or end with
 * a space, or equal the null string.  Dates and timestamps are written in
 * ISO 8601 whatever DateStyle says (timestamptz in UTC), booleans as
 * true/false, everything else through the type's output function.
 *
 * IDENTIFICATION
 *	  src/format/csv.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "format/format_int.h"
#include "format/tokenize.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#define CSV_FLUSH_BYTES (1024 * 1024)
#define CSV_MIN_READ (64 * 1024)

/* ---------------------------------------------------------------- reader */

typedef struct CsvReadState
{
	DlakeInputStream *in;
	StringInfoData buf;			/* unconsumed input at buf.data + pos */
	int			pos;
	bool		eof;
	CsvDialect dialect;
	CsvRecord	rec;
	int64		lines;			/* lines fully consumed */
	int			rec_start;		/* raw span of the last record in buf */
	int			rec_len;
} CsvReadState;

static void *
csv_palloc_realloc(void *arg, void *ptr, size_t size)
{
	MemoryContext cxt = (MemoryContext) arg;

	if (size > MaxAllocSize)
		return NULL;
	if (ptr == NULL)
		return MemoryContextAlloc(cxt, size);
	return repalloc(ptr, size);
}

static CsvReadState *
csv_state_open(DlakeFormatReader *r)
{
	CsvReadState *st = palloc0(sizeof(CsvReadState));

	st->in = input_stream_open(r->src, r->compression, r->opts.read_ahead_bytes);
	initStringInfo(&st->buf);
	st->dialect.delimiter = r->opts.delimiter;
	st->dialect.quote = r->opts.quote;
	st->dialect.escape = r->opts.escape;
	st->dialect.max_record_bytes = MaxAllocSize / 2;
	st->rec.realloc_fn = csv_palloc_realloc;
	st->rec.alloc_arg = CurrentMemoryContext;
	return st;
}

/* make room and read more input; returns false at the end of the data */
static bool
csv_refill(CsvReadState *st)
{
	size_t		want;
	size_t		n;

	if (st->eof)
		return false;
	CHECK_FOR_INTERRUPTS();
	if (st->pos > 0)
	{
		memmove(st->buf.data, st->buf.data + st->pos, st->buf.len - st->pos);
		st->buf.len -= st->pos;
		st->rec_start -= st->pos;
		st->pos = 0;
	}
	/* grow geometrically so a huge record costs O(n log n), not O(n^2) */
	want = Max(CSV_MIN_READ, st->buf.len);
	if ((size_t) st->buf.len + want >= MaxAllocSize / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("CSV record too long")));
	enlargeStringInfo(&st->buf, (int) want + 1);
	n = input_stream_read(st->in, st->buf.data + st->buf.len, want);
	if (n == 0)
		st->eof = true;
	st->buf.len += n;
	st->buf.data[st->buf.len] = '\0';
	return true;
}

/*
 * Parse the next record into st->rec.  advance=false leaves it unconsumed
 * (peek).  Returns CSV_OK, CSV_END or CSV_ERROR.
 */
static CsvStatus
csv_next_record(CsvReadState *st, bool advance)
{
	for (;;)
	{
		size_t		consumed;
		CsvStatus	rc;

		rc = csv_parse_record(&st->dialect, st->buf.data + st->pos,
							  st->buf.len - st->pos, st->eof, &st->rec, &consumed);
		if (rc == CSV_NEED_MORE)
		{
			if (!csv_refill(st))
				elog(ERROR, "CSV tokenizer asked for data past the end");
			continue;
		}
		st->rec_start = st->pos;
		st->rec_len = (rc == CSV_OK) ? (int) consumed : st->buf.len - st->pos;
		if (rc == CSV_OK && advance)
		{
			st->pos += consumed;
			st->lines += st->rec.newlines;
		}
		return rc;
	}
}

/* after a malformed record: skip to the next line break */
static void
csv_skip_line(CsvReadState *st)
{
	for (;;)
	{
		char	   *nl = memchr(st->buf.data + st->pos, '\n', st->buf.len - st->pos);

		if (nl)
		{
			st->pos = nl - st->buf.data + 1;
			st->lines++;
			return;
		}
		st->pos = st->buf.len;
		if (!csv_refill(st) || st->buf.len == 0)
			return;
	}
}

static void
csv_check_utf8(DlakeFormatReader *r, const char *s, size_t len)
{
	if (!tok_utf8_valid(s, len))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("invalid byte sequence for encoding \"UTF8\" in %s", r->object_name),
				 errhint("dlake reads CSV files encoded in UTF-8 only.")));
}

static bool
csv_is_blank(CsvRecord *rec)
{
	return rec->nfields == 1 && rec->field_len[0] == 0 && !rec->field_quoted[0];
}

static bool
csv_is_null(DlakeFormatReader *r, CsvRecord *rec, int i)
{
	const char *ns = r->opts.null_string ? r->opts.null_string : "";

	return !rec->field_quoted[i] && rec->field_len[i] == strlen(ns) &&
		memcmp(rec->buf + rec->field_off[i], ns, rec->field_len[i]) == 0;
}

static void
csv_infer(DlakeFormatReader *r)
{
	CsvReadState *st;
	DlakeTypeGuess *g;
	int			n = r->nfilecols;
	int			rows = 0;
	ListCell   *lc;
	int			j;
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "dlake csv infer",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(tmp);

	g = palloc(sizeof(DlakeTypeGuess) * Max(n, 1));
	for (j = 0; j < n; j++)
		format_guess_init(&g[j]);
	st = csv_state_open(r);
	if (r->opts.header)
		(void) csv_next_record(st, true);
	while (rows < r->opts.sample_rows)
	{
		CsvStatus	rc = csv_next_record(st, true);

		if (rc == CSV_END)
			break;
		if (rc == CSV_ERROR)
		{
			csv_skip_line(st);
			continue;
		}
		if (csv_is_blank(&st->rec) && n > 1)
			continue;
		for (j = 0; j < n && j < st->rec.nfields; j++)
		{
			if (!csv_is_null(r, &st->rec, j))
				format_guess_text(&g[j], st->rec.buf + st->rec.field_off[j],
								  st->rec.field_len[j]);
		}
		rows++;
	}
	input_stream_close(st->in);
	MemoryContextSwitchTo(old);
	j = 0;
	foreach(lc, r->schema)
	{
		DlakeFileColumn *c = lfirst(lc);

		format_guess_result(&g[j], &c->typid, &c->typmod);
		j++;
	}
	MemoryContextDelete(tmp);
}

static DlakeReadResult
csv_next(DlakeFormatReader *r, Datum *values, bool *isnull, DlakeRowError *err)
{
	CsvReadState *st = (CsvReadState *) r->state;
	int			natts = r->target->natts;

	if (unlikely(st->rec.keep == NULL && r->nfilecols > 0))
	{
		/*
		 * Copy only the projected fields out of each record (field 0
		 * always: blank-line detection looks at it).
		 */
		bool	   *keep = MemoryContextAllocZero(r->cxt, sizeof(bool) * r->nfilecols);

		keep[0] = true;
		for (int i = 0; i < natts; i++)
			if (r->proj[i] >= 0 && r->proj[i] < r->nfilecols)
				keep[r->proj[i]] = true;
		st->rec.nkeep = r->nfilecols;
		st->rec.keep = keep;
	}
	for (;;)
	{
		CsvStatus	rc;
		CsvRecord  *rec = &st->rec;
		bool		bad = false;

		r->position = st->lines + 1;
		rc = csv_next_record(st, true);
		if (rc == CSV_END)
			return DLAKE_READ_EOF;
		if (rc == CSV_ERROR)
		{
			if (err == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
						 errmsg("malformed CSV record in %s: %s", r->object_name, rec->error)));
			format_row_error(r, err, ERRCODE_BAD_COPY_FILE_FORMAT, -1,
							 psprintf("malformed CSV record: %s", rec->error),
							 st->buf.data + st->rec_start, st->rec_len);
			csv_skip_line(st);
			return DLAKE_READ_ERROR;
		}
		if (csv_is_blank(rec) && r->nfilecols > 1)
			continue;
		if (rec->nfields != r->nfilecols)
		{
			char	   *msg = psprintf("wrong number of fields: expected %d, found %d",
									   r->nfilecols, rec->nfields);

			if (err == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
						 errmsg("%s in %s", msg, r->object_name)));
			format_row_error(r, err, ERRCODE_BAD_COPY_FILE_FORMAT, -1, msg,
							 st->buf.data + st->rec_start, st->rec_len);
			return DLAKE_READ_ERROR;
		}
		for (int i = 0; i < natts && !bad; i++)
		{
			int			fc = r->proj[i];
			char	   *s;

			if (fc < 0 || csv_is_null(r, rec, fc))
			{
				values[i] = (Datum) 0;
				isnull[i] = true;
				continue;
			}
			s = rec->buf + rec->field_off[fc];
			if (!tok_utf8_valid(s, rec->field_len[fc]))
			{
				if (err == NULL)
				{
					r->cur_attr = i;
					csv_check_utf8(r, s, rec->field_len[fc]);
				}
				format_row_error(r, err, ERRCODE_CHARACTER_NOT_IN_REPERTOIRE, i,
								 "invalid byte sequence for encoding \"UTF8\"",
								 NULL, 0);
				bad = true;
				break;
			}
			isnull[i] = false;
			if (!format_input_value(r, i, s, &values[i], err))
				bad = true;
		}
		if (bad)
		{
			/* raw line for the reject table: valid until the next refill */
			if (err->raw == NULL)
			{
				char	   *raw = st->buf.data + st->rec_start;

				err->raw = pnstrdup(raw, Min(st->rec_len, 65536));
			}
			return DLAKE_READ_ERROR;
		}
		return DLAKE_READ_ROW;
	}
}

static void
csv_close(DlakeFormatReader *r)
{
	CsvReadState *st = (CsvReadState *) r->state;

	if (st && st->in)
		input_stream_close(st->in);
	r->state = NULL;
}

static const DlakeReaderOps csv_reader_ops = {
	.infer = csv_infer,
	.start = NULL,
	.next = csv_next,
	.close = csv_close,
};

/*
 * csv_reader_init reads the header (or peeks at the first record to count
 * the columns) and leaves the stream at the first data record.
 */
void
csv_reader_init(DlakeFormatReader *r)
{
	CsvReadState *st;
	CsvStatus	rc;

	r->ops = &csv_reader_ops;
	st = csv_state_open(r);
	r->state = st;
	r->position = 1;
	rc = csv_next_record(st, r->opts.header);
	if (rc == CSV_ERROR)
		ereport(ERROR,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("malformed CSV %s in %s: %s",
						r->opts.header ? "header" : "record", r->object_name,
						st->rec.error)));
	if (rc == CSV_OK)
	{
		for (int i = 0; i < st->rec.nfields; i++)
		{
			DlakeFileColumn *c = palloc0(sizeof(DlakeFileColumn));
			char	   *s = st->rec.buf + st->rec.field_off[i];

			if (r->opts.header)
			{
				csv_check_utf8(r, s, st->rec.field_len[i]);
				c->name = (st->rec.field_len[i] > 0) ? pstrdup(s) : psprintf("column%d", i);
			}
			else
				c->name = psprintf("column%d", i);
			c->typid = TEXTOID;
			c->typmod = -1;
			c->file_type = "csv";
			c->nullable = true;
			r->schema = lappend(r->schema, c);
		}
	}
	r->position = 0;
}

/* ---------------------------------------------------------------- writer */

typedef struct CsvWriteState
{
	StringInfoData buf;
	DlakeCompressor *comp;		/* NULL when uncompressed */
	DlakeByteSink *dest;		/* compressor sink or w->out */
	FmgrInfo   *out_funcs;
	StringInfoData val;
} CsvWriteState;

static void
csv_put_field(DlakeFormatWriter *w, StringInfo out, const char *s, size_t len)
{
	const DlakeFormatOptions *o = &w->opts;
	bool		need = o->force_quote;
	const char *ns = o->null_string ? o->null_string : "";

	if (!need)
	{
		if (len == strlen(ns) && memcmp(s, ns, len) == 0)
			need = true;
		else if (len > 0 && (s[0] == ' ' || s[len - 1] == ' '))
			need = true;
		else
		{
			for (size_t i = 0; i < len; i++)
			{
				char		c = s[i];

				if (c == o->delimiter || c == o->quote || c == o->escape ||
					c == '\n' || c == '\r')
				{
					need = true;
					break;
				}
			}
		}
	}
	if (!need)
	{
		appendBinaryStringInfo(out, s, len);
		return;
	}
	appendStringInfoChar(out, o->quote);
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (c == o->quote || (c == o->escape && o->escape != o->quote))
			appendStringInfoChar(out, o->escape);
		appendStringInfoChar(out, c);
	}
	appendStringInfoChar(out, o->quote);
}

static void
csv_flush(DlakeFormatWriter *w, CsvWriteState *st)
{
	format_sink_write(st->dest, st->buf.data, st->buf.len);
	resetStringInfo(&st->buf);
}

static void
csv_append(DlakeFormatWriter *w, Datum *values, bool *isnull)
{
	CsvWriteState *st = (CsvWriteState *) w->state;
	TupleDesc	td = w->tupdesc;
	bool		first = true;

	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);

		if (att->attisdropped)
			continue;
		if (!first)
			appendStringInfoChar(&st->buf, w->opts.delimiter);
		first = false;
		if (isnull[i])
		{
			appendStringInfoString(&st->buf, w->opts.null_string ? w->opts.null_string : "");
			continue;
		}
		resetStringInfo(&st->val);
		if (!format_portable_text(att->atttypid, values[i], &st->val))
			appendStringInfoString(&st->val, OutputFunctionCall(&st->out_funcs[i], values[i]));
		csv_put_field(w, &st->buf, st->val.data, st->val.len);
	}
	appendStringInfoChar(&st->buf, '\n');
	if (st->buf.len >= CSV_FLUSH_BYTES)
		csv_flush(w, st);
}

static void
csv_finish(DlakeFormatWriter *w)
{
	CsvWriteState *st = (CsvWriteState *) w->state;

	csv_flush(w, st);
	if (st->comp)
	{
		compressor_finish(st->comp);
		compressor_free(st->comp);
		st->comp = NULL;
	}
}

static int64
csv_buffered(DlakeFormatWriter *w)
{
	CsvWriteState *st = (CsvWriteState *) w->state;

	/* compressed output: assume ~4:1 for what is still buffered */
	return st->comp ? st->buf.len / 4 : st->buf.len;
}

static const DlakeWriterOps csv_writer_ops = {
	.append = csv_append,
	.finish = csv_finish,
	.buffered = csv_buffered,
};

void
csv_writer_init(DlakeFormatWriter *w)
{
	CsvWriteState *st = palloc0(sizeof(CsvWriteState));
	TupleDesc	td = w->tupdesc;
	bool		first = true;

	w->ops = &csv_writer_ops;
	w->state = st;
	initStringInfo(&st->buf);
	initStringInfo(&st->val);
	st->dest = w->out;
	if (w->opts.compression == DLAKE_COMPRESSION_GZIP ||
		w->opts.compression == DLAKE_COMPRESSION_ZSTD)
	{
		st->comp = compressor_create(w->out, w->opts.compression,
									 w->opts.compression_level, w->object_name);
		st->dest = compressor_sink(st->comp);
	}
	st->out_funcs = palloc0(sizeof(FmgrInfo) * Max(td->natts, 1));
	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);
		Oid			outfn;
		bool		isvarlena;

		if (att->attisdropped)
			continue;
		getTypeOutputInfo(att->atttypid, &outfn, &isvarlena);
		fmgr_info_cxt(outfn, &st->out_funcs[i], w->cxt);
	}
	if (w->opts.header)
	{
		for (int i = 0; i < td->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(td, i);

			if (att->attisdropped)
				continue;
			if (!first)
				appendStringInfoChar(&st->buf, w->opts.delimiter);
			first = false;
			csv_put_field(w, &st->buf, NameStr(att->attname), strlen(NameStr(att->attname)));
		}
		appendStringInfoChar(&st->buf, '\n');
	}
}
