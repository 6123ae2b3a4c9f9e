/*-------------------------------------------------------------------------
 *
 * rules.c
 *	  C entry points of rule sets for other modules (the stream worker).
 *
 *	  The rule set compiler and the batch statement live in SQL
 *	  (src/sql/50_rules.sql): a rule set becomes one INSERT ... SELECT per
 *	  batch that the executor runs set-based.  This file only gives C callers
 *	  a typed way to run it on a range of staging rows.
 *
 * IDENTIFICATION
 *	  src/etl/rules.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "etl/rules.h"

/*
 * dlake_ruleset_apply_batch runs dlake._apply_range() for a range of staging
 * ids through SPI and copies its four counters into *counts.  Errors
 * propagate to the caller unchanged (they already name the rule set).
 */
void
dlake_ruleset_apply_batch(const char *ruleset, Oid staging_relid,
						  const char *cleansed_qualname,
						  const char *quarantine_qualname,
						  int64 first_id, int64 last_id,
						  DlakeRuleCounts *counts)
{
	Oid			argtypes[6] = {TEXTOID, OIDOID, TEXTOID, TEXTOID, INT8OID, INT8OID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	int			rc;
	int			i;

	Assert(ruleset != NULL && counts != NULL);
	memset(counts, 0, sizeof(*counts));

	values[0] = CStringGetTextDatum(ruleset);
	values[1] = ObjectIdGetDatum(staging_relid);
	if (cleansed_qualname)
		values[2] = CStringGetTextDatum(cleansed_qualname);
	else
	{
		values[2] = (Datum) 0;
		nulls[2] = 'n';
	}
	if (quarantine_qualname)
		values[3] = CStringGetTextDatum(quarantine_qualname);
	else
	{
		values[3] = (Datum) 0;
		nulls[3] = 'n';
	}
	values[4] = Int64GetDatum(first_id);
	values[5] = Int64GetDatum(last_id);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	rc = SPI_execute_with_args("SELECT accepted, rejected, filtered, duplicates"
							   " FROM dlake._apply_range($1, $2::pg_catalog.regclass,"
							   " $3, $4, $5, $6)",
							   6, argtypes, values, nulls, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "dlake._apply_range returned no row (SPI code %d)", rc);

	for (i = 0; i < 4; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0],
									  SPI_tuptable->tupdesc, i + 1, &isnull);
		int64		v = isnull ? 0 : DatumGetInt64(d);

		switch (i)
		{
			case 0:
				counts->accepted = v;
				break;
			case 1:
				counts->rejected = v;
				break;
			case 2:
				counts->filtered = v;
				break;
			default:
				counts->duplicates = v;
				break;
		}
	}

	SPI_finish();
}

/*
 * dlake_ruleset_exists looks the name up in dlake.rulesets; used by
 * create_stream to refuse an unknown rule set early.
 */
bool
dlake_ruleset_exists(const char *ruleset)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		found;

	values[0] = CStringGetTextDatum(ruleset);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT 1 FROM dlake.rulesets WHERE name = $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up rule set \"%s\"", ruleset);
	found = (SPI_processed > 0);
	SPI_finish();
	return found;
}
