/*-------------------------------------------------------------------------
 *
 * load.c
 *	  dlake.load: files under a location (or listed by a manifest) into a
 *	  table, the Redshift COPY counterpart.
 *
 * Each object is read through the format readers (CSV, JSON lines,
 * Parquet; gzip/zstd detected), columns matched by name (CSV without a
 * header: by position), target columns missing from the file get their
 * default.  Rows go in through table_multi_insert with a BulkInsertState
 * in batches, indexes and constraints maintained as COPY FROM does, not
 * through SPI per row.  Bad rows (conversion errors, wrong column count,
 * invalid UTF-8) are written to dlake.load_errors until more than
 * max_errors occurred; then the call raises and, being one transaction,
 * leaves nothing behind.  Objects already loaded into the same table
 * (same URI, ETag and size in dlake.loaded_files) are skipped unless
 * force is true, so a scheduled "load new files" job is idempotent.
 *
 * IDENTIFICATION
 *	  src/export/load.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fnmatch.h>

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/nodeModifyTable.h"
#include "executor/spi.h"
#include "export/export.h"
#include "fmgr.h"
#include "format/format.h"
#include "funcapi.h"
#include "guc.h"
#include "utils/timestamp.h"
#include "utils/fmgrprotos.h"
#include "mb/pg_wchar.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteHandler.h"
#include "storage/storage.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(dlake_load);

#define LOAD_BATCH_ROWS 1000
#define LOAD_BATCH_BYTES (4 * 1024 * 1024)

typedef struct LoadTarget
{
	Relation	rel;
	TupleDesc	desc;
	EState	   *estate;
	ResultRelInfo *rri;
	BulkInsertState bistate;
	CommandId	cid;
	TupleTableSlot **slots;
	int			nslots;
	int64		batch_bytes;
	ExprState **defaults;		/* per attribute, NULL when none */
	bool		has_constraints;
	bool		has_generated;
} LoadTarget;

static void
load_flush(LoadTarget *t)
{
	if (t->nslots == 0)
		return;
	table_multi_insert(t->rel, t->slots, t->nslots, t->cid, 0, t->bistate);
	for (int i = 0; i < t->nslots; i++)
	{
		if (t->rri->ri_NumIndices > 0)
		{
			List	   *recheck = ExecInsertIndexTuples(t->rri, t->slots[i], t->estate,
														false, false, NULL, NIL);

			list_free(recheck);
		}
		ExecClearTuple(t->slots[i]);
	}
	t->nslots = 0;
	t->batch_bytes = 0;
	ResetPerTupleExprContext(t->estate);
}

static LoadTarget *
load_open_target(Oid relid)
{
	LoadTarget *t = palloc0(sizeof(LoadTarget));
	RangeTblEntry *rte;
	AclResult	acl;

	t->rel = table_open(relid, RowExclusiveLock);
	if (t->rel->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot load into \"%s\"", RelationGetRelationName(t->rel)),
				 errdetail("dlake.load writes into ordinary tables only (not partitioned tables, views or foreign tables)."),
				 errhint("Load into a staging table and INSERT ... SELECT from it.")));
	acl = pg_class_aclcheck(relid, GetUserId(), ACL_INSERT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, RelationGetRelationName(t->rel));
	if (t->rel->trigdesc &&
		(t->rel->trigdesc->trig_insert_before_row || t->rel->trigdesc->trig_insert_after_row ||
		 t->rel->trigdesc->trig_insert_instead_row))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot load into \"%s\": it has row-level INSERT triggers",
						RelationGetRelationName(t->rel)),
				 errhint("Load into a staging table and INSERT ... SELECT from it.")));
	t->desc = RelationGetDescr(t->rel);

	t->estate = CreateExecutorState();
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = relid;
	rte->relkind = RELKIND_RELATION;
	rte->rellockmode = RowExclusiveLock;
	rte->requiredPerms = ACL_INSERT;
	ExecInitRangeTable(t->estate, list_make1(rte));
	t->rri = makeNode(ResultRelInfo);
	ExecInitResultRelation(t->estate, t->rri, 1);
	ExecOpenIndices(t->rri, false);
	t->bistate = GetBulkInsertState();
	t->cid = GetCurrentCommandId(true);
	t->slots = palloc0(sizeof(TupleTableSlot *) * LOAD_BATCH_ROWS);
	for (int i = 0; i < LOAD_BATCH_ROWS; i++)
		t->slots[i] = table_slot_create(t->rel, NULL);
	t->has_constraints = t->desc->constr != NULL;
	t->has_generated = t->desc->constr && t->desc->constr->has_generated_stored;

	t->defaults = palloc0(sizeof(ExprState *) * t->desc->natts);
	for (int a = 0; a < t->desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(t->desc, a);
		Node	   *def;

		if (att->attisdropped || att->attgenerated)
			continue;
		def = build_column_default(t->rel, a + 1);
		if (def)
			t->defaults[a] = ExecPrepareExpr((Expr *) expression_planner((Expr *) def), t->estate);
	}
	return t;
}

