/*-------------------------------------------------------------------------
 *
 * format_sql.c
 *	  SQL functions over the format layer, useful on their own and to prove
 *	  the formats: dlake.write_file (a query → one file), dlake.read_file
 *	  (one file → rows, with a column definition list), dlake.file_schema
 *	  (columns and inferred types).  dlake.parquet_metadata lives in
 *	  parquet_glue.c.  All touch storage and are revoked from PUBLIC.
 *
 * IDENTIFICATION
 *	  src/format/format_sql.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "format/format_int.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/portal.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(dlake_write_file);
PG_FUNCTION_INFO_V1(dlake_read_file);
PG_FUNCTION_INFO_V1(dlake_file_schema);

#define WRITE_FILE_BATCH 1000

static void
format_sql_require(FunctionCallInfo fcinfo, int n, const char *what)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
}

static DlakeStorage *
format_sql_open_location(const char *uri, const char *server, DlakeLocation **loc_out)
{
	DlakeLocation *loc = dlake_location_parse_or_error(uri);
	DlakeConfig *cfg = NULL;

	if (loc->kind == DLAKE_STORAGE_S3)
		cfg = dlake_config_get(server);
	*loc_out = loc;
	return storage_open(cfg, loc);
}

/*
 * Options of the SQL functions: format argument, then the jsonb options
 * (format options plus the function's own, returned in *extra).
 */
static void
format_sql_options(FunctionCallInfo fcinfo, int fmt_arg, int opt_arg,
				   DlakeFormatOptions *opts, List **extra)
{
	dlake_format_options_init(opts);
	if (!PG_ARGISNULL(opt_arg))
		dlake_format_options_from_jsonb(opts, PG_GETARG_JSONB_P(opt_arg), extra);
	if (!PG_ARGISNULL(fmt_arg))
		opts->format = dlake_format_from_name(text_to_cstring(PG_GETARG_TEXT_PP(fmt_arg)), false);
	dlake_format_options_validate(opts);
}

static const char *
extra_option(List *extra, const char *name)
{
	ListCell   *lc;

	foreach(lc, extra)
	{
		DefElem    *d = lfirst(lc);

		if (pg_strcasecmp(d->defname, name) == 0)
			return defGetString(d);
	}
	return NULL;
}

static void
reject_extra(List *extra, const char *const *allowed)
{
	ListCell   *lc;

	foreach(lc, extra)
	{
		DefElem    *d = lfirst(lc);
		bool		ok = false;

		for (int i = 0; allowed[i]; i++)
			if (pg_strcasecmp(d->defname, allowed[i]) == 0)
				ok = true;
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\"", d->defname),
					 errhint("See docs/formats.md for the options of each format.")));
	}
}

/*
 * dlake.write_file(query, location, format, options, server) runs the
 * query through a cursor in batches and streams its rows into one file.
 * The object becomes visible only when complete; on error it is aborted.
 */
Datum
dlake_write_file(PG_FUNCTION_ARGS)
{
	char	   *query;
	char	   *uri;
	DlakeFormatOptions opts;
	DlakeLocation *loc;
	DlakeStorage *st;
	DlakeWriteStream *ws;
	DlakeFormatWriter *w = NULL;
	SPIPlanPtr plan;
	Portal		portal;
	int64		rows = 0;
	static const char *const allowed[] = {NULL};
	List	   *extra = NIL;

	format_sql_require(fcinfo, 0, "query");
	format_sql_require(fcinfo, 1, "location");
	query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	uri = text_to_cstring(PG_GETARG_TEXT_PP(1));
	format_sql_options(fcinfo, 2, 3, &opts, &extra);
	reject_extra(extra, allowed);

	if (opts.format == DLAKE_FORMAT_AUTO || opts.compression == DLAKE_COMPRESSION_AUTO)
	{
		DlakeFileFormat gf;
		DlakeCompression gc;

		dlake_format_guess(uri, NULL, 0, &gf, &gc);
		if (opts.format == DLAKE_FORMAT_AUTO)
			opts.format = gf;
		if (opts.format == DLAKE_FORMAT_AUTO)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot determine the file format for \"%s\"", uri),
					 errhint("Pass format => 'parquet', 'csv' or 'jsonl', or use a file extension.")));
		if (opts.compression == DLAKE_COMPRESSION_AUTO && opts.format != DLAKE_FORMAT_PARQUET)
			opts.compression = gc;
		dlake_format_options_validate(&opts);
	}

	st = format_sql_open_location(uri, PG_ARGISNULL(4) ? NULL : NameStr(*PG_GETARG_NAME(4)), &loc);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare_cursor(query, 0, NULL, CURSOR_OPT_NO_SCROLL);
	if (plan == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("could not prepare the query of dlake.write_file: %s",
						SPI_result_code_string(SPI_result))));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, false);
	if (portal->tupDesc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the query of dlake.write_file must return rows")));

	ws = storage_write_open(st, loc);
	PG_TRY();
	{
		TupleDesc	td = portal->tupDesc;
		Datum	   *values = palloc(sizeof(Datum) * Max(td->natts, 1));
		bool	   *nulls = palloc(sizeof(bool) * Max(td->natts, 1));
		DlakeObjectInfo info;

		w = format_writer_open(&opts, td, ws, loc->uri);
		for (;;)
		{
			SPI_cursor_fetch(portal, true, WRITE_FILE_BATCH);
			if (SPI_processed == 0)
				break;
			for (uint64 i = 0; i < SPI_processed; i++)
			{
				heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
								  values, nulls);
				format_writer_append(w, values, nulls);
				rows++;
			}
			SPI_freetuptable(SPI_tuptable);
			CHECK_FOR_INTERRUPTS();
		}
		format_writer_close(w);
		storage_write_close(ws, &info);
	}
	PG_CATCH();
	{
		storage_write_abort(ws);
		PG_RE_THROW();
	}
	PG_END_TRY();
	format_writer_abort(w);		/* frees its memory */
	SPI_cursor_close(portal);
	SPI_finish();
	PG_RETURN_INT64(rows);
}

