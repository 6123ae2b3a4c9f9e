/*-------------------------------------------------------------------------
 *
 * insert.c
 *	  INSERT (and COPY FROM) into a dlake foreign table: rows are appended
 *	  as new files, one per statement per partition, in the table's format
 *	  under its location (partition values become key=value folders, Hive
 *	  escaped, NULL as __HIVE_DEFAULT_PARTITION__).  Existing files are
 *	  never touched; UPDATE and DELETE are refused by PostgreSQL because
 *	  the FDW has no callbacks for them.
 *
 * Files become visible when the statement ends.  When the table plans
 * from dlake.files, the new files are recorded there too (rows, bytes,
 * column min/max) in the same transaction.  If the transaction or
 * subtransaction aborts, the files written in it are deleted again
 * (storage/pending.h; best effort: a failed delete is a WARNING).
 *
 * IDENTIFICATION
 *	  src/fdw/insert.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tupdesc.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "export/export.h"
#include "fdw/fdw_int.h"
#include "storage/pending.h"

/*
 * The files of this statement go into a pending-deletes set
 * (storage/pending.h): deleted if the (sub)transaction aborts.  The set
 * has its own storage handle, opened in its long-lived context.
 */
static DlakePendingDeletes *
cleanup_create(DlakeFdwTable *t)
{
	DlakePendingDeletes *p = storage_pending_create("INSERT into a dlake foreign table");
	MemoryContext old = MemoryContextSwitchTo(storage_pending_context(p));
	DlakeLocation *loc = palloc(sizeof(DlakeLocation));

	*loc = *t->loc;
	loc->bucket = loc->bucket ? pstrdup(loc->bucket) : NULL;
	loc->key = pstrdup(loc->key);
	loc->uri = pstrdup(loc->uri);
	storage_pending_set_storage(p, dlake_fdw_storage_at(t, loc));
	MemoryContextSwitchTo(old);
	return p;
}

/* ----------------------------------------------------------------
 * The insert itself
 * ----------------------------------------------------------------
 */
typedef struct InsertPart
{
	char	   *dir;			/* "k=v/k2=v2/" or "" */
	char	   *json;			/* partition values as JSON for dlake.files */
	DlakeLocation *loc;
	DlakeWriteStream *ws;
	DlakeFormatWriter *w;
} InsertPart;

typedef struct DlakeInsertState
{
	DlakeFdwTable *t;
	TupleDesc	td;				/* the table's */
	TupleDesc	ftd;			/* the files': data columns, file names */
	AttrNumber *fmap;			/* ftd attr i → table attno */
	DlakeFormatOptions fopts;
	const char *ext;
	char	   *stem;			/* part-<time>-<pid> */
	int			nfiles;
	List	   *parts;			/* InsertPart * */
	FmgrInfo   *part_out;		/* output functions of partition columns */
	Datum	   *fvalues;
	bool	   *fnulls;
	DlakePendingDeletes *cleanup;
	DlakeStorage *st;
	MemoryContext cxt;			/* writers live here */
	MemoryContext rowcxt;		/* per row */
} DlakeInsertState;

/*
 * dlake_fdw_insert_begin prepares appending to the table: a folder
 * location (no glob, no single object), a writable format.
 */