static void
load_close_target(LoadTarget *t)
{
	load_flush(t);
	for (int i = 0; i < LOAD_BATCH_ROWS; i++)
		ExecDropSingleTupleTableSlot(t->slots[i]);
	FreeBulkInsertState(t->bistate);
	table_finish_bulk_insert(t->rel, 0);
	ExecCloseResultRelations(t->estate);
	ExecCloseRangeTableRelations(t->estate);
	FreeExecutorState(t->estate);
	table_close(t->rel, NoLock);
}

/*
 * Column mapping: target attribute → file column (or -1).  By name:
 * exact match first, then a unique case-insensitive match.  By position:
 * the i-th non-dropped attribute takes file column i.
 */
static int *
load_map_columns(LoadTarget *t, List *schema, bool by_position)
{
	int		   *map = palloc(sizeof(int) * t->desc->natts);
	int			pos = 0;

	for (int a = 0; a < t->desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(t->desc, a);
		ListCell   *lc;
		int			i = 0;
		int			ci = -1;
		int			nci = 0;

		map[a] = -1;
		if (att->attisdropped || att->attgenerated)
			continue;
		if (by_position)
		{
			if (pos < list_length(schema))
				map[a] = pos;
			pos++;
			continue;
		}
		foreach(lc, schema)
		{
			DlakeFileColumn *c = lfirst(lc);

			if (strcmp(c->name, NameStr(att->attname)) == 0)
			{
				map[a] = i;
				break;
			}
			if (pg_strcasecmp(c->name, NameStr(att->attname)) == 0)
			{
				ci = i;
				nci++;
			}
			i++;
		}
		if (map[a] < 0 && nci == 1)
			map[a] = ci;
	}
	return map;
}

/* the raw line as valid text: invalid bytes become \xNN */
static char *
load_safe_text(const char *raw)
{
	StringInfoData out;
	int			len = strlen(raw);

	/* without the line terminator */
	while (len > 0 && (raw[len - 1] == '\n' || raw[len - 1] == '\r'))
		len--;
	if (pg_verifymbstr(raw, len, true))
		return pnstrdup(raw, len);
	initStringInfo(&out);
	for (const unsigned char *p = (const unsigned char *) raw; p < (const unsigned char *) raw + len; p++)
	{
		if (*p < 0x80)
			appendStringInfoChar(&out, (char) *p);
		else
			appendStringInfo(&out, "\\x%02X", *p);
	}
	return out.data;
}

static void
load_log_error(int64 run_id, const char *object, DlakeRowError *err)
{
	Oid			types[7] = {INT8OID, TEXTOID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		args[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};

	args[0] = Int64GetDatum(run_id);
	args[1] = CStringGetTextDatum(object);
	args[2] = Int64GetDatum(err->line);
	if (err->column)
		args[3] = CStringGetTextDatum(err->column);
	else
		nulls[3] = 'n';
	args[4] = CStringGetTextDatum(err->message ? err->message : "bad row");
	args[5] = CStringGetTextDatum(unpack_sql_state(err->sqlerrcode));
	if (err->raw)
		args[6] = CStringGetTextDatum(load_safe_text(err->raw));
	else
		nulls[6] = 'n';
	if (SPI_execute_with_args("INSERT INTO dlake.load_errors (run_id, object, line, column_name, "
							  "error, sqlstate, raw_line) VALUES ($1, $2, $3, $4, $5, $6, $7)",
							  7, types, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into dlake.load_errors");
}

/* true for objects that are never data: _SUCCESS, _manifest-*, .crc ... */
static bool
load_skip_marker(const char *uri)
{
	const char *base = strrchr(uri, '/');
	size_t		n;

	base = base ? base + 1 : uri;
	n = strlen(base);
	if (base[0] == '_' || base[0] == '.' || n == 0)
		return true;
	if (n > 4 && strcmp(base + n - 4, ".crc") == 0)
		return true;
	return false;
}

/* the objects a manifest lists (Redshift's {"entries": [{"url": ...}]}) */
static List *
load_manifest_entries(DlakeStorage *st, DlakeLocation *loc)
{
	StringInfoData buf;
	Oid			types[1] = {TEXTOID};
	Datum		args[1];
	List	   *out = NIL;

	initStringInfo(&buf);
	storage_read_range(st, loc, 0, -1, &buf);
	args[0] = CStringGetTextDatum(buf.data);
	if (SPI_execute_with_args("SELECT e->>'url' FROM jsonb_array_elements($1::jsonb->'entries') e",
							  1, types, args, NULL, true, 0) != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not read the manifest \"%s\"", loc->uri)));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *url = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		DlakeLocation *l;
		DlakeObjectInfo *o = palloc0(sizeof(DlakeObjectInfo));

		if (url == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("manifest \"%s\" has an entry without \"url\"", loc->uri)));
		l = dlake_location_parse_or_error(url);
		if (l->kind != loc->kind || (l->kind == DLAKE_STORAGE_S3 && strcmp(l->bucket, loc->bucket) != 0))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("manifest \"%s\" lists \"%s\" in another bucket", loc->uri, url)));
		if (!storage_stat(st, l, o))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("object \"%s\" listed in manifest \"%s\" does not exist", url, loc->uri)));
		out = lappend(out, o);
	}
	return out;
}

