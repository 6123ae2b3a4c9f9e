/*-------------------------------------------------------------------------
 *
 * fdw.c
 *	  The handler of dlake_fdw and its scan callbacks: Athena-like SQL over
 *	  Parquet, CSV and JSON-lines files in S3 or file:// locations.
 *
 * A scan lists the table's location once per statement (the listing made
 * for planning is reused by the executor of the same statement), prunes
 * files whose Hive partition values contradict the quals, opens the
 * remaining files one at a time with only the referenced columns mapped
 * (Parquet fetches only their column chunks), skips Parquet row groups
 * whose statistics contradict the quals, and fills partition columns and
 * the _path/_size pseudo-columns itself.  Stable expressions in the quals
 * (current_date - 7, $1 of a generic plan) are evaluated when the scan
 * begins, so pruning sees their values.
 *
 * IDENTIFICATION
 *	  src/fdw/fdw.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/pathnodes.h"
#include "optimizer/clauses.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "fdw/fdw_int.h"
#include "guc.h"

PG_FUNCTION_INFO_V1(dlake_fdw_handler);

/* bytes per row assumed for a file when nothing better is known */
#define DLAKE_CSV_OVERHEAD_PER_COL	2
#define DLAKE_PARQUET_RATIO			3	/* columnar compression guess */

/* ----------------------------------------------------------------
 * Listing cache: one listing per table per statement
 * ----------------------------------------------------------------
 */
typedef struct ListingEntry
{
	Oid			relid;
	Oid			userid;
	bool		from_catalog;	/* planned from dlake.files */
	List	   *files;			/* DlakeFdwFile *, in listing_cxt */
} ListingEntry;

static MemoryContext listing_cxt = NULL;
static List *listing_entries = NIL;
static TimestampTz listing_stmt = 0;
static LocalTransactionId listing_lxid = InvalidLocalTransactionId;

/*
 * get_files returns the data files of a table, listing its location only
 * when this statement has not listed it yet.  The listing lives until the
 * next statement that needs one.
 */
static List *
get_files(DlakeFdwTable *t, DlakeStorage *st, bool *from_catalog)
{
	TimestampTz now = GetCurrentStatementStartTimestamp();
	ListCell   *lc;
	ListingEntry *e;
	MemoryContext old;

	if (listing_cxt == NULL)
		listing_cxt = AllocSetContextCreate(TopMemoryContext, "dlake_fdw listings",
											ALLOCSET_DEFAULT_SIZES);
	if (now != listing_stmt || MyProc->lxid != listing_lxid)
	{
		MemoryContextReset(listing_cxt);
		listing_entries = NIL;
		listing_stmt = now;
		listing_lxid = MyProc->lxid;
	}
	foreach(lc, listing_entries)
	{
		e = (ListingEntry *) lfirst(lc);
		if (e->relid == t->relid && e->userid == GetUserId())
		{
			*from_catalog = e->from_catalog;
			return e->files;
		}
	}

	old = MemoryContextSwitchTo(listing_cxt);
	PG_TRY();
	{
		e = palloc0(sizeof(ListingEntry));
		e->relid = t->relid;
		e->userid = GetUserId();
		e->files = dlake_fdw_catalog_files(t, &e->from_catalog);
		if (!e->from_catalog)
			e->files = dlake_fdw_list_files(t, st ? st : dlake_fdw_storage(t));
		listing_entries = lappend(listing_entries, e);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		/* forget partial state: the next statement starts over */
		MemoryContextReset(listing_cxt);
		listing_entries = NIL;
		listing_stmt = 0;
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	*from_catalog = e->from_catalog;
	return e->files;
}

/*
 * prune_files keeps the files whose partition values are not refuted by
 * quals (implicitly ANDed expressions over Vars with varno).
 */
static List *
prune_files(DlakeFdwTable *t, TupleDesc td, Index varno, List *files, List *quals)
{
	List	   *out = NIL;
	ListCell   *lc;
	Bitmapset  *qual_attrs = NULL;

	if (quals == NIL)
		return list_copy(files);
	pull_varattnos((Node *) quals, varno, &qual_attrs);
	foreach(lc, files)
	{
		DlakeFdwFile *f = (DlakeFdwFile *) lfirst(lc);
		List	   *cons = dlake_fdw_file_constraints(t, td, varno, f);

		/*
		 * Every row of the file satisfies its constraints (never NULL), so
		 * weak refutation suffices: "date IS NULL" prunes "date = x".
		 */
		if (cons != NIL && predicate_refuted_by(cons, quals, true))
			continue;
		/* column statistics of the catalog: strong refutation (NULLs) */
		cons = dlake_fdw_file_stats_constraints(t, td, varno, f, qual_attrs);
		if (cons != NIL && predicate_refuted_by(cons, quals, false))
			continue;
		out = lappend(out, f);
	}
	return out;
}

/* ----------------------------------------------------------------
 * Planning
 * ----------------------------------------------------------------
 */
typedef struct DlakePlanState
{
	DlakeFdwTable *t;
	int			nfiles;			/* listed */
	int			nmatched;		/* after plan-time pruning */
	int64		bytes;			/* of the matched files */
	double		full_width;		/* bytes of a whole row */
	bool		from_catalog;
} DlakePlanState;

/* average width of a whole row of the table */
static double
full_row_width(TupleDesc td)
{
	double		w = 0;

	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);

		if (!att->attisdropped)
			w += get_typavgwidth(att->atttypid, att->atttypmod);
	}
	return Max(w, 1);
}

