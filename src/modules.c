/*-------------------------------------------------------------------------
 *
 * modules.c
 *	  Calls each module's one-time initialisation, in layer order.
 *	  A module that needs setup at load time adds one line here.
 *
 * IDENTIFICATION
 *	  src/modules.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ingest/fileflow.h"
#include "ingest/ingest.h"
#include "modules.h"

void
dlake_modules_init(void)
{
	/* aws/ layer: nothing yet (libcurl is initialised lazily) */

	/* ingest/: Kinesis stream launcher (shared_preload_libraries only) */
	dlake_ingest_init();

	/* ingest/: file flow worker (shared_preload_libraries only) */
	dlake_fileflow_init();
}
