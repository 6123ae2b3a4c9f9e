/*-------------------------------------------------------------------------
 *
 * rules.h
 *	  Rule sets (validate, filter, dedupe, enrich, quarantine): the C entry
 *	  point the stream worker calls after inserting a batch into staging.
 *
 *	  A rule set is compiled (by dlake.create_ruleset / alter_ruleset) into
 *	  set-based SQL; applying it to a batch is one INSERT ... SELECT that
 *	  routes valid rows into the cleansed table and rejected rows into the
 *	  quarantine table, and counts filtered rows and duplicates.
 *
 *	  Contract with the stream worker (src/ingest/):
 *
 *	  - The staging table dlake_staging.<stream> has a bigserial column "id"
 *	    (besides stream, shard_id, sequence_number numeric,
 *	    sub_sequence_number int, partition_key, approximate_arrival_timestamp,
 *	    ingested_at, data bytea, payload jsonb).  A batch is the set of
 *	    staging rows with first_id <= id <= last_id.
 *	  - Call dlake_ruleset_apply_batch inside the same transaction as the
 *	    staging insert (after it), with an active snapshot (e.g. between
 *	    PushActiveSnapshot/PopActiveSnapshot), SPI connected or not (the
 *	    function makes its own SPI connection, nesting is fine).
 *	  - cleansed_qualname / quarantine_qualname may be NULL: the defaults are
 *	    dlake_cleansed.<staging table name> and
 *	    dlake_quarantine.<staging table name>, created on first use.
 *	  - Rows with payload IS NULL (bytes that are not valid JSON or not
 *	    UTF-8) go to quarantine with reason "invalid JSON"; quarantine keeps
 *	    data (original bytes), shard_id, sequence_number,
 *	    sub_sequence_number, the staging id and the failure list.
 *	  - Errors (rule set dropped, lookup table dropped, a condition that
 *	    fails at run time) are raised as a normal ERROR with errcode,
 *	    message naming the rule set, detail and hint.  The worker catches it
 *	    (subtransaction or abort + record the error in stream_status); the
 *	    staging rows stay unprocessed and the worker retries the same id
 *	    range later.  The rule set is read from the catalog on every call,
 *	    so dlake.alter_ruleset takes effect for the next batch.
 *	  - The function never raises for bad records: those are quarantined.
 *
 * IDENTIFICATION
 *	  src/etl/rules.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_ETL_RULES_H
#define DLAKE_ETL_RULES_H

#include "postgres.h"

/* outcome of applying a rule set to one batch */
typedef struct DlakeRuleCounts
{
	int64		accepted;		/* rows inserted into the cleansed table */
	int64		rejected;		/* rows inserted into the quarantine table */
	int64		filtered;		/* rows dropped by drop_if */
	int64		duplicates;		/* valid rows dropped by dedupe */
} DlakeRuleCounts;

/* in rules.c */

/*
 * Apply rule set "ruleset" to the staging rows first_id..last_id (inclusive,
 * column "id") of staging_relid.  Sets *counts.  ERROR if the rule set does
 * not exist or cannot be applied (see above).
 */
extern void dlake_ruleset_apply_batch(const char *ruleset, Oid staging_relid,
									  const char *cleansed_qualname,
									  const char *quarantine_qualname,
									  int64 first_id, int64 last_id,
									  DlakeRuleCounts *counts);

/* true if a rule set of that name exists (for create_stream's check) */
extern bool dlake_ruleset_exists(const char *ruleset);

#endif							/* DLAKE_ETL_RULES_H */
