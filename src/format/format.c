/*-------------------------------------------------------------------------
 *
 * format.c
 *	  Format options, format/codec names and guessing, and the dispatch of
 *	  the reader/writer interface of format.h to csv.c, jsonl.c and
 *	  parquet_glue.c.  Also the helpers every reader shares: error context,
 *	  text → Datum conversion with soft errors, projection by name, and
 *	  type inference from sampled text.
 *
 * IDENTIFICATION
 *	  src/format/format.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <limits.h>

#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "nodes/makefuncs.h"
#include "format/format_int.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/varlena.h"

static const char *const format_option_names[] = {
	"format", "compression", "compression_level",
	"header", "delimiter", "quote", "escape", "null", "force_quote",
	"case_sensitive", "extra_keys_column",
	"row_group_bytes", "row_group_rows", "page_bytes", "dictionary",
	"sample_rows", "read_ahead_bytes",
	NULL
};

/*
 * dlake_format_options_init sets every option to its default.
 */
void
dlake_format_options_init(DlakeFormatOptions *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->format = DLAKE_FORMAT_AUTO;
	opts->compression = DLAKE_COMPRESSION_AUTO;
	opts->header = true;
	opts->delimiter = ',';
	opts->quote = '"';
	opts->escape = '"';
	opts->null_string = "";
	opts->case_sensitive = false;
	opts->row_group_bytes = INT64CONST(128) * 1024 * 1024;
	opts->page_bytes = 1024 * 1024;
	opts->dictionary = true;
	opts->sample_rows = 1000;
	opts->read_ahead_bytes = INT64CONST(8) * 1024 * 1024;
}

bool
dlake_format_is_option(const char *name)
{
	for (int i = 0; format_option_names[i]; i++)
		if (pg_strcasecmp(name, format_option_names[i]) == 0)
			return true;
	return false;
}

static const char *
closest_option(const char *name)
{
	const char *best = NULL;
	int			bestd = INT_MAX;

	for (int i = 0; format_option_names[i]; i++)
	{
		int			d = varstr_levenshtein(name, strlen(name),
										   format_option_names[i],
										   strlen(format_option_names[i]),
										   1, 1, 1, true);

		if (d < bestd)
		{
			bestd = d;
			best = format_option_names[i];
		}
	}
	/* only suggest something reasonably close */
	if (best && bestd <= Max(2, (int) strlen(name) / 2))
		return best;
	return NULL;
}

static bool
opt_bool(const char *name, const char *val)
{
	bool		b;

	if (!parse_bool(val, &b))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" requires a Boolean value", name),
				 errdetail("The value given was \"%s\".", val)));
	return b;
}

static char
opt_char(const char *name, const char *val)
{
	if (pg_strcasecmp(val, "tab") == 0 || strcmp(val, "\\t") == 0)
		return '\t';
	if (strlen(val) != 1 || val[0] == '\r' || val[0] == '\n' || IS_HIGHBIT_SET(val[0]))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a single one-byte character", name),
				 errdetail("The value given was \"%s\".", val),
				 errhint("Use \"tab\" for a tab character.")));
	return val[0];
}

/* integer with an optional kB/MB/GB suffix */
static int64
opt_int(const char *name, const char *val, int64 min, int64 max)
{
	char	   *end;
	int64		v;
	int64		mult = 1;

	errno = 0;
	v = strtoll(val, &end, 10);
	while (*end == ' ')
		end++;
	if (pg_strcasecmp(end, "kb") == 0)
		mult = 1024;
	else if (pg_strcasecmp(end, "mb") == 0)
		mult = 1024 * 1024;
	else if (pg_strcasecmp(end, "gb") == 0)
		mult = INT64CONST(1024) * 1024 * 1024;
	else if (*end != '\0')
		errno = EINVAL;
	if (errno != 0 || end == val || v < min / mult || v > max / mult)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", name, val),
				 errdetail("The value must be an integer between " INT64_FORMAT " and " INT64_FORMAT ".",
						   min, max)));
	return v * mult;
}

/*
 * Apply one option; returns false when name is not a format option.
 */
