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
#include "access/parallel.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/pathnodes.h"
#include "optimizer/clauses.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/sampling.h"
#include "utils/timestamp.h"
#include "utils/inval.h"
#include "port/atomics.h"

#include "fdw/fdw_int.h"
#include "guc.h"

PG_FUNCTION_INFO_V1(dlake_fdw_handler);

/* bytes per row assumed for a file when nothing better is known */
#define DLAKE_CSV_OVERHEAD_PER_COL	2
#define DLAKE_PARQUET_RATIO			3	/* columnar compression guess */

/* ----------------------------------------------------------------
 * Listing cache: one listing per table per statement, or reused for
 * dlake.fdw_listing_ttl seconds across statements
 * ----------------------------------------------------------------
 */
typedef struct ListingEntry
{
	MemoryContext cxt;			/* holds the entry and its files */
	Oid			relid;
	Oid			userid;
	bool		from_catalog;	/* planned from dlake.files */
	bool		stale;			/* invalidated: drop at next lookup */
	TimestampTz stmt;			/* statement that listed */
	LocalTransactionId lxid;
	TimestampTz listed_at;
	List	   *files;			/* DlakeFdwFile * */
} ListingEntry;

static List *listing_entries = NIL;	/* cells in TopMemoryContext */
static bool listing_callback = false;

PG_FUNCTION_INFO_V1(dlake_fdw_invalidate);

/*
 * Relcache invalidation (ALTER FOREIGN TABLE, dlake.fdw_invalidate() in
 * any backend) marks listings stale.  Only marks: the callback may run in
 * the middle of a lookup that is using the files.
 */
static void
listing_relcache_callback(Datum arg, Oid relid)
{
	ListCell   *lc;

	foreach(lc, listing_entries)
	{
		ListingEntry *e = (ListingEntry *) lfirst(lc);

		if (!OidIsValid(relid) || e->relid == relid)
			e->stale = true;
	}
}

static bool
entry_usable(ListingEntry *e)
{
	if (e->stale)
		return false;
	if (e->stmt == GetCurrentStatementStartTimestamp() && e->lxid == MyProc->lxid)
		return true;
	return dlake_fdw_listing_ttl_s > 0 &&
		!TimestampDifferenceExceeds(e->listed_at, GetCurrentTimestamp(),
									dlake_fdw_listing_ttl_s * 1000);
}

/* drop the entries of relid (every entry for InvalidOid) */
static void
drop_entries(Oid relid, bool only_unusable)
{
	ListCell   *lc;

	foreach(lc, listing_entries)
	{
		ListingEntry *e = (ListingEntry *) lfirst(lc);

		if ((OidIsValid(relid) && e->relid != relid) ||
			(only_unusable && entry_usable(e)))
			continue;
		listing_entries = foreach_delete_current(listing_entries, lc);
		MemoryContextDelete(e->cxt);
	}
}

/*
 * get_files returns the data files of a table: from the cache when this
 * statement (or, with dlake.fdw_listing_ttl, a recent one) listed it,
 * else from dlake.files or a listing of the location.  The returned list
 * is only valid until the next get_files or forget_files call: scans copy
 * what they keep.
 */
