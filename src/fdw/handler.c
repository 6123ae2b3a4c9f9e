/*-------------------------------------------------------------------------
 *
 * handler.c
 *	  Placeholder handler of dlake_fdw: servers and user mappings are
 *	  already useful (they configure storage and Kinesis access), but
 *	  foreign tables cannot be scanned until the lake FDW lands.  This file
 *	  is replaced by the FDW module.
 *
 * IDENTIFICATION
 *	  src/fdw/handler.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "foreign/fdwapi.h"
#include "optimizer/pathnode.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(dlake_fdw_handler);

/*
 * dlake_fdw_get_rel_size refuses planning of any dlake foreign table.
 */
static void
dlake_fdw_get_rel_size(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("foreign table \"%s\" cannot be scanned yet",
					get_rel_name(foreigntableid)),
			 errdetail("This build of dlake_fdw supports servers and user mappings only."),
			 errhint("Use dlake.list() and dlake.read_text() to read lake objects.")));
}

Datum
dlake_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = dlake_fdw_get_rel_size;
	PG_RETURN_POINTER(routine);
}