/*
 * dlake.read_file(location, format, options, server) returns the rows of
 * one file as the caller's column definition list asks.  Extra options:
 * match ('name' default, or 'position'), missing_columns ('error' default,
 * or 'null'), on_error ('stop' default, or 'skip': bad rows are skipped
 * with a NOTICE each, at most max_errors of them).
 */
Datum
dlake_read_file(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DlakeFormatOptions opts;
	List	   *extra = NIL;
	static const char *const allowed[] = {"match", "missing_columns", "on_error", "max_errors", NULL};
	const char *s;
	DlakeColumnMatch match = DLAKE_MATCH_BY_NAME;
	bool		missing_ok = false;
	bool		skip = false;
	int64		max_errors = -1;
	int64		nerrors = 0;
	DlakeLocation *loc;
	DlakeStorage *st;
	DlakeByteSource *src;
	DlakeFormatReader *r;
	TupleDesc	td;
	Datum	   *values;
	bool	   *nulls;
	DlakeRowError rerr;

	format_sql_require(fcinfo, 0, "location");
	format_sql_options(fcinfo, 1, 2, &opts, &extra);
	reject_extra(extra, allowed);
	if ((s = extra_option(extra, "match")) != NULL)
	{
		if (pg_strcasecmp(s, "position") == 0)
			match = DLAKE_MATCH_BY_POSITION;
		else if (pg_strcasecmp(s, "name") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"match\" must be \"name\" or \"position\"")));
	}
	if ((s = extra_option(extra, "missing_columns")) != NULL)
	{
		if (pg_strcasecmp(s, "null") == 0)
			missing_ok = true;
		else if (pg_strcasecmp(s, "error") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"missing_columns\" must be \"null\" or \"error\"")));
	}
	if ((s = extra_option(extra, "on_error")) != NULL)
	{
		if (pg_strcasecmp(s, "skip") == 0)
			skip = true;
		else if (pg_strcasecmp(s, "stop") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"on_error\" must be \"stop\" or \"skip\"")));
	}
	if ((s = extra_option(extra, "max_errors")) != NULL)
		max_errors = pg_strtoint64(s);

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) || rsinfo->expectedDesc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("dlake.read_file needs a column definition list"),
				 errhint("For example: SELECT * FROM dlake.read_file('file:///data/x.parquet') AS t(id bigint, name text).")));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	td = rsinfo->setDesc;

	st = format_sql_open_location(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								  PG_ARGISNULL(3) ? NULL : NameStr(*PG_GETARG_NAME(3)), &loc);
	src = format_source_from_storage(st, loc, -1);
	r = format_reader_open(&opts, src);
	format_reader_map_columns(r, td, match, missing_ok);
	values = palloc(sizeof(Datum) * Max(td->natts, 1));
	nulls = palloc(sizeof(bool) * Max(td->natts, 1));
	for (;;)
	{
		DlakeReadResult res = format_reader_next(r, values, nulls, skip ? &rerr : NULL);

		if (res == DLAKE_READ_EOF)
			break;
		if (res == DLAKE_READ_ERROR)
		{
			nerrors++;
			if (max_errors >= 0 && nerrors > max_errors)
				ereport(ERROR,
						(errcode(rerr.sqlerrcode),
						 errmsg("too many bad rows in %s: more than " INT64_FORMAT,
								loc->uri, max_errors),
						 errdetail("Last error at line/row " INT64_FORMAT ": %s", rerr.line,
								   rerr.message)));
			ereport(NOTICE,
					(errmsg("skipped row " INT64_FORMAT " of %s: %s%s%s", rerr.line, loc->uri,
							rerr.message,
							rerr.column ? " (column " : "",
							rerr.column ? psprintf("\"%s\")", rerr.column) : "")));
			continue;
		}
		tuplestore_putvalues(rsinfo->setResult, td, values, nulls);
		CHECK_FOR_INTERRUPTS();
	}
	format_reader_close(r);
	return (Datum) 0;
}

/*
 * dlake.file_schema(location, format, options, server): the columns of a
 * file with the PostgreSQL type dlake infers for each (Parquet: from the
 * footer; CSV: header + sampled values; JSONL: keys + sampled values).
 */
Datum
dlake_file_schema(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DlakeFormatOptions opts;
	List	   *extra = NIL;
	static const char *const allowed[] = {NULL};
	DlakeLocation *loc;
	DlakeStorage *st;
	DlakeFormatReader *r;
	ListCell   *lc;
	int			pos = 0;

	format_sql_require(fcinfo, 0, "location");
	format_sql_options(fcinfo, 1, 2, &opts, &extra);
	reject_extra(extra, allowed);
	InitMaterializedSRF(fcinfo, 0);
	st = format_sql_open_location(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								  PG_ARGISNULL(3) ? NULL : NameStr(*PG_GETARG_NAME(3)), &loc);
	r = format_reader_open(&opts, format_source_from_storage(st, loc, -1));
	foreach(lc, format_reader_schema(r))
	{
		DlakeFileColumn *c = lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = Int32GetDatum(++pos);
		values[1] = CStringGetTextDatum(c->name);
		values[2] = CStringGetTextDatum(format_type_with_typemod(c->typid, c->typmod));
		values[3] = CStringGetTextDatum(c->file_type ? c->file_type : "");
		values[4] = BoolGetDatum(c->nullable);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	format_reader_close(r);
	return (Datum) 0;
}