static List *
get_files(DlakeFdwTable *t, DlakeStorage *st, bool *from_catalog)
{
	ListCell   *lc;
	ListingEntry *e;
	MemoryContext cxt;
	MemoryContext old;

	if (!listing_callback)
	{
		CacheRegisterRelcacheCallback(listing_relcache_callback, (Datum) 0);
		listing_callback = true;
	}
	drop_entries(InvalidOid, true);
	foreach(lc, listing_entries)
	{
		e = (ListingEntry *) lfirst(lc);
		if (e->relid == t->relid && e->userid == GetUserId())
		{
			*from_catalog = e->from_catalog;
			return e->files;
		}
	}

	cxt = AllocSetContextCreate(TopMemoryContext, "dlake_fdw listing",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		e = palloc0(sizeof(ListingEntry));
		e->cxt = cxt;
		e->relid = t->relid;
		e->userid = GetUserId();
		e->stmt = GetCurrentStatementStartTimestamp();
		e->lxid = MyProc->lxid;
		e->listed_at = GetCurrentTimestamp();
		e->files = dlake_fdw_catalog_files(t, &e->from_catalog);
		if (!e->from_catalog)
			e->files = dlake_fdw_list_files(t, st ? st : dlake_fdw_storage(t));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(TopMemoryContext);
	listing_entries = lappend(listing_entries, e);
	MemoryContextSwitchTo(old);
	*from_catalog = e->from_catalog;
	return e->files;
}

/*
 * forget_files drops a table's listing when a scan of it ends (unless
 * listings are kept across statements), so that a later statement inside
 * the same top-level statement (a function writing files and then reading
 * them) lists again; always after an INSERT into it.
 */
static void
forget_files(Oid relid, bool always)
{
	if (!always && dlake_fdw_listing_ttl_s > 0)
		return;
	drop_entries(relid, false);
}

/* called by insert.c: this backend's own writes are seen at once */
void
dlake_fdw_forget_files(Oid relid)
{
	forget_files(relid, true);
}

/*
 * dlake.fdw_invalidate(regclass DEFAULT NULL): forget the cached listings
 * of a table (all tables for NULL) in every backend, at commit.
 */
Datum
dlake_fdw_invalidate(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
	{
		drop_entries(InvalidOid, false);
		CacheInvalidateRelcacheAll();
	}
	else
	{
		Oid			relid = PG_GETARG_OID(0);

		drop_entries(relid, false);
		CacheInvalidateRelcacheByRelid(relid);
	}
	PG_RETURN_VOID();
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

	/*
	 * A partial path: files are handed out to the workers one at a time,
	 * so more workers than files would idle.  Like a heap scan, a scan
	 * smaller than min_parallel_table_scan_size stays serial.
	 */
	if (baserel->consider_parallel && ps->nmatched > 1 &&
		max_parallel_workers_per_gather > 0 &&
		ps->bytes >= (double) min_parallel_table_scan_size * BLCKSZ)
	{
		int			workers = Min(max_parallel_workers_per_gather, ps->nmatched - 1);
		double		divisor = workers;
		double		leader = 1.0 - 0.3 * workers;
		Path	   *pp;

		if (parallel_leader_participation && leader > 0)
			divisor += leader;
		pp = (Path *) create_foreignscan_path(root, baserel, NULL,
											  clamp_row_est(baserel->rows / divisor),
											  startup, startup + run / divisor,
											  NIL, NULL, NULL, NIL);
		pp->parallel_aware = true;
		pp->parallel_safe = true;
		pp->parallel_workers = workers;
		add_partial_path(baserel, pp);
	}
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
/*
 * Parallel scan: the leader's pruned file list is serialised into the DSM
 * segment; every process (leader included) takes the next file from a
 * shared counter, and adds its counters to shared totals when it closes a
 * file, so EXPLAIN ANALYZE shows the whole scan.
 */
typedef struct DlakeParallelShared
{
	pg_atomic_uint32 next_file;
	pg_atomic_uint64 bytes_done;
	pg_atomic_uint64 files_opened;
	pg_atomic_uint64 rg_read;
	pg_atomic_uint64 rg_skipped;
	int			nfiles;
	int			nlisted;
	bool		from_catalog;
	Size		len;
	char		data[FLEXIBLE_ARRAY_MEMBER];	/* serialised files */
} DlakeParallelShared;

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
	/* parallel scan: shared state, and what was flushed to it */
	DlakeParallelShared *pshared;
	int64		flushed_bytes;
	int64		flushed_files;
	int64		flushed_rg_read;
	int64		flushed_rg_skipped;
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

/*
 * scan_state_create: the per-scan state over a relation, with the
 * attributes to decode (all, or those in needed) and the quals (already
 * evaluated) used for row-group skipping.  Files are set by the caller.
 */
static DlakeScanState *
scan_state_create(Relation rel, bool all, List *needed, List *quals, Index varno)
{
	DlakeScanState *s = palloc0(sizeof(DlakeScanState));
	ListCell   *lc;

	s->t = dlake_fdw_table_get(RelationGetRelid(rel));
	s->td = RelationGetDescr(rel);
	s->varno = varno;
	s->needed = palloc0(sizeof(bool) * Max(s->td->natts, 1));
	for (int i = 0; i < s->td->natts; i++)
		s->needed[i] = all;
	foreach(lc, needed)
		s->needed[lfirst_int(lc) - 1] = true;
	s->filecxt = AllocSetContextCreate(CurrentMemoryContext, "dlake_fdw file",
									   ALLOCSET_DEFAULT_SIZES);
	s->pvals = palloc0(sizeof(Datum) * Max(s->t->npart, 1));
	s->pnulls = palloc0(sizeof(bool) * Max(s->t->npart, 1));
	s->limit_bytes = (int64) dlake_max_bytes_scanned_mb * 1024 * 1024;
	s->quals = quals;
	pull_varattnos((Node *) s->quals, s->varno, &s->qual_attrs);
	return s;
}

static void
scan_set_files(DlakeScanState *s, List *files)
{
	int			i = 0;
	ListCell   *lc;

	/*
	 * Copies: the statement's listing may be reset while this scan lives
	 * (an open cursor across statements).
	 */
	s->nfiles = list_length(files);
	s->files = palloc(sizeof(DlakeFdwFile *) * Max(s->nfiles, 1));
	foreach(lc, files)
	{
		DlakeFdwFile *src = (DlakeFdwFile *) lfirst(lc);
		DlakeFdwFile *f = palloc0(sizeof(DlakeFdwFile));

		f->uri = pstrdup(src->uri);
		f->key = src->key ? pstrdup(src->key) : NULL;
		f->size = src->size;
		f->rows = src->rows;
		f->part_text = palloc0(sizeof(char *) * Max(s->t->npart, 1));
		for (int k = 0; k < s->t->npart; k++)
			f->part_text[k] = src->part_text[k] ? pstrdup(src->part_text[k]) : NULL;
		s->files[i++] = f;
	}
}

static void
dlake_begin_scan(ForeignScanState *node, int eflags)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	DlakeScanState *s;
	bool		all = boolVal(linitial(plan->fdw_private));
	List	   *needed = (List *) lsecond(plan->fdw_private);
	PlannerInfo root;
	PlannerGlobal glob;
	List	   *quals;
	List	   *files;

	/* evaluate stable functions and parameters of the quals now */
	memset(&root, 0, sizeof(root));
	memset(&glob, 0, sizeof(glob));
	root.type = T_PlannerInfo;
	glob.type = T_PlannerGlobal;
	glob.boundParams = estate->es_param_list_info;
	root.glob = &glob;
	quals = (List *) estimate_expression_value(&root, (Node *) copyObject(plan->scan.plan.qual));

	s = scan_state_create(node->ss.ss_currentRelation, all, needed, quals,
						  plan->scan.scanrelid);
	node->fdw_state = s;

	/*
	 * A parallel-aware scan in a worker gets the leader's files in
	 * InitializeWorkerForeignScan.  A scan that is not parallel-aware but
	 * runs in a worker (e.g. the inner side of a join below Gather) reads
	 * every file itself, like in the leader.
	 */
	if (IsParallelWorker() && plan->scan.plan.parallel_aware)
		return;
	files = get_files(s->t, NULL, &s->from_catalog);
	s->nlisted = list_length(files);
	scan_set_files(s, prune_files(s->t, s->td, s->varno, files, s->quals));
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

	if (s->pshared)
		total += (int64) pg_atomic_read_u64(&s->pshared->bytes_done) - s->flushed_bytes;

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

	if (s->pshared)
	{
		uint32		i = pg_atomic_fetch_add_u32(&s->pshared->next_file, 1);

		if (i >= (uint32) s->nfiles)
			return false;
		f = s->files[i];
	}
	else
	{
		if (s->cur >= s->nfiles)
			return false;
		f = s->files[s->cur++];
	}
	s->curfile = f;
	MemoryContextReset(s->filecxt);
	old = MemoryContextSwitchTo(s->filecxt);

	/*
	 * One storage handle for the whole scan, opened in the scan's context
	 * (the parent of the file context): the handle keeps its endpoint and
	 * credentials in its own memory context, so it outlives every file
	 * and reader that makes requests through it.
	 */
	if (s->st == NULL)
	{
		MemoryContextSwitchTo(MemoryContextGetParent(s->filecxt));
		s->st = dlake_fdw_storage(s->t);
		MemoryContextSwitchTo(s->filecxt);
	}
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
		s->pvals[i] = dlake_fdw_part_datum(s->t, s->td, i, f->part_text[i], &s->pnulls[i]);

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
	if (s->pshared)
	{
		pg_atomic_fetch_add_u64(&s->pshared->bytes_done, s->bytes_done - s->flushed_bytes);
		pg_atomic_fetch_add_u64(&s->pshared->files_opened, s->files_opened - s->flushed_files);
		pg_atomic_fetch_add_u64(&s->pshared->rg_read, s->rg_read - s->flushed_rg_read);
		pg_atomic_fetch_add_u64(&s->pshared->rg_skipped, s->rg_skipped - s->flushed_rg_skipped);
		s->flushed_bytes = s->bytes_done;
		s->flushed_files = s->files_opened;
		s->flushed_rg_read = s->rg_read;
		s->flushed_rg_skipped = s->rg_skipped;
	}
}

/*
 * scan_next reads the next row of the scan into values/isnull (the
 * table's tuple descriptor); false at the end.
 */
static bool
scan_next(DlakeScanState *s, Datum *values, bool *isnull)
{
	ErrorContextCallback errcb;
	bool		found = false;

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
		res = format_reader_next(s->r, values, isnull, NULL);
		if (res != DLAKE_READ_ROW)
		{
			close_file(s);
			check_bytes_limit(s);
			continue;
		}
		for (int i = 0; i < s->t->npart; i++)
		{
			int			a = s->t->part_attnos[i] - 1;

			values[a] = s->pvals[i];
			isnull[a] = s->pnulls[i];
		}
		if (s->t->path_attno > 0)
		{
			values[s->t->path_attno - 1] = CStringGetTextDatum(s->curfile->uri);
			isnull[s->t->path_attno - 1] = false;
		}
		if (s->t->size_attno > 0)
		{
			values[s->t->size_attno - 1] = Int64GetDatum(s->curfile->size);
			isnull[s->t->size_attno - 1] = false;
		}
		if ((++s->rows & 1023) == 0)
			check_bytes_limit(s);
		found = true;
		break;
	}
	error_context_stack = errcb.previous;
	return found;
}

