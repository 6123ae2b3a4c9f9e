/*-------------------------------------------------------------------------
 *
 * jsonl.c
 *	  JSON-lines reader and writer behind the format.h interface.
 *
 * Reader: one JSON object per line (blank lines skipped), parsed by the
 * backend-free tokenizer of json_tok.c.  Top-level keys map to columns by
 * name (case-insensitively unless case_sensitive is set; with duplicate
 * keys the last wins).  json/jsonb columns take the value's JSON text
 * as is; other columns take strings unescaped, numbers and booleans as
 * their text, nested values as JSON text (a JSON array of scalars goes
 * into a PostgreSQL array column).  Keys matching no column are ignored,
 * or collected into the jsonb column named by extra_keys_column.  The
 * schema (keys and types) comes from the first sample_rows lines.
 *
 * Writer: one object per line, keys in column order.  Numbers stay JSON
 * numbers; NaN and ±Infinity (float and numeric) are written as the
 * strings "NaN", "Infinity", "-Infinity"; dates and timestamps as ISO 8601
 * strings (timestamptz in UTC); bytea as base64; json/jsonb embedded;
 * arrays as JSON arrays; everything else as a JSON string of the type's
 * text output.
 *
 * IDENTIFICATION
 *	  src/format/jsonl.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/base64.h"
#include "format/format_int.h"
#include "format/tokenize.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#define JSONL_FLUSH_BYTES (1024 * 1024)
#define JSONL_MIN_READ (64 * 1024)

/* ---------------------------------------------------------------- reader */

typedef struct JsonlReadState
{
	DlakeInputStream *in;
	StringInfoData buf;
	int			pos;
	bool		eof;
	JsonRecord	rec;
	int64		lines;
	char	   *line;			/* current line (in buf) */
	size_t		line_len;
	bool	   *att_json;		/* per target attr: json or jsonb */
	Oid		   *att_elem;		/* per target attr: array element type */
	int			extra_attr;		/* extra_keys_column attr or -1 */
	int		   *key_attr;		/* per line field: target attr or -1 */
	int			key_attr_cap;
} JsonlReadState;

static void *
jsonl_palloc_realloc(void *arg, void *ptr, size_t size)
{
	if (size > MaxAllocSize)
		return NULL;
	if (ptr == NULL)
		return MemoryContextAlloc((MemoryContext) arg, size);
	return repalloc(ptr, size);
}

static JsonlReadState *
jsonl_state_open(DlakeFormatReader *r)
{
	JsonlReadState *st = palloc0(sizeof(JsonlReadState));

	st->in = input_stream_open(r->src, r->compression, r->opts.read_ahead_bytes);
	initStringInfo(&st->buf);
	st->rec.realloc_fn = jsonl_palloc_realloc;
	st->rec.alloc_arg = CurrentMemoryContext;
	st->rec.max_depth = 512;
	st->extra_attr = -1;
	return st;
}

/* next line into st->line; false at the end */
static bool
jsonl_next_line(JsonlReadState *st)
{
	for (;;)
	{
		char	   *start = st->buf.data + st->pos;
		size_t		avail = st->buf.len - st->pos;
		char	   *nl = avail ? memchr(start, '\n', avail) : NULL;
		size_t		want;
		size_t		n;

		if (nl || (st->eof && avail > 0))
		{
			size_t		len = nl ? (size_t) (nl - start) : avail;

			st->line = start;
			st->line_len = len;
			if (len > 0 && start[len - 1] == '\r')
				st->line_len--;
			st->pos += len + (nl ? 1 : 0);
			st->lines++;
			return true;
		}
		if (st->eof)
			return false;
		CHECK_FOR_INTERRUPTS();
		if (st->pos > 0)
		{
			memmove(st->buf.data, start, avail);
			st->buf.len = avail;
			st->pos = 0;
		}
		want = Max(JSONL_MIN_READ, st->buf.len);
		if ((size_t) st->buf.len + want >= MaxAllocSize / 2)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("JSON line too long")));
		enlargeStringInfo(&st->buf, (int) want + 1);
		n = input_stream_read(st->in, st->buf.data + st->buf.len, want);
		if (n == 0)
			st->eof = true;
		st->buf.len += n;
		st->buf.data[st->buf.len] = '\0';
	}
}