static bool
format_apply_option(DlakeFormatOptions *o, const char *name, const char *val)
{
	if (pg_strcasecmp(name, "format") == 0)
		o->format = dlake_format_from_name(val, false);
	else if (pg_strcasecmp(name, "compression") == 0)
		o->compression = dlake_compression_from_name(val, false);
	else if (pg_strcasecmp(name, "compression_level") == 0)
		o->compression_level = (int) opt_int(name, val, -7, 22);
	else if (pg_strcasecmp(name, "header") == 0)
		o->header = opt_bool(name, val);
	else if (pg_strcasecmp(name, "delimiter") == 0)
		o->delimiter = opt_char(name, val);
	else if (pg_strcasecmp(name, "quote") == 0)
		o->quote = opt_char(name, val);
	else if (pg_strcasecmp(name, "escape") == 0)
		o->escape = opt_char(name, val);
	else if (pg_strcasecmp(name, "null") == 0)
	{
		if (strchr(val, '\n') || strchr(val, '\r'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"null\" cannot contain a newline or carriage return")));
		o->null_string = pstrdup(val);
	}
	else if (pg_strcasecmp(name, "force_quote") == 0)
		o->force_quote = opt_bool(name, val);
	else if (pg_strcasecmp(name, "case_sensitive") == 0)
		o->case_sensitive = opt_bool(name, val);
	else if (pg_strcasecmp(name, "extra_keys_column") == 0)
		o->extra_keys_column = (val[0] == '\0') ? NULL : pstrdup(val);
	else if (pg_strcasecmp(name, "row_group_bytes") == 0)
		o->row_group_bytes = opt_int(name, val, 64 * 1024, INT64CONST(1024) * 1024 * 1024);
	else if (pg_strcasecmp(name, "row_group_rows") == 0)
		o->row_group_rows = opt_int(name, val, 0, INT64CONST(1) << 40);
	else if (pg_strcasecmp(name, "page_bytes") == 0)
		o->page_bytes = (int32) opt_int(name, val, 1024, 256 * 1024 * 1024);
	else if (pg_strcasecmp(name, "dictionary") == 0)
		o->dictionary = opt_bool(name, val);
	else if (pg_strcasecmp(name, "sample_rows") == 0)
		o->sample_rows = (int) opt_int(name, val, 0, 1000000);
	else if (pg_strcasecmp(name, "read_ahead_bytes") == 0)
		o->read_ahead_bytes = opt_int(name, val, 4096, INT64CONST(256) * 1024 * 1024);
	else
		return false;
	return true;
}

/*
 * dlake_format_options_from_defelems applies FDW/export style options;
 * see format.h.
 */
void
dlake_format_options_from_defelems(DlakeFormatOptions *opts, List *options,
								   List **unknown)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);
		char	   *val = def->arg ? defGetString(def) : "true";

		if (format_apply_option(opts, def->defname, val))
			continue;
		if (unknown)
		{
			*unknown = lappend(*unknown, def);
			continue;
		}
		{
			const char *hint = closest_option(def->defname);

			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid format option \"%s\"", def->defname),
					 hint ? errhint("Perhaps you meant the option \"%s\".", hint)
					 : errhint("Valid options are format, compression, compression_level, header, delimiter, quote, escape, null, force_quote, case_sensitive, extra_keys_column, row_group_bytes, row_group_rows, page_bytes, dictionary, sample_rows and read_ahead_bytes.")));
		}
	}
	dlake_format_options_validate(opts);
}

/*
 * dlake_format_options_from_jsonb turns {"key": scalar, ...} into DefElems
 * and applies them.  null values are ignored (they mean "default").
 */
void
dlake_format_options_from_jsonb(DlakeFormatOptions *opts, Jsonb *options,
								List **unknown)
{
	List	   *defs = NIL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	if (options == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("format options must be a JSON object"),
				 errhint("For example '{\"header\": true, \"delimiter\": \";\"}'.")));

	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE)
		{
			char	   *s;

			switch (v.type)
			{
				case jbvNull:
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
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("format option \"%s\" must be a string, number or boolean", key)));
					s = NULL;	/* keep compiler quiet */
			}
			defs = lappend(defs, makeDefElem(key, (Node *) makeString(s), -1));
		}
	}
	dlake_format_options_from_defelems(opts, defs, unknown);
}

/*
 * dlake_format_options_validate rejects options that cannot apply to the
 * chosen format (checked again at open when the format was guessed).
 */
void
dlake_format_options_validate(const DlakeFormatOptions *opts)
{
	if (opts->format == DLAKE_FORMAT_CSV || opts->format == DLAKE_FORMAT_JSONL)
	{
		if (opts->compression == DLAKE_COMPRESSION_SNAPPY ||
			opts->compression == DLAKE_COMPRESSION_LZ4_RAW)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("compression \"%s\" is not supported for format \"%s\"",
							dlake_compression_name(opts->compression),
							dlake_format_name(opts->format)),
					 errhint("CSV and JSON lines files can be compressed with gzip or zstd.")));
	}
	if (opts->format == DLAKE_FORMAT_CSV)
	{
		if (opts->delimiter == opts->quote)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("CSV delimiter and quote must be different")));
		if (opts->null_string && strchr(opts->null_string, opts->delimiter))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("CSV null string cannot contain the delimiter")));
	}
}

DlakeFileFormat
dlake_format_from_name(const char *name, bool missing_ok)
{
	if (name == NULL || name[0] == '\0' || pg_strcasecmp(name, "auto") == 0)
		return DLAKE_FORMAT_AUTO;
	if (pg_strcasecmp(name, "parquet") == 0)
		return DLAKE_FORMAT_PARQUET;
	if (pg_strcasecmp(name, "csv") == 0 || pg_strcasecmp(name, "tsv") == 0)
		return DLAKE_FORMAT_CSV;
	if (pg_strcasecmp(name, "jsonl") == 0 || pg_strcasecmp(name, "json") == 0 ||
		pg_strcasecmp(name, "ndjson") == 0 || pg_strcasecmp(name, "jsonlines") == 0)
		return DLAKE_FORMAT_JSONL;
	if (!missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown file format \"%s\"", name),
				 errhint("Valid formats are parquet, csv and jsonl.")));
	return DLAKE_FORMAT_AUTO;
}

