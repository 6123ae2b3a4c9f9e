/*-------------------------------------------------------------------------
 *
 * fileflow_worker.c
 *	  The file flow worker: a static background worker (registered while
 *	  shared_preload_libraries is processed) connected to dlake.database
 *	  that calls dlake._file_flows_poll() every dlake.worker_naptime while
 *	  file flows exist.  Each call is one transaction: the lines shipped and
 *	  the file positions commit together (see src/sql/85_fileflow.sql for
 *	  the reading, fingerprinting and shipping).  Errors of one flow are
 *	  caught by the SQL function and recorded in dlake.file_flows; any other
 *	  error ends the worker, which the postmaster restarts after 5 s.
 *
 * IDENTIFICATION
 *	  src/ingest/fileflow_worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
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
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "guc.h"
#include "ingest/fileflow.h"

PGDLLEXPORT void dlake_fileflow_worker_main(Datum arg);

/*
 * dlake_fileflow_init registers the worker; only possible (and only done)
 * while shared_preload_libraries is being processed.
 */
void
dlake_fileflow_init(void)
{
	BackgroundWorker worker;

	if (!process_shared_preload_libraries_in_progress)
		return;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "dlake");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "dlake_fileflow_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "dlake file flow worker");
	snprintf(worker.bgw_type, BGW_MAXLEN, "dlake file flow worker");
	RegisterBackgroundWorker(&worker);
}

/*
 * One poll in its own transaction.  Returns true when the poll function
 * exists (the extension is installed and has file flows support).
 */
static bool
poll_once(void)
{
	bool		present = false;
	bool		isnull;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT to_regclass('dlake.file_flows') IS NOT NULL"
					" AND EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n"
					" ON n.oid = p.pronamespace WHERE n.nspname = 'dlake' AND p.proname = '_file_flows_poll')",
					true, 1) == SPI_OK_SELECT)
		present = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (present)
	{
		pgstat_report_activity(STATE_RUNNING, "polling dlake file flows");
		if (SPI_execute("SELECT dlake._file_flows_poll()", false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not poll dlake file flows");
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	MemoryContextSwitchTo(TopMemoryContext);
	return present;
}

void
dlake_fileflow_worker_main(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(dlake_database, NULL, 0);
	pgstat_report_appname("dlake file flow worker");

	for (;;)
	{
		long		naptime = Max(dlake_worker_naptime_ms, 10);

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (!RecoveryInProgress() && !poll_once())
			naptime = Max(naptime, 10000);	/* extension not installed: look rarely */

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 naptime, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
