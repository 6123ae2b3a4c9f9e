/*-------------------------------------------------------------------------
 *
 * ingest.h
 *	  Kinesis stream ingestion: the launcher and stream workers
 *	  (stream_worker.c), the batch writer (batch.c) and helpers shared with
 *	  the SQL functions (src/api/stream_sql.c).
 *
 * IDENTIFICATION
 *	  src/ingest/ingest.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_INGEST_H
#define DLAKE_INGEST_H

#include "postgres.h"

#include "kinesis/kinesis.h"
#include "utils/jsonb.h"

/* register the static launcher (only while loading shared_preload_libraries) */
extern void dlake_ingest_init(void);

/* true if data is UTF-8 JSON that jsonb accepts (never raises) */
extern bool dlake_bytes_are_json(const char *data, int len);

/*
 * one-pass bytes -> jsonb (stream_json.c): BUILT sets *out; INVALID means
 * payload NULL; UNSURE means use dlake_bytes_are_json and a cast instead
 */
#define DLAKE_JSON_BUILT	0
#define DLAKE_JSON_INVALID	1
#define DLAKE_JSON_UNSURE	2
extern int	dlake_bytes_to_jsonb(const char *data, int len, Jsonb **out);

/* what one batch commit needs to know about its stream and shard */
typedef struct IngestTarget
{
	int			stream_id;
	char	   *stream_name;
	Oid			owner;
	Oid			staging_relid;
	char	   *staging_qualname;	/* quoted schema.table */
	char	   *ruleset;		/* NULL when none */
	int			max_record_bytes;
	char	   *shard_id;
	/* expected checkpoint (fencing): NULL sequence = none yet */
	char	   *expect_sequence;
	int			expect_sub_sequence;
	/*
	 * KPL user records whose hash key is outside the shard's range:
	 * out_of_range[i] (NULL = none); dead-lettered instead of stored when
	 * out_of_range_dead_letter (stream policy out_of_range), else stored.
	 * Counted either way.
	 */
	const bool *out_of_range;
	char	  **out_of_range_reason;	/* per record, when out_of_range[i] */
	bool		out_of_range_dead_letter;
	/*
	 * Non-NULL: the retry policy gave up on this page (max_retries or
	 * max_record_age): every record goes to the dead letters with this
	 * reason, nothing is stored, the checkpoint advances.
	 */
	const char *dead_letter_reason;
} IngestTarget;

/* figures written with the checkpoint */
typedef struct IngestBatchStats
{
	int64		millis_behind;	/* -1 = unknown */
	double		records_per_s;
	double		bytes_per_s;
	int64		throttles;		/* since the last commit */
	int64		expired_iterators;
	bool		shard_finished; /* NextShardIterator was null */
	int			worker_pid;
	/* checkpoint to store (the last record seen, stored or skipped); NULL = keep */
	const char *new_sequence;
	int			new_sub_sequence;
	int64		wire_bytes;		/* decoded bytes of the page */
} IngestBatchStats;

/* outcome of ingest_commit_batch */
typedef struct IngestBatchResult
{
	bool		committed;		/* false: the checkpoint moved (lost fencing) */
	int64		inserted;
	int64		duplicates;
	int64		dead_letters;
	int64		out_of_range;	/* KPL user records outside the shard's range */
	int64		policy_dead_letters;	/* dead letters of the retry policy */
} IngestBatchResult;

/*
 * Insert records[0..n) into the staging table, dead-letter those that
 * cannot be stored, apply the rule set, and advance the shard checkpoint,
 * all in one transaction started and committed here.  ERRORs propagate
 * (the transaction is then aborted by the caller's error handling).
 */
extern void ingest_commit_batch(const IngestTarget *target,
								KinesisRecord *records, int n,
								const IngestBatchStats *stats,
								IngestBatchResult *result);

/* compare two decimal sequence numbers numerically (-1, 0, 1) */
extern int	ingest_compare_sequence(const char *a, const char *b);

#endif							/* DLAKE_INGEST_H */
