/*-------------------------------------------------------------------------
 *
 * dlake.c
 *	  Module entry point: _PG_init defines the GUCs and registers the
 *	  background worker launcher.  Nothing else lives here.
 *
 * IDENTIFICATION
 *	  src/dlake.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "guc.h"
#include "modules.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	dlake_guc_init();
	dlake_modules_init();
}
