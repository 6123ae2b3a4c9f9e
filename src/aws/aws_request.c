/*-------------------------------------------------------------------------
 *
 * aws_request.c
 *	  One signed AWS request with retries.
 *
 * aws_request_execute signs a request with SigV4 (x-amz-date, the
 * x-amz-content-sha256 header for S3, x-amz-security-token for temporary
 * credentials, every extra header the caller adds except the SDK skip
 * list), sends it through http.c and decides whether to try again:
 *
 *	- 5xx, throttling codes and transient codes (RequestTimeout, ...) are
 *	  retried, and so is an S3 200 answer whose body is an <Error>;
 *	- network errors are retried when the request is idempotent or the
 *	  failure happened before any byte was sent;
 *	- RequestTimeTooSkewed is retried once with the clock offset taken from
 *	  the response Date header;
 *	- 4xx auth errors and other client errors are never retried.
 *
 * The delay before retry n is uniform in [0, min(retry_max_delay,
 * retry_base_delay * 2^(n-1))) ("full jitter"), slept on the process
 * latch so a cancel interrupts it.  No ereport here: the caller turns a
 * failure into an ERROR with aws_report_error() (aws_error.c).
 *
 * IDENTIFICATION
 *	  src/aws/aws_request.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>
#include <time.h>

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"
#include "utils/timestamp.h"

#include "aws/aws_error.h"
#include "aws/aws_request.h"
#include "aws/sigv4.h"
#include "compat.h"
#include "guc.h"

AwsRequestStats aws_request_stats = {0, 0, 0};

/* seconds to add to the local clock, learnt from RequestTimeTooSkewed */
static int	aws_clock_offset_s = 0;

/* headers the SDKs never sign (they change in transit or are hop-by-hop) */
static const char *const unsigned_headers[] = {
	"authorization", "user-agent", "x-amzn-trace-id", "connection", "expect",
	"transfer-encoding", "upgrade", "content-length", "accept", NULL
};

static bool
header_is_unsigned(const char *name)
{
	int			i;

	for (i = 0; unsigned_headers[i]; i++)
		if (pg_strcasecmp(name, unsigned_headers[i]) == 0)
			return true;
	return false;
}

/*
 * aws_backoff_delay_ms returns the full-jitter delay before retry number
 * `retry` (1-based).
 */
long
aws_backoff_delay_ms(int retry)
{
	double		cap = (double) dlake_retry_base_delay_ms;
	int			i;

	for (i = 1; i < retry && cap < dlake_retry_max_delay_ms; i++)
		cap *= 2;
	if (cap > dlake_retry_max_delay_ms)
		cap = dlake_retry_max_delay_ms;
	return (long) (pg_prng_double(&pg_global_prng_state) * cap);
}

/*
 * aws_sleep_interruptible waits ms on the process latch; false when a
 * cancel or termination became pending (the caller stops retrying).
 */
bool
aws_sleep_interruptible(long ms)
{
	TimestampTz end = GetCurrentTimestamp() + (TimestampTz) ms * 1000;

	for (;;)
	{
		long		left;
		int			rc;

		if (QueryCancelPending || ProcDiePending)
			return false;
		left = (long) ((end - GetCurrentTimestamp()) / 1000);
		if (left <= 0)
			return true;
		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   left, DLAKE_WAIT_EVENT_HTTP);
		if (rc & WL_LATCH_SET)
			ResetLatch(MyLatch);
	}
}

/*
 * aws_endpoint_from_url splits "scheme://host[:port][/path]" into an
 * endpoint (base URL, Host header as signed, TLS settings from the GUCs)
 * and the path ("/" when none).  NULL when the URL is not http(s).
 */
AwsEndpoint *
aws_endpoint_from_url(const char *url, char **path)
{
	AwsEndpoint *ep;
	const char *p;
	const char *slash;
	const char *hostend;
	bool		https;

	if (url == NULL)
		return NULL;
	if (pg_strncasecmp(url, "https://", 8) == 0)
	{
		https = true;
		p = url + 8;
	}
	else if (pg_strncasecmp(url, "http://", 7) == 0)
	{
		https = false;
		p = url + 7;
	}
	else
		return NULL;
	slash = strchr(p, '/');
	hostend = slash ? slash : p + strlen(p);
	if (hostend == p)
		return NULL;

	ep = palloc0(sizeof(AwsEndpoint));
	ep->host = pnstrdup(p, hostend - p);
	/* a default port is not part of the Host header libcurl would send */
	if (https && strlen(ep->host) > 4 && strcmp(ep->host + strlen(ep->host) - 4, ":443") == 0)
		ep->host[strlen(ep->host) - 4] = '\0';
	else if (!https && strlen(ep->host) > 3 && strcmp(ep->host + strlen(ep->host) - 3, ":80") == 0)
		ep->host[strlen(ep->host) - 3] = '\0';
	ep->base_url = psprintf("%s://%s", https ? "https" : "http", ep->host);
	ep->verify_tls = dlake_verify_tls;
	ep->ca_file = (dlake_ca_file && dlake_ca_file[0]) ? pstrdup(dlake_ca_file) : NULL;
	if (path)
		*path = pstrdup((slash && slash[0]) ? slash : "/");
	return ep;
}

