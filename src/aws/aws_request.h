/*-------------------------------------------------------------------------
 *
 * aws_request.h
 *	  One signed AWS request with retries: signs with SigV4, sends through
 *	  http.c, parses AWS error bodies (XML for S3/STS, JSON for Kinesis),
 *	  and retries 5xx, throttling and network errors with capped
 *	  exponential backoff and full jitter (never 4xx auth errors).
 *
 *	  aws_report_error() is the boundary that turns a failed request into
 *	  ereport with a SQLSTATE, the AWS Code/Message/RequestId in detail and
 *	  errcontext naming the request.
 *
 * IDENTIFICATION
 *	  src/aws/aws_request.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_AWS_REQUEST_H
#define DLAKE_AWS_REQUEST_H

#include "postgres.h"

#include "aws/credentials.h"
#include "aws/http.h"

typedef struct AwsEndpoint
{
	char	   *base_url;		/* "https://host[:port]" no trailing slash */
	char	   *host;			/* Host header value as signed ("host[:port]") */
	bool		verify_tls;
	char	   *ca_file;		/* NULL = default */
} AwsEndpoint;

typedef struct AwsRequest
{
	const char *service;		/* "s3", "kinesis", "sts" */
	const char *region;
	const char *method;
	const AwsEndpoint *endpoint;
	const char *path;			/* percent-encoded path as sent */
	const char *query;			/* encoded query, without '?'; NULL = none */
	List	   *headers;		/* extra DlakeHttpHeader * (Range,
								 * Content-Type, X-Amz-Target, ...) */
	const char *body;
	size_t		body_len;
	bool		unsigned_payload;	/* S3 only */
	bool		head;
	bool		idempotent;		/* may be retried after a network error */
	size_t		max_response_bytes;
	const char *describe;		/* "PUT s3://bucket/key" for errcontext */
	int			timeout_ms;		/* > 0: total timeout of each attempt instead
								 * of dlake.request_timeout */
	bool		no_retries;		/* one attempt only */
} AwsRequest;

typedef enum AwsStatus
{
	AWS_OK = 0,
	AWS_ERR_TRANSPORT,			/* network error after all retries */
	AWS_ERR_SERVICE,			/* an HTTP error status with an AWS error */
	AWS_ERR_INTERRUPTED			/* cancel / terminate pending */
} AwsStatus;

typedef struct AwsResponse
{
	long		http_status;
	StringInfoData body;
	List	   *headers;		/* DlakeHttpHeader *, lowercased names */
	DlakeHttpError transport_error;
	char	   *transport_message;
	char	   *aws_code;		/* parsed from the error body, or NULL */
	char	   *aws_message;
	char	   *request_id;
	int			attempts;
	int			throttles;		/* throttling answers seen (retried) */
} AwsResponse;

/* per-process counters, exposed for tests and stream_status */
typedef struct AwsRequestStats
{
	int64		requests;
	int64		retries;
	int64		throttles;
} AwsRequestStats;

extern AwsRequestStats aws_request_stats;

extern AwsStatus aws_request_execute(const AwsRequest *req,
									 const AwsCredentials *creds,
									 AwsResponse *resp);

/*
 * The same in two steps, for callers that keep several requests in flight
 * (see http.h): start signs and sends the first attempt (req is copied),
 * finish waits for it and runs the retries, cancel drops the request.
 */
typedef struct AwsPendingRequest AwsPendingRequest;

extern AwsPendingRequest *aws_request_start(const AwsRequest *req,
											const AwsCredentials *creds,
											MemoryContext parent);
extern bool aws_request_ready(const AwsPendingRequest *p);
extern AwsStatus aws_request_finish(AwsPendingRequest *p,
									const AwsCredentials *creds,
									AwsResponse *resp);
extern void aws_request_cancel(AwsPendingRequest *p);
extern void aws_report_error(const AwsRequest *req,
										 const AwsResponse *resp) pg_attribute_noreturn();
extern int	aws_error_sqlstate(const AwsResponse *resp);
extern bool aws_error_is_retryable(long http_status, const char *code);
extern bool aws_error_is_throttling(const char *code);
extern const char *aws_response_header(const AwsResponse *resp, const char *lname);

/* "https://host:port/path" -> endpoint (TLS settings from GUCs) + path */
extern AwsEndpoint *aws_endpoint_from_url(const char *url, char **path);

/* full-jitter backoff before retry n (1-based), from the dlake.retry_* GUCs */
extern long aws_backoff_delay_ms(int retry);

/* sleep on the latch; false when a cancel/termination became pending */
extern bool aws_sleep_interruptible(long ms);

/*
 * Notes for callers:
 *	- creds == NULL sends the request unsigned (STS web identity, metadata).
 *	- resp->body/headers describe the last attempt; on AWS_ERR_SERVICE the
 *	  aws_code/aws_message/request_id fields are filled (aws_error.c).
 *	- on AWS_ERR_INTERRUPTED clean up, then call aws_report_error() (it runs
 *	  CHECK_FOR_INTERRUPTS first so the real cancel error is raised).
 *	- ExpiredToken / InvalidToken are not retried here (the credentials are
 *	  the caller's): a caller that obtained them from the chain may call
 *	  aws_credentials_invalidate_cache(), resolve again and retry once.
 */

#endif							/* DLAKE_AWS_REQUEST_H */
