/*-------------------------------------------------------------------------
 *
 * job_record.c
 *	  Autonomous recording of failed job runs (dlake.job_runs).
 *
 * dlake.run_job runs a job's command inside a PL/pgSQL exception block,
 * records the outcome in dlake.job_runs and, when the command failed,
 * raises the error again so that pg_cron (or the caller) sees the failure.
 * Raising aborts the caller's transaction, and with it any row that
 * transaction inserted; so the "failed" row is written by a short-lived
 * dynamic background worker in a transaction of its own, which commits
 * before the error is raised.  The worker connects to the caller's database
 * as the bootstrap superuser and inserts exactly one row whose values come
 * from a dynamic shared memory segment; the caller waits for it to exit and
 * reads the new row's id back from the same segment.
 *
 * When no background worker slot is free the row cannot be written
 * autonomously: the function returns NULL and the caller records the run in
 * its own transaction (lost on rollback) after a WARNING.
 *
 * src/jobs/job_record.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(dlake_job_record_failure);

PGDLLEXPORT void dlake_job_recorder_main(Datum main_arg);

/* number of text fields passed to the worker, in this order */
#define JOBREC_NFIELDS 5			/* job, command, error, sqlstate, detail */

/*
 * Layout of the shared segment: a fixed header, then the text fields one
 * after the other, each NUL-terminated.  A NULL field has length -1.
 */
typedef struct JobRecordShared
{
	Oid			database;
	Oid			userid;			/* the role that ran the job */
	int			pid;			/* the backend that ran the job */
	TimestampTz started;
	int64		run_id;			/* set by the worker; 0 until then */
	bool		done;
	int32		len[JOBREC_NFIELDS];
	char		data[FLEXIBLE_ARRAY_MEMBER];
} JobRecordShared;

/*
 * dlake._job_record_failure(job, started, command, error, sqlstate, detail)
 *	  Insert a 'failed' row into dlake.job_runs in an autonomous transaction
 *	  and return its id (NULL when no worker could be started).
 */
Datum
dlake_job_record_failure(PG_FUNCTION_ARGS)
{
	text	   *fields[JOBREC_NFIELDS];
	Size		size = offsetof(JobRecordShared, data);
	dsm_segment *seg;
	JobRecordShared *shared;
	char	   *p;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	BgwHandleStatus status;
	pid_t		pid;
	int64		run_id;
	int			argmap[JOBREC_NFIELDS] = {0, 2, 3, 4, 5};
	int			i;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("job name and start time must not be NULL")));

	for (i = 0; i < JOBREC_NFIELDS; i++)
	{
		fields[i] = PG_ARGISNULL(argmap[i]) ? NULL : PG_GETARG_TEXT_PP(argmap[i]);
		if (fields[i])
			size += VARSIZE_ANY_EXHDR(fields[i]) + 1;
	}

	seg = dsm_create(size, 0);
	shared = (JobRecordShared *) dsm_segment_address(seg);
	shared->database = MyDatabaseId;
	shared->userid = GetUserId();
	shared->pid = MyProcPid;
	shared->started = PG_GETARG_TIMESTAMPTZ(1);
	shared->run_id = 0;
	shared->done = false;
	p = shared->data;
	for (i = 0; i < JOBREC_NFIELDS; i++)
	{
		if (fields[i] == NULL)
		{
			shared->len[i] = -1;
			continue;
		}
		shared->len[i] = VARSIZE_ANY_EXHDR(fields[i]);
		memcpy(p, VARDATA_ANY(fields[i]), shared->len[i]);
		p[shared->len[i]] = '\0';
		p += shared->len[i] + 1;
	}

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "dlake");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "dlake_job_recorder_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "dlake job recorder for PID %d", MyProcPid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "dlake job recorder");
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		dsm_detach(seg);
		PG_RETURN_NULL();
	}
	status = WaitForBackgroundWorkerStartup(handle, &pid);
	if (status == BGWH_STARTED)
		status = WaitForBackgroundWorkerShutdown(handle);
	if (status == BGWH_POSTMASTER_DIED)
		ereport(FATAL,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("postmaster exited while recording a job run")));

	run_id = shared->done ? shared->run_id : 0;
	dsm_detach(seg);
	if (run_id == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(run_id);
}

/* the i-th text field of the segment as a Datum (or NULL) */
static Datum
jobrec_field(JobRecordShared *shared, int i, char *nulls)
{
	char	   *p = shared->data;
	int			k;

	for (k = 0; k < i; k++)
		if (shared->len[k] >= 0)
			p += shared->len[k] + 1;
	if (shared->len[i] < 0)
	{
		*nulls = 'n';
		return (Datum) 0;
	}
	*nulls = ' ';
	return PointerGetDatum(cstring_to_text_with_len(p, shared->len[i]));
}

/*
 * Worker entry point: insert one 'failed' row, store its id in the
 * segment, exit.  Errors end the worker (the caller then gets NULL).
 */
void
dlake_job_recorder_main(Datum main_arg)
{
	dsm_segment *seg;
	JobRecordShared *shared;
	Oid			argtypes[9] = {TEXTOID, TIMESTAMPTZOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
	OIDOID, INT4OID, TEXTOID};
	Datum		values[9];
	char		nulls[10];
	bool		isnull;
	int			ret;

	BackgroundWorkerUnblockSignals();

	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not map the job run record segment")));
	shared = (JobRecordShared *) dsm_segment_address(seg);

	BackgroundWorkerInitializeConnectionByOid(shared->database, InvalidOid, 0);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "recording a failed dlake job run");

	values[0] = jobrec_field(shared, 0, &nulls[0]);
	values[1] = TimestampTzGetDatum(shared->started);
	nulls[1] = ' ';
	values[2] = jobrec_field(shared, 1, &nulls[2]);
	values[3] = jobrec_field(shared, 2, &nulls[3]);
	values[4] = jobrec_field(shared, 3, &nulls[4]);
	values[5] = jobrec_field(shared, 4, &nulls[5]);
	values[6] = ObjectIdGetDatum(shared->userid);
	nulls[6] = ' ';
	values[7] = Int32GetDatum(shared->pid);
	nulls[7] = ' ';
	values[8] = (Datum) 0;
	nulls[8] = 'n';
	nulls[9] = '\0';

	ret = SPI_execute_with_args(
		"INSERT INTO dlake.job_runs (job, started, finished, status, command, error, sqlstate,"
		" detail, username, pid)"
		" SELECT $1, $2, clock_timestamp(), 'failed', $3, $4, $5, $6,"
		" coalesce((SELECT rolname FROM pg_catalog.pg_roles WHERE oid = $7), $7::text), $8"
		" RETURNING id",
		8, argtypes, values, nulls, false, 1);
	if (ret != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not record a failed job run")));
	shared->run_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												 SPI_tuptable->tupdesc, 1, &isnull));

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);

	/* only now, after the commit, may the caller read the id */
	pg_write_barrier();
	shared->done = true;
	dsm_detach(seg);
	proc_exit(0);
}