/*
 * aws_build_url returns base_url + path + ?query.
 */
static char *
aws_build_url(const AwsRequest *req)
{
	const char *path = (req->path && req->path[0]) ? req->path : "/";

	if (req->query && req->query[0])
		return psprintf("%s%s?%s", req->endpoint->base_url, path, req->query);
	return psprintf("%s%s", req->endpoint->base_url, path);
}

/*
 * aws_sign_headers returns the list of headers to send for one attempt:
 * Host, x-amz-date, x-amz-content-sha256 (S3), x-amz-security-token, the
 * caller's headers, and Authorization when creds is not NULL.
 */
static List *
aws_sign_headers(const AwsRequest *req, const AwsCredentials *creds,
				 const char *payload_hash)
{
	List	   *out = NIL;
	char		amz_date[17];
	SigV4Header *sh;
	int			nsh = 0;
	ListCell   *lc;
	bool		s3 = (strcmp(req->service, "s3") == 0);

	sigv4_format_amz_date((pg_time_t) (time(NULL) + aws_clock_offset_s), amz_date);

	out = lappend(out, dlake_http_make_header("Host", req->endpoint->host));
	if (creds != NULL)
	{
		out = lappend(out, dlake_http_make_header("x-amz-date", amz_date));
		if (s3)
			out = lappend(out, dlake_http_make_header("x-amz-content-sha256", payload_hash));
		if (creds->session_token && creds->session_token[0])
			out = lappend(out, dlake_http_make_header("x-amz-security-token",
													  creds->session_token));
	}
	foreach(lc, req->headers)
	{
		DlakeHttpHeader *h = (DlakeHttpHeader *) lfirst(lc);

		out = lappend(out, dlake_http_make_header(h->name, h->value));
	}
	if (creds == NULL)
		return out;				/* unsigned request (web identity, metadata) */

	sh = palloc(sizeof(SigV4Header) * list_length(out));
	foreach(lc, out)
	{
		DlakeHttpHeader *h = (DlakeHttpHeader *) lfirst(lc);

		if (header_is_unsigned(h->name))
			continue;
		sh[nsh].name = h->name;
		sh[nsh].value = h->value;
		nsh++;
	}

	{
		SigV4Request sreq;
		SigV4Scope	scope;

		memset(&sreq, 0, sizeof(sreq));
		sreq.method = req->method;
		sreq.path = (req->path && req->path[0]) ? req->path : "/";
		sreq.query = req->query;
		sreq.headers = sh;
		sreq.nheaders = nsh;
		sreq.payload_hash = payload_hash;
		sreq.s3_style = s3;
		scope.amz_date = amz_date;
		scope.region = (req->region && req->region[0]) ? req->region : "us-east-1";
		scope.service = req->service;
		out = lappend(out, dlake_http_make_header("Authorization",
												  sigv4_authorization(&sreq, &scope,
																	  creds->access_key_id,
																	  creds->secret_access_key)));
	}
	pfree(sh);
	return out;
}

/*
 * aws_apply_clock_skew learns the offset between the local clock and the
 * service's Date header; true when it changed (worth one retry).
 */
static bool
aws_apply_clock_skew(const AwsResponse *resp)
{
	const char *date = aws_response_header(resp, "date");
	time_t		server;
	int			offset;

	if (date == NULL)
		return false;
	server = curl_getdate(date, NULL);
	if (server <= 0)
		return false;
	offset = (int) (server - time(NULL));
	if (offset == aws_clock_offset_s)
		return false;
	aws_clock_offset_s = offset;
	return true;
}

/*
 * One request's fixed parts, prepared once for all its attempts.  For a
 * started request (aws_request_start) they live in its own memory context
 * with a copy of everything the request points to.
 */
struct AwsPendingRequest
{
	AwsRequest	req;
	AwsEndpoint endpoint;
	DlakeHttpOptions hopts;
	char		payload_hash[65];
	const char *hash;
	char	   *url;
	/* attempt 1 in flight (started requests only) */
	DlakeHttpTransfer *transfer;
	List	   *signed_headers;
	MemoryContext cxt;			/* NULL when on the caller's stack */
};