const char *
dlake_format_name(DlakeFileFormat format)
{
	switch (format)
	{
		case DLAKE_FORMAT_PARQUET:
			return "parquet";
		case DLAKE_FORMAT_CSV:
			return "csv";
		case DLAKE_FORMAT_JSONL:
			return "jsonl";
		default:
			return "auto";
	}
}

DlakeCompression
dlake_compression_from_name(const char *name, bool missing_ok)
{
	if (name == NULL || name[0] == '\0' || pg_strcasecmp(name, "auto") == 0)
		return DLAKE_COMPRESSION_AUTO;
	if (pg_strcasecmp(name, "none") == 0 || pg_strcasecmp(name, "uncompressed") == 0)
		return DLAKE_COMPRESSION_NONE;
	if (pg_strcasecmp(name, "gzip") == 0 || pg_strcasecmp(name, "gz") == 0)
		return DLAKE_COMPRESSION_GZIP;
	if (pg_strcasecmp(name, "zstd") == 0 || pg_strcasecmp(name, "zst") == 0)
		return DLAKE_COMPRESSION_ZSTD;
	if (pg_strcasecmp(name, "snappy") == 0)
		return DLAKE_COMPRESSION_SNAPPY;
	if (pg_strcasecmp(name, "lz4_raw") == 0 || pg_strcasecmp(name, "lz4") == 0)
		return DLAKE_COMPRESSION_LZ4_RAW;
	if (!missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown compression \"%s\"", name),
				 errhint("Valid values are none, gzip, zstd, snappy and lz4_raw (Parquet only for the last two), or auto.")));
	return DLAKE_COMPRESSION_AUTO;
}

const char *
dlake_compression_name(DlakeCompression compression)
{
	switch (compression)
	{
		case DLAKE_COMPRESSION_NONE:
			return "none";
		case DLAKE_COMPRESSION_GZIP:
			return "gzip";
		case DLAKE_COMPRESSION_ZSTD:
			return "zstd";
		case DLAKE_COMPRESSION_SNAPPY:
			return "snappy";
		case DLAKE_COMPRESSION_LZ4_RAW:
			return "lz4_raw";
		default:
			return "auto";
	}
}

static bool
ends_with(const char *s, size_t len, const char *suffix)
{
	size_t		n = strlen(suffix);

	return len >= n && pg_strncasecmp(s + len - n, suffix, n) == 0;
}

/*
 * dlake_format_guess: see format.h.  Magic bytes win over the name for the
 * compression, since a ".csv" object may well be gzip-encoded.
 */
void
dlake_format_guess(const char *object_name, const unsigned char *head, size_t headlen,
				   DlakeFileFormat *format, DlakeCompression *compression)
{
	size_t		len = object_name ? strlen(object_name) : 0;
	DlakeFileFormat f = DLAKE_FORMAT_AUTO;
	DlakeCompression c = DLAKE_COMPRESSION_NONE;

	if (len > 0)
	{
		if (ends_with(object_name, len, ".gz") || ends_with(object_name, len, ".gzip"))
		{
			c = DLAKE_COMPRESSION_GZIP;
			len -= ends_with(object_name, len, ".gz") ? 3 : 5;
		}
		else if (ends_with(object_name, len, ".zst") || ends_with(object_name, len, ".zstd"))
		{
			c = DLAKE_COMPRESSION_ZSTD;
			len -= ends_with(object_name, len, ".zst") ? 4 : 5;
		}
		if (ends_with(object_name, len, ".parquet") || ends_with(object_name, len, ".parq") ||
			ends_with(object_name, len, ".pq"))
			f = DLAKE_FORMAT_PARQUET;
		else if (ends_with(object_name, len, ".csv") || ends_with(object_name, len, ".tsv") ||
				 ends_with(object_name, len, ".txt"))
			f = DLAKE_FORMAT_CSV;
		else if (ends_with(object_name, len, ".jsonl") || ends_with(object_name, len, ".json") ||
				 ends_with(object_name, len, ".ndjson"))
			f = DLAKE_FORMAT_JSONL;
	}
	if (head && headlen >= 4)
	{
		if (memcmp(head, "PAR1", 4) == 0)
		{
			f = DLAKE_FORMAT_PARQUET;
			c = DLAKE_COMPRESSION_NONE;
		}
		else if (head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd)
			c = DLAKE_COMPRESSION_ZSTD;
		else if (head[0] == 0x1f && head[1] == 0x8b)
			c = DLAKE_COMPRESSION_GZIP;
		else if (f != DLAKE_FORMAT_PARQUET)
			c = DLAKE_COMPRESSION_NONE;
	}
	*format = f;
	*compression = c;
}

const char *
dlake_format_extension(DlakeFileFormat format, DlakeCompression compression)
{
	switch (format)
	{
		case DLAKE_FORMAT_PARQUET:
			return ".parquet";
		case DLAKE_FORMAT_CSV:
			return compression == DLAKE_COMPRESSION_GZIP ? ".csv.gz" :
				compression == DLAKE_COMPRESSION_ZSTD ? ".csv.zst" : ".csv";
		case DLAKE_FORMAT_JSONL:
			return compression == DLAKE_COMPRESSION_GZIP ? ".jsonl.gz" :
				compression == DLAKE_COMPRESSION_ZSTD ? ".jsonl.zst" : ".jsonl";
		default:
			return "";
	}
}