typedef struct JsonlGuess
{
	DlakeTypeGuess g;
	bool		seen_string;
	bool		seen_number;
	bool		seen_bool;
	bool		seen_nested;
} JsonlGuess;

static void
jsonl_guess_result(JsonlGuess *jg, Oid *typid, int32 *typmod)
{
	int			kinds = jg->seen_string + jg->seen_number + jg->seen_bool + jg->seen_nested;

	*typmod = -1;
	if (kinds == 0)
		*typid = TEXTOID;
	else if (jg->seen_nested || kinds > 1)
		*typid = (jg->seen_nested || jg->seen_bool) ? JSONBOID : TEXTOID;
	else if (jg->seen_bool)
		*typid = BOOLOID;
	else if (jg->seen_number)
	{
		format_guess_result(&jg->g, typid, typmod);
		if (*typid == TEXTOID)
			*typid = NUMERICOID;
	}
	else
	{
		/* strings: only dates/timestamps are promoted */
		jg->g.maybe_bool = jg->g.maybe_int4 = jg->g.maybe_int8 = false;
		jg->g.maybe_numeric = jg->g.maybe_float8 = false;
		format_guess_result(&jg->g, typid, typmod);
	}
}

static DlakeFileColumn *
jsonl_find_column(DlakeFormatReader *r, const char *name, int *idx)
{
	ListCell   *lc;
	int			j = 0;

	foreach(lc, r->schema)
	{
		DlakeFileColumn *c = lfirst(lc);

		if (strcmp(c->name, name) == 0)
		{
			*idx = j;
			return c;
		}
		j++;
	}
	return NULL;
}

/*
 * Sample the first lines: the schema is the union of their keys, in the
 * order first seen.
 */
static void
jsonl_sample(DlakeFormatReader *r)
{
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "dlake jsonl sample",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(tmp);
	JsonlReadState *st = jsonl_state_open(r);
	List	   *guesses = NIL;
	int			rows = 0;

	while (rows < Max(r->opts.sample_rows, 1) && jsonl_next_line(st))
	{
		JsonStatus	rc = json_parse_object_line(st->line, st->line_len, &st->rec);

		if (rc == JSON_BLANK)
			continue;
		if (rc == JSON_ERROR)
		{
			/* bad lines are reported when read; the sample just skips them */
			continue;
		}
		rows++;
		for (int i = 0; i < st->rec.nfields; i++)
		{
			JsonField  *f = &st->rec.fields[i];
			const char *key = st->rec.buf + f->key_off;
			int			idx;
			JsonlGuess *jg;

			if (jsonl_find_column(r, key, &idx) == NULL)
			{
				DlakeFileColumn *c;

				MemoryContextSwitchTo(r->cxt);
				c = palloc0(sizeof(DlakeFileColumn));
				c->name = pstrdup(key);
				c->typid = TEXTOID;
				c->typmod = -1;
				c->file_type = "json";
				c->nullable = true;
				r->schema = lappend(r->schema, c);
				MemoryContextSwitchTo(tmp);
				jg = palloc0(sizeof(JsonlGuess));
				format_guess_init(&jg->g);
				guesses = lappend(guesses, jg);
			}
			else
				jg = list_nth(guesses, idx);
			switch (f->type)
			{
				case JT_NULL:
					break;
				case JT_TRUE:
				case JT_FALSE:
					jg->seen_bool = true;
					break;
				case JT_NUMBER:
					jg->seen_number = true;
					format_guess_text(&jg->g, st->line + f->raw_off, f->raw_len);
					break;
				case JT_STRING:
					jg->seen_string = true;
					format_guess_text(&jg->g, st->rec.buf + f->str_off, f->str_len);
					break;
				case JT_OBJECT:
				case JT_ARRAY:
					jg->seen_nested = true;
					break;
			}
		}
	}
	input_stream_close(st->in);
	MemoryContextSwitchTo(old);
	{
		ListCell   *lc1,
				   *lc2;

		forboth(lc1, r->schema, lc2, guesses)
		{
			DlakeFileColumn *c = lfirst(lc1);

			jsonl_guess_result(lfirst(lc2), &c->typid, &c->typmod);
		}
	}
	MemoryContextDelete(tmp);
}