/* is the file (by table option or by name) Parquet? */
static bool
file_is_parquet(DlakeFdwTable *t, const char *uri)
{
	DlakeFileFormat f = t->fopts.format;
	DlakeCompression c;

	if (f == DLAKE_FORMAT_AUTO)
		dlake_format_guess(uri, NULL, 0, &f, &c);
	return f == DLAKE_FORMAT_PARQUET;
}

static void
dlake_get_rel_size(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	DlakePlanState *ps = palloc0(sizeof(DlakePlanState));
	Relation	rel;
	TupleDesc	td;
	List	   *files;
	List	   *quals;
	List	   *matched;
	List	   *other = NIL;
	ListCell   *lc;
	double		tuples = 0;
	double		sel;

	ps->t = dlake_fdw_table_get(foreigntableid);
	rel = table_open(foreigntableid, NoLock);
	td = CreateTupleDescCopy(RelationGetDescr(rel));
	table_close(rel, NoLock);
	ps->full_width = full_row_width(td);

	files = get_files(ps->t, NULL, &ps->from_catalog);
	quals = extract_actual_clauses(baserel->baserestrictinfo, false);
	/* fold stable functions and bound params for the estimate */
	quals = (List *) estimate_expression_value(root, (Node *) quals);
	matched = prune_files(ps->t, td, baserel->relid, files, quals);
	ps->nfiles = list_length(files);
	ps->nmatched = list_length(matched);
	foreach(lc, matched)
	{
		DlakeFdwFile *f = (DlakeFdwFile *) lfirst(lc);
		double		per_row = ps->full_width;

		ps->bytes += f->size;
		if (f->rows >= 0)
		{
			tuples += f->rows;
			continue;
		}
		if (file_is_parquet(ps->t, f->uri))
			per_row = Max(per_row / DLAKE_PARQUET_RATIO, 1);
		else
			per_row += td->natts * DLAKE_CSV_OVERHEAD_PER_COL;
		tuples += f->size / per_row;
	}

	/* quals on partition columns were accounted for by pruning */
	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *ri = (RestrictInfo *) lfirst(lc);
		Bitmapset  *attrs = NULL;
		bool		only_part = true;
		int			x = -1;

		pull_varattnos((Node *) ri->clause, baserel->relid, &attrs);
		while ((x = bms_next_member(attrs, x)) >= 0)
		{
			AttrNumber	a = x + FirstLowInvalidHeapAttributeNumber;
			bool		is_part = false;

			for (int i = 0; i < ps->t->npart; i++)
				if (ps->t->part_attnos[i] == a)
					is_part = true;
			if (!is_part)
				only_part = false;
		}
		if (!only_part || attrs == NULL)
			other = lappend(other, ri);
	}

	set_baserel_size_estimates(root, baserel);
	baserel->tuples = Max(tuples, 1);
	sel = clauselist_selectivity(root, other, baserel->relid, JOIN_INNER, NULL);
	baserel->rows = clamp_row_est(baserel->tuples * sel);
	baserel->fdw_private = ps;
}

