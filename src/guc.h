/*-------------------------------------------------------------------------
 *
 * guc.h
 *	  Every dlake configuration parameter, defined in guc.c.
 *
 * IDENTIFICATION
 *	  src/guc.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_GUC_H
#define DLAKE_GUC_H

/* AWS defaults used when no foreign server is named (PGC_SUSET where they
 * decide where signed requests go) */
extern char *dlake_region;
extern char *dlake_s3_endpoint;
extern bool dlake_s3_path_style;
extern char *dlake_kinesis_endpoint;
extern char *dlake_sts_endpoint;
extern char *dlake_imds_endpoint;
extern char *dlake_ca_file;
extern bool dlake_verify_tls;

/* HTTP client */
extern int	dlake_connect_timeout_ms;
extern int	dlake_request_timeout_ms;
extern int	dlake_max_retries;
extern int	dlake_retry_base_delay_ms;
extern int	dlake_retry_max_delay_ms;

/* storage */
extern int	dlake_multipart_part_size_kb;

/* background workers */
extern char *dlake_database;
extern int	dlake_max_workers;
extern int	dlake_worker_naptime_ms;
extern int	dlake_kinesis_read_budget_kb;
extern int	dlake_kinesis_calls_in_flight;

/* scans and exports */
extern int	dlake_max_bytes_scanned_mb;
extern int	dlake_fdw_listing_ttl_s;
extern int	dlake_progress_interval_s;

extern void dlake_guc_init(void);

#endif							/* DLAKE_GUC_H */