static void
jsonl_start(DlakeFormatReader *r)
{
	JsonlReadState *st;
	MemoryContext old = MemoryContextSwitchTo(r->cxt);
	int			natts = r->target->natts;

	st = jsonl_state_open(r);
	r->state = st;
	st->att_json = palloc0(sizeof(bool) * Max(natts, 1));
	st->att_elem = palloc0(sizeof(Oid) * Max(natts, 1));
	for (int i = 0; i < natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(r->target, i);

		if (att->attisdropped)
			continue;
		st->att_json[i] = (att->atttypid == JSONOID || att->atttypid == JSONBOID);
		st->att_elem[i] = get_element_type(att->atttypid);
		if (r->opts.extra_keys_column && r->proj[i] < 0 &&
			strcmp(NameStr(att->attname), r->opts.extra_keys_column) == 0)
		{
			if (att->atttypid != JSONBOID && att->atttypid != JSONOID)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("extra_keys_column \"%s\" must be of type jsonb",
								r->opts.extra_keys_column)));
			st->extra_attr = i;
			if (!OidIsValid(r->in_funcs[i].fn_oid))
			{
				Oid			infunc;

				getTypeInputInfo(att->atttypid, &infunc, &r->in_ioparams[i]);
				fmgr_info_cxt(infunc, &r->in_funcs[i], r->cxt);
			}
		}
	}
	MemoryContextSwitchTo(old);
}

/* target attr for a key of the current line, -1 when none */
static int
jsonl_key_attr(DlakeFormatReader *r, const char *key)
{
	int			ci = -1;

	for (int i = 0; i < r->target->natts; i++)
	{
		int			fc = r->proj[i];
		DlakeFileColumn *c;

		if (fc < 0)
			continue;
		c = list_nth(r->schema, fc);
		if (strcmp(c->name, key) == 0)
			return i;
		if (ci < 0 && !r->opts.case_sensitive && pg_strcasecmp(c->name, key) == 0)
			ci = i;
	}
	return ci;
}

/* a JSON array of scalars as a PostgreSQL array literal */
static char *
jsonl_array_literal(const char *raw, size_t len)
{
	Datum		jb = DirectFunctionCall1(jsonb_in, CStringGetDatum(pnstrdup(raw, len)));
	JsonbIterator *it = JsonbIteratorInit(&DatumGetJsonbP(jb)->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	StringInfoData out;
	bool		first = true;
	int			depth = 0;

	initStringInfo(&out);
	appendStringInfoChar(&out, '{');
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		const char *s = NULL;

		if (tok == WJB_BEGIN_ARRAY || tok == WJB_BEGIN_OBJECT)
		{
			if (++depth > 1)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("nested JSON arrays and objects cannot be read into an array column"),
						 errhint("Read the value into a jsonb column.")));
			continue;
		}
		if (tok != WJB_ELEM)
			continue;
		if (!first)
			appendStringInfoChar(&out, ',');
		first = false;
		switch (v.type)
		{
			case jbvNull:
				appendStringInfoString(&out, "NULL");
				continue;
			case jbvString:
				s = pnstrdup(v.val.string.val, v.val.string.len);
				break;
			case jbvNumeric:
				s = DatumGetCString(DirectFunctionCall1(numeric_out,
														NumericGetDatum(v.val.numeric)));
				break;
			case jbvBool:
				s = v.val.boolean ? "true" : "false";
				break;
			default:
				s = "";
		}
		appendStringInfoChar(&out, '"');
		for (const char *p = s; *p; p++)
		{
			if (*p == '"' || *p == '\\')
				appendStringInfoChar(&out, '\\');
			appendStringInfoChar(&out, *p);
		}
		appendStringInfoChar(&out, '"');
	}
	appendStringInfoChar(&out, '}');
	return out.data;
}

