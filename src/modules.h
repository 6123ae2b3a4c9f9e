/*-------------------------------------------------------------------------
 *
 * modules.h
 *	  Per-module initialisation hooks called from _PG_init.
 *
 * IDENTIFICATION
 *	  src/modules.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_MODULES_H
#define DLAKE_MODULES_H

extern void dlake_modules_init(void);

#endif							/* DLAKE_MODULES_H */
