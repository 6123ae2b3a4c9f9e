/*-------------------------------------------------------------------------
 *
 * pending.c
 *	  Objects written by a (sub)transaction, deleted if it aborts: the one
 *	  abort-cleanup mechanism of dlake.export and INSERT into a dlake
 *	  foreign table (see pending.h).
 *
 * Each set lives in its own context under TopMemoryContext, because the
 * abort callback runs after the memory of the function or statement that
 * wrote the objects is gone; the set keeps the storage handle (opened by
 * the caller in that context) to delete with.  A set belongs to the
 * subtransaction that created it: at subtransaction commit it moves to
 * the parent, at subtransaction abort its objects are deleted; at top
 * level commit every set is forgotten, at abort every set is deleted.
 *
 * IDENTIFICATION
 *	  src/storage/pending.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"

#include "storage/pending.h"

struct DlakePendingDeletes
{
	MemoryContext cxt;			/* under TopMemoryContext; owns all below */
	char	   *what;			/* for the WARNING */
	DlakeStorage *st;
	List	   *locs;			/* DlakeLocation * */
	DlakeLocation *inflight;	/* added, its write not yet known complete */
	SubTransactionId subid;
	bool		armed;			/* false: keep the objects whatever happens */
};

static List *pending_sets = NIL;	/* in TopMemoryContext */
static bool pending_callbacks_registered = false;

/*
 * An upload interrupted by a cancel may have sent its whole body: the
 * server can then still make the object visible after the delete above
 * (S3 finishes a request whose client went away).  Look at that one
 * object a few times for a moment and delete it if it has appeared.  Only
 * S3 has this window; a file:// write is a rename that either happened
 * or not.
 */
#define PENDING_RECHECKS 20
#define PENDING_RECHECK_US 100000L

static void
pending_recheck_inflight(DlakePendingDeletes *p)
{
	for (int i = 0; i < PENDING_RECHECKS; i++)
	{
		DlakeObjectInfo info;

		pg_usleep(PENDING_RECHECK_US);
		if (storage_stat(p->st, p->inflight, &info))
		{
			storage_delete(p->st, list_make1(p->inflight));
			break;
		}
	}
}

/*
 * Delete the objects of a set when asked to (and still armed), then drop
 * the set.  Runs inside abort processing: a failure is reported as a
 * WARNING and otherwise swallowed.
 */
static void
pending_finish(DlakePendingDeletes *p, bool delete_objects)
{
	if (delete_objects && p->armed && p->locs != NIL && p->st != NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(p->cxt);

		PG_TRY();
		{
			storage_delete(p->st, p->locs);
			if (p->inflight != NULL && p->inflight->kind == DLAKE_STORAGE_S3)
				pending_recheck_inflight(p);
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(p->cxt);
			edata = CopyErrorData();
			FlushErrorState();
			ereport(WARNING,
					(errmsg("could not delete the %d files written by an aborted %s",
							list_length(p->locs), p->what),
					 errdetail("%s", edata->message),
					 errhint("Delete them by hand (first: %s); they are not in dlake.files.",
							 ((DlakeLocation *) linitial(p->locs))->uri)));
		}
		PG_END_TRY();
		MemoryContextSwitchTo(old);
	}
	pending_sets = list_delete_ptr(pending_sets, p);
	MemoryContextDelete(p->cxt);
}

static void
pending_xact_callback(XactEvent event, void *arg)
{
	bool		abort;

	if (pending_sets == NIL)
		return;
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			abort = true;
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			abort = false;
			break;
		default:
			return;
	}
	while (pending_sets != NIL)
		pending_finish((DlakePendingDeletes *) linitial(pending_sets), abort);
}

static void
pending_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (pending_sets == NIL)
		return;
	if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		foreach(lc, pending_sets)
		{
			DlakePendingDeletes *p = lfirst(lc);

			if (p->subid == mySubid)
				p->subid = parentSubid;
		}
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		List	   *victims = NIL;

		foreach(lc, pending_sets)
		{
			DlakePendingDeletes *p = lfirst(lc);

			if (p->subid == mySubid)
				victims = lappend(victims, p);
		}
		foreach(lc, victims)
			pending_finish((DlakePendingDeletes *) lfirst(lc), true);
		list_free(victims);
	}
}

DlakePendingDeletes *
storage_pending_create(const char *what)
{
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "dlake pending deletes",
											  ALLOCSET_SMALL_SIZES);
	DlakePendingDeletes *p = MemoryContextAllocZero(cxt, sizeof(DlakePendingDeletes));
	MemoryContext old;

	if (!pending_callbacks_registered)
	{
		RegisterXactCallback(pending_xact_callback, NULL);
		RegisterSubXactCallback(pending_subxact_callback, NULL);
		pending_callbacks_registered = true;
	}
	p->cxt = cxt;
	p->what = MemoryContextStrdup(cxt, what);
	p->subid = GetCurrentSubTransactionId();
	p->armed = true;
	old = MemoryContextSwitchTo(TopMemoryContext);
	pending_sets = lappend(pending_sets, p);
	MemoryContextSwitchTo(old);
	return p;
}

MemoryContext
storage_pending_context(DlakePendingDeletes *p)
{
	return p->cxt;
}

void
storage_pending_set_storage(DlakePendingDeletes *p, DlakeStorage *st)
{
	p->st = st;
}

DlakeStorage *
storage_pending_storage(DlakePendingDeletes *p)
{
	return p->st;
}

void
storage_pending_add(DlakePendingDeletes *p, const DlakeLocation *loc)
{
	MemoryContext old = MemoryContextSwitchTo(p->cxt);
	DlakeLocation *copy = palloc(sizeof(DlakeLocation));

	*copy = *loc;
	copy->bucket = loc->bucket ? pstrdup(loc->bucket) : NULL;
	copy->key = pstrdup(loc->key);
	copy->uri = pstrdup(loc->uri);
	p->locs = lappend(p->locs, copy);
	p->inflight = copy;
	MemoryContextSwitchTo(old);
}

void
storage_pending_done(DlakePendingDeletes *p)
{
	p->inflight = NULL;
}

void
storage_pending_keep(DlakePendingDeletes *p)
{
	p->armed = false;
}

void
storage_pending_delete_now(DlakePendingDeletes *p)
{
	if (p->locs != NIL)
		storage_delete(p->st, p->locs);
	/* the list cells stay in p->cxt until the set ends; small */
	p->locs = NIL;
	p->inflight = NULL;
}