static DlakeReadResult
jsonl_next(DlakeFormatReader *r, Datum *values, bool *isnull, DlakeRowError *err)
{
	JsonlReadState *st = (JsonlReadState *) r->state;
	int			natts = r->target->natts;

	for (;;)
	{
		JsonStatus	rc;
		JsonRecord *rec = &st->rec;
		StringInfoData extra;
		bool		have_extra = false;

		if (!jsonl_next_line(st))
			return DLAKE_READ_EOF;
		r->position = st->lines;
		rc = json_parse_object_line(st->line, st->line_len, rec);
		if (rc == JSON_BLANK)
			continue;
		if (rc == JSON_ERROR)
		{
			int			code = strcmp(rec->error, "invalid UTF-8") == 0 ?
				ERRCODE_CHARACTER_NOT_IN_REPERTOIRE : ERRCODE_INVALID_TEXT_REPRESENTATION;
			char	   *msg = psprintf("invalid JSON: %s at byte %zu", rec->error,
									   rec->error_pos + 1);

			if (err == NULL)
				ereport(ERROR,
						(errcode(code),
						 errmsg("invalid JSON line in %s", r->object_name),
						 errdetail("%s.", msg)));
			format_row_error(r, err, code, -1, msg, st->line, st->line_len);
			return DLAKE_READ_ERROR;
		}

		for (int i = 0; i < natts; i++)
		{
			values[i] = (Datum) 0;
			isnull[i] = true;
		}
		if (st->extra_attr >= 0)
			initStringInfo(&extra);

		for (int k = 0; k < rec->nfields; k++)
		{
			JsonField  *f = &rec->fields[k];
			const char *key = rec->buf + f->key_off;
			int			i = jsonl_key_attr(r, key);
			char	   *s;

			if (i < 0)
			{
				if (st->extra_attr >= 0)
				{
					appendStringInfoString(&extra, have_extra ? ", " : "{");
					escape_json(&extra, key);
					appendStringInfoString(&extra, ": ");
					appendBinaryStringInfo(&extra, st->line + f->raw_off, f->raw_len);
					have_extra = true;
				}
				continue;
			}
			if (f->type == JT_NULL)
			{
				values[i] = (Datum) 0;
				isnull[i] = true;
				continue;
			}
			if (st->att_json[i])
				s = pnstrdup(st->line + f->raw_off, f->raw_len);
			else if (f->type == JT_STRING)
				s = rec->buf + f->str_off;
			else if (f->type == JT_TRUE)
				s = "true";
			else if (f->type == JT_FALSE)
				s = "false";
			else if (f->type == JT_ARRAY && OidIsValid(st->att_elem[i]))
			{
				r->cur_attr = i;
				s = jsonl_array_literal(st->line + f->raw_off, f->raw_len);
			}
			else
				s = pnstrdup(st->line + f->raw_off, f->raw_len);
			if (!format_input_value(r, i, s, &values[i], err))
			{
				err->raw = pnstrdup(st->line, Min(st->line_len, 65536));
				return DLAKE_READ_ERROR;
			}
			isnull[i] = false;
		}
		if (st->extra_attr >= 0 && have_extra)
		{
			appendStringInfoChar(&extra, '}');
			if (!format_input_value(r, st->extra_attr, extra.data,
									&values[st->extra_attr], err))
				return DLAKE_READ_ERROR;
			isnull[st->extra_attr] = false;
		}
		return DLAKE_READ_ROW;
	}
}

static void
jsonl_infer(DlakeFormatReader *r)
{
	/* done at open: JSON lines have no header, the sample gives the keys */
}