/* ----------------------------------------------------------------
 * Writer dispatch
 * ----------------------------------------------------------------
 */

DlakeFormatWriter *
format_writer_open(const DlakeFormatOptions *opts, TupleDesc tupdesc,
				   DlakeWriteStream *out, const char *object_name)
{
	return format_writer_open_sink(opts, tupdesc, format_sink_from_stream(out),
								   object_name);
}

DlakeFormatWriter *
format_writer_open_sink(const DlakeFormatOptions *opts, TupleDesc tupdesc,
						DlakeByteSink *out, const char *object_name)
{
	MemoryContext cxt;
	MemoryContext old;
	DlakeFormatWriter *w;

	if (opts->format == DLAKE_FORMAT_AUTO)
		elog(ERROR, "format_writer_open needs an explicit format");
	dlake_format_options_validate(opts);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "dlake format writer",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	w = palloc0(sizeof(DlakeFormatWriter));
	w->opts = *opts;
	w->tupdesc = CreateTupleDescCopy(tupdesc);
	w->object_name = pstrdup(object_name ? object_name : "(unnamed)");
	w->cxt = cxt;
	w->rowcxt = AllocSetContextCreate(cxt, "dlake format writer row",
									  ALLOCSET_DEFAULT_SIZES);
	w->out = out;
	w->null_counts = palloc0(sizeof(int64) * Max(tupdesc->natts, 1));

	switch (opts->format)
	{
		case DLAKE_FORMAT_CSV:
			csv_writer_init(w);
			break;
		case DLAKE_FORMAT_JSONL:
			jsonl_writer_init(w);
			break;
		case DLAKE_FORMAT_PARQUET:
			parquet_glue_writer_init(w);
			break;
		default:
			elog(ERROR, "unexpected format %d", (int) opts->format);
	}
	MemoryContextSwitchTo(old);
	return w;
}

void
format_writer_append(DlakeFormatWriter *w, Datum *values, bool *isnull)
{
	MemoryContext old;

	for (int i = 0; i < w->tupdesc->natts; i++)
		if (isnull[i])
			w->null_counts[i]++;
	old = MemoryContextSwitchTo(w->rowcxt);
	w->ops->append(w, values, isnull);
	MemoryContextSwitchTo(old);
	MemoryContextReset(w->rowcxt);
	w->rows++;
}

void
format_writer_close(DlakeFormatWriter *w)
{
	MemoryContext old;

	if (w->closed)
		return;
	old = MemoryContextSwitchTo(w->cxt);
	w->ops->finish(w);
	if (w->stats == NIL)
	{
		/* text formats: null counts only */
		for (int i = 0; i < w->tupdesc->natts; i++)
		{
			DlakeColumnStats *s = palloc0(sizeof(DlakeColumnStats));

			s->name = pstrdup(NameStr(TupleDescAttr(w->tupdesc, i)->attname));
			s->null_count = w->null_counts[i];
			w->stats = lappend(w->stats, s);
		}
	}
	MemoryContextSwitchTo(old);
	w->closed = true;
}

void
format_writer_abort(DlakeFormatWriter *w)
{
	if (w == NULL)
		return;
	MemoryContextDelete(w->cxt);
}

int64
format_writer_rows(DlakeFormatWriter *w)
{
	return w->rows;
}

int64
format_writer_bytes(DlakeFormatWriter *w)
{
	return w->out->bytes_written;
}

int64
format_writer_estimated_size(DlakeFormatWriter *w)
{
	return w->out->bytes_written + (w->closed ? 0 : w->ops->buffered(w));
}

List *
format_writer_column_stats(DlakeFormatWriter *w)
{
	return w->stats;
}

/* ----------------------------------------------------------------
 * Reader dispatch
 * ----------------------------------------------------------------
 */

static void
format_reader_error_callback(void *arg)
{
	DlakeFormatReader *r = (DlakeFormatReader *) arg;
	const char *col = NULL;

	if (r->cur_attr >= 0 && r->target)
		col = NameStr(TupleDescAttr(r->target, r->cur_attr)->attname);
	else if (r->cur_file_column)
		col = r->cur_file_column;

	if (r->format == DLAKE_FORMAT_PARQUET)
	{
		if (r->cur_rg >= 0 && col)
			errcontext("dlake object %s, row group %d, column \"%s\", row " INT64_FORMAT,
					   r->object_name, r->cur_rg, col, r->rg_row);
		else if (r->cur_rg >= 0)
			errcontext("dlake object %s, row group %d, row " INT64_FORMAT,
					   r->object_name, r->cur_rg, r->rg_row);
		else
			errcontext("dlake object %s", r->object_name);
	}
	else if (r->position > 0)
	{
		if (col)
			errcontext("dlake object %s, line " INT64_FORMAT ", column \"%s\"",
					   r->object_name, r->position, col);
		else
			errcontext("dlake object %s, line " INT64_FORMAT,
					   r->object_name, r->position);
	}
	else
		errcontext("dlake object %s", r->object_name);
}

