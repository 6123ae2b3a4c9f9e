/*-------------------------------------------------------------------------
 *
 * zones.c
 *	  Zones (raw, cleansed, curated, ...): a name for a base location and
 *	  the foreign server to reach it, so that export and load take
 *	  zone => 'cleansed' plus a relative path.  Kept thin on purpose: a
 *	  catalog row in dlake.zones and one lookup.
 *
 * IDENTIFICATION
 *	  src/export/zones.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "export/export.h"
#include "fmgr.h"
#include "storage/storage.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(dlake_create_zone);

char *
dlake_resolve_zone(const char *zone, const char *location, char **server)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	char	   *zloc;
	char	   *zserver;
	bool		isnull;
	DlakeLocation *base;
	MemoryContext outer = CurrentMemoryContext;
	int			ret;

	if (zone == NULL)
	{
		if (location == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("location must not be NULL without a zone")));
		return pstrdup(location);
	}

	args[0] = CStringGetTextDatum(zone);
	SPI_connect();
	ret = SPI_execute_with_args("SELECT location, server::text FROM dlake.zones WHERE name = $1",
								1, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not look up zone \"%s\"", zone);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("zone \"%s\" does not exist", zone),
				 errhint("Create it with dlake.create_zone(name, location).")));
	zloc = MemoryContextStrdup(outer,
							   TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0],
																 SPI_tuptable->tupdesc, 1, &isnull)));
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);

		zserver = isnull ? NULL : MemoryContextStrdup(outer, TextDatumGetCString(d));
	}
	SPI_finish();

	if (server && *server == NULL)
		*server = zserver;
	if (location == NULL || location[0] == '\0')
		return zloc;
	if (strstr(location, "://") != NULL || location[0] == '/')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("location \"%s\" must be relative when a zone is given", location),
				 errdetail("Zone \"%s\" is at \"%s\".", zone, zloc)));
	base = dlake_location_parse_or_error(zloc);
	return dlake_location_child(base, location)->uri;
}

/*
 * dlake.create_zone(name, location, server) creates or replaces a zone.
 * The location must parse (s3://bucket/prefix or file:///dir); nothing is
 * written to storage.
 */
Datum
dlake_create_zone(PG_FUNCTION_ARGS)
{
	Oid			argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};
	DlakeLocation *loc;
	char	   *name;
	char	   *uri;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("zone name and location must not be NULL")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	uri = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("zone name must not be empty")));
	loc = dlake_location_parse_or_error(uri);
	args[0] = CStringGetTextDatum(name);
	/* keep the normalised URI without a trailing slash */
	{
		char	   *u = pstrdup(loc->uri);
		size_t		n = strlen(u);

		while (n > 0 && u[n - 1] == '/' && !(n >= 3 && u[n - 2] == '/' && u[n - 3] == ':'))
			u[--n] = '\0';
		args[1] = CStringGetTextDatum(u);
	}
	if (PG_ARGISNULL(2))
		nulls[2] = 'n';
	else
		args[2] = CStringGetTextDatum(NameStr(*PG_GETARG_NAME(2)));

	SPI_connect();
	if (SPI_execute_with_args("INSERT INTO dlake.zones (name, location, server) "
							  "VALUES ($1, $2, $3::name) "
							  "ON CONFLICT (name) DO UPDATE SET location = EXCLUDED.location, "
							  "server = EXCLUDED.server",
							  3, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not store zone \"%s\"", name);
	SPI_finish();
	PG_RETURN_VOID();
}
