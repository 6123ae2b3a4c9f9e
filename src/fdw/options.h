/*-------------------------------------------------------------------------
 *
 * options.h
 *	  Options of dlake_fdw: which option is valid in which catalog (server,
 *	  user mapping, foreign table, column), and the validator function.
 *
 * The option names are fixed project-wide; a later FDW module extends the
 * table-level checks but keeps this list as the single source of truth.
 *
 * IDENTIFICATION
 *	  src/fdw/options.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_FDW_OPTIONS_H
#define DLAKE_FDW_OPTIONS_H

#include "postgres.h"

#include "nodes/pg_list.h"

/* kinds of value an option takes */
typedef enum DlakeOptionType
{
	DLAKE_OPT_STRING,
	DLAKE_OPT_BOOL,
	DLAKE_OPT_URL,				/* http:// or https:// URL without a path */
	DLAKE_OPT_SECRET			/* string that may only live in a user mapping */
} DlakeOptionType;

typedef struct DlakeOption
{
	const char *name;
	Oid			context;		/* catalog OID: ForeignServerRelationId, ... */
	DlakeOptionType type;
} DlakeOption;

/* the table of every valid option (terminated by a NULL name) */
extern const DlakeOption dlake_fdw_options[];

/* value of the named option in a List of DefElem, or NULL */
extern const char *dlake_option_get(List *options, const char *name);

/* check that an endpoint option value is a usable http(s) URL */
extern bool dlake_option_url_is_valid(const char *value, char **why);

#endif							/* DLAKE_FDW_OPTIONS_H */
