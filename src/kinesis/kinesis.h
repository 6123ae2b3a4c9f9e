/*-------------------------------------------------------------------------
 *
 * kinesis.h
 *	  A small client of the Kinesis Data Streams JSON 1.1 API on top of
 *	  aws_request_execute(): DescribeStreamSummary, ListShards (with a
 *	  DescribeStream fallback for emulators), GetShardIterator, GetRecords
 *	  and PutRecords, plus KPL aggregated-record de-aggregation.
 *
 *	  Nothing here calls ereport for a service or network failure: every
 *	  call fills a KinesisError so that the stream worker can decide to
 *	  back off, refresh an iterator or surface the error, and SQL callers
 *	  can raise it with kinesis_report_error().
 *
 * IDENTIFICATION
 *	  src/kinesis/kinesis.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_KINESIS_H
#define DLAKE_KINESIS_H

#include "postgres.h"

#include "aws/aws_request.h"
#include "aws/credentials.h"
#include "datatype/timestamp.h"
#include "nodes/pg_list.h"

/* where and as whom requests go */
typedef struct KinesisClient
{
	const AwsEndpoint *endpoint;
	const AwsCredentials *creds;
	const char *region;
	const char *stream_name;
} KinesisClient;

/* how a call failed; code is the normalised AWS error code */
typedef enum KinesisErrorKind
{
	KINESIS_OK = 0,
	KINESIS_ERR_THROTTLED,		/* throttling after the request's retries */
	KINESIS_ERR_TRANSIENT,		/* 5xx, network, timeout */
	KINESIS_ERR_EXPIRED_ITERATOR,
	KINESIS_ERR_NOT_FOUND,		/* ResourceNotFoundException */
	KINESIS_ERR_FATAL,			/* access denied, bad argument, KMS: needs a
								 * human */
	KINESIS_ERR_INTERRUPTED,
	KINESIS_ERR_PROTOCOL		/* unparsable response */
} KinesisErrorKind;

typedef struct KinesisError
{
	KinesisErrorKind kind;
	long		http_status;
	char	   *code;			/* AWS error code or NULL */
	char	   *message;		/* human readable, never NULL when kind != OK */
	int			throttles;		/* throttling answers seen by this call */
	int			attempts;
} KinesisError;

typedef struct KinesisShard
{
	char	   *shard_id;
	char	   *parent_shard_id;	/* NULL if none */
	char	   *adjacent_parent_shard_id;
	char	   *starting_hash_key;
	char	   *ending_hash_key;
	char	   *starting_sequence;
	char	   *ending_sequence;	/* NULL while open */
} KinesisShard;

typedef struct KinesisStreamSummary
{
	char	   *status;			/* CREATING | ACTIVE | UPDATING | DELETING */
	int			retention_hours;
	int			open_shards;
} KinesisStreamSummary;

typedef enum KinesisIteratorType
{
	KINESIS_ITER_TRIM_HORIZON,
	KINESIS_ITER_LATEST,
	KINESIS_ITER_AT_TIMESTAMP,
	KINESIS_ITER_AT_SEQUENCE,
	KINESIS_ITER_AFTER_SEQUENCE
} KinesisIteratorType;

/* one user record (after de-aggregation) */
typedef struct KinesisRecord
{
	char	   *sequence_number;	/* decimal string */
	int			sub_sequence_number;	/* 0 unless from a KPL aggregate */
	char	   *partition_key;
	char	   *explicit_hash_key;	/* KPL only, may be NULL */
	TimestampTz arrival;		/* ApproximateArrivalTimestamp */
	char	   *data;
	int			data_len;
	bool		aggregated;
	bool		data_varlena;	/* VARHDRSZ bytes of header room precede data
								 * (usable as a bytea in place) */
} KinesisRecord;

