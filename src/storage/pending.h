/*-------------------------------------------------------------------------
 *
 * pending.h
 *	  Objects to delete if the (sub)transaction that wrote them aborts.
 *
 * Export and INSERT into a lake table make objects visible before their
 * transaction commits (S3 has no transactions).  They register each object
 * here, before completing it; if the transaction or the subtransaction that
 * registered it aborts - error, cancel, pg_terminate_backend, ROLLBACK
 * [TO SAVEPOINT] - the objects are deleted from the abort callback; at
 * commit they are forgotten.  A failed delete is a WARNING with a hint, never
 * an error (the abort is already under way).
 *
 * Usage:
 *		p = storage_pending_create("a dlake export");
 *		old = MemoryContextSwitchTo(storage_pending_context(p));
 *		storage_pending_set_storage(p, storage_open(cfg, root));
 *		MemoryContextSwitchTo(old);
 *		...
 *		storage_pending_add(p, loc);	(before storage_write_close)
 *
 * IDENTIFICATION
 *	  src/storage/pending.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_STORAGE_PENDING_H
#define DLAKE_STORAGE_PENDING_H

#include "storage/storage.h"

typedef struct DlakePendingDeletes DlakePendingDeletes;

/*
 * A new, empty set bound to the current subtransaction.  what names the
 * writer in the WARNING ("an aborted <what>"), e.g. "dlake export".
 */
extern DlakePendingDeletes *storage_pending_create(const char *what);

/* the set's context (child of TopMemoryContext): open its storage in it */
extern MemoryContext storage_pending_context(DlakePendingDeletes *p);
extern void storage_pending_set_storage(DlakePendingDeletes *p, DlakeStorage *st);
extern DlakeStorage *storage_pending_storage(DlakePendingDeletes *p);

/*
 * register one object (copied) for deletion at abort; register it before
 * its final write request, and call storage_pending_done once that write
 * has completed: an abort while it is still "in flight" also rechecks the
 * object shortly after deleting it (see pending.c)
 */
extern void storage_pending_add(DlakePendingDeletes *p, const DlakeLocation *loc);
extern void storage_pending_done(DlakePendingDeletes *p);

/* keep the registered objects whatever happens (they are committed) */
extern void storage_pending_keep(DlakePendingDeletes *p);

/*
 * Delete the registered objects now (raising on failure) and forget
 * them; the set stays registered for objects added later.
 */
extern void storage_pending_delete_now(DlakePendingDeletes *p);

#endif							/* DLAKE_STORAGE_PENDING_H */