static void
aws_prepare(AwsPendingRequest *p, const AwsRequest *req)
{
	bool		s3 = (strcmp(req->service, "s3") == 0);

	p->req = *req;
	dlake_http_options_default(&p->hopts);
	p->hopts.verify_tls = req->endpoint->verify_tls;
	if (req->endpoint->ca_file && req->endpoint->ca_file[0])
		p->hopts.ca_file = req->endpoint->ca_file;
	p->hopts.max_response_bytes = req->max_response_bytes;
	if (req->timeout_ms > 0)
		p->hopts.total_timeout_ms = req->timeout_ms;

	if (s3 && req->unsigned_payload)
		p->hash = SIGV4_UNSIGNED_PAYLOAD;
	else
	{
		sigv4_sha256_hex(req->body ? req->body : "", req->body ? req->body_len : 0,
						 p->payload_hash);
		p->hash = p->payload_hash;
	}
	p->url = aws_build_url(req);
	aws_request_stats.requests++;
}

static void
aws_fill_http_request(const AwsPendingRequest *p, DlakeHttpRequest *hreq, List *headers)
{
	memset(hreq, 0, sizeof(*hreq));
	hreq->method = p->req.method;
	hreq->url = p->url;
	hreq->headers = headers;
	hreq->body = p->req.body;
	hreq->body_len = p->req.body_len;
	hreq->head = p->req.head;
}

/*
 * aws_run_attempts: the attempt loop of aws_request_execute.  When first
 * is not NULL it is attempt 1, already in flight.
 */
static AwsStatus
aws_run_attempts(AwsPendingRequest *p, DlakeHttpTransfer *first,
				 const AwsCredentials *creds, AwsResponse *resp)
{
	const AwsRequest *req = &p->req;
	int			attempt;
	bool		skew_retried = false;
	bool		s3 = (strcmp(req->service, "s3") == 0);

	memset(resp, 0, sizeof(*resp));
	initStringInfo(&resp->body);

	for (attempt = 1;; attempt++)
	{
		DlakeHttpResponse hresp;
		DlakeHttpError herr;
		bool		retry = false;
		bool		error_200 = false;

		if (attempt == 1 && first != NULL)
			herr = dlake_http_finish(first, &hresp);
		else
		{
			DlakeHttpRequest hreq;
			List	   *headers = aws_sign_headers(req, creds, p->hash);

			aws_fill_http_request(p, &hreq, headers);
			herr = dlake_http_perform(&hreq, &p->hopts, &hresp);
			list_free_deep(headers);
		}

		/* the response of this attempt replaces the previous one */
		if (resp->body.data)
			pfree(resp->body.data);
		resp->body = hresp.body;
		resp->headers = hresp.headers;
		resp->http_status = hresp.status;
		resp->transport_error = herr;
		resp->transport_message = (herr != DLAKE_HTTP_OK) ? pstrdup(hresp.errbuf) : NULL;
		resp->aws_code = resp->aws_message = resp->request_id = NULL;
		resp->attempts = attempt;

		if (herr == DLAKE_HTTP_INTERRUPTED)
			return AWS_ERR_INTERRUPTED;

		if (herr != DLAKE_HTTP_OK)
		{
			if ((herr == DLAKE_HTTP_CONNECT_FAILED || herr == DLAKE_HTTP_TIMEOUT ||
				 herr == DLAKE_HTTP_IO_ERROR) &&
				(req->idempotent || !hresp.sent || herr == DLAKE_HTTP_CONNECT_FAILED))
				retry = true;
			if (!retry || attempt > dlake_max_retries || req->no_retries)
				return AWS_ERR_TRANSPORT;
		}
		else
		{
			if (s3 && resp->http_status == 200 && !req->head &&
				strcmp(req->method, "GET") != 0 &&
				aws_xml_root_is_error(resp->body.data, resp->body.len))
				error_200 = true;

			if (resp->http_status >= 200 && resp->http_status < 300 && !error_200)
				return AWS_OK;

			aws_parse_error_body(resp);

			if (resp->aws_code && strcmp(resp->aws_code, "RequestTimeTooSkewed") == 0 &&
				!skew_retried && aws_apply_clock_skew(resp))
			{
				skew_retried = true;
				aws_request_stats.retries++;
				continue;		/* immediately, with the corrected clock */
			}
			if (aws_error_is_throttling(resp->aws_code) || resp->http_status == 429)
				resp->throttles++;
			retry = aws_error_is_retryable(error_200 ? 500 : resp->http_status,
										   resp->aws_code);
			if (!retry || attempt > dlake_max_retries || req->no_retries)
			{
				if (aws_error_is_throttling(resp->aws_code) || resp->http_status == 429)
					aws_request_stats.throttles++;
				return AWS_ERR_SERVICE;
			}
			if (aws_error_is_throttling(resp->aws_code) || resp->http_status == 429)
				aws_request_stats.throttles++;
		}

		aws_request_stats.retries++;
		if (!aws_sleep_interruptible(aws_backoff_delay_ms(attempt)))
		{
			resp->transport_error = DLAKE_HTTP_INTERRUPTED;
			return AWS_ERR_INTERRUPTED;
		}
	}
}