static TupleTableSlot *
dlake_iterate(ForeignScanState *node)
{
	DlakeScanState *s = (DlakeScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

	ExecClearTuple(slot);
	if (scan_next(s, slot->tts_values, slot->tts_isnull))
		ExecStoreVirtualTuple(slot);
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
	{
		close_file(s);
		forget_files(s->t->relid, false);
	}
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

/* ----------------------------------------------------------------
 * Parallel scan
 * ----------------------------------------------------------------
 */
static bool
dlake_parallel_safe(PlannerInfo *root, RelOptInfo *rel, RangeTblEntry *rte)
{
	return true;
}

/* the selected files as bytes: uri NUL, int64 size, per key flag + text NUL */
static void
serialize_files(DlakeScanState *s, StringInfo buf)
{
	for (int i = 0; i < s->nfiles; i++)
	{
		DlakeFdwFile *f = s->files[i];

		appendBinaryStringInfo(buf, f->uri, strlen(f->uri) + 1);
		appendBinaryStringInfo(buf, (char *) &f->size, sizeof(int64));
		for (int k = 0; k < s->t->npart; k++)
		{
			appendStringInfoChar(buf, f->part_text[k] ? 1 : 0);
			if (f->part_text[k])
				appendBinaryStringInfo(buf, f->part_text[k], strlen(f->part_text[k]) + 1);
		}
	}
}

static Size
dlake_estimate_dsm(ForeignScanState *node, ParallelContext *pcxt)
{
	DlakeScanState *s = (DlakeScanState *) node->fdw_state;
	StringInfoData buf;

	initStringInfo(&buf);
	serialize_files(s, &buf);
	return add_size(offsetof(DlakeParallelShared, data), buf.len);
}

static void
dlake_init_dsm(ForeignScanState *node, ParallelContext *pcxt, void *coordinate)
{
	DlakeScanState *s = (DlakeScanState *) node->fdw_state;
	DlakeParallelShared *sh = (DlakeParallelShared *) coordinate;
	StringInfoData buf;

	initStringInfo(&buf);
	serialize_files(s, &buf);
	pg_atomic_init_u32(&sh->next_file, 0);
	pg_atomic_init_u64(&sh->bytes_done, 0);
	pg_atomic_init_u64(&sh->files_opened, 0);
	pg_atomic_init_u64(&sh->rg_read, 0);
	pg_atomic_init_u64(&sh->rg_skipped, 0);
	sh->nfiles = s->nfiles;
	sh->nlisted = s->nlisted;
	sh->from_catalog = s->from_catalog;
	sh->len = buf.len;
	memcpy(sh->data, buf.data, buf.len);
	s->pshared = sh;
}

static void
dlake_reinit_dsm(ForeignScanState *node, ParallelContext *pcxt, void *coordinate)
{
	DlakeParallelShared *sh = (DlakeParallelShared *) coordinate;

	pg_atomic_write_u32(&sh->next_file, 0);
}

static void
dlake_init_worker(ForeignScanState *node, shm_toc *toc, void *coordinate)
{
	DlakeScanState *s = (DlakeScanState *) node->fdw_state;
	DlakeParallelShared *sh = (DlakeParallelShared *) coordinate;
	const char *p = sh->data;
	const char *end = sh->data + sh->len;
	List	   *files = NIL;

	while (p < end)
	{
		DlakeFdwFile *f = palloc0(sizeof(DlakeFdwFile));

		f->uri = pstrdup(p);
		p += strlen(p) + 1;
		memcpy(&f->size, p, sizeof(int64));
		p += sizeof(int64);
		f->rows = -1;
		f->part_text = palloc0(sizeof(char *) * Max(s->t->npart, 1));
		for (int k = 0; k < s->t->npart; k++)
		{
			if (*p++)
			{
				f->part_text[k] = pstrdup(p);
				p += strlen(p) + 1;
			}
		}
		files = lappend(files, f);
	}
	scan_set_files(s, files);
	s->nlisted = sh->nlisted;
	s->from_catalog = sh->from_catalog;
	s->pshared = sh;
}

/* before the DSM goes away: keep the totals of every process for EXPLAIN */
static void
dlake_shutdown(ForeignScanState *node)
{
	DlakeScanState *s = (DlakeScanState *) node->fdw_state;
	DlakeParallelShared *sh;

	if (s == NULL || s->pshared == NULL)
		return;
	close_file(s);
	sh = s->pshared;
	s->bytes_done = pg_atomic_read_u64(&sh->bytes_done);
	s->files_opened = pg_atomic_read_u64(&sh->files_opened);
	s->rg_read = pg_atomic_read_u64(&sh->rg_read);
	s->rg_skipped = pg_atomic_read_u64(&sh->rg_skipped);
	s->pshared = NULL;
}

/* ----------------------------------------------------------------
 * ANALYZE
 * ----------------------------------------------------------------
 */

/* files read by ANALYZE at most, spread over the table's files */
#define DLAKE_ANALYZE_MAX_FILES 100

static int
dlake_acquire_sample(Relation rel, int elevel, HeapTuple *rows, int targrows,
					 double *totalrows, double *totaldeadrows)
{
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext tmpcxt = AllocSetContextCreate(callercxt, "dlake_fdw analyze",
												 ALLOCSET_DEFAULT_SIZES);
	DlakeScanState *s;
	List	   *files;
	List	   *pick = NIL;
	bool		from_catalog;
	double		all_bytes = 0,
				picked_bytes = 0;
	double		seen = 0;
	double		rowstoskip = -1;
	int			numrows = 0;
	int			n;
	int			step;
	Datum	   *values;
	bool	   *nulls;
	ReservoirStateData rstate;

	MemoryContextSwitchTo(tmpcxt);
	s = scan_state_create(rel, true, NIL, NIL, 1);
	files = get_files(s->t, NULL, &from_catalog);
	n = list_length(files);
	step = Max(1, (n + DLAKE_ANALYZE_MAX_FILES - 1) / DLAKE_ANALYZE_MAX_FILES);
	for (int i = 0; i < n; i++)
	{
		DlakeFdwFile *f = (DlakeFdwFile *) list_nth(files, i);

		all_bytes += f->size;
		if (i % step == 0)
		{
			pick = lappend(pick, f);
			picked_bytes += f->size;
		}
	}
	scan_set_files(s, pick);
	values = palloc(sizeof(Datum) * Max(s->td->natts, 1));
	nulls = palloc(sizeof(bool) * Max(s->td->natts, 1));
	reservoir_init_selection_state(&rstate, targrows);

	while (scan_next(s, values, nulls))
	{
		seen += 1;
		MemoryContextSwitchTo(callercxt);
		if (numrows < targrows)
			rows[numrows++] = heap_form_tuple(s->td, values, nulls);
		else
		{
			if (rowstoskip < 0)
				rowstoskip = reservoir_get_next_S(&rstate, seen, targrows);
			if (rowstoskip <= 0)
			{
				int			k = (int) (targrows * sampler_random_fract(&rstate.randstate));

				heap_freetuple(rows[k]);
				rows[k] = heap_form_tuple(s->td, values, nulls);
			}
			rowstoskip -= 1;
		}
		MemoryContextSwitchTo(tmpcxt);
		vacuum_delay_point();
	}
	close_file(s);
	forget_files(s->t->relid, false);

	*totalrows = (picked_bytes > 0) ? seen * (all_bytes / picked_bytes) : seen;
	*totaldeadrows = 0;
	ereport(elevel,
			(errmsg("\"%s\": read %d of %d files, %.0f rows; %d rows in sample, %.0f estimated total rows",
					RelationGetRelationName(rel), list_length(pick), n, seen, numrows,
					*totalrows)));
	MemoryContextSwitchTo(callercxt);
	MemoryContextDelete(tmpcxt);
	return numrows;
}

static bool
dlake_analyze(Relation relation, AcquireSampleRowsFunc *func, BlockNumber *totalpages)
{
	DlakeFdwTable *t = dlake_fdw_table_get(RelationGetRelid(relation));
	bool		from_catalog;
	List	   *files = get_files(t, NULL, &from_catalog);
	ListCell   *lc;
	double		bytes = 0;

	foreach(lc, files)
		bytes += ((DlakeFdwFile *) lfirst(lc))->size;
	*func = dlake_acquire_sample;
	*totalpages = (BlockNumber) Max(1, Min(bytes / BLCKSZ, (double) MaxBlockNumber));
	return true;
}

/* ----------------------------------------------------------------
 * INSERT and COPY FROM (insert.c); UPDATE/DELETE have no callbacks
 * ----------------------------------------------------------------
 */
static int
dlake_updatable(Relation rel)
{
	return (1 << CMD_INSERT);
}

static void
dlake_begin_modify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
				   List *fdw_private, int subplan_index, int eflags)
{
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	rinfo->ri_FdwState = dlake_fdw_insert_begin(rinfo->ri_RelationDesc);
}

static TupleTableSlot *
dlake_exec_insert(EState *estate, ResultRelInfo *rinfo, TupleTableSlot *slot,
				  TupleTableSlot *planSlot)
{
	dlake_fdw_insert_row(rinfo->ri_FdwState, slot);
	return slot;
}

static void
dlake_end_modify(EState *estate, ResultRelInfo *rinfo)
{
	dlake_fdw_insert_end(rinfo->ri_FdwState);
	rinfo->ri_FdwState = NULL;
}

static void
dlake_begin_insert(ModifyTableState *mtstate, ResultRelInfo *rinfo)
{
	rinfo->ri_FdwState = dlake_fdw_insert_begin(rinfo->ri_RelationDesc);
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
	routine->AnalyzeForeignTable = dlake_analyze;
	routine->IsForeignScanParallelSafe = dlake_parallel_safe;
	routine->EstimateDSMForeignScan = dlake_estimate_dsm;
	routine->InitializeDSMForeignScan = dlake_init_dsm;
	routine->ReInitializeDSMForeignScan = dlake_reinit_dsm;
	routine->InitializeWorkerForeignScan = dlake_init_worker;
	routine->ShutdownForeignScan = dlake_shutdown;
	routine->IsForeignRelUpdatable = dlake_updatable;
	routine->BeginForeignModify = dlake_begin_modify;
	routine->ExecForeignInsert = dlake_exec_insert;
	routine->EndForeignModify = dlake_end_modify;
	routine->BeginForeignInsert = dlake_begin_insert;
	routine->EndForeignInsert = dlake_end_modify;
	PG_RETURN_POINTER(routine);
}
