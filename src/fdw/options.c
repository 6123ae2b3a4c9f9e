/*-------------------------------------------------------------------------
 *
 * options.c
 *	  The option table and validator of dlake_fdw.
 *
 * Server options say where requests go (region, endpoints, TLS); user
 * mapping options say who signs them (keys, session token, role, profile).
 * Secrets are valid only in user mappings: server options are readable by
 * everyone with USAGE on the server, user mapping options only by the
 * mapped user and the server owner (pg_user_mappings hides them).
 * Foreign table and column options are accepted here so that the lake FDW
 * can build on them; their values are checked there.
 *
 * IDENTIFICATION
 *	  src/fdw/options.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/reloptions.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/varlena.h"

#include "fdw/fdw_int.h"
#include "fdw/options.h"

PG_FUNCTION_INFO_V1(dlake_fdw_validator);

const DlakeOption dlake_fdw_options[] = {
	/* server: where requests go */
	{"region", ForeignServerRelationId, DLAKE_OPT_STRING},
	{"endpoint", ForeignServerRelationId, DLAKE_OPT_URL},
	{"path_style", ForeignServerRelationId, DLAKE_OPT_BOOL},
	{"kinesis_endpoint", ForeignServerRelationId, DLAKE_OPT_URL},
	{"sts_endpoint", ForeignServerRelationId, DLAKE_OPT_URL},
	{"ca_file", ForeignServerRelationId, DLAKE_OPT_STRING},
	{"verify_tls", ForeignServerRelationId, DLAKE_OPT_BOOL},

	/* user mapping: who signs */
	{"access_key_id", UserMappingRelationId, DLAKE_OPT_SECRET},
	{"secret_access_key", UserMappingRelationId, DLAKE_OPT_SECRET},
	{"session_token", UserMappingRelationId, DLAKE_OPT_SECRET},
	{"role_arn", UserMappingRelationId, DLAKE_OPT_STRING},
	{"external_id", UserMappingRelationId, DLAKE_OPT_SECRET},
	{"profile", UserMappingRelationId, DLAKE_OPT_STRING},

	/* foreign table: checked in detail by the lake FDW */
	{"location", ForeignTableRelationId, DLAKE_OPT_STRING},
	{"format", ForeignTableRelationId, DLAKE_OPT_STRING},
	{"compression", ForeignTableRelationId, DLAKE_OPT_STRING},
	{"partition_by", ForeignTableRelationId, DLAKE_OPT_STRING},
	{"header", ForeignTableRelationId, DLAKE_OPT_BOOL},
	{"delimiter", ForeignTableRelationId, DLAKE_OPT_STRING},
	{"quote", ForeignTableRelationId, DLAKE_OPT_STRING},
	{"escape", ForeignTableRelationId, DLAKE_OPT_STRING},
	{"null", ForeignTableRelationId, DLAKE_OPT_STRING},
	{"missing_columns", ForeignTableRelationId, DLAKE_OPT_STRING},
	{"catalog", ForeignTableRelationId, DLAKE_OPT_BOOL},

	/* column */
	{"column_name", AttributeRelationId, DLAKE_OPT_STRING},

	{NULL, InvalidOid, DLAKE_OPT_STRING}
};

/*
 * dlake_option_get returns the value of the named option in a list of
 * DefElem, or NULL when it is absent.
 */
const char *
dlake_option_get(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, name) == 0)
			return defGetString(def);
	}
	return NULL;
}

/*
 * dlake_option_url_is_valid accepts "http://authority" or
 * "https://authority" with an optional trailing slash.  A path is refused
 * because requests are signed over the path that dlake builds.
 */
bool
dlake_option_url_is_valid(const char *value, char **why)
{
	const char *p;

	if (strncmp(value, "http://", 7) == 0)
		p = value + 7;
	else if (strncmp(value, "https://", 8) == 0)
		p = value + 8;
	else
	{
		*why = pstrdup("The URL must start with http:// or https://.");
		return false;
	}
	if (*p == '\0' || *p == '/' || *p == ':')
	{
		*why = pstrdup("The URL has no host name.");
		return false;
	}
	for (; *p; p++)
	{
		if (*p == '/')
		{
			if (p[1] != '\0')
			{
				*why = pstrdup("The URL must not contain a path.");
				return false;
			}
			break;
		}
		if (*p == '?' || *p == '#' || *p == '@' || (unsigned char) *p <= ' ')
		{
			*why = psprintf("The URL contains the character \"%c\" in its host part.",
							(unsigned char) *p <= ' ' ? '?' : *p);
			return false;
		}
	}
	return true;
}

static const char *
catalog_name(Oid catalog)
{
	switch (catalog)
	{
		case ForeignServerRelationId:
			return "server";
		case UserMappingRelationId:
			return "user mapping";
		case ForeignTableRelationId:
			return "foreign table";
		case AttributeRelationId:
			return "column";
		default:
			return "this object";
	}
}