static void
jsonl_close(DlakeFormatReader *r)
{
	JsonlReadState *st = (JsonlReadState *) r->state;

	if (st && st->in)
		input_stream_close(st->in);
	r->state = NULL;
}

static const DlakeReaderOps jsonl_reader_ops = {
	.infer = jsonl_infer,
	.start = jsonl_start,
	.next = jsonl_next,
	.close = jsonl_close,
};

void
jsonl_reader_init(DlakeFormatReader *r)
{
	r->ops = &jsonl_reader_ops;
	jsonl_sample(r);
	r->inferred = true;
}

/* ---------------------------------------------------------------- writer */

typedef struct JsonlWriteState
{
	StringInfoData buf;
	DlakeCompressor *comp;
	DlakeByteSink *dest;
	FmgrInfo   *out_funcs;
	char	  **keys;			/* JSON-escaped "name": */
} JsonlWriteState;

static void jsonl_put_value(StringInfo out, Oid typid, Datum value, FmgrInfo *outfn);

static void
jsonl_put_number_text(StringInfo out, const char *s)
{
	/* NaN and infinities are not JSON numbers: write them as strings */
	if (strcmp(s, "NaN") == 0 || strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0)
		escape_json(out, s);
	else
		appendStringInfoString(out, s);
}

/* one dimension of an array as a JSON array; returns the next element */
static int
jsonl_put_dim(StringInfo out, int d, int ndim, const int *dims, Datum *elems,
			  bool *nulls, int idx, Oid elemtype, FmgrInfo *fi)
{
	appendStringInfoChar(out, '[');
	for (int k = 0; k < dims[d]; k++)
	{
		if (k > 0)
			appendStringInfoChar(out, ',');
		if (d == ndim - 1)
		{
			if (nulls[idx])
				appendStringInfoString(out, "null");
			else
				jsonl_put_value(out, elemtype, elems[idx], fi);
			idx++;
		}
		else
			idx = jsonl_put_dim(out, d + 1, ndim, dims, elems, nulls, idx, elemtype, fi);
	}
	appendStringInfoChar(out, ']');
	return idx;
}

static void
jsonl_put_array(StringInfo out, ArrayType *arr)
{
	Oid			elemtype = ARR_ELEMTYPE(arr);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	Oid			outfn;
	bool		isvarlena;
	FmgrInfo	fi;

	if (ARR_NDIM(arr) == 0)
	{
		appendStringInfoString(out, "[]");
		return;
	}
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, elemtype, typlen, typbyval, typalign, &elems, &nulls, &nelems);
	getTypeOutputInfo(elemtype, &outfn, &isvarlena);
	fmgr_info(outfn, &fi);
	(void) jsonl_put_dim(out, 0, ARR_NDIM(arr), ARR_DIMS(arr), elems, nulls, 0,
						 elemtype, &fi);
}

static void
jsonl_put_value(StringInfo out, Oid typid, Datum value, FmgrInfo *outfn)
{
	switch (typid)
	{
		case BOOLOID:
			appendStringInfoString(out, DatumGetBool(value) ? "true" : "false");
			return;
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case OIDOID:
			appendStringInfoString(out, OutputFunctionCall(outfn, value));
			return;
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			jsonl_put_number_text(out, OutputFunctionCall(outfn, value));
			return;
		case JSONBOID:
			{
				Jsonb	   *jb = DatumGetJsonbP(value);

				(void) JsonbToCString(out, &jb->root, VARSIZE(jb));
				return;
			}
		case JSONOID:
			{
				char	   *s = TextDatumGetCString(value);

				/* raw line breaks can only be whitespace between tokens */
				for (char *p = s; *p; p++)
					if (*p == '\n' || *p == '\r')
						*p = ' ';
				appendStringInfoString(out, s);
				return;
			}
		case BYTEAOID:
			{
				bytea	   *b = DatumGetByteaPP(value);
				int			len = VARSIZE_ANY_EXHDR(b);
				int			enc = pg_b64_enc_len(len);
				char	   *dst = palloc(enc + 1);
				int			n = pg_b64_encode(VARDATA_ANY(b), len, dst, enc);

				if (n < 0)
					elog(ERROR, "base64 encoding failed");
				dst[n] = '\0';
				appendStringInfoChar(out, '"');
				appendStringInfoString(out, dst);
				appendStringInfoChar(out, '"');
				return;
			}
		default:
			break;
	}
	if (type_is_array(typid))
	{
		jsonl_put_array(out, DatumGetArrayTypeP(value));
		return;
	}
	{
		StringInfoData tmp;

		initStringInfo(&tmp);
		if (!format_portable_text(typid, value, &tmp))
			appendStringInfoString(&tmp, OutputFunctionCall(outfn, value));
		escape_json(out, tmp.data);
		pfree(tmp.data);
	}
}

