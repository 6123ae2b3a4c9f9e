/*-------------------------------------------------------------------------
 *
 * stream_worker.c
 *	  The Kinesis launcher and stream workers.
 *
 *	  The launcher is a static background worker registered from
 *	  shared_preload_libraries.  It connects to dlake.database and, while
 *	  the extension is installed and at least one stream is enabled, keeps
 *	  dlake.max_workers dynamic stream workers running (re-registering any
 *	  that stopped).  Nothing runs on a standby: both start only after
 *	  recovery.
 *
 *	  Worker i of N owns the shards whose rank in their stream (by shard
 *	  id, that is creation order) plus the stream id is i modulo N, so any
 *	  number of shards is spread evenly over a bounded number of
 *	  processes; worker (stream_id mod N) also lists the shards of that
 *	  stream and applies its retention.  Every dlake.worker_naptime
 *	  a worker re-reads the catalog, so new, paused and dropped streams are
 *	  picked up without a restart.  A shard is read only when its parents
 *	  are finished (recorded in dlake.shards in the same transaction as
 *	  their last rows).
 *
 *	  Per shard: GetShardIterator (AFTER_SEQUENCE_NUMBER of the checkpoint,
 *	  else the start position), then GetRecords with NextShardIterator;
 *	  at most 5 calls/s and 2 MiB/s; capped exponential backoff with jitter
 *	  on throttling and 5xx, retrying the same iterator; a new iterator
 *	  after ExpiredIteratorException or after any failed commit; errors that
 *	  need a human are recorded in the catalog and retried slowly.  No
 *	  network I/O ever happens inside a transaction: fetch first, then
 *	  ingest_commit_batch() stores the page and the checkpoint.
 *
 *	  A worker keeps at most one GetRecords in flight per shard, driven by
 *	  http.c while it does other work: the next call of a shard is sent
 *	  (when the pacing allows) before the page just received is stored,
 *	  and the pages of its other shards arrive while it stores one.  The
 *	  worker sleeps in dlake_http_wait(), on its latch and the sockets.
 *
 * IDENTIFICATION
 *	  src/ingest/stream_worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <malloc.h>
#include <math.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "common/config.h"
#include "guc.h"
#include "ingest/ingest.h"
#include "kinesis/kinesis.h"

PGDLLEXPORT void dlake_stream_launcher_main(Datum arg);
PGDLLEXPORT void dlake_stream_worker_main(Datum arg);

#define MIN_POLL_INTERVAL_MS 200	/* ≤ 5 GetRecords/s/shard */
#define AT_TIMESTAMP_TIMEOUT_MS 3000	/* then TRIM_HORIZON + skip */
#define LIST_INTERVAL_MS 5000
#define BACKOFF_BASE_MS 100
#define BACKOFF_CAP_MS 10000
#define FATAL_RETRY_MS 30000
#define STATS_FLUSH_MS 5000
#define RETENTION_INTERVAL_MS 60000
#define ADVISORY_KEY1 0x646c6b31	/* "dlk1" */

/* one stream this worker reads or lists */
typedef struct StreamState
{
	int			stream_id;
	char	   *name;
	char	   *kinesis_stream;
	char	   *server;
	Oid			owner;
	Oid			staging;
	char	   *staging_qualname;
	char	   *ruleset;
	char	   *start_at;
	TimestampTz start_ts;
	int			batch_size;
	int			max_record_bytes;
	char	   *retention;		/* interval text or NULL */
	bool		out_of_range_dead_letter;	/* policy out_of_range */
	int			max_retries;	/* -1 = retry forever */
	int64		max_record_age_ms;	/* -1 = no age limit */
	bool		lister;			/* this worker lists its shards */
	int			retention_hours;	/* from DescribeStreamSummary, 0 = unknown */
	bool		seen;			/* present in the last catalog scan */
	/* client, built lazily as the owner */
	bool		client_ok;
	KinesisClient client;
	TimestampTz client_built;
	TimestampTz next_client_try;
	TimestampTz next_list;
	TimestampTz next_retention;
	MemoryContext cxt;			/* client and names */
} StreamState;

typedef struct ShardState
{
	int			stream_id;
	char	   *shard_id;
	char	   *start_position;
	char	   *checkpoint_seq; /* NULL = none */
	int			checkpoint_sub;
	char	   *hash_lo;		/* hash key range, decimal; NULL = unknown */
	char	   *hash_hi;
	int			failures;		/* consecutive failed commits of this position */
	char	   *iterator;
	bool		at_timestamp_tried; /* start_at timestamp: AT_TIMESTAMP asked */
	KinesisPending *inflight;	/* GetRecords sent, answer not handled yet */
	TimestampTz inflight_start;
	bool		seen;
	bool		stale;			/* lost the fencing: reload from the catalog */
	TimestampTz next_poll;
	int			backoff_ms;
	int64		throttles_pending;
	int64		expired_pending;
	TimestampTz last_flush;
	/* rate over the last window */
	TimestampTz window_start;
	int64		window_records;
	int64		window_bytes;
	double		records_per_s;
	double		bytes_per_s;
	int64		millis_behind;
	bool		polled;			/* one GetRecords succeeded (state 'reading') */
	char	   *last_error;
	TimestampTz last_error_logged;
	MemoryContext cxt;
} ShardState;

static int	my_slot;
static int	n_slots;
static List *streams = NIL;		/* StreamState * */
static List *shards = NIL;		/* ShardState * */
static MemoryContext worker_cxt;

/* ------------------------------------------------------------------------
 * registration
 * ------------------------------------------------------------------------
 */

/*
 * dlake_ingest_init registers the launcher; only possible (and only done)
 * while shared_preload_libraries is being processed.
 */
void
dlake_ingest_init(void)
{
	BackgroundWorker worker;

	if (!process_shared_preload_libraries_in_progress || dlake_max_workers <= 0)
		return;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "dlake");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "dlake_stream_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "dlake stream launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "dlake stream launcher");
	RegisterBackgroundWorker(&worker);
}

static long
ms_until(TimestampTz t)
{
	TimestampTz now = GetCurrentTimestamp();

	if (t <= now)
		return 0;
	return (long) ((t - now) / 1000);
}

static TimestampTz
after_ms(long ms)
{
	return TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);
}

/* ------------------------------------------------------------------------
 * launcher
 * ------------------------------------------------------------------------
 */

/* count enabled streams; 0 when the extension is not installed */
static int
count_enabled_streams(void)
{
	int			n = 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT to_regclass('dlake.streams') IS NOT NULL", true, 1) == SPI_OK_SELECT)
	{
		bool		isnull;

		if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) &&
			SPI_execute("SELECT count(*) FROM dlake.streams WHERE enabled", true, 1) == SPI_OK_SELECT)
			n = (int) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(TopMemoryContext);
	return n;
}