typedef struct KinesisGetRecordsResult
{
	KinesisRecord *records;		/* de-aggregated user records */
	int			nrecords;
	int			nkinesis;		/* records on the wire */
	int64		data_bytes;		/* decoded bytes on the wire */
	int64		response_bytes; /* JSON body size */
	char	   *next_iterator;	/* NULL: shard closed and fully read */
	int64		millis_behind;	/* -1 if absent */
	List	   *child_shards;	/* char * shard ids (ChildShards), may be NIL */
} KinesisGetRecordsResult;

/* one PutRecords entry and its outcome */
typedef struct KinesisPutEntry
{
	const char *partition_key;
	const char *explicit_hash_key;	/* NULL = hash the key */
	const char *data;
	int			data_len;
	/* outcome */
	bool		done;
	char	   *shard_id;
	char	   *sequence_number;
	char	   *error_code;		/* last failure of this entry */
	char	   *error_message;
	int			attempts;
} KinesisPutEntry;

extern TimestampTz kinesis_epoch_to_timestamptz(double epoch_seconds);
extern const char *kinesis_iterator_type_name(KinesisIteratorType t);

extern bool kinesis_describe_stream_summary(const KinesisClient *client,
											KinesisStreamSummary *out,
											KinesisError *err);
extern bool kinesis_list_shards(const KinesisClient *client, List **shards,
								KinesisError *err);
/* timeout_ms > 0: one attempt with that timeout (0: the usual retries) */
extern bool kinesis_get_shard_iterator(const KinesisClient *client,
									   const char *shard_id,
									   KinesisIteratorType type,
									   const char *sequence_number,
									   TimestampTz timestamp,
									   int timeout_ms,
									   char **iterator,
									   KinesisError *err);
extern bool kinesis_get_records(const KinesisClient *client,
								const char *iterator, int limit,
								KinesisGetRecordsResult *out,
								KinesisError *err);

/*
 * GetRecords in two steps, so that a worker can store one page while the
 * next is on its way: start sends the call, ready tells whether its answer
 * is in (see dlake_http_wait), finish waits for it (retrying like
 * kinesis_get_records) and frees the call, cancel drops it.
 */
typedef struct KinesisPending KinesisPending;

extern KinesisPending *kinesis_get_records_start(const KinesisClient *client,
												 const char *iterator, int limit,
												 MemoryContext parent);
extern bool kinesis_pending_ready(const KinesisPending *p);
extern bool kinesis_get_records_finish(KinesisPending *p,
									   const KinesisClient *client,
									   KinesisGetRecordsResult *out,
									   KinesisError *err);
extern void kinesis_pending_cancel(KinesisPending *p);

/*
 * One PutRecords call for entries[0..n) that are not done yet (at most 500
 * per request); marks the successful entries done and returns the number
 * still failing.  Returns -1 when the whole request failed (err set).
 */
extern int	kinesis_put_records_once(const KinesisClient *client,
									 KinesisPutEntry *entries, int n,
									 KinesisError *err);

/* raise err as an ERROR (SQL callers); context names the operation */
extern void kinesis_report_error(const KinesisError *err, const char *context)
			pg_attribute_noreturn();

/* kpl.c */
#define KPL_MAGIC_LEN 4
extern bool kpl_is_aggregate(const char *data, int len);

/*
 * De-aggregate one Kinesis record.  Appends the user records to *out
 * (KinesisRecord *, palloc'd, data copied) inheriting the outer sequence
 * number and arrival time; returns false (appending nothing) when the
 * data is not a valid aggregate, in which case the caller stores it as a
 * plain record.
 */
extern bool kpl_deaggregate(const KinesisRecord *outer, List **out);

/*
 * The hash key routing a user record (explicit hash key, else MD5 of the
 * partition key as a 128-bit integer), in decimal; NULL if the explicit
 * hash key is not a decimal number.
 */
extern char *kpl_hash_key(const KinesisRecord *rec);

#endif							/* DLAKE_KINESIS_H */