static bool
load_is_manifest(const char *uri)
{
	const char *base = strrchr(uri, '/');
	size_t		n;

	base = base ? base + 1 : uri;
	n = strlen(base);
	return (n >= 8 && strcmp(base + n - 8, "manifest") == 0) ||
		(n >= 13 && strcmp(base + n - 13, "manifest.json") == 0) ||
		strncmp(base, "_manifest", 9) == 0;
}

/*
 * Timestamp formats of the load option timestamp_format: "epoch" (seconds,
 * fractions allowed), "epoch_ms", or a to_timestamp() format string.  The
 * column is read as text and converted here; a failure is a bad row.
 */
typedef enum LoadTsFormat
{
	LOAD_TS_NATIVE = 0,
	LOAD_TS_EPOCH,
	LOAD_TS_EPOCH_MS,
	LOAD_TS_PATTERN
} LoadTsFormat;

static bool
load_convert_ts(LoadTsFormat fmt, Datum pattern, Oid target, Datum in,
				Datum *out, DlakeRowError *err)
{
	MemoryContext old = CurrentMemoryContext;
	volatile bool ok = true;

	PG_TRY();
	{
		Datum		tstz;

		if (fmt == LOAD_TS_PATTERN)
			tstz = DirectFunctionCall2(to_timestamp, in, pattern);
		else
		{
			char	   *s = TextDatumGetCString(in);
			float8		d = DatumGetFloat8(DirectFunctionCall1(float8in, CStringGetDatum(s)));

			if (fmt == LOAD_TS_EPOCH_MS)
				d /= 1000.0;
			tstz = DirectFunctionCall1(float8_timestamptz, Float8GetDatum(d));
		}
		if (target == TIMESTAMPOID)
			*out = DirectFunctionCall1(timestamptz_timestamp, tstz);
		else if (target == DATEOID)
			*out = DirectFunctionCall1(timestamptz_date, tstz);
		else
			*out = tstz;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(old);
		edata = CopyErrorData();
		FlushErrorState();
		err->sqlerrcode = edata->sqlerrcode;
		err->message = edata->message;
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * dlake.load(target, location, format, options, server, max_errors, force,
 *			  pattern, zone)
 */
Datum
dlake_load(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid;
	char	   *server;
	char	   *zone;
	char	   *uri;
	DlakeFormatOptions base_opts;
	List	   *extra = NIL;
	int			max_errors;
	bool		force;
	char	   *pattern;
	DlakeLocation *loc;
	DlakeConfig *cfg = NULL;
	DlakeStorage *st;
	List	   *objects = NIL;
	DlakeObjectInfo sinfo;
	size_t		prefix_len;
	LoadTarget *t;
	int64		run_id;
	int64		total_errors = 0;
	int64		total_rows = 0;
	int			nloaded = 0;
	int			nskipped = 0;
	ListCell   *lc;
	bool		isnull;
	MemoryContext filecxt;
	bool		by_position_opt = false;
	LoadTsFormat ts_format = LOAD_TS_NATIVE;
	Datum		ts_pattern = (Datum) 0;
	TupleDesc	readdesc;
	bool	   *ts_conv;
	Datum	   *rvalues;
	bool	   *rnulls;
	TimestampTz last_progress = GetCurrentTimestamp();

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("target must not be NULL")));
	relid = PG_GETARG_OID(0);
	server = PG_ARGISNULL(4) ? NULL : pstrdup(NameStr(*PG_GETARG_NAME(4)));
	zone = PG_ARGISNULL(8) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(8));
	uri = dlake_resolve_zone(zone, PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1)),
							 &server);
	dlake_format_options_init(&base_opts);
	if (!PG_ARGISNULL(3))
		dlake_format_options_from_jsonb(&base_opts, PG_GETARG_JSONB_P(3), &extra);
	foreach(lc, extra)
	{
		DefElem    *d = lfirst(lc);

		if (pg_strcasecmp(d->defname, "timestamp_format") == 0)
		{
			char	   *s = defGetString(d);

			if (pg_strcasecmp(s, "epoch") == 0)
				ts_format = LOAD_TS_EPOCH;
			else if (pg_strcasecmp(s, "epoch_ms") == 0)
				ts_format = LOAD_TS_EPOCH_MS;
			else if (pg_strcasecmp(s, "iso") == 0 || pg_strcasecmp(s, "auto") == 0)
				ts_format = LOAD_TS_NATIVE;
			else
			{
				ts_format = LOAD_TS_PATTERN;
				ts_pattern = CStringGetTextDatum(s);
			}
		}
		else if (pg_strcasecmp(d->defname, "match") == 0)
		{
			char	   *s = defGetString(d);

			if (pg_strcasecmp(s, "position") == 0)
				by_position_opt = true;
			else if (pg_strcasecmp(s, "name") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"match\" must be \"name\" or \"position\"")));
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown load option \"%s\"", d->defname),
					 errhint("Load options are the format options of docs/formats.md plus match and timestamp_format.")));
	}
	if (!PG_ARGISNULL(2))
		base_opts.format = dlake_format_from_name(text_to_cstring(PG_GETARG_TEXT_PP(2)), false);
	dlake_format_options_validate(&base_opts);
	max_errors = PG_ARGISNULL(5) ? 0 : PG_GETARG_INT32(5);
	if (max_errors < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_errors must not be negative")));
	force = PG_ARGISNULL(6) ? false : PG_GETARG_BOOL(6);
	pattern = PG_ARGISNULL(7) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(7));

	InitMaterializedSRF(fcinfo, 0);
	loc = dlake_location_parse_or_error(uri);
	if (loc->kind == DLAKE_STORAGE_S3)
		cfg = dlake_config_get(server);
	st = storage_open(cfg, loc);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* what to load: a manifest, one object, or everything under a prefix */
	if (loc->key[0] != '\0' && loc->key[strlen(loc->key) - 1] != '/' &&
		storage_stat(st, loc, &sinfo))
	{
		if (load_is_manifest(loc->uri))
			objects = load_manifest_entries(st, loc);
		else
		{
			DlakeObjectInfo *o = palloc(sizeof(DlakeObjectInfo));

			*o = sinfo;
			objects = list_make1(o);
		}
		prefix_len = strlen(loc->uri) - strlen(strrchr(loc->uri, '/') + 1);
	}
	else
	{
		DlakeLocation *prefix = loc;

		if (loc->key[0] != '\0' && loc->key[strlen(loc->key) - 1] != '/')
		{
			prefix = palloc(sizeof(DlakeLocation));
			*prefix = *loc;
			prefix->key = psprintf("%s/", loc->key);
			prefix->uri = psprintf("%s/", loc->uri);
		}
		prefix_len = strlen(prefix->uri);
		foreach(lc, storage_list(st, prefix, true))
		{
			DlakeObjectInfo *o = lfirst(lc);

			if (o->size < 0 || load_skip_marker(o->uri))
				continue;
			objects = lappend(objects, o);
		}
	}
	if (pattern)
	{
		List	   *kept = NIL;

		foreach(lc, objects)
		{
			DlakeObjectInfo *o = lfirst(lc);
			const char *subject = strchr(pattern, '/') ?
				(strlen(o->uri) > prefix_len ? o->uri + prefix_len : o->uri) :
				(strrchr(o->uri, '/') ? strrchr(o->uri, '/') + 1 : o->uri);

			if (fnmatch(pattern, subject, 0) == 0)
				kept = lappend(kept, o);
		}
		objects = kept;
	}

	{
		Oid			types[2] = {TEXTOID, TEXTOID};
		Datum		args[2];

		args[0] = DirectFunctionCall1(regclassout, ObjectIdGetDatum(relid));
		args[0] = CStringGetTextDatum(DatumGetCString(args[0]));
		args[1] = CStringGetTextDatum(loc->uri);
		if (SPI_execute_with_args("INSERT INTO dlake.load_runs (target, location, status) "
								  "VALUES ($1, $2, 'running') RETURNING id",
								  2, types, args, NULL, false, 1) != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "could not insert into dlake.load_runs");
		run_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}

	t = load_open_target(relid);
	readdesc = t->desc;
	ts_conv = palloc0(sizeof(bool) * t->desc->natts);
	rvalues = palloc(sizeof(Datum) * t->desc->natts);
	rnulls = palloc(sizeof(bool) * t->desc->natts);
	if (ts_format != LOAD_TS_NATIVE)
	{
		/* read timestamp and date columns as text, convert them here */
		readdesc = CreateTupleDescCopy(t->desc);
		for (int a = 0; a < t->desc->natts; a++)
		{
			Form_pg_attribute att = TupleDescAttr(t->desc, a);

			if (att->attisdropped ||
				(att->atttypid != TIMESTAMPOID && att->atttypid != TIMESTAMPTZOID &&
				 att->atttypid != DATEOID))
				continue;
			TupleDescInitEntry(readdesc, a + 1, NameStr(att->attname), TEXTOID, -1, 0);
			ts_conv[a] = true;
		}
	}
	filecxt = AllocSetContextCreate(CurrentMemoryContext, "dlake load file",
									ALLOCSET_DEFAULT_SIZES);

	foreach(lc, objects)
	{
		DlakeObjectInfo *o = lfirst(lc);
		Oid			htypes[4] = {OIDOID, TEXTOID, TEXTOID, INT8OID};
		Datum		hargs[4];
		char		hnulls[4] = {' ', ' ', ' ', ' '};
		DlakeFormatOptions opts = base_opts;
		DlakeLocation *oloc;
		DlakeFormatReader *r;
		int		   *map;
		bool		by_position;
		int64		rows = 0;
		int64		rejected = 0;
		DlakeRowError rerr;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		hargs[0] = ObjectIdGetDatum(relid);
		hargs[1] = CStringGetTextDatum(o->uri);
		if (o->etag)
			hargs[2] = CStringGetTextDatum(o->etag);
		else
			hnulls[2] = 'n';
		hargs[3] = Int64GetDatum(o->size);
		if (!force)
		{
			if (SPI_execute_with_args("SELECT 1 FROM dlake.loaded_files WHERE target = $1 AND location = $2 "
									  "AND etag IS NOT DISTINCT FROM $3 AND size = $4",
									  4, htypes, hargs, hnulls, true, 1) != SPI_OK_SELECT)
				elog(ERROR, "could not read dlake.loaded_files");
			if (SPI_processed > 0)
			{
				nskipped++;
				continue;
			}
		}

		old = MemoryContextSwitchTo(filecxt);
		oloc = dlake_location_parse_or_error(o->uri);
		r = format_reader_open(&opts, format_source_from_storage(st, oloc, o->size));
		by_position = by_position_opt ||
			(format_reader_format(r) == DLAKE_FORMAT_CSV && !opts.header);
		map = load_map_columns(t, format_reader_schema(r), by_position);
		format_reader_set_projection(r, readdesc, map);
		MemoryContextSwitchTo(old);

		for (;;)
		{
			TupleTableSlot *slot = t->slots[t->nslots];
			DlakeReadResult res;

			ExecClearTuple(slot);
			res = format_reader_next(r, rvalues, rnulls, &rerr);
			if (res == DLAKE_READ_EOF)
				break;
			if (res == DLAKE_READ_ROW)
			{
				for (int a = 0; a < t->desc->natts; a++)
				{
					slot->tts_isnull[a] = rnulls[a];
					slot->tts_values[a] = rvalues[a];
					if (ts_conv[a] && !rnulls[a] &&
						!load_convert_ts(ts_format, ts_pattern, TupleDescAttr(t->desc, a)->atttypid,
										 rvalues[a], &slot->tts_values[a], &rerr))
					{
						rerr.line = format_reader_position(r);
						rerr.column = NameStr(TupleDescAttr(t->desc, a)->attname);
						rerr.raw = NULL;
						res = DLAKE_READ_ERROR;
						break;
					}
				}
			}
			if (res == DLAKE_READ_ERROR)
			{
				rejected++;
				total_errors++;
				if (total_errors > max_errors)
					ereport(ERROR,
							(errcode(rerr.sqlerrcode ? rerr.sqlerrcode : ERRCODE_BAD_COPY_FILE_FORMAT),
							 errmsg("too many bad rows: more than %d", max_errors),
							 errdetail("Line or row " INT64_FORMAT "%s%s%s: %s", rerr.line,
									   rerr.column ? " column \"" : "",
									   rerr.column ? rerr.column : "",
									   rerr.column ? "\"" : "",
									   rerr.message ? rerr.message : "bad row"),
							 errhint("Raise max_errors to keep loading past bad rows; they are listed in dlake.load_errors."),
							 errcontext("dlake.load of object %s", o->uri)));
				load_log_error(run_id, o->uri, &rerr);
				continue;
			}
			/* defaults for columns the file lacks */
			for (int a = 0; a < t->desc->natts; a++)
			{
				if (map[a] < 0 && t->defaults[a] != NULL)
				{
					ExprContext *econtext = GetPerTupleExprContext(t->estate);

					slot->tts_values[a] = ExecEvalExpr(t->defaults[a], econtext,
													   &slot->tts_isnull[a]);
				}
				else if (map[a] < 0)
					slot->tts_isnull[a] = true;
			}
			ExecStoreVirtualTuple(slot);
			ExecMaterializeSlot(slot);
			if (t->has_generated)
				ExecComputeStoredGenerated(t->rri, t->estate, slot, CMD_INSERT);
			if (t->has_constraints)
				ExecConstraints(t->rri, slot, t->estate);
			rows++;
			t->nslots++;
			if (t->nslots >= LOAD_BATCH_ROWS)
				load_flush(t);
			if ((rows & 1023) == 0)
			{
				CHECK_FOR_INTERRUPTS();
				if (dlake_progress_interval_s > 0 &&
					TimestampDifferenceExceeds(last_progress, GetCurrentTimestamp(),
											   dlake_progress_interval_s * 1000))
				{
					last_progress = GetCurrentTimestamp();
					ereport(NOTICE,
							(errmsg("dlake.load run " INT64_FORMAT ": " INT64_FORMAT " rows from %d files so far",
									run_id, total_rows + rows, nloaded + 1)));
				}
			}
		}
		load_flush(t);
		format_reader_close(r);
		MemoryContextReset(filecxt);

		{
			Oid			itypes[7] = {INT8OID, OIDOID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID};
			Datum		iargs[7];
			char		inulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};

			iargs[0] = Int64GetDatum(run_id);
			iargs[1] = hargs[0];
			iargs[2] = hargs[1];
			iargs[3] = hargs[2];
			inulls[3] = hnulls[2];
			iargs[4] = hargs[3];
			iargs[5] = Int64GetDatum(rows);
			iargs[6] = Int64GetDatum(rejected);
			if (SPI_execute_with_args("INSERT INTO dlake.loaded_files (run_id, target, location, etag, size, "
									  "rows, rejected) VALUES ($1, $2, $3, $4, $5, $6, $7)",
									  7, itypes, iargs, inulls, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "could not insert into dlake.loaded_files");
		}
		total_rows += rows;
		nloaded++;
		{
			Datum		v[3];
			bool		n[3] = {false, false, false};

			v[0] = CStringGetTextDatum(o->uri);
			v[1] = Int64GetDatum(rows);
			v[2] = Int64GetDatum(rejected);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
		}
	}
	load_close_target(t);

	{
		Oid			types[5] = {INT8OID, INT4OID, INT4OID, INT8OID, INT8OID};
		Datum		args[5];

		args[0] = Int64GetDatum(run_id);
		args[1] = Int32GetDatum(nloaded);
		args[2] = Int32GetDatum(nskipped);
		args[3] = Int64GetDatum(total_rows);
		args[4] = Int64GetDatum(total_errors);
		if (SPI_execute_with_args("UPDATE dlake.load_runs SET finished = clock_timestamp(), files = $2, "
								  "skipped = $3, rows = $4, rejected = $5, status = 'succeeded' "
								  "WHERE id = $1", 5, types, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not update dlake.load_runs");
	}
	SPI_finish();
	if (nskipped > 0)
		ereport(NOTICE,
				(errmsg("skipped %d files already loaded into %s", nskipped,
						get_rel_name(relid)),
				 errhint("Pass force => true to load them again.")));
	return (Datum) 0;
}