void
format_reader_push_context(DlakeFormatReader *r)
{
	r->errcb.callback = format_reader_error_callback;
	r->errcb.arg = r;
	r->errcb.previous = error_context_stack;
	error_context_stack = &r->errcb;
}

void
format_reader_pop_context(DlakeFormatReader *r)
{
	error_context_stack = r->errcb.previous;
}

DlakeFormatReader *
format_reader_open(const DlakeFormatOptions *opts, DlakeByteSource *src)
{
	MemoryContext cxt;
	MemoryContext old;
	DlakeFormatReader *r;
	DlakeFileFormat gf;
	DlakeCompression gc;
	StringInfoData head;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "dlake format reader",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	r = palloc0(sizeof(DlakeFormatReader));
	r->opts = *opts;
	r->src = src;
	r->object_name = pstrdup(src->object_name ? src->object_name : "(unnamed)");
	r->cxt = cxt;
	r->rowcxt = AllocSetContextCreate(cxt, "dlake format reader row",
									  ALLOCSET_DEFAULT_SIZES);
	r->cur_rg = -1;
	r->cur_attr = -1;

	/* guess format and compression from the name and the first bytes */
	initStringInfo(&head);
	/* the magic bytes cost a request: fetch them only when they decide */
	if (src->size >= 4 &&
		(opts->format == DLAKE_FORMAT_AUTO ||
		 (opts->format != DLAKE_FORMAT_PARQUET && opts->compression == DLAKE_COMPRESSION_AUTO)))
		format_source_read(src, 0, 4, &head);
	dlake_format_guess(r->object_name, (unsigned char *) head.data, head.len, &gf, &gc);
	r->format = opts->format != DLAKE_FORMAT_AUTO ? opts->format : gf;
	if (r->format == DLAKE_FORMAT_AUTO)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot determine the file format of %s", r->object_name),
				 errhint("Name the format explicitly (parquet, csv or jsonl), or use a file extension such as .parquet, .csv.gz or .jsonl.")));
	r->opts.format = r->format;
	/* magic bytes decide: a declared codec that does not match is an error
	 * only when the data is visibly compressed with another one */
	if (opts->compression == DLAKE_COMPRESSION_AUTO || head.len >= 4)
		r->compression = (opts->compression == DLAKE_COMPRESSION_AUTO ||
						  gc != DLAKE_COMPRESSION_NONE) ? gc : opts->compression;
	else
		r->compression = opts->compression;
	if (r->format == DLAKE_FORMAT_PARQUET)
		r->compression = DLAKE_COMPRESSION_NONE;
	else if (r->compression == DLAKE_COMPRESSION_AUTO)
		r->compression = DLAKE_COMPRESSION_NONE;
	r->opts.compression = r->compression;
	pfree(head.data);

	format_reader_push_context(r);
	switch (r->format)
	{
		case DLAKE_FORMAT_CSV:
			csv_reader_init(r);
			break;
		case DLAKE_FORMAT_JSONL:
			jsonl_reader_init(r);
			break;
		case DLAKE_FORMAT_PARQUET:
			parquet_glue_reader_init(r);
			break;
		default:
			elog(ERROR, "unexpected format %d", (int) r->format);
	}
	format_reader_pop_context(r);
	r->nfilecols = list_length(r->schema);
	MemoryContextSwitchTo(old);
	return r;
}

DlakeFileFormat
format_reader_format(DlakeFormatReader *r)
{
	return r->format;
}

List *
format_reader_schema(DlakeFormatReader *r)
{
	if (!r->inferred && r->ops->infer)
	{
		MemoryContext old = MemoryContextSwitchTo(r->cxt);

		format_reader_push_context(r);
		r->ops->infer(r);
		format_reader_pop_context(r);
		MemoryContextSwitchTo(old);
	}
	r->inferred = true;
	return r->schema;
}

int64
format_reader_num_rows(DlakeFormatReader *r)
{
	return r->ops->num_rows ? r->ops->num_rows(r) : -1;
}

int
format_reader_num_row_groups(DlakeFormatReader *r)
{
	return r->ops->num_row_groups ? r->ops->num_row_groups(r) : 1;
}

int64
format_reader_row_group_rows(DlakeFormatReader *r, int rg)
{
	return r->ops->row_group_rows ? r->ops->row_group_rows(r, rg) : -1;
}

bool
format_reader_row_group_stats(DlakeFormatReader *r, int rg, int col,
							  Oid typid, int32 typmod,
							  Datum *min, Datum *max, bool *has_min_max,
							  int64 *null_count)
{
	*has_min_max = false;
	*null_count = -1;
	if (r->ops->row_group_stats == NULL)
		return false;
	return r->ops->row_group_stats(r, rg, col, typid, typmod, min, max,
								   has_min_max, null_count);
}