static void
jsonl_flush(JsonlWriteState *st)
{
	format_sink_write(st->dest, st->buf.data, st->buf.len);
	resetStringInfo(&st->buf);
}

static void
jsonl_append(DlakeFormatWriter *w, Datum *values, bool *isnull)
{
	JsonlWriteState *st = (JsonlWriteState *) w->state;
	TupleDesc	td = w->tupdesc;
	bool		first = true;

	appendStringInfoChar(&st->buf, '{');
	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);

		if (att->attisdropped)
			continue;
		if (!first)
			appendStringInfoChar(&st->buf, ',');
		first = false;
		appendStringInfoString(&st->buf, st->keys[i]);
		if (isnull[i])
			appendStringInfoString(&st->buf, "null");
		else
			jsonl_put_value(&st->buf, att->atttypid, values[i], &st->out_funcs[i]);
	}
	appendStringInfoString(&st->buf, "}\n");
	if (st->buf.len >= JSONL_FLUSH_BYTES)
		jsonl_flush(st);
}

static void
jsonl_finish(DlakeFormatWriter *w)
{
	JsonlWriteState *st = (JsonlWriteState *) w->state;

	jsonl_flush(st);
	if (st->comp)
	{
		compressor_finish(st->comp);
		compressor_free(st->comp);
		st->comp = NULL;
	}
}

static int64
jsonl_buffered(DlakeFormatWriter *w)
{
	JsonlWriteState *st = (JsonlWriteState *) w->state;

	return st->comp ? st->buf.len / 4 : st->buf.len;
}

static const DlakeWriterOps jsonl_writer_ops = {
	.append = jsonl_append,
	.finish = jsonl_finish,
	.buffered = jsonl_buffered,
};

void
jsonl_writer_init(DlakeFormatWriter *w)
{
	JsonlWriteState *st = palloc0(sizeof(JsonlWriteState));
	TupleDesc	td = w->tupdesc;

	w->ops = &jsonl_writer_ops;
	w->state = st;
	initStringInfo(&st->buf);
	st->dest = w->out;
	if (w->opts.compression == DLAKE_COMPRESSION_GZIP ||
		w->opts.compression == DLAKE_COMPRESSION_ZSTD)
	{
		st->comp = compressor_create(w->out, w->opts.compression,
									 w->opts.compression_level, w->object_name);
		st->dest = compressor_sink(st->comp);
	}
	st->out_funcs = palloc0(sizeof(FmgrInfo) * Max(td->natts, 1));
	st->keys = palloc0(sizeof(char *) * Max(td->natts, 1));
	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);
		Oid			outfn;
		bool		isvarlena;
		StringInfoData k;

		if (att->attisdropped)
			continue;
		getTypeOutputInfo(att->atttypid, &outfn, &isvarlena);
		fmgr_info_cxt(outfn, &st->out_funcs[i], w->cxt);
		initStringInfo(&k);
		escape_json(&k, NameStr(att->attname));
		appendStringInfoChar(&k, ':');
		st->keys[i] = k.data;
	}
}