static void
dlake_get_paths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	DlakePlanState *ps = (DlakePlanState *) baserel->fdw_private;
	Cost		startup = 10 + ps->nmatched * 1.0;
	Cost		run;

	/* one sequential page per 8 kB fetched, cpu per row produced */
	run = seq_page_cost * (ps->bytes / (double) BLCKSZ) +
		(cpu_tuple_cost + baserel->baserestrictcost.per_tuple) * baserel->tuples;
	add_path(baserel, (Path *)
			 create_foreignscan_path(root, baserel, NULL, baserel->rows,
									 startup, startup + run,
									 NIL, NULL, NULL, NIL));
}

static ForeignScan *
dlake_get_plan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
			   ForeignPath *best_path, List *tlist, List *scan_clauses,
			   Plan *outer_plan)
{
	Bitmapset  *attrs = NULL;
	List	   *needed = NIL;
	ListCell   *lc;
	int			x = -1;
	bool		all = false;

	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid, &attrs);
	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *ri = (RestrictInfo *) lfirst(lc);

		pull_varattnos((Node *) ri->clause, baserel->relid, &attrs);
	}
	while ((x = bms_next_member(attrs, x)) >= 0)
	{
		AttrNumber	a = x + FirstLowInvalidHeapAttributeNumber;

		if (a == 0)
			all = true;
		else if (a > 0)
			needed = lappend_int(needed, a);
	}

	scan_clauses = extract_actual_clauses(scan_clauses, false);
	return make_foreignscan(tlist, scan_clauses, baserel->relid, NIL,
							list_make2(makeBoolean(all), needed),
							NIL, NIL, outer_plan);
}

/* ----------------------------------------------------------------
 * Execution
 * ----------------------------------------------------------------
 */
typedef struct DlakeScanState
{
	DlakeFdwTable *t;
	DlakeStorage *st;
	TupleDesc	td;
	Index		varno;
	bool	   *needed;			/* per attribute */
	List	   *quals;			/* evaluated quals, for row groups */
	Bitmapset  *qual_attrs;		/* attributes referenced by quals */
	DlakeFdwFile **files;		/* selected files */
	int			nfiles;
	int			nlisted;
	bool		from_catalog;
	int			cur;			/* next file to open */
	DlakeFdwFile *curfile;
	DlakeFormatReader *r;
	MemoryContext filecxt;
	Datum	   *pvals;
	bool	   *pnulls;
	int64		limit_bytes;	/* 0 = none */
	/* counters for EXPLAIN ANALYZE */
	int64		bytes_done;
	int64		files_opened;
	int64		rg_read;
	int64		rg_skipped;
	int64		rows;
} DlakeScanState;

static void
scan_error_context(void *arg)
{
	DlakeScanState *s = (DlakeScanState *) arg;

	if (s->curfile)
		errcontext("dlake foreign table \"%s\", object %s", s->t->relname, s->curfile->uri);
	else
		errcontext("dlake foreign table \"%s\"", s->t->relname);
}