/*
 * aws_request_execute sends req, retrying as described at the top of the
 * file.  creds may be NULL for an unsigned request.  resp is initialised
 * here and describes the last attempt.
 */
AwsStatus
aws_request_execute(const AwsRequest *req, const AwsCredentials *creds,
					AwsResponse *resp)
{
	AwsPendingRequest p;

	memset(&p, 0, sizeof(p));
	aws_prepare(&p, req);
	return aws_run_attempts(&p, NULL, creds, resp);
}

/* a copy of a header list in the current memory context */
static List *
aws_copy_headers(const List *headers)
{
	List	   *out = NIL;
	ListCell   *lc;

	foreach(lc, headers)
	{
		DlakeHttpHeader *h = (DlakeHttpHeader *) lfirst(lc);

		out = lappend(out, dlake_http_make_header(h->name, h->value));
	}
	return out;
}

/*
 * aws_request_start signs req and sends its first attempt without waiting
 * for the answer.  Everything req points to is copied into a new memory
 * context under parent, so the caller may free its own copies; creds are
 * used at once (and again, as passed to aws_request_finish, for retries).
 * The request must be finished or cancelled.
 */
AwsPendingRequest *
aws_request_start(const AwsRequest *req, const AwsCredentials *creds,
				  MemoryContext parent)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "dlake AWS request",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	AwsPendingRequest *p = palloc0(sizeof(AwsPendingRequest));
	AwsRequest	copy = *req;
	DlakeHttpRequest hreq;

	p->cxt = cxt;
	p->endpoint = *req->endpoint;
	p->endpoint.base_url = pstrdup(req->endpoint->base_url);
	p->endpoint.host = pstrdup(req->endpoint->host);
	p->endpoint.ca_file = req->endpoint->ca_file ? pstrdup(req->endpoint->ca_file) : NULL;
	copy.endpoint = &p->endpoint;
	copy.service = pstrdup(req->service);
	copy.region = req->region ? pstrdup(req->region) : NULL;
	copy.method = pstrdup(req->method);
	copy.path = req->path ? pstrdup(req->path) : NULL;
	copy.query = req->query ? pstrdup(req->query) : NULL;
	copy.headers = aws_copy_headers(req->headers);
	if (req->body)
	{
		char	   *b = palloc(req->body_len + 1);

		memcpy(b, req->body, req->body_len);
		b[req->body_len] = '\0';
		copy.body = b;
	}
	copy.describe = req->describe ? pstrdup(req->describe) : NULL;
	aws_prepare(p, &copy);

	p->signed_headers = aws_sign_headers(&p->req, creds, p->hash);
	aws_fill_http_request(p, &hreq, p->signed_headers);
	p->transfer = dlake_http_start(&hreq, &p->hopts);
	MemoryContextSwitchTo(old);
	return p;
}

/* the first attempt of p has its answer: finishing it will not wait */
bool
aws_request_ready(const AwsPendingRequest *p)
{
	return p->transfer == NULL || dlake_http_transfer_done(p->transfer);
}

/*
 * aws_request_finish waits for the first attempt of p, retries like
 * aws_request_execute if needed (signing with creds), fills resp in the
 * caller's memory context and frees p.
 */
AwsStatus
aws_request_finish(AwsPendingRequest *p, const AwsCredentials *creds,
				   AwsResponse *resp)
{
	DlakeHttpTransfer *t = p->transfer;
	AwsStatus	st;

	p->transfer = NULL;
	PG_TRY();
	{
		st = aws_run_attempts(p, t, creds, resp);
	}
	PG_CATCH();
	{
		MemoryContextDelete(p->cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextDelete(p->cxt);
	return st;
}

/* aws_request_cancel drops p and its attempt in flight */
void
aws_request_cancel(AwsPendingRequest *p)
{
	if (p->transfer)
		dlake_http_cancel(p->transfer);
	MemoryContextDelete(p->cxt);
}