void
dlake_stream_launcher_main(Datum arg)
{
	BackgroundWorkerHandle **handles;
	int			i;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(dlake_database, NULL, 0);
	pgstat_report_appname("dlake stream launcher");

	handles = MemoryContextAllocZero(TopMemoryContext,
									 sizeof(BackgroundWorkerHandle *) * Max(dlake_max_workers, 1));
	elog(LOG, "dlake stream launcher started in database \"%s\" with %d workers",
		 dlake_database, dlake_max_workers);

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		if (!RecoveryInProgress() && count_enabled_streams() > 0)
		{
			for (i = 0; i < dlake_max_workers; i++)
			{
				pid_t		pid;
				BackgroundWorker w;

				if (handles[i] != NULL &&
					GetBackgroundWorkerPid(handles[i], &pid) != BGWH_STOPPED)
					continue;
				memset(&w, 0, sizeof(w));
				w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
				w.bgw_start_time = BgWorkerStart_RecoveryFinished;
				w.bgw_restart_time = BGW_NEVER_RESTART;
				snprintf(w.bgw_library_name, BGW_MAXLEN, "dlake");
				snprintf(w.bgw_function_name, BGW_MAXLEN, "dlake_stream_worker_main");
				snprintf(w.bgw_name, BGW_MAXLEN, "dlake stream worker %d", i);
				snprintf(w.bgw_type, BGW_MAXLEN, "dlake stream worker");
				w.bgw_main_arg = Int32GetDatum(i);
				w.bgw_notify_pid = MyProcPid;
				if (handles[i])
					pfree(handles[i]);
				handles[i] = NULL;
				MemoryContextSwitchTo(TopMemoryContext);
				if (!RegisterDynamicBackgroundWorker(&w, &handles[i]))
				{
					ereport(WARNING,
							(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
							 errmsg("could not start dlake stream worker %d", i),
							 errhint("Raise max_worker_processes or lower dlake.max_workers.")));
					handles[i] = NULL;
				}
			}
		}
		pgstat_report_activity(STATE_IDLE, NULL);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 dlake_worker_naptime_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ------------------------------------------------------------------------
 * worker: catalog
 * ------------------------------------------------------------------------
 */

/*
 * shard_slot: the worker that reads a shard.  rank is the number of the
 * stream's known shards with a smaller id; Kinesis numbers shards in
 * creation order, so ranks never change when a reshard adds shards, and
 * consecutive shards go to consecutive workers (a 4-shard stream on 2
 * workers is read 2 + 2), starting at a different worker for each stream.
 */
static int
shard_slot(int stream_id, int64 rank)
{
	return (int) (((int64) stream_id + rank) % n_slots);
}

static StreamState *
find_stream(int stream_id)
{
	ListCell   *lc;

	foreach(lc, streams)
	{
		StreamState *s = lfirst(lc);

		if (s->stream_id == stream_id)
			return s;
	}
	return NULL;
}

static ShardState *
find_shard(int stream_id, const char *shard_id)
{
	ListCell   *lc;

	foreach(lc, shards)
	{
		ShardState *s = lfirst(lc);

		if (s->stream_id == stream_id && strcmp(s->shard_id, shard_id) == 0)
			return s;
	}
	return NULL;
}

static char *
getstr(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	if (isnull)
		return NULL;
	return TextDatumGetCString(d);
}

static int64
getint(int row, int col, bool *isnull)
{
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
	Oid			t = SPI_gettypeid(SPI_tuptable->tupdesc, col);

	if (*isnull)
		return 0;
	if (t == INT8OID)
		return DatumGetInt64(d);
	if (t == OIDOID)
		return DatumGetObjectId(d);
	return DatumGetInt32(d);
}

/* lists that outlive the scratch context live in worker_cxt */
static List *
lappend_worker(List *list, void *p)
{
	MemoryContext old = MemoryContextSwitchTo(worker_cxt);

	list = lappend(list, p);
	MemoryContextSwitchTo(old);
	return list;
}

static void
free_stream(StreamState *s)
{
	MemoryContextDelete(s->cxt);
	pfree(s);
}

/* drop the shard's GetRecords in flight, if any */
static void
cancel_inflight(ShardState *s)
{
	if (s->inflight)
	{
		kinesis_pending_cancel(s->inflight);
		s->inflight = NULL;
	}
}

/* forget the shard's iterator (and the call made with it) */
static void
forget_iterator(ShardState *s)
{
	cancel_inflight(s);
	if (s->iterator)
	{
		pfree(s->iterator);
		s->iterator = NULL;
	}
}

/* GetRecords calls of this worker in flight */
static int
calls_in_flight(void)
{
	ListCell   *lc;
	int			n = 0;

	foreach(lc, shards)
		if (((ShardState *) lfirst(lc))->inflight != NULL)
			n++;
	return n;
}

/*
 * a shard other than except is due and waits for a call slot (it goes
 * first: a shard that just got a page must not keep the slots)
 */
static bool
other_shard_waiting(const ShardState *except, TimestampTz now)
{
	ListCell   *lc;

	foreach(lc, shards)
	{
		ShardState *sh = lfirst(lc);

		if (sh != except && sh->seen && sh->inflight == NULL && sh->next_poll <= now &&
			find_stream(sh->stream_id) != NULL)
			return true;
	}
	return false;
}

static void
free_shard(ShardState *s)
{
	cancel_inflight(s);
	MemoryContextDelete(s->cxt);
	pfree(s);
}

/*
 * refresh_catalog reloads the enabled streams and this worker's ready
 * shards: state waiting/reading and every parent finished, skipped, gone
 * or unknown.  Shard states that left the set are forgotten.
 */
static void
refresh_catalog(void)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ListCell   *lc;
	List	   *keep;
	uint64		i;
	bool		isnull;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	foreach(lc, streams)
		((StreamState *) lfirst(lc))->seen = false;
	keep = NIL;
	foreach(lc, shards)
	{
		ShardState *sh = lfirst(lc);

		if (sh->stale)
			free_shard(sh);
		else
		{
			sh->seen = false;
			keep = lappend_worker(keep, sh);
		}
	}
	list_free(shards);
	shards = keep;

	if (SPI_execute("SELECT to_regclass('dlake.streams') IS NOT NULL", true, 1) != SPI_OK_SELECT ||
		!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		goto done;

	if (SPI_execute("SELECT stream_id, name, kinesis_stream, server_name, owner, staging::oid,"
					" format('%I.%I', n.nspname, c.relname), ruleset, start_at,"
					" start_timestamp::text, batch_size, max_record_bytes, retention::text,"
					" out_of_range = 'dead_letter', coalesce(max_retries, -1),"
					" coalesce((extract(epoch FROM max_record_age) * 1000)::bigint, -1)"
					" FROM dlake.streams s JOIN pg_class c ON c.oid = s.staging"
					" JOIN pg_namespace n ON n.oid = c.relnamespace"
					" WHERE enabled ORDER BY stream_id", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading dlake.streams failed");
	for (i = 0; i < SPI_processed; i++)
	{
		int			id = (int) getint(i, 1, &isnull);
		StreamState *s = find_stream(id);
		char	   *server = getstr(i, 4);
		char	   *ruleset = getstr(i, 8);
		Oid			owner = (Oid) getint(i, 5, &isnull);
		char	   *kstream = getstr(i, 3);
		bool		changed;

		/* a changed connection or identity rebuilds the state */
		changed = s != NULL &&
			(s->owner != owner || strcmp(s->kinesis_stream, kstream) != 0 ||
			 (s->server == NULL) != (server == NULL) ||
			 (server && strcmp(s->server, server) != 0));
		if (changed)
		{
			streams = list_delete_ptr(streams, s);
			free_stream(s);
			s = NULL;
		}
		if (s == NULL)
		{
			MemoryContext cxt = AllocSetContextCreate(worker_cxt, "dlake stream",
													  ALLOCSET_SMALL_SIZES);

			MemoryContextSwitchTo(worker_cxt);
			s = palloc0(sizeof(StreamState));
			s->cxt = cxt;
			s->stream_id = id;
			streams = lappend(streams, s);
			MemoryContextSwitchTo(cxt);
			s->kinesis_stream = pstrdup(kstream);
			s->server = server ? pstrdup(server) : NULL;
			s->owner = owner;
		}
		MemoryContextSwitchTo(s->cxt);
		s->seen = true;
		s->name = pstrdup(getstr(i, 2));
		s->staging = (Oid) getint(i, 6, &isnull);
		s->staging_qualname = pstrdup(getstr(i, 7));
		s->ruleset = ruleset ? pstrdup(ruleset) : NULL;
		s->start_at = pstrdup(getstr(i, 9));
		{
			char	   *ts = getstr(i, 10);

			s->start_ts = ts ? DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
																	   CStringGetDatum(ts),
																	   ObjectIdGetDatum(InvalidOid),
																	   Int32GetDatum(-1))) : 0;
		}
		s->batch_size = (int) getint(i, 11, &isnull);
		s->max_record_bytes = (int) getint(i, 12, &isnull);
		{
			char	   *r = getstr(i, 13);

			s->retention = r ? pstrdup(r) : NULL;
		}
		{
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 14, &isnull);

			s->out_of_range_dead_letter = !isnull && DatumGetBool(d);
		}
		s->max_retries = (int) getint(i, 15, &isnull);
		s->max_record_age_ms = getint(i, 16, &isnull);
		s->lister = (s->stream_id % n_slots) == my_slot;
		MemoryContextSwitchTo(oldcxt);
	}

	/* forget streams no longer enabled */
	keep = NIL;
	foreach(lc, streams)
	{
		StreamState *s = lfirst(lc);

		if (s->seen)
			keep = lappend_worker(keep, s);
		else
			free_stream(s);
	}
	list_free(streams);
	streams = keep;

	/* ready shards of enabled streams */
	if (SPI_execute("SELECT sh.stream_id, sh.shard_id, sh.start_position,"
					" sh.checkpoint_sequence::text, sh.checkpoint_sub_sequence,"
					" sh.starting_hash_key::text, sh.ending_hash_key::text,"
					" (SELECT count(*) FROM dlake.shards o WHERE o.stream_id = sh.stream_id"
					"   AND o.shard_id COLLATE \"C\" < sh.shard_id COLLATE \"C\")"
					" FROM dlake.shards sh JOIN dlake.streams s USING (stream_id)"
					" WHERE s.enabled AND sh.state IN ('waiting', 'reading')"
					" AND NOT EXISTS (SELECT 1 FROM dlake.shards p"
					"   WHERE p.stream_id = sh.stream_id"
					"   AND p.shard_id IN (sh.parent_shard_id, sh.adjacent_parent_shard_id)"
					"   AND p.state IN ('waiting', 'reading'))", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading dlake.shards failed");
	for (i = 0; i < SPI_processed; i++)
	{
		int			sid = (int) getint(i, 1, &isnull);
		char	   *shard_id = getstr(i, 2);
		ShardState *sh;

		if (shard_slot(sid, getint(i, 8, &isnull)) != my_slot || find_stream(sid) == NULL)
			continue;
		sh = find_shard(sid, shard_id);
		if (sh == NULL)
		{
			MemoryContext cxt = AllocSetContextCreate(worker_cxt, "dlake shard",
													  ALLOCSET_SMALL_SIZES);
			char	   *seq = getstr(i, 4);

			MemoryContextSwitchTo(worker_cxt);
			sh = palloc0(sizeof(ShardState));
			sh->cxt = cxt;
			shards = lappend(shards, sh);
			MemoryContextSwitchTo(cxt);
			sh->stream_id = sid;
			sh->shard_id = pstrdup(shard_id);
			sh->start_position = pstrdup(getstr(i, 3));
			sh->checkpoint_seq = seq ? pstrdup(seq) : NULL;
			sh->checkpoint_sub = (int) getint(i, 5, &isnull);
			{
				char	   *lo = getstr(i, 6);
				char	   *hi = getstr(i, 7);

				sh->hash_lo = lo ? pstrdup(lo) : NULL;
				sh->hash_hi = hi ? pstrdup(hi) : NULL;
			}
			sh->millis_behind = -1;
			sh->window_start = GetCurrentTimestamp();
			sh->last_flush = GetCurrentTimestamp();
			MemoryContextSwitchTo(oldcxt);
		}
		sh->seen = true;
	}

	keep = NIL;
	foreach(lc, shards)
	{
		ShardState *sh = lfirst(lc);

		if (sh->seen)
			keep = lappend_worker(keep, sh);
		else
			free_shard(sh);
	}
	list_free(shards);
	shards = keep;

done:
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(oldcxt);
}

/*
 * record_error stores an error of a stream (shard_id NULL) or shard in the
 * catalog and the error log; the same message is logged at most once a
 * minute per shard.
 */
static void
record_error(StreamState *st, ShardState *sh, const char *code, const char *message)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	TimestampTz now = GetCurrentTimestamp();
	bool		repeat = false;

	if (sh)
	{
		repeat = sh->last_error && strcmp(sh->last_error, message) == 0 &&
			!TimestampDifferenceExceeds(sh->last_error_logged, now, 60000);
		if (!repeat)
		{
			if (sh->last_error)
				pfree(sh->last_error);
			sh->last_error = MemoryContextStrdup(sh->cxt, message);
			sh->last_error_logged = now;
		}
	}
	if (!repeat)
		ereport(WARNING,
				(errmsg("dlake stream \"%s\"%s%s: %s", st->name,
						sh ? " shard " : "", sh ? sh->shard_id : "", message)));

	PG_TRY();
	{
		Datum		args[4];
		char		nulls[4] = {' ', ' ', ' ', ' '};
		Oid			types[4] = {INT4OID, TEXTOID, TEXTOID, TEXTOID};

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		args[0] = Int32GetDatum(st->stream_id);
		args[1] = sh ? CStringGetTextDatum(sh->shard_id) : (Datum) 0;
		nulls[1] = sh ? ' ' : 'n';
		args[2] = code ? CStringGetTextDatum(code) : (Datum) 0;
		nulls[2] = code ? ' ' : 'n';
		args[3] = CStringGetTextDatum(message);
		if (!repeat)
			SPI_execute_with_args("INSERT INTO dlake.ingest_errors (stream_id, shard_id, error_code, message)"
								  " SELECT $1, $2, $3, $4 WHERE EXISTS"
								  " (SELECT 1 FROM dlake.streams WHERE stream_id = $1)",
								  4, types, args, nulls, false, 0);
		if (sh)
			SPI_execute_with_args("UPDATE dlake.shards SET last_error = $4, last_error_at = now(),"
								  " errors = errors + 1 WHERE stream_id = $1 AND shard_id = $2",
								  4, types, args, nulls, false, 0);
		else
			SPI_execute_with_args("UPDATE dlake.streams SET last_error = $4, last_error_at = now()"
								  " WHERE stream_id = $1",
								  4, types, args, nulls, false, 0);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
}

static void
clear_stream_error(StreamState *st)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	SPI_execute(psprintf("UPDATE dlake.streams SET last_error = NULL, last_error_at = NULL"
						 " WHERE stream_id = %d AND last_error IS NOT NULL", st->stream_id),
				false, 0);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/*
 * Run an error-prone step that uses transactions; on ERROR abort, record it
 * for st and set guard_failed.  Either way the caller's memory context is
 * current afterwards (a commit leaves TopMemoryContext current).
 */
#define GUARDED(st, sh, stmt) \
	do { \
		MemoryContext _cxt = CurrentMemoryContext; \
		PG_TRY(); \
		{ \
			stmt; \
			MemoryContextSwitchTo(_cxt); \
		} \
		PG_CATCH(); \
		{ \
			ErrorData  *_ed; \
			MemoryContextSwitchTo(_cxt); \
			_ed = CopyErrorData(); \
			FlushErrorState(); \
			AbortCurrentTransaction(); \
			SetUserIdAndSecContext(worker_userid, worker_sec); \
			MemoryContextSwitchTo(_cxt); \
			record_error((st), (sh), unpack_sql_state(_ed->sqlerrcode), _ed->message); \
			guard_failed = true; \
		} \
		PG_END_TRY(); \
	} while (0)

static Oid	worker_userid;
static int	worker_sec;
static bool guard_failed;

/*
 * build_client resolves the stream's configuration and credentials as its
 * owner (user mapping of the owner on the stream's server).
 */
static void
build_client_inner(StreamState *st)
{
	DlakeConfig *cfg;
	AwsCredentials *creds;
	AwsEndpoint *ep;
	MemoryContext callercxt = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SetUserIdAndSecContext(st->owner, worker_sec | SECURITY_LOCAL_USERID_CHANGE);
	MemoryContextSwitchTo(st->cxt);
	cfg = dlake_config_get_for_user(st->server, st->owner);
	creds = dlake_config_credentials(cfg);
	ep = dlake_config_endpoint(cfg, "kinesis", NULL, NULL);
	memset(&st->client, 0, sizeof(st->client));
	st->client.creds = creds;
	st->client.endpoint = ep;
	st->client.region = cfg->region ? pstrdup(cfg->region) : pstrdup("us-east-1");
	st->client.stream_name = st->kinesis_stream;
	SetUserIdAndSecContext(worker_userid, worker_sec);
	CommitTransactionCommand();
	/* the transaction's contexts are gone: back to the caller's */
	MemoryContextSwitchTo(callercxt);
}

static bool
ensure_client(StreamState *st)
{
	TimestampTz now = GetCurrentTimestamp();

	if (st->client_ok)
	{
		const AwsCredentials *c = st->client.creds;

		/* refresh temporary credentials five minutes before expiry */
		if (c == NULL || c->expiration == DT_NOEND || c->expiration == 0 ||
			TimestampDifferenceExceeds(now, c->expiration, 300 * 1000))
			return true;
		st->client_ok = false;
	}
	if (now < st->next_client_try)
		return false;
	guard_failed = false;
	GUARDED(st, NULL, build_client_inner(st));
	if (guard_failed)
	{
		st->next_client_try = after_ms(FATAL_RETRY_MS);
		return false;
	}
	st->client_ok = true;
	st->client_built = now;
	return true;
}

/* ------------------------------------------------------------------------
 * worker: shard listing
 * ------------------------------------------------------------------------
 */

static void
store_shards_inner(StreamState *st, List *list)
{
	ListCell   *lc;
	bool		first;
	bool		isnull;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	SPI_execute(psprintf("SELECT count(*) FROM dlake.shards WHERE stream_id = %d", st->stream_id),
				true, 1);
	first = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) == 0;

	foreach(lc, list)
	{
		KinesisShard *k = lfirst(lc);
		Datum		args[9];
		char		nulls[9];
		Oid			types[9] = {INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, TEXTOID, TEXTOID};
		const char *state = "waiting";
		const char *pos = "TRIM_HORIZON";

		/* start_at latest: closed shards are skipped, open ones start at the tip */
		if (first && strcmp(st->start_at, "latest") == 0)
		{
			if (k->ending_sequence)
				state = "skipped";
			else
				pos = "LATEST";
		}
		memset(nulls, ' ', sizeof(nulls));
#define ARG(i, v) do { if (v) args[i] = CStringGetTextDatum(v); else nulls[i] = 'n'; } while (0)
		args[0] = Int32GetDatum(st->stream_id);
		ARG(1, k->shard_id);
		ARG(2, k->parent_shard_id);
		ARG(3, k->adjacent_parent_shard_id);
		ARG(4, k->starting_hash_key);
		ARG(5, k->ending_hash_key);
		ARG(6, k->starting_sequence);
		ARG(7, k->ending_sequence);
		args[8] = CStringGetTextDatum(psprintf("%s/%s", state, pos));
#undef ARG
		SPI_execute_with_args("INSERT INTO dlake.shards (stream_id, shard_id, parent_shard_id,"
							  " adjacent_parent_shard_id, starting_hash_key, ending_hash_key,"
							  " starting_sequence, ending_sequence, state, start_position)"
							  " VALUES ($1, $2, $3, $4, $5::numeric, $6::numeric, $7::numeric,"
							  " $8::numeric, split_part($9, '/', 1), split_part($9, '/', 2))"
							  " ON CONFLICT (stream_id, shard_id) DO UPDATE"
							  " SET ending_sequence = EXCLUDED.ending_sequence"
							  " WHERE shards.ending_sequence IS DISTINCT FROM EXCLUDED.ending_sequence",
							  9, types, args, nulls, false, 0);
	}

	/*
	 * A shard no longer listed has aged out of the stream's retention
	 * (ListShards omits expired shards): nothing is left to read, so its
	 * children may start.
	 */
	if (list != NIL)
	{
		StringInfoData ids;

		initStringInfo(&ids);
		foreach(lc, list)
		{
			if (ids.len > 0)
				appendStringInfoChar(&ids, ',');
			appendStringInfoString(&ids, quote_literal_cstr(((KinesisShard *) lfirst(lc))->shard_id));
		}
		SPI_execute(psprintf("UPDATE dlake.shards SET state = 'gone', finished_at = now()"
							 " WHERE stream_id = %d AND state IN ('waiting', 'reading')"
							 " AND shard_id NOT IN (%s)", st->stream_id, ids.data),
					false, 0);
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

static void
apply_retention_inner(StreamState *st)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SetUserIdAndSecContext(st->owner, worker_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	SPI_execute(psprintf("DELETE FROM %s WHERE ingested_at < now() - %s::interval",
						 st->staging_qualname, quote_literal_cstr(st->retention)), false, 0);
	SPI_finish();
	SetUserIdAndSecContext(worker_userid, worker_sec);
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/* list shards of st (this worker is its lister) and store new ones */
static void
list_stream(StreamState *st)
{
	KinesisStreamSummary sum;
	KinesisError err;
	List	   *list = NIL;

	st->next_list = after_ms(LIST_INTERVAL_MS);
	if (!ensure_client(st))
		return;
	pgstat_report_activity(STATE_RUNNING, psprintf("listing shards of %s", st->kinesis_stream));
	if (!kinesis_describe_stream_summary(&st->client, &sum, &err))
	{
		if (err.kind == KINESIS_ERR_INTERRUPTED)
			CHECK_FOR_INTERRUPTS();
		if (err.kind == KINESIS_ERR_FATAL || err.kind == KINESIS_ERR_NOT_FOUND)
		{
			st->next_list = after_ms(FATAL_RETRY_MS);
			st->client_ok = false;	/* re-resolve credentials next time */
		}
		record_error(st, NULL, err.code, err.message);
		return;
	}
	st->retention_hours = sum.retention_hours;
	if (strcmp(sum.status, "ACTIVE") != 0 && strcmp(sum.status, "UPDATING") != 0)
	{
		st->next_list = after_ms(1000);
		return;
	}
	if (!kinesis_list_shards(&st->client, &list, &err))
	{
		if (err.kind == KINESIS_ERR_INTERRUPTED)
			CHECK_FOR_INTERRUPTS();
		record_error(st, NULL, err.code, err.message);
		return;
	}
	guard_failed = false;
	GUARDED(st, NULL, store_shards_inner(st, list));
	if (!guard_failed)
		GUARDED(st, NULL, clear_stream_error(st));

	if (st->retention && GetCurrentTimestamp() >= st->next_retention)
	{
		st->next_retention = after_ms(RETENTION_INTERVAL_MS);
		GUARDED(st, NULL, apply_retention_inner(st));
	}
}

/* ------------------------------------------------------------------------
 * worker: reading a shard
 * ------------------------------------------------------------------------
 */

static int
jitter_backoff(ShardState *sh)
{
	int			next = sh->backoff_ms <= 0 ? BACKOFF_BASE_MS : Min(sh->backoff_ms * 2, BACKOFF_CAP_MS);

	sh->backoff_ms = next;
	/* equal jitter: half fixed, half random */
	return next / 2 + (int) (pg_prng_double(&pg_global_prng_state) * (next / 2));
}

static bool
is_before_checkpoint(const ShardState *sh, const KinesisRecord *r)
{
	int			c;

	if (sh->checkpoint_seq == NULL)
		return false;
	c = ingest_compare_sequence(r->sequence_number, sh->checkpoint_seq);
	return c < 0 || (c == 0 && r->sub_sequence_number <= sh->checkpoint_sub);
}

static void
commit_inner(StreamState *st, ShardState *sh, KinesisRecord *recs, int n,
			 IngestBatchStats *stats, IngestBatchResult *res,
			 const bool *out_of_range, char **out_of_range_reason,
			 const char *dead_letter_reason)
{
	IngestTarget t;

	memset(&t, 0, sizeof(t));
	t.stream_id = st->stream_id;
	t.stream_name = st->name;
	t.owner = st->owner;
	t.staging_relid = st->staging;
	t.staging_qualname = st->staging_qualname;
	t.ruleset = st->ruleset;
	t.max_record_bytes = st->max_record_bytes;
	t.shard_id = sh->shard_id;
	t.expect_sequence = sh->checkpoint_seq;
	t.expect_sub_sequence = sh->checkpoint_sub;
	t.out_of_range = out_of_range;
	t.out_of_range_reason = out_of_range_reason;
	t.out_of_range_dead_letter = st->out_of_range_dead_letter;
	t.dead_letter_reason = dead_letter_reason;
	ingest_commit_batch(&t, recs, n, stats, res);
}

/*
 * mark_out_of_range flags the KPL user records of a page whose hash key is
 * outside the shard's hash key range (possible after a reshard: an
 * aggregate built for the old layout is routed by its own explicit hash
 * key, its user records by theirs).  Plain records were routed by Kinesis
 * and are always in range.  Returns NULL when no record is out of range.
 */
static bool *
mark_out_of_range(const ShardState *sh, KinesisRecord *recs, int n, char ***reasons)
{
	bool	   *oor = NULL;

	*reasons = NULL;
	if (sh->hash_lo == NULL || sh->hash_hi == NULL)
		return NULL;
	for (int i = 0; i < n; i++)
	{
		KinesisRecord *r = &recs[i];
		char	   *hk;

		if (!r->aggregated)
			continue;
		hk = kpl_hash_key(r);
		if (hk != NULL &&
			ingest_compare_sequence(hk, sh->hash_lo) >= 0 &&
			ingest_compare_sequence(hk, sh->hash_hi) <= 0)
			continue;
		if (oor == NULL)
		{
			oor = palloc0(sizeof(bool) * n);
			*reasons = palloc0(sizeof(char *) * n);
		}
		oor[i] = true;
		(*reasons)[i] = hk ?
			psprintf("KPL user record hash key %s is outside the hash key range %s..%s of shard %s",
					 hk, sh->hash_lo, sh->hash_hi, sh->shard_id) :
			psprintf("KPL user record explicit hash key \"%s\" is not a decimal number",
					 r->explicit_hash_key);
	}
	return oor;
}

/*
 * retry_policy_reason: when the commit of the records at this position
 * has already failed, the stream's max_retries / max_record_age policy
 * may give up on the page; returns the dead-letter reason then, else NULL
 * (retry again).  Without a policy nothing is ever given up.
 */
static char *
retry_policy_reason(const StreamState *st, const ShardState *sh,
					KinesisRecord *recs, int n, TimestampTz now)
{
	TimestampTz oldest = 0;

	if (sh->failures == 0 || n == 0)
		return NULL;
	if (st->max_retries >= 0 && sh->failures > st->max_retries)
		return psprintf("max_retries (%d) exceeded: storing the page failed %d times; last error: %s",
						st->max_retries, sh->failures,
						sh->last_error ? sh->last_error : "unknown");
	if (st->max_record_age_ms < 0)
		return NULL;
	for (int i = 0; i < n; i++)
		if (recs[i].arrival != 0 && (oldest == 0 || recs[i].arrival < oldest))
			oldest = recs[i].arrival;
	if (oldest != 0 && TimestampDifferenceExceeds(oldest, now, (int) Min(st->max_record_age_ms, PG_INT32_MAX)))
		return psprintf("max_record_age (%lld ms) exceeded: storing the page failed %d times; last error: %s",
						(long long) st->max_record_age_ms, sh->failures,
						sh->last_error ? sh->last_error : "unknown");
	return NULL;
}

/*
 * A shard is read in two steps, so that a worker keeps its shards' calls in
 * flight while it stores pages: start_fetch sends GetRecords (after
 * GetShardIterator when needed), handle_page takes the answer, sends the
 * next call when it is due and stores the page with its checkpoint.
 */
static void
start_get_records(StreamState *st, ShardState *sh)
{
	pgstat_report_activity(STATE_RUNNING, psprintf("GetRecords %s", sh->shard_id));
	sh->inflight_start = GetCurrentTimestamp();
	sh->inflight = kinesis_get_records_start(&st->client, sh->iterator, st->batch_size,
											 sh->cxt);
}

/*
 * start_fetch sends the next GetRecords of a due shard (after getting an
 * iterator if it has none); the answer is handled by handle_page.  true
 * when the shard was lost and the catalog should be reloaded soon.
 */
static bool
start_fetch(StreamState *st, ShardState *sh)
{
	KinesisError err;

	if (!ensure_client(st))
	{
		sh->next_poll = st->next_client_try;
		return false;
	}

	if (sh->iterator == NULL)
	{
		KinesisIteratorType type;
		char	   *it = NULL;

		if (sh->checkpoint_seq)
			type = KINESIS_ITER_AFTER_SEQUENCE;
		else if (strcmp(sh->start_position, "LATEST") == 0)
			type = KINESIS_ITER_LATEST;
		else
			type = KINESIS_ITER_TRIM_HORIZON;
		pgstat_report_activity(STATE_RUNNING, psprintf("GetShardIterator %s", sh->shard_id));

		/*
		 * start_at a timestamp, nothing stored yet: start AT_TIMESTAMP, so
		 * that the records older than it are not read just to be skipped.
		 * One quick attempt: where it fails (an emulator that never answers
		 * on a shard without a newer record, a timestamp it refuses), read
		 * from the start position and skip by arrival time, as always.
		 */
		if (type == KINESIS_ITER_TRIM_HORIZON && st->start_ts != 0 && !sh->at_timestamp_tried)
		{
			sh->at_timestamp_tried = true;
			if (kinesis_get_shard_iterator(&st->client, sh->shard_id, KINESIS_ITER_AT_TIMESTAMP,
										   NULL, st->start_ts, AT_TIMESTAMP_TIMEOUT_MS,
										   &it, &err))
			{
				sh->iterator = MemoryContextStrdup(sh->cxt, it);
				start_get_records(st, sh);
				return false;
			}
			if (err.kind == KINESIS_ERR_INTERRUPTED)
				CHECK_FOR_INTERRUPTS();
			elog(DEBUG1, "dlake stream \"%s\" shard %s: AT_TIMESTAMP failed (%s); reading from TRIM_HORIZON",
				 st->name, sh->shard_id, err.message);
		}
		if (!kinesis_get_shard_iterator(&st->client, sh->shard_id, type, sh->checkpoint_seq,
										0, 0, &it, &err))
		{
			sh->throttles_pending += err.throttles;
			if (err.kind == KINESIS_ERR_INTERRUPTED)
				CHECK_FOR_INTERRUPTS();
			if (err.kind == KINESIS_ERR_THROTTLED || err.kind == KINESIS_ERR_TRANSIENT ||
				err.kind == KINESIS_ERR_EXPIRED_ITERATOR || err.kind == KINESIS_ERR_INTERRUPTED)
				sh->next_poll = after_ms(jitter_backoff(sh));
			else
			{
				record_error(st, sh, err.code, err.message);
				sh->next_poll = after_ms(FATAL_RETRY_MS);
				if (err.kind == KINESIS_ERR_FATAL)
					st->client_ok = false;
			}
			return false;
		}
		sh->throttles_pending += err.throttles;
		sh->iterator = MemoryContextStrdup(sh->cxt, it);
	}

	start_get_records(st, sh);
	return false;
}

/*
 * handle_page takes the answer of the shard's GetRecords (waiting for it
 * if needed), sends the next call when the pacing allows, then stores the
 * page and its checkpoint.  true when the shard finished or was lost (the
 * catalog should be reloaded soon).
 */
static bool
handle_page(StreamState *st, ShardState *sh)
{
	KinesisError err;
	KinesisGetRecordsResult page;
	KinesisRecord *keep;
	int			nkeep = 0;
	int			i;
	IngestBatchStats stats;
	IngestBatchResult res;
	TimestampTz now;
	bool		flush;
	const char *last_seq = NULL;
	int			last_sub = 0;
	TimestampTz request_start = sh->inflight_start;
	bool	   *oor;
	char	  **oor_reasons;
	char	   *policy_reason;
	KinesisPending *call = sh->inflight;
	bool		ok;

	sh->inflight = NULL;
	ok = kinesis_get_records_finish(call, &st->client, &page, &err);
	if (!ok)
	{
		sh->throttles_pending += err.throttles;
		switch (err.kind)
		{
			case KINESIS_ERR_INTERRUPTED:
				CHECK_FOR_INTERRUPTS();
				sh->next_poll = after_ms(BACKOFF_BASE_MS);
				break;
			case KINESIS_ERR_EXPIRED_ITERATOR:
				sh->expired_pending++;
				forget_iterator(sh);
				sh->next_poll = GetCurrentTimestamp();
				break;
			case KINESIS_ERR_THROTTLED:
				sh->throttles_pending++;
				/* FALLTHROUGH */
			case KINESIS_ERR_TRANSIENT:
				/* same iterator, later */
				sh->next_poll = after_ms(jitter_backoff(sh));
				break;
			default:
				record_error(st, sh, err.code, err.message);
				forget_iterator(sh);
				sh->next_poll = after_ms(FATAL_RETRY_MS);
				if (err.kind == KINESIS_ERR_FATAL)
					st->client_ok = false;
				break;
		}
		return false;
	}
	sh->throttles_pending += err.throttles;
	sh->backoff_ms = 0;

	/* drop what the checkpoint already covers and what precedes start_at */
	keep = palloc(sizeof(KinesisRecord) * Max(page.nrecords, 1));
	for (i = 0; i < page.nrecords; i++)
	{
		KinesisRecord *r = &page.records[i];

		last_seq = r->sequence_number;
		last_sub = r->sub_sequence_number;
		if (is_before_checkpoint(sh, r))
			continue;
		if (st->start_ts != 0 && r->arrival != 0 && r->arrival < st->start_ts)
			continue;
		keep[nkeep++] = *r;
	}
	if (last_seq && sh->checkpoint_seq)
	{
		int			c = ingest_compare_sequence(last_seq, sh->checkpoint_seq);

		if (c < 0 || (c == 0 && last_sub <= sh->checkpoint_sub))
			last_seq = NULL;	/* never move the checkpoint backwards */
	}

	now = GetCurrentTimestamp();
	oor = mark_out_of_range(sh, keep, nkeep, &oor_reasons);
	policy_reason = retry_policy_reason(st, sh, keep, nkeep, now);
	sh->window_records += nkeep;
	sh->window_bytes += page.data_bytes;
	if (TimestampDifferenceExceeds(sh->window_start, now, 2000))
	{
		double		secs = (double) (now - sh->window_start) / USECS_PER_SEC;

		sh->records_per_s = sh->window_records / secs;
		sh->bytes_per_s = sh->window_bytes / secs;
		sh->window_start = now;
		sh->window_records = 0;
		sh->window_bytes = 0;
	}
	if (page.millis_behind >= 0)
		sh->millis_behind = page.millis_behind;

	/* records older than the retention are trimmed: warn at half of it */
	if (st->retention_hours > 0 &&
		page.millis_behind > (int64) st->retention_hours * 3600 * 1000 / 2)
		record_error(st, sh, "LagNearRetention",
					 psprintf("the shard is %lld ms behind, more than half of the stream's retention of %d hours; records older than the retention are lost",
							  (long long) page.millis_behind, st->retention_hours));

	flush = nkeep > 0 || last_seq != NULL || page.next_iterator == NULL || !sh->polled ||
		((sh->throttles_pending > 0 || sh->expired_pending > 0 || sh->last_error) &&
		 TimestampDifferenceExceeds(sh->last_flush, now, STATS_FLUSH_MS));

	/*
	 * Move to the next page before storing this one.  Pacing, counted from
	 * the start of the request: at most 5 calls/s and
	 * dlake.kinesis_read_budget (2 MiB/s) per shard while records flow
	 * (after X MiB wait X/2 s); an empty page means we are at the tip: wait
	 * dlake.worker_naptime.  When the next call is already due it is sent
	 * now, so that it travels (and the service prepares it) while this page
	 * is stored; a failed store cancels it.
	 */
	pfree(sh->iterator);
	sh->iterator = NULL;
	if (page.next_iterator != NULL)
	{
		TimestampTz t;

		sh->iterator = MemoryContextStrdup(sh->cxt, page.next_iterator);
		if (page.nkinesis > 0 || page.millis_behind > 0)
		{
			long		wait = MIN_POLL_INTERVAL_MS;

			if (dlake_kinesis_read_budget_kb > 0)
				wait = Max(wait, (long) (page.data_bytes * 1000 /
										 ((int64) dlake_kinesis_read_budget_kb * 1024)));

			sh->next_poll = TimestampTzPlusMilliseconds(request_start, wait);
		}
		else
			sh->next_poll = TimestampTzPlusMilliseconds(now, dlake_worker_naptime_ms);
		t = GetCurrentTimestamp();
		if (t >= sh->next_poll &&
			calls_in_flight() < dlake_kinesis_calls_in_flight &&
			!other_shard_waiting(sh, t))
			start_get_records(st, sh);
	}

	if (flush)
	{
		memset(&stats, 0, sizeof(stats));
		stats.millis_behind = page.millis_behind;
		stats.records_per_s = sh->records_per_s;
		stats.bytes_per_s = sh->bytes_per_s;
		stats.throttles = sh->throttles_pending;
		stats.expired_iterators = sh->expired_pending;
		stats.shard_finished = (page.next_iterator == NULL);
		stats.worker_pid = MyProcPid;
		stats.new_sequence = last_seq;
		stats.new_sub_sequence = last_sub;
		stats.wire_bytes = page.data_bytes;

		pgstat_report_activity(STATE_RUNNING, psprintf("storing %d records of %s", nkeep, sh->shard_id));
		guard_failed = false;
		GUARDED(st, sh, commit_inner(st, sh, keep, nkeep, &stats, &res,
									 oor, oor_reasons, policy_reason));
		if (guard_failed)
		{
			if (nkeep > 0)
				sh->failures++;
			/* nothing stored: re-read from the checkpoint later */
			forget_iterator(sh);
			sh->next_poll = after_ms(jitter_backoff(sh) * 10);
			return false;
		}
		if (!res.committed)
		{
			/* paused, dropped or moved elsewhere: forget the shard state */
			sh->seen = false;
			sh->stale = true;
			sh->next_poll = after_ms(dlake_worker_naptime_ms);
			forget_iterator(sh);
			return true;
		}
		sh->throttles_pending = 0;
		sh->expired_pending = 0;
		sh->failures = 0;
		if (res.policy_dead_letters > 0)
			ereport(LOG,
					(errmsg("dlake stream \"%s\" shard %s: %lld records moved to dlake.dead_letters by the retry policy",
							st->name, sh->shard_id, (long long) res.policy_dead_letters)));
		sh->last_flush = now;
		sh->polled = true;
		if (sh->last_error)
		{
			pfree(sh->last_error);
			sh->last_error = NULL;
		}
		if (last_seq)
		{
			if (sh->checkpoint_seq)
				pfree(sh->checkpoint_seq);
			sh->checkpoint_seq = MemoryContextStrdup(sh->cxt, last_seq);
			sh->checkpoint_sub = last_sub;
		}
	}

	if (page.next_iterator == NULL)
	{
		/* closed and fully read: children become ready */
		ListCell   *lc;

		foreach(lc, streams)
			((StreamState *) lfirst(lc))->next_list = 0;
		return true;
	}
	return false;
}

/* ------------------------------------------------------------------------
 * worker main
 * ------------------------------------------------------------------------
 */

static bool
take_slot_lock(void)
{
	bool		got;
	bool		isnull;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	SPI_execute(psprintf("SELECT pg_try_advisory_lock(%d, %d)", ADVISORY_KEY1, my_slot), false, 1);
	got = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	return got;
}

void
dlake_stream_worker_main(Datum arg)
{
	MemoryContext scratch;
	TimestampTz next_refresh = 0;

	my_slot = DatumGetInt32(arg);
	n_slots = Max(dlake_max_workers, 1);

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(dlake_database, NULL, 0);
	pgstat_report_appname(psprintf("dlake stream worker %d", my_slot));
	GetUserIdAndSecContext(&worker_userid, &worker_sec);

	/*
	 * Every page allocates and frees a few large blocks (the response body,
	 * the decoded records, the insert's arrays).  Served from mmap they are
	 * handed back to the kernel each time and every page pays fresh page
	 * faults; keep them in the heap and keep a bounded free top instead.
	 */
	mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);

	worker_cxt = AllocSetContextCreate(TopMemoryContext, "dlake stream worker",
									   ALLOCSET_DEFAULT_SIZES);
	scratch = AllocSetContextCreate(TopMemoryContext, "dlake stream worker scratch",
									ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(scratch);

	if (!take_slot_lock())
	{
		elog(LOG, "dlake stream worker %d is already running", my_slot);
		proc_exit(0);
	}
	elog(LOG, "dlake stream worker %d of %d started", my_slot, n_slots);

	for (;;)
	{
		ListCell   *lc;
		long		sleep_ms;
		bool		slots_full;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		MemoryContextReset(scratch);
		MemoryContextSwitchTo(scratch);

		if (RecoveryInProgress())
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 dlake_worker_naptime_ms, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			continue;
		}

		if (GetCurrentTimestamp() >= next_refresh)
		{
			PG_TRY();
			{
				refresh_catalog();
			}
			PG_CATCH();
			{
				EmitErrorReport();
				FlushErrorState();
				AbortCurrentTransaction();
			}
			PG_END_TRY();
			MemoryContextSwitchTo(scratch);
			next_refresh = after_ms(dlake_worker_naptime_ms);
		}

		foreach(lc, streams)
		{
			StreamState *st = lfirst(lc);

			CHECK_FOR_INTERRUPTS();
			if (st->lister && GetCurrentTimestamp() >= st->next_list)
				list_stream(st);
			MemoryContextSwitchTo(scratch);
		}

		/*
		 * Send the calls that are due, longest waiting first, while fewer
		 * than dlake.kinesis_calls_in_flight are on their way.
		 */
		for (;;)
		{
			ShardState *next = NULL;
			StreamState *st;
			TimestampTz now = GetCurrentTimestamp();

			CHECK_FOR_INTERRUPTS();
			if (calls_in_flight() >= dlake_kinesis_calls_in_flight)
				break;
			foreach(lc, shards)
			{
				ShardState *sh = lfirst(lc);

				if (sh->seen && sh->inflight == NULL && sh->next_poll <= now &&
					find_stream(sh->stream_id) != NULL &&
					(next == NULL || sh->next_poll < next->next_poll))
					next = sh;
			}
			if (next == NULL)
				break;
			st = find_stream(next->stream_id);
			if (start_fetch(st, next))
				next_refresh = 0;	/* lost: reload soon */
			MemoryContextReset(scratch);
			MemoryContextSwitchTo(scratch);
			if (next->inflight == NULL && next->next_poll <= GetCurrentTimestamp())
				next->next_poll = after_ms(BACKOFF_BASE_MS);	/* never spin */
		}

		/* store the pages that have arrived */
		dlake_http_wait(0);
		foreach(lc, shards)
		{
			ShardState *sh = lfirst(lc);
			StreamState *st = find_stream(sh->stream_id);

			CHECK_FOR_INTERRUPTS();
			if (sh->inflight == NULL || !kinesis_pending_ready(sh->inflight))
				continue;
			if (st == NULL || !sh->seen || !st->client_ok)
			{
				/* the stream changed under the call: send it again */
				cancel_inflight(sh);
				continue;
			}
			if (handle_page(st, sh))
				next_refresh = 0;	/* finished or lost: reload soon */
			MemoryContextReset(scratch);
			MemoryContextSwitchTo(scratch);
		}

		/*
		 * Sleep until the next due shard, listing or catalog refresh, or
		 * until a call in flight is answered.
		 */
		sleep_ms = ms_until(next_refresh);
		slots_full = calls_in_flight() >= dlake_kinesis_calls_in_flight;
		foreach(lc, shards)
		{
			ShardState *sh = lfirst(lc);

			if (sh->inflight != NULL)
			{
				if (kinesis_pending_ready(sh->inflight))
					sleep_ms = 0;	/* answered while a page was stored */
			}
			else if (sh->seen && !slots_full)
				sleep_ms = Min(sleep_ms, ms_until(sh->next_poll));
		}
		foreach(lc, streams)
		{
			StreamState *st = lfirst(lc);

			if (st->lister)
				sleep_ms = Min(sleep_ms, ms_until(st->next_list));
		}
		pgstat_report_activity(STATE_IDLE, NULL);
		if (sleep_ms > 0)
			dlake_http_wait(sleep_ms);
	}
}