static void
dlake_begin_scan(ForeignScanState *node, int eflags)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	DlakeScanState *s = palloc0(sizeof(DlakeScanState));
	bool		all = boolVal(linitial(plan->fdw_private));
	List	   *needed = (List *) lsecond(plan->fdw_private);
	PlannerInfo root;
	PlannerGlobal glob;
	List	   *files;
	List	   *matched;
	ListCell   *lc;
	int			i;

	node->fdw_state = s;
	s->t = dlake_fdw_table_get(RelationGetRelid(node->ss.ss_currentRelation));
	s->td = RelationGetDescr(node->ss.ss_currentRelation);
	s->varno = plan->scan.scanrelid;
	s->needed = palloc0(sizeof(bool) * Max(s->td->natts, 1));
	for (i = 0; i < s->td->natts; i++)
		s->needed[i] = all;
	foreach(lc, needed)
		s->needed[lfirst_int(lc) - 1] = true;
	s->filecxt = AllocSetContextCreate(estate->es_query_cxt, "dlake_fdw file",
									   ALLOCSET_DEFAULT_SIZES);
	s->pvals = palloc0(sizeof(Datum) * Max(s->t->npart, 1));
	s->pnulls = palloc0(sizeof(bool) * Max(s->t->npart, 1));
	s->limit_bytes = (int64) dlake_max_bytes_scanned_mb * 1024 * 1024;

	/* evaluate stable functions and parameters of the quals now */
	memset(&root, 0, sizeof(root));
	memset(&glob, 0, sizeof(glob));
	root.type = T_PlannerInfo;
	glob.type = T_PlannerGlobal;
	glob.boundParams = estate->es_param_list_info;
	root.glob = &glob;
	s->quals = (List *) estimate_expression_value(&root, (Node *) copyObject(plan->scan.plan.qual));
	pull_varattnos((Node *) s->quals, s->varno, &s->qual_attrs);

	files = get_files(s->t, NULL, &s->from_catalog);
	matched = prune_files(s->t, s->td, s->varno, files, s->quals);
	s->nlisted = list_length(files);
	s->nfiles = list_length(matched);
	s->files = palloc(sizeof(DlakeFdwFile *) * Max(s->nfiles, 1));
	i = 0;
	foreach(lc, matched)
		s->files[i++] = (DlakeFdwFile *) lfirst(lc);
}

/* find a file column by name: exact first, then case-insensitive */
static int
find_file_column(List *schema, const char *name)
{
	ListCell   *lc;
	int			i = 0;
	int			ci = -1;

	foreach(lc, schema)
	{
		DlakeFileColumn *c = (DlakeFileColumn *) lfirst(lc);

		if (strcmp(c->name, name) == 0)
			return i;
		if (ci < 0 && pg_strcasecmp(c->name, name) == 0)
			ci = i;
		i++;
	}
	return ci;
}

/*
 * select_row_groups skips the row groups of a Parquet file whose min/max
 * and null counts contradict the quals.
 */
static void
select_row_groups(DlakeScanState *s, const int *proj)
{
	int			nrg = format_reader_num_row_groups(s->r);
	bool	   *sel;
	bool		any_skipped = false;

	if (nrg <= 0)
		return;
	sel = palloc(sizeof(bool) * nrg);
	for (int rg = 0; rg < nrg; rg++)
	{
		List	   *cons = NIL;
		int64		rows = format_reader_row_group_rows(s->r, rg);

		sel[rg] = true;
		if (s->quals != NIL)
		{
			for (int i = 0; i < s->td->natts; i++)
			{
				Form_pg_attribute att = TupleDescAttr(s->td, i);
				Datum		min,
							max;
				bool		has;
				int64		nulls;

				if (proj[i] < 0 ||
					!bms_is_member(att->attnum - FirstLowInvalidHeapAttributeNumber,
								   s->qual_attrs))
					continue;
				if (!format_reader_row_group_stats(s->r, rg, proj[i], att->atttypid,
												   att->atttypmod, &min, &max, &has,
												   &nulls))
					continue;
				cons = list_concat(cons,
								   dlake_fdw_range_constraints(att, s->varno, min, max,
															   has, nulls, rows));
			}
			/*
			 * Strong refutation: "col >= min" is NULL, not true, for the
			 * NULLs of the row group, so weak refutation would be unsound.
			 */
			if (cons != NIL && predicate_refuted_by(cons, s->quals, false))
				sel[rg] = false;
		}
		if (sel[rg])
			s->rg_read++;
		else
		{
			s->rg_skipped++;
			any_skipped = true;
		}
	}
	if (any_skipped)
		format_reader_select_row_groups(s->r, sel);
}