void
format_reader_set_projection(DlakeFormatReader *r, TupleDesc target,
							 const int *file_columns)
{
	MemoryContext old = MemoryContextSwitchTo(r->cxt);
	int			natts = target->natts;

	if (r->started)
		elog(ERROR, "format_reader_set_projection called after the first row");
	r->target = CreateTupleDescCopy(target);
	r->proj = palloc(sizeof(int) * Max(natts, 1));
	r->inv_proj = palloc(sizeof(int) * Max(r->nfilecols, 1));
	for (int j = 0; j < r->nfilecols; j++)
		r->inv_proj[j] = -1;
	r->in_funcs = palloc0(sizeof(FmgrInfo) * Max(natts, 1));
	r->in_ioparams = palloc0(sizeof(Oid) * Max(natts, 1));
	for (int i = 0; i < natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(target, i);
		int			fc = file_columns ? file_columns[i] : -1;

		if (att->attisdropped || fc < 0 || fc >= r->nfilecols)
			fc = -1;
		r->proj[i] = fc;
		if (fc >= 0)
		{
			Oid			infunc;

			r->inv_proj[fc] = i;
			getTypeInputInfo(att->atttypid, &infunc, &r->in_ioparams[i]);
			fmgr_info_cxt(infunc, &r->in_funcs[i], r->cxt);
		}
	}
	MemoryContextSwitchTo(old);
}

void
format_reader_map_columns(DlakeFormatReader *r, TupleDesc target,
						  DlakeColumnMatch match, bool missing_ok)
{
	int		   *map = palloc(sizeof(int) * Max(target->natts, 1));
	int			pos = 0;

	for (int i = 0; i < target->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(target, i);
		const char *name = NameStr(att->attname);
		int			found = -1;

		map[i] = -1;
		if (att->attisdropped)
			continue;
		if (match == DLAKE_MATCH_BY_POSITION)
		{
			if (pos < r->nfilecols)
				found = pos;
			pos++;
		}
		else
		{
			ListCell   *lc;
			int			j = 0;
			int			ci = -1;
			int			nci = 0;

			foreach(lc, r->schema)
			{
				DlakeFileColumn *fc = lfirst(lc);

				if (strcmp(fc->name, name) == 0)
				{
					found = j;
					break;
				}
				if (pg_strcasecmp(fc->name, name) == 0)
				{
					ci = j;
					nci++;
				}
				j++;
			}
			if (found < 0 && !r->opts.case_sensitive && nci == 1)
				found = ci;
		}
		if (found < 0 && r->format == DLAKE_FORMAT_JSONL &&
			!(r->opts.extra_keys_column && strcmp(name, r->opts.extra_keys_column) == 0))
		{
			/* JSON keys are optional per line: a key not in the sample may
			 * still appear later, so it becomes a column of its own */
			MemoryContext old = MemoryContextSwitchTo(r->cxt);
			DlakeFileColumn *c = palloc0(sizeof(DlakeFileColumn));

			c->name = pstrdup(name);
			c->typid = att->atttypid;
			c->typmod = att->atttypmod;
			c->file_type = "json (not in sample)";
			c->nullable = true;
			r->schema = lappend(r->schema, c);
			found = r->nfilecols++;
			MemoryContextSwitchTo(old);
		}
		if (found < 0 && !missing_ok &&
			!(r->opts.extra_keys_column && strcmp(name, r->opts.extra_keys_column) == 0))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" not found in %s", name, r->object_name),
					 errdetail("The file has %d column(s).", r->nfilecols),
					 errhint("Allow missing columns to read them as NULL, or map the column to a file column by name.")));
		map[i] = found;
	}
	format_reader_set_projection(r, target, map);
	pfree(map);
}

void
format_reader_select_row_groups(DlakeFormatReader *r, const bool *selected)
{
	int			n = format_reader_num_row_groups(r);

	if (selected == NULL)
	{
		r->rg_selected = NULL;
		return;
	}
	r->rg_selected = MemoryContextAlloc(r->cxt, sizeof(bool) * Max(n, 1));
	memcpy(r->rg_selected, selected, sizeof(bool) * n);
}

DlakeReadResult
format_reader_next(DlakeFormatReader *r, Datum *values, bool *isnull,
				   DlakeRowError *err)
{
	MemoryContext old;
	DlakeReadResult res;

	if (unlikely(r->target == NULL))
		elog(ERROR, "format_reader_next called before a projection was set");
	/* called once per row: skip the reset call when nothing was allocated */
	if (!r->rowcxt->isReset || r->rowcxt->firstchild != NULL)
		MemoryContextReset(r->rowcxt);
	old = MemoryContextSwitchTo(r->rowcxt);
	r->errcb.callback = format_reader_error_callback;
	r->errcb.arg = r;
	r->errcb.previous = error_context_stack;
	error_context_stack = &r->errcb;
	if (unlikely(!r->started))
	{
		r->started = true;
		if (r->ops->start)
			r->ops->start(r);
	}
	res = r->ops->next(r, values, isnull, err);
	r->cur_attr = -1;
	r->cur_file_column = NULL;
	error_context_stack = r->errcb.previous;
	MemoryContextSwitchTo(old);
	return res;
}

int64
format_reader_position(DlakeFormatReader *r)
{
	return r->position;
}

int64
format_reader_bytes_read(DlakeFormatReader *r)
{
	return r->src->bytes_read;
}

