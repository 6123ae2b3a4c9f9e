/*-------------------------------------------------------------------------
 *
 * job_query.c
 *	  dlake._job_returns_rows: does a job's command return rows?
 *
 * dlake.run_job records a meaningful row count for commands that return
 * rows (the count columns of what they return, see docs/operations.md);
 * to read those rows it must run the command through a cursor, which
 * works only for a single statement that returns rows.  The raw parser
 * tells us without running anything: exactly one statement, a SELECT
 * (VALUES, WITH ... SELECT) without INTO, or an INSERT/UPDATE/DELETE with
 * RETURNING.  Everything else runs as before with a plain EXECUTE.
 *
 * src/jobs/job_query.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(dlake_job_returns_rows);

/*
 * dlake._job_returns_rows(command text) returns boolean.  A command that
 * does not parse is reported as not returning rows: the plain EXECUTE
 * then raises the syntax error, recorded like any other failure.
 */
Datum
dlake_job_returns_rows(PG_FUNCTION_ARGS)
{
	char	   *command = text_to_cstring(PG_GETARG_TEXT_PP(0));
	MemoryContext cxt = CurrentMemoryContext;
	List	   *stmts = NIL;
	Node	   *stmt;
	bool		ok = true;

	PG_TRY();
	{
		stmts = raw_parser(command, RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		ok = false;
	}
	PG_END_TRY();

	if (!ok || list_length(stmts) != 1)
		PG_RETURN_BOOL(false);
	stmt = linitial_node(RawStmt, stmts)->stmt;
	switch (nodeTag(stmt))
	{
		case T_SelectStmt:
			PG_RETURN_BOOL(((SelectStmt *) stmt)->intoClause == NULL);
		case T_InsertStmt:
			PG_RETURN_BOOL(((InsertStmt *) stmt)->returningList != NIL);
		case T_UpdateStmt:
			PG_RETURN_BOOL(((UpdateStmt *) stmt)->returningList != NIL);
		case T_DeleteStmt:
			PG_RETURN_BOOL(((DeleteStmt *) stmt)->returningList != NIL);
		default:
			PG_RETURN_BOOL(false);
	}
}