/* check dlake.max_bytes_scanned against what the scan has read so far */
static void
check_bytes_limit(DlakeScanState *s)
{
	int64		total = s->bytes_done + (s->r ? format_reader_bytes_read(s->r) : 0);

	if (s->limit_bytes > 0 && total > s->limit_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("scan of foreign table \"%s\" exceeded dlake.max_bytes_scanned",
						s->t->relname),
				 errdetail("The scan read " INT64_FORMAT " bytes; the limit is " INT64_FORMAT " bytes (%d MB).",
						   total, s->limit_bytes, dlake_max_bytes_scanned_mb),
				 errhint("Add a filter on a partition column, select fewer columns, or raise dlake.max_bytes_scanned.")));
}

/* open the next selected file; false when none is left */
static bool
open_next_file(DlakeScanState *s)
{
	MemoryContext old;
	DlakeFdwFile *f;
	DlakeByteSource *src;
	List	   *schema;
	int		   *proj;
	bool		positional;
	int			pos = 0;

	if (s->cur >= s->nfiles)
		return false;
	f = s->files[s->cur++];
	s->curfile = f;
	MemoryContextReset(s->filecxt);
	old = MemoryContextSwitchTo(s->filecxt);

	/*
	 * A storage handle per file, in the file's context: the S3 backend
	 * resolves credentials lazily in whatever context is current at the
	 * first request (here: the reader's), so a handle must not outlive
	 * the reader that first used it.
	 */
	s->st = dlake_fdw_storage(s->t);
	src = format_source_from_storage(s->st, dlake_location_parse_or_error(f->uri), f->size);
	s->r = format_reader_open(&s->t->fopts, src);
	s->files_opened++;
	schema = format_reader_schema(s->r);
	positional = (format_reader_format(s->r) == DLAKE_FORMAT_CSV && !s->t->fopts.header);

	proj = palloc(sizeof(int) * Max(s->td->natts, 1));
	for (int i = 0; i < s->td->natts; i++)
	{
		const char *name = s->t->file_names[i];

		proj[i] = -1;
		if (name == NULL)
			continue;
		if (positional)
		{
			int			p = pos++;

			if (s->needed[i] && p < list_length(schema))
				proj[i] = p;
			else if (s->needed[i] && s->t->missing_error)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("object %s has no column %d for column \"%s\"",
								f->uri, p + 1, NameStr(TupleDescAttr(s->td, i)->attname))));
			continue;
		}
		if (!s->needed[i])
			continue;
		proj[i] = find_file_column(schema, name);
		if (proj[i] < 0 && s->t->missing_error)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("object %s has no column \"%s\"", f->uri, name),
					 errhint("Set the table option missing_columns to 'null' to read missing columns as NULL.")));
	}

	for (int i = 0; i < s->t->npart; i++)
	{
		Form_pg_attribute att = TupleDescAttr(s->td, s->t->part_attnos[i] - 1);

		s->pvals[i] = dlake_fdw_part_datum(s->t, s->td, i, f->part_text[i], &s->pnulls[i]);
		(void) att;
	}

	if (format_reader_format(s->r) == DLAKE_FORMAT_PARQUET)
		select_row_groups(s, proj);
	else
		s->rg_read++;
	format_reader_set_projection(s->r, s->td, proj);
	MemoryContextSwitchTo(old);
	check_bytes_limit(s);
	return true;
}

static void
close_file(DlakeScanState *s)
{
	if (s->r)
	{
		s->bytes_done += format_reader_bytes_read(s->r);
		format_reader_close(s->r);
		s->r = NULL;
	}
	s->curfile = NULL;
}

