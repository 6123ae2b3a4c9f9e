/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  Definitions of all dlake configuration parameters.
 *
 * Order: PGC_POSTMASTER (sizes worker counts), PGC_SUSET (decides where
 * signed requests go or which identity is used), PGC_SIGHUP (worker
 * tuning), PGC_USERSET (per-session behaviour).
 *
 * IDENTIFICATION
 *	  src/guc.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "guc.h"

char	   *dlake_region = NULL;
char	   *dlake_s3_endpoint = NULL;
bool		dlake_s3_path_style = false;
char	   *dlake_kinesis_endpoint = NULL;
char	   *dlake_sts_endpoint = NULL;
char	   *dlake_imds_endpoint = NULL;
char	   *dlake_ca_file = NULL;
bool		dlake_verify_tls = true;

int			dlake_connect_timeout_ms = 5000;
int			dlake_request_timeout_ms = 60000;
int			dlake_max_retries = 4;
int			dlake_retry_base_delay_ms = 100;
int			dlake_retry_max_delay_ms = 20000;

int			dlake_multipart_part_size_kb = 8 * 1024;

char	   *dlake_database = NULL;
int			dlake_max_workers = 2;
int			dlake_worker_naptime_ms = 1000;
int			dlake_kinesis_read_budget_kb = 2048;
int			dlake_kinesis_calls_in_flight = 4;

int			dlake_max_bytes_scanned_mb = 0;
int			dlake_fdw_listing_ttl_s = 0;
int			dlake_progress_interval_s = 10;

/*
 * dlake_guc_init defines every parameter; called once from _PG_init.
 */
