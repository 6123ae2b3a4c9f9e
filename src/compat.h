/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Version shims.  dlake targets PostgreSQL 15; anything that differs
 *	  between major versions lives here and nowhere else.
 *
 * IDENTIFICATION
 *	  src/compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_COMPAT_H
#define DLAKE_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 160000
#error "dlake supports PostgreSQL 15 only (see src/compat.h)"
#endif

#define PG15_GE (PG_VERSION_NUM >= 150000)

/*
 * Named custom wait events (WaitEventExtensionNew) arrived in PostgreSQL 17;
 * on 15 every dlake wait reports the generic extension wait event.
 */
#define DLAKE_WAIT_EVENT_HTTP		PG_WAIT_EXTENSION
#define DLAKE_WAIT_EVENT_WORKER		PG_WAIT_EXTENSION

#endif							/* DLAKE_COMPAT_H */