static TupleTableSlot *
dlake_iterate(ForeignScanState *node)
{
	DlakeScanState *s = (DlakeScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	ErrorContextCallback errcb;

	ExecClearTuple(slot);
	errcb.callback = scan_error_context;
	errcb.arg = s;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	for (;;)
	{
		DlakeReadResult res;

		CHECK_FOR_INTERRUPTS();
		if (s->r == NULL && !open_next_file(s))
			break;
		res = format_reader_next(s->r, slot->tts_values, slot->tts_isnull, NULL);
		if (res != DLAKE_READ_ROW)
		{
			close_file(s);
			check_bytes_limit(s);
			continue;
		}
		for (int i = 0; i < s->t->npart; i++)
		{
			int			a = s->t->part_attnos[i] - 1;

			slot->tts_values[a] = s->pvals[i];
			slot->tts_isnull[a] = s->pnulls[i];
		}
		if (s->t->path_attno > 0)
		{
			slot->tts_values[s->t->path_attno - 1] = CStringGetTextDatum(s->curfile->uri);
			slot->tts_isnull[s->t->path_attno - 1] = false;
		}
		if (s->t->size_attno > 0)
		{
			slot->tts_values[s->t->size_attno - 1] = Int64GetDatum(s->curfile->size);
			slot->tts_isnull[s->t->size_attno - 1] = false;
		}
		ExecStoreVirtualTuple(slot);
		if ((++s->rows & 1023) == 0)
			check_bytes_limit(s);
		break;
	}
	error_context_stack = errcb.previous;
	return slot;
}

static void
dlake_rescan(ForeignScanState *node)
{
	DlakeScanState *s = (DlakeScanState *) node->fdw_state;

	close_file(s);
	s->cur = 0;
}

static void
dlake_end_scan(ForeignScanState *node)
{
	DlakeScanState *s = (DlakeScanState *) node->fdw_state;

	if (s)
		close_file(s);
}

static void
dlake_explain(ForeignScanState *node, ExplainState *es)
{
	DlakeScanState *s = (DlakeScanState *) node->fdw_state;
	int64		bytes = 0;

	ExplainPropertyText("Location", s->t->location, es);
	ExplainPropertyText("Files From", s->from_catalog ? "dlake.files" : "listing", es);
	if (es->format == EXPLAIN_FORMAT_TEXT)
		ExplainPropertyText("Files",
							psprintf("%d matched, %d pruned", s->nfiles, s->nlisted - s->nfiles),
							es);
	else
	{
		ExplainPropertyInteger("Files Matched", NULL, s->nfiles, es);
		ExplainPropertyInteger("Files Pruned", NULL, s->nlisted - s->nfiles, es);
	}
	for (int i = 0; i < s->nfiles; i++)
		bytes += s->files[i]->size;
	ExplainPropertyInteger("Bytes Matched", NULL, bytes, es);
	if (es->analyze)
	{
		ExplainPropertyInteger("Files Read", NULL, s->files_opened, es);
		if (es->format == EXPLAIN_FORMAT_TEXT)
			ExplainPropertyText("Row Groups",
								psprintf(INT64_FORMAT " read, " INT64_FORMAT " skipped",
										 s->rg_read, s->rg_skipped), es);
		else
		{
			ExplainPropertyInteger("Row Groups Read", NULL, s->rg_read, es);
			ExplainPropertyInteger("Row Groups Skipped", NULL, s->rg_skipped, es);
		}
		ExplainPropertyInteger("Bytes Scanned", NULL,
							   s->bytes_done + (s->r ? format_reader_bytes_read(s->r) : 0),
							   es);
	}
}

Datum
dlake_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = dlake_get_rel_size;
	routine->GetForeignPaths = dlake_get_paths;
	routine->GetForeignPlan = dlake_get_plan;
	routine->BeginForeignScan = dlake_begin_scan;
	routine->IterateForeignScan = dlake_iterate;
	routine->ReScanForeignScan = dlake_rescan;
	routine->EndForeignScan = dlake_end_scan;
	routine->ExplainForeignScan = dlake_explain;
	routine->ImportForeignSchema = dlake_fdw_import_schema;
	PG_RETURN_POINTER(routine);
}