void *
dlake_fdw_insert_begin(Relation rel)
{
	DlakeInsertState *s = palloc0(sizeof(DlakeInsertState));
	DlakeFdwTable *t = dlake_fdw_table_get(RelationGetRelid(rel));
	int			n = 0;

	if (t->glob)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot insert into foreign table \"%s\"", t->relname),
				 errdetail("Its location is a glob pattern."),
				 errhint("Insert into a table whose location is a folder.")));
	s->t = t;
	s->td = RelationGetDescr(rel);
	s->fopts = t->fopts;
	if (s->fopts.format == DLAKE_FORMAT_AUTO)
		s->fopts.format = DLAKE_FORMAT_PARQUET;
	dlake_format_options_validate(&s->fopts);
	s->ext = dlake_format_extension(s->fopts.format,
									s->fopts.compression == DLAKE_COMPRESSION_AUTO &&
									s->fopts.format != DLAKE_FORMAT_PARQUET ?
									DLAKE_COMPRESSION_NONE : s->fopts.compression);

	/* the files hold the data columns under their file names */
	s->ftd = CreateTemplateTupleDesc(Max(s->td->natts, 1));
	s->fmap = palloc0(sizeof(AttrNumber) * Max(s->td->natts, 1));
	for (int i = 0; i < s->td->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(s->td, i);

		if (t->file_names[i] == NULL)
			continue;
		n++;
		TupleDescInitEntry(s->ftd, n, t->file_names[i], att->atttypid, att->atttypmod, 0);
		s->fmap[n - 1] = att->attnum;
	}
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot insert into foreign table \"%s\"", t->relname),
				 errdetail("Every column is a partition column or a pseudo-column.")));
	s->ftd->natts = n;

	s->part_out = palloc0(sizeof(FmgrInfo) * Max(t->npart, 1));
	for (int i = 0; i < t->npart; i++)
	{
		Oid			outfn;
		bool		isvarlena;

		getTypeOutputInfo(TupleDescAttr(s->td, t->part_attnos[i] - 1)->atttypid,
						  &outfn, &isvarlena);
		fmgr_info(outfn, &s->part_out[i]);
	}
	s->fvalues = palloc(sizeof(Datum) * n);
	s->fnulls = palloc(sizeof(bool) * n);
	s->stem = psprintf("part-%llx-%d",
					   (unsigned long long) GetCurrentTimestamp(), MyProcPid);
	s->cxt = AllocSetContextCreate(CurrentMemoryContext, "dlake_fdw insert",
								   ALLOCSET_DEFAULT_SIZES);
	s->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "dlake_fdw insert row",
									  ALLOCSET_DEFAULT_SIZES);
	s->cleanup = cleanup_create(t);
	/* the writers' own handle: credentials resolved in statement memory */
	s->st = dlake_fdw_storage(t);
	return s;
}

/* the partition folder of a row, e.g. "date=2024-01-01/region=eu/" */
static void
part_dir(DlakeInsertState *s, TupleTableSlot *slot, StringInfo dir, StringInfo json)
{
	appendStringInfoChar(json, '{');
	for (int i = 0; i < s->t->npart; i++)
	{
		AttrNumber	a = s->t->part_attnos[i];
		Oid			typid = TupleDescAttr(s->td, a - 1)->atttypid;

		appendStringInfo(dir, "%s=", s->t->part_keys[i]);
		if (i > 0)
			appendStringInfoString(json, ", ");
		escape_json(json, s->t->part_keys[i]);
		appendStringInfoString(json, ": ");
		if (slot->tts_isnull[a - 1])
		{
			appendStringInfoString(dir, DLAKE_HIVE_NULL);
			appendStringInfoString(json, "null");
		}
		else
		{
			char	   *text = dlake_partition_value_text(typid, slot->tts_values[a - 1],
														  &s->part_out[i]);

			dlake_hive_escape(dir, text);
			escape_json(json, text);
		}
		appendStringInfoChar(dir, '/');
	}
	appendStringInfoChar(json, '}');
}

static InsertPart *
part_writer(DlakeInsertState *s, const char *dir, const char *json)
{
	ListCell   *lc;
	InsertPart *p;
	MemoryContext old;

	foreach(lc, s->parts)
	{
		p = (InsertPart *) lfirst(lc);
		if (strcmp(p->dir, dir) == 0)
			return p;
	}
	old = MemoryContextSwitchTo(s->cxt);
	p = palloc0(sizeof(InsertPart));
	p->dir = pstrdup(dir);
	p->json = pstrdup(json);
	p->loc = dlake_location_child(s->t->loc,
								  psprintf("%s%s-%d%s", dir, s->stem, s->nfiles++, s->ext));
	p->ws = storage_write_open(s->st, p->loc);
	p->w = format_writer_open(&s->fopts, s->ftd, p->ws, p->loc->uri);
	s->parts = lappend(s->parts, p);
	MemoryContextSwitchTo(old);
	return p;
}