/*
 * closest_option returns the valid option name for this catalog that is
 * nearest (Levenshtein) to the misspelt one, or NULL when none is close.
 */
static const char *
closest_option(const char *name, Oid catalog)
{
	const char *best = NULL;
	int			best_dist = INT_MAX;
	int			len = strlen(name);
	int			max_dist = Max(2, len / 2);

	for (const DlakeOption *opt = dlake_fdw_options; opt->name; opt++)
	{
		int			d;

		if (opt->context != catalog)
			continue;
		d = varstr_levenshtein(name, len, opt->name, strlen(opt->name),
							   1, 1, 1, true);
		if (d < best_dist)
		{
			best_dist = d;
			best = opt->name;
		}
	}
	return best_dist <= max_dist ? best : NULL;
}

static char *
valid_options_list(Oid catalog)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const DlakeOption *opt = dlake_fdw_options; opt->name; opt++)
	{
		if (opt->context != catalog)
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, opt->name);
	}
	return buf.data;
}

/*
 * dlake_fdw_validator checks the options of a server, user mapping,
 * foreign table or column of dlake_fdw: known names only, no secrets
 * outside user mappings, well-formed booleans and URLs, no duplicates.
 */
Datum
dlake_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);
		const DlakeOption *found = NULL;
		const DlakeOption *elsewhere = NULL;
		const char *value;

		for (const DlakeOption *opt = dlake_fdw_options; opt->name; opt++)
		{
			if (strcmp(opt->name, def->defname) != 0)
				continue;
			if (opt->context == catalog)
				found = opt;
			else
				elsewhere = opt;
		}

		if (found == NULL)
		{
			const char *closest;

			if (elsewhere && elsewhere->type == DLAKE_OPT_SECRET)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
						 errmsg("option \"%s\" is only allowed in a user mapping",
								def->defname),
						 errdetail("Server options are readable by every role with USAGE on the server; secrets belong in CREATE USER MAPPING ... OPTIONS."),
						 errhint("Use CREATE USER MAPPING FOR ... SERVER ... OPTIONS (%s '...').",
								 def->defname)));
			if (elsewhere)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
						 errmsg("option \"%s\" is not valid for a %s of dlake_fdw",
								def->defname, catalog_name(catalog)),
						 errdetail("It is an option of a %s.",
								   catalog_name(elsewhere->context))));

			closest = closest_option(def->defname, catalog);
			if (closest)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
						 errmsg("invalid option \"%s\"", def->defname),
						 errhint("Perhaps you meant the option \"%s\".", closest)));
			else
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
						 errmsg("invalid option \"%s\"", def->defname),
						 errhint("Valid options for a %s are: %s.",
								 catalog_name(catalog), valid_options_list(catalog))));
		}

		/* duplicates */
		for (ListCell *lc2 = list_head(options); lc2 != lc; lc2 = lnext(options, lc2))
		{
			DefElem    *prev = (DefElem *) lfirst(lc2);

			if (strcmp(prev->defname, def->defname) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_SYNTAX_ERROR),
						 errmsg("conflicting or redundant options"),
						 errdetail("Option \"%s\" is given more than once.", def->defname)));
		}

		value = defGetString(def);
		switch (found->type)
		{
			case DLAKE_OPT_BOOL:
				{
					bool		b;

					if (!parse_bool(value, &b))
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("invalid value for boolean option \"%s\": \"%s\"",
										def->defname, value),
								 errhint("Use true or false.")));
					break;
				}
			case DLAKE_OPT_URL:
				{
					char	   *why;

					if (!dlake_option_url_is_valid(value, &why))
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("invalid value for option \"%s\": \"%s\"",
										def->defname, value),
								 errdetail("%s", why),
								 errhint("Example: http://127.0.0.1:9000 or https://s3.eu-west-1.amazonaws.com.")));
					break;
				}
			case DLAKE_OPT_STRING:
			case DLAKE_OPT_SECRET:
				if (value[0] == '\0' && strcmp(def->defname, "null") != 0 &&
					strcmp(def->defname, "session_token") != 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("option \"%s\" must not be empty", def->defname)));
				break;
		}
	}

	/* values of foreign table options: checked by the lake FDW (plan.c) */
	if (catalog == ForeignTableRelationId)
		dlake_fdw_validate_table_options(options);

	/* keys come in pairs */
	if (catalog == UserMappingRelationId &&
		(dlake_option_get(options, "access_key_id") == NULL) !=
		(dlake_option_get(options, "secret_access_key") == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"access_key_id\" and \"secret_access_key\" must be given together")));
	if (catalog == UserMappingRelationId &&
		dlake_option_get(options, "session_token") != NULL &&
		dlake_option_get(options, "access_key_id") == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"session_token\" requires \"access_key_id\" and \"secret_access_key\"")));

	PG_RETURN_VOID();
}