void
format_reader_close(DlakeFormatReader *r)
{
	if (r == NULL)
		return;
	if (r->ops && r->ops->close)
		r->ops->close(r);
	MemoryContextDelete(r->cxt);
}

/* ----------------------------------------------------------------
 * Shared helpers
 * ----------------------------------------------------------------
 */

void
format_row_error(DlakeFormatReader *r, DlakeRowError *err, int sqlerrcode,
				 int attr, const char *message, const char *raw, size_t rawlen)
{
	err->line = r->position;
	err->column = (attr >= 0 && r->target) ?
		pstrdup(NameStr(TupleDescAttr(r->target, attr)->attname)) : NULL;
	err->sqlerrcode = sqlerrcode;
	err->message = pstrdup(message);
	if (raw)
	{
		size_t		n = Min(rawlen, 65536);

		/* do not cut a multibyte character in half */
		while (n > 0 && n < rawlen && (((unsigned char) raw[n]) & 0xC0) == 0x80)
			n--;
		err->raw = pnstrdup(raw, n);
	}
	else
		err->raw = NULL;
}

/*
 * format_catch_data_error is called inside PG_CATCH by the readers' soft
 * error paths: back in cxt, it re-throws anything that is not a data
 * exception (SQLSTATE class 22) and otherwise clears the error state and
 * returns a copy of the error, allocated in cxt.
 */