void
dlake_fdw_insert_row(void *state, TupleTableSlot *slot)
{
	DlakeInsertState *s = (DlakeInsertState *) state;
	MemoryContext old;
	StringInfoData dir;
	StringInfoData json;
	InsertPart *p;

	CHECK_FOR_INTERRUPTS();
	MemoryContextReset(s->rowcxt);
	old = MemoryContextSwitchTo(s->rowcxt);
	slot_getallattrs(slot);
	initStringInfo(&dir);
	initStringInfo(&json);
	part_dir(s, slot, &dir, &json);
	p = part_writer(s, dir.data, json.data);
	for (int i = 0; i < s->ftd->natts; i++)
	{
		s->fvalues[i] = slot->tts_values[s->fmap[i] - 1];
		s->fnulls[i] = slot->tts_isnull[s->fmap[i] - 1];
	}
	MemoryContextSwitchTo(s->cxt);
	format_writer_append(p->w, s->fvalues, s->fnulls);
	MemoryContextSwitchTo(old);
}

/* the column statistics of a written file as dlake.files' JSON */
static char *
stats_json(List *stats)
{
	StringInfoData sj;
	ListCell   *lc;
	bool		first = true;

	initStringInfo(&sj);
	appendStringInfoChar(&sj, '{');
	foreach(lc, stats)
	{
		DlakeColumnStats *cs = (DlakeColumnStats *) lfirst(lc);
		bool		inner = true;

		if (!cs->has_min_max && cs->null_count < 0)
			continue;
		appendStringInfoString(&sj, first ? "" : ", ");
		first = false;
		escape_json(&sj, cs->name);
		appendStringInfoString(&sj, ": {");
		if (cs->has_min_max)
		{
			appendStringInfoString(&sj, "\"min\": ");
			escape_json(&sj, cs->min);
			appendStringInfoString(&sj, ", \"max\": ");
			escape_json(&sj, cs->max);
			inner = false;
		}
		if (cs->null_count >= 0)
			appendStringInfo(&sj, "%s\"null_count\": " INT64_FORMAT,
							 inner ? "" : ", ", cs->null_count);
		appendStringInfoChar(&sj, '}');
	}
	appendStringInfoChar(&sj, '}');
	return sj.data;
}

/*
 * dlake_fdw_insert_end completes every file of the statement and, when
 * the table plans from dlake.files, records them there.
 */
void
dlake_fdw_insert_end(void *state)
{
	DlakeInsertState *s = (DlakeInsertState *) state;
	ListCell   *lc;
	bool		catalogued;
	char	   *location;
	size_t		len;

	if (s == NULL)
		return;
	(void) dlake_fdw_catalog_files(s->t, &catalogued);
	location = pstrdup(s->t->loc->uri);
	len = strlen(location);
	while (len > 0 && location[len - 1] == '/')
		location[--len] = '\0';

	foreach(lc, s->parts)
	{
		InsertPart *p = (InsertPart *) lfirst(lc);
		DlakeObjectInfo info;
		List	   *stats;
		int64		rows;

		/* registered first: a cancel during the final request may still
		 * have made the object visible */
		storage_pending_add(s->cleanup, p->loc);
		format_writer_close(p->w);
		stats = format_writer_column_stats(p->w);
		rows = format_writer_rows(p->w);
		storage_write_close(p->ws, &info);
		storage_pending_done(s->cleanup);
		if (catalogued)
		{
			Oid			types[7] = {TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8OID, TEXTOID, TEXTOID};
			Datum		args[7];

			args[0] = CStringGetTextDatum(location);
			args[1] = CStringGetTextDatum(p->loc->uri);
			args[2] = CStringGetTextDatum(p->json);
			args[3] = Int64GetDatum(rows);
			args[4] = Int64GetDatum(info.size > 0 ? info.size : format_writer_bytes(p->w));
			args[5] = CStringGetTextDatum(stats_json(stats));
			args[6] = CStringGetTextDatum(dlake_format_name(s->fopts.format));
			SPI_connect();
			if (SPI_execute_with_args("INSERT INTO dlake.files (location, path, partition, rows, bytes, column_stats, format) "
									  "VALUES ($1, $2, $3::jsonb, $4, $5, $6::jsonb, $7)",
									  7, types, args, NULL, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "could not record a new file in dlake.files");
			SPI_finish();
		}
	}
	s->parts = NIL;
	dlake_fdw_forget_files(s->t->relid);
}