void
dlake_guc_init(void)
{
	/* ---- PGC_POSTMASTER ---- */
	DefineCustomStringVariable("dlake.database",
							   "Database in which the dlake background workers run.",
							   "The stream and file-flow workers connect to this database; dlake must be installed there.",
							   &dlake_database,
							    /* bootValue= */ "postgres",
							   PGC_POSTMASTER,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("dlake.max_workers",
							"Maximum number of stream worker processes.",
							"Shards of all streams are multiplexed over at most this many workers.",
							&dlake_max_workers,
							 /* bootValue= */ 2, 0, 64,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	/* ---- PGC_SUSET: where signed requests go ---- */
	DefineCustomStringVariable("dlake.region",
							   "Default AWS region when no foreign server names one.",
							   "Empty means: AWS_REGION / AWS_DEFAULT_REGION, the shared config file, then us-east-1.",
							   &dlake_region,
							    /* bootValue= */ "",
							   PGC_SUSET, 0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("dlake.s3_endpoint",
							   "Default S3 endpoint URL when no foreign server names one.",
							   "Empty means the AWS regional endpoint. Example: http://127.0.0.1:9000",
							   &dlake_s3_endpoint,
							    /* bootValue= */ "",
							   PGC_SUSET, 0,
							   NULL, NULL, NULL);

	DefineCustomBoolVariable("dlake.s3_path_style",
							 "Use path-style S3 addressing by default.",
							 "Custom endpoints always use path style unless a server option says otherwise.",
							 &dlake_s3_path_style,
							  /* bootValue= */ false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("dlake.kinesis_endpoint",
							   "Default Kinesis endpoint URL when no foreign server names one.",
							   "Empty means the AWS regional endpoint.",
							   &dlake_kinesis_endpoint,
							    /* bootValue= */ "",
							   PGC_SUSET, 0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("dlake.sts_endpoint",
							   "STS endpoint URL used for AssumeRole and web identity.",
							   "Empty means the AWS regional STS endpoint.",
							   &dlake_sts_endpoint,
							    /* bootValue= */ "",
							   PGC_SUSET, 0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("dlake.imds_endpoint",
							   "EC2 instance metadata endpoint URL.",
							   "Empty means http://169.254.169.254 (or AWS_EC2_METADATA_SERVICE_ENDPOINT). Set to 'off' to skip IMDS.",
							   &dlake_imds_endpoint,
							    /* bootValue= */ "",
							   PGC_SUSET, 0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("dlake.ca_file",
							   "CA bundle used to verify TLS peers.",
							   "Empty means the system default bundle.",
							   &dlake_ca_file,
							    /* bootValue= */ "",
							   PGC_SUSET, 0,
							   NULL, NULL, NULL);

	DefineCustomBoolVariable("dlake.verify_tls",
							 "Verify TLS certificates and host names.",
							 "Turning this off is meant for test endpoints only.",
							 &dlake_verify_tls,
							  /* bootValue= */ true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	/* ---- PGC_SIGHUP: worker tuning ---- */
	DefineCustomIntVariable("dlake.worker_naptime",
							"Time a stream worker sleeps when every shard is idle.",
							NULL,
							&dlake_worker_naptime_ms,
							 /* bootValue= */ 1000, 10, 60000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("dlake.kinesis_read_budget",
							"Bytes per second a stream worker reads from one Kinesis shard.",
							"Kinesis allows 2MB/s per shard, shared by all its consumers. Zero means no client-side limit.",
							&dlake_kinesis_read_budget_kb,
							 /* bootValue= */ 2048, 0, 1024 * 1024,
							PGC_SIGHUP, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("dlake.kinesis_calls_in_flight",
							"GetRecords calls a stream worker keeps in flight at once.",
							"At most one per shard; each answer holds up to 10MB of records in the worker's memory. 1 reads the worker's shards one after the other.",
							&dlake_kinesis_calls_in_flight,
							 /* bootValue= */ 4, 1, 64,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	/* ---- PGC_USERSET ---- */
	DefineCustomIntVariable("dlake.connect_timeout",
							"Timeout for establishing a connection to AWS.",
							NULL,
							&dlake_connect_timeout_ms,
							 /* bootValue= */ 5000, 100, 600000,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("dlake.request_timeout",
							"Timeout for one HTTP request to AWS, transfer included.",
							"A request that does not finish in time is retried like a network error.",
							&dlake_request_timeout_ms,
							 /* bootValue= */ 60000, 100, 3600000,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("dlake.max_retries",
							"Retries of a failed AWS request (5xx, throttling, network errors).",
							"Zero disables retries. 4xx client errors are never retried.",
							&dlake_max_retries,
							 /* bootValue= */ 4, 0, 100,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("dlake.retry_base_delay",
							"Base delay of the capped exponential backoff between retries.",
							NULL,
							&dlake_retry_base_delay_ms,
							 /* bootValue= */ 100, 1, 60000,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("dlake.retry_max_delay",
							"Cap of the backoff delay between retries.",
							NULL,
							&dlake_retry_max_delay_ms,
							 /* bootValue= */ 20000, 1, 600000,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("dlake.multipart_part_size",
							"Part size of S3 multipart uploads.",
							"Between 5MB and 5GB. Objects up to this size are written with one PUT.",
							&dlake_multipart_part_size_kb,
							 /* bootValue= */ 8 * 1024, 5 * 1024, 5 * 1024 * 1024,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("dlake.max_bytes_scanned",
							"Maximum bytes one foreign scan may read from the lake.",
							"Zero means no limit. Like Athena's per-query data usage control.",
							&dlake_max_bytes_scanned_mb,
							 /* bootValue= */ 0, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("dlake.fdw_listing_ttl",
							"How long a foreign table's file listing is reused across statements.",
							"Zero lists once per statement. dlake.fdw_invalidate() drops listings early.",
							&dlake_fdw_listing_ttl_s,
							 /* bootValue= */ 0, 0, 3600,
							PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("dlake.progress_interval",
							"Interval between progress NOTICEs of long exports and loads.",
							"Zero disables progress messages.",
							&dlake_progress_interval_s,
							 /* bootValue= */ 10, 0, 86400,
							PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("dlake");
}