ErrorData *
format_catch_data_error(MemoryContext cxt)
{
	ErrorData  *ed;

	MemoryContextSwitchTo(cxt);
	ed = CopyErrorData();
	if (ERRCODE_TO_CATEGORY(ed->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
		PG_RE_THROW();
	FlushErrorState();
	return ed;
}

/*
 * format_input_value: see format_int.h.  PostgreSQL 15 has no soft input
 * errors, so in soft mode we catch the error of the input function alone
 * (no subtransaction: input functions of well-behaved types hold no
 * resources) and re-throw anything that is not a data exception.
 */
bool
format_input_value(DlakeFormatReader *r, int attr, char *str, Datum *value,
				   DlakeRowError *err)
{
	Form_pg_attribute att = TupleDescAttr(r->target, attr);
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;

	r->cur_attr = attr;
	if (err == NULL)
	{
		*value = InputFunctionCall(&r->in_funcs[attr], str, r->in_ioparams[attr],
								   att->atttypmod);
		r->cur_attr = -1;
		return true;
	}

	PG_TRY();
	{
		*value = InputFunctionCall(&r->in_funcs[attr], str, r->in_ioparams[attr],
								   att->atttypmod);
	}
	PG_CATCH();
	{
		ErrorData  *ed = format_catch_data_error(cxt);

		format_row_error(r, err, ed->sqlerrcode, attr, ed->message, NULL, 0);
		FreeErrorData(ed);
		ok = false;
	}
	PG_END_TRY();
	r->cur_attr = -1;
	return ok;
}

char *
format_datum_text(Oid typid, Datum value)
{
	Oid			outfunc;
	bool		isvarlena;

	getTypeOutputInfo(typid, &outfunc, &isvarlena);
	return OidOutputFunctionCall(outfunc, value);
}

bool
format_portable_text(Oid typid, Datum value, StringInfo out)
{
	char		buf[MAXDATELEN + 1];

	switch (typid)
	{
		case BOOLOID:
			appendStringInfoString(out, DatumGetBool(value) ? "true" : "false");
			return true;
		case DATEOID:
		case TIMESTAMPOID:
			JsonEncodeDateTime(buf, value, typid, NULL);
			appendStringInfoString(out, buf);
			return true;
		case TIMESTAMPTZOID:
			{
				int			utc = 0;

				JsonEncodeDateTime(buf, value, typid, &utc);
				appendStringInfoString(out, buf);
				return true;
			}
		default:
			return false;
	}
}

/* ---- type inference from sampled text ---- */

void
format_guess_init(DlakeTypeGuess *g)
{
	g->seen = false;
	g->maybe_bool = g->maybe_int4 = g->maybe_int8 = g->maybe_numeric = true;
	g->maybe_float8 = g->maybe_date = g->maybe_timestamp = true;
	g->maybe_timestamptz = true;
	g->maybe_jsonb = false;
}

static bool
digits(const char *s, size_t len, size_t *i, int n)
{
	for (int k = 0; k < n; k++)
	{
		if (*i >= len || !isdigit((unsigned char) s[*i]))
			return false;
		(*i)++;
	}
	return true;
}

/* 0 = not a date/time, 1 = date, 2 = timestamp, 3 = timestamp with zone */
static int
guess_datetime(const char *s, size_t len)
{
	size_t		i = 0;

	if (!digits(s, len, &i, 4) || i >= len || s[i++] != '-' ||
		!digits(s, len, &i, 2) || i >= len || s[i++] != '-' || !digits(s, len, &i, 2))
		return 0;
	if (i == len)
		return 1;
	if (s[i] != ' ' && s[i] != 'T')
		return 0;
	i++;
	if (!digits(s, len, &i, 2) || i >= len || s[i++] != ':' || !digits(s, len, &i, 2))
		return 0;
	if (i < len && s[i] == ':')
	{
		i++;
		if (!digits(s, len, &i, 2))
			return 0;
		if (i < len && s[i] == '.')
		{
			i++;
			if (i >= len || !isdigit((unsigned char) s[i]))
				return 0;
			while (i < len && isdigit((unsigned char) s[i]))
				i++;
		}
	}
	if (i == len)
		return 2;
	if (s[i] == ' ')
		i++;
	if (i < len && (s[i] == 'Z' || s[i] == 'z') && i + 1 == len)
		return 3;
	if (i < len && (s[i] == '+' || s[i] == '-'))
	{
		i++;
		if (!digits(s, len, &i, 2))
			return 0;
		if (i < len && s[i] == ':')
			i++;
		if (i < len && !digits(s, len, &i, 2))
			return 0;
		return i == len ? 3 : 0;
	}
	return 0;
}

/*
 * format_guess_text narrows the candidate types with one non-null sample.
 */
void
format_guess_text(DlakeTypeGuess *g, const char *s, size_t len)
{
	size_t		i = 0;
	bool		neg = false;
	size_t		ndigits = 0;
	bool		dot = false;
	bool		exp = false;
	bool		isnum = true;
	int			dt;

	g->seen = true;
	if (!((len == 4 && pg_strncasecmp(s, "true", 4) == 0) ||
		  (len == 5 && pg_strncasecmp(s, "false", 5) == 0)))
		g->maybe_bool = false;

	/* numbers: [-+]digits[.digits][e[-+]digits], no leading zeros */
	if (i < len && (s[i] == '-' || s[i] == '+'))
	{
		neg = true;
		i++;
	}
	while (i < len && isdigit((unsigned char) s[i]))
	{
		i++;
		ndigits++;
	}
	if (i < len && s[i] == '.')
	{
		dot = true;
		i++;
		while (i < len && isdigit((unsigned char) s[i]))
		{
			i++;
			ndigits++;
		}
	}
	if (ndigits > 0 && i < len && (s[i] == 'e' || s[i] == 'E'))
	{
		size_t		e0;

		exp = true;
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		e0 = i;
		while (i < len && isdigit((unsigned char) s[i]))
			i++;
		if (i == e0)
			isnum = false;
	}
	if (ndigits == 0 || i != len)
		isnum = false;
	/* "007" is an identifier, not a number */
	if (isnum && !dot && !exp)
	{
		size_t		first = neg ? 1 : 0;

		if (len - first > 1 && s[first] == '0')
			isnum = false;
	}
	if (!isnum)
	{
		bool		special = (len == 3 && pg_strncasecmp(s, "nan", 3) == 0) ||
		(len >= 3 && (pg_strncasecmp(s, "infinity", len) == 0 ||
					  pg_strncasecmp(s, "-infinity", len) == 0 ||
					  pg_strncasecmp(s, "inf", len) == 0 ||
					  pg_strncasecmp(s, "-inf", len) == 0));

		g->maybe_int4 = g->maybe_int8 = g->maybe_numeric = false;
		if (!special)
			g->maybe_float8 = false;
	}
	else if (dot || exp)
	{
		g->maybe_int4 = g->maybe_int8 = false;
		if (exp)
			g->maybe_numeric = false;
	}
	else
	{
		char		buf[32];
		long long	v;
		char	   *end;

		if (len >= sizeof(buf))
			g->maybe_int4 = g->maybe_int8 = false;
		else
		{
			memcpy(buf, s, len);
			buf[len] = '\0';
			errno = 0;
			v = strtoll(buf, &end, 10);
			if (errno != 0)
				g->maybe_int4 = g->maybe_int8 = false;
			else if (v < INT_MIN || v > INT_MAX)
				g->maybe_int4 = false;
		}
	}

	dt = guess_datetime(s, len);
	if ((len == 8 && pg_strncasecmp(s, "infinity", 8) == 0) ||
		(len == 9 && pg_strncasecmp(s, "-infinity", 9) == 0))
		dt = -1;				/* fits date, timestamp and float8 alike */
	if (dt == -1)
	{
		g->maybe_bool = g->maybe_int4 = g->maybe_int8 = g->maybe_numeric = false;
		return;
	}
	if (dt != 1)
		g->maybe_date = false;
	if (dt != 1 && dt != 2)
		g->maybe_timestamp = false;
	if (dt == 0)
		g->maybe_timestamptz = false;
}

void
format_guess_result(const DlakeTypeGuess *g, Oid *typid, int32 *typmod)
{
	*typmod = -1;
	if (g->maybe_jsonb)
		*typid = JSONBOID;
	else if (!g->seen)
		*typid = TEXTOID;
	else if (g->maybe_bool)
		*typid = BOOLOID;
	else if (g->maybe_int4)
		*typid = INT4OID;
	else if (g->maybe_int8)
		*typid = INT8OID;
	else if (g->maybe_numeric)
		*typid = NUMERICOID;
	else if (g->maybe_float8)
		*typid = FLOAT8OID;
	else if (g->maybe_date)
		*typid = DATEOID;
	else if (g->maybe_timestamp)
		*typid = TIMESTAMPOID;
	else if (g->maybe_timestamptz)
		*typid = TIMESTAMPTZOID;
	else
		*typid = TEXTOID;
}
