/*-------------------------------------------------------------------------
 *
 * import.c
 *	  IMPORT FOREIGN SCHEMA for dlake_fdw (placeholder, replaced below).
 *
 * IDENTIFICATION
 *	  src/fdw/import.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/parsenodes.h"

#include "fdw/fdw_int.h"

List *
dlake_fdw_import_schema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					errmsg("IMPORT FOREIGN SCHEMA is not supported yet")));
	return NIL;
}
