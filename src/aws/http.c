/*-------------------------------------------------------------------------
 *
 * http.c
 *	  One HTTP client over libcurl's multi interface.
 *
 * Every request of a backend goes through one cached easy handle attached
 * to one cached multi handle, so connections (and TLS sessions) are reused
 * across requests of the process.  The transfer is driven by a loop of
 * curl_multi_perform and short curl_multi_poll waits; between waits the
 * loop looks at QueryCancelPending / ProcDiePending and stops the transfer
 * when either is set, returning DLAKE_HTTP_INTERRUPTED.  The caller then
 * runs CHECK_FOR_INTERRUPTS() after cleaning up, which raises the real
 * cancel or terminate error.  A progress callback also aborts on those
 * flags, so a transfer inside one long perform call stops promptly.
 *
 * libcurl callbacks never ereport and never palloc: they append to
 * malloc'd buffers, enforce max_response_bytes and return error codes.
 * The buffers are copied into palloc'd memory after libcurl returns.
 *
 * Wire rules for AWS: the path is sent as is (CURLOPT_PATH_AS_IS), the
 * Host header is the one that was signed, bodies always carry an exact
 * Content-Length (never chunked), "Expect: 100-continue" is disabled, and
 * HTTP/1.1 is used.
 *
 * IDENTIFICATION
 *	  src/aws/http.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "aws/http.h"
#include "guc.h"

/* longest single wait between checks for interrupts */
#define HTTP_POLL_INTERVAL_MS	100

/* malloc'd growable buffer filled by libcurl callbacks */
typedef struct HttpBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	size_t		limit;			/* 0 = unlimited */
	bool		overflow;		/* limit exceeded or malloc failed */
	bool		too_large;		/* limit exceeded */
} HttpBuf;

static bool http_initialized = false;
static CURLM *http_multi = NULL;
static CURL *http_easy = NULL;

/*
 * http_buf_append adds bytes to a callback buffer; false when the limit
 * is exceeded or memory runs out (the callback then reports an error).
 */
static bool
http_buf_append(HttpBuf *b, const char *data, size_t n)
{
	if (b->limit > 0 && b->len + n > b->limit)
	{
		b->overflow = b->too_large = true;
		return false;
	}
	if (b->len + n + 1 > b->cap)
	{
		size_t		newcap = b->cap ? b->cap : 8192;
		char	   *p;

		while (newcap < b->len + n + 1)
			newcap *= 2;
		if (newcap >= MaxAllocSize)
		{
			b->overflow = b->too_large = true;
			return false;
		}
		p = realloc(b->data, newcap);
		if (p == NULL)
		{
			b->overflow = true;
			return false;
		}
		b->data = p;
		b->cap = newcap;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

/* CURLOPT_WRITEFUNCTION: append the body; 0 (error) over the limit */
static size_t
http_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	size_t		n = size * nmemb;

	if (!http_buf_append((HttpBuf *) userdata, ptr, n))
		return 0;
	return n;
}

/* CURLOPT_HEADERFUNCTION: keep raw header lines, parsed afterwards */
static size_t
http_header_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	size_t		n = size * nmemb;

	if (!http_buf_append((HttpBuf *) userdata, ptr, n))
		return 0;
	return n;
}

/*
 * CURLOPT_XFERINFOFUNCTION: abort the transfer (non-zero) when a query
 * cancel or backend termination is pending.  Only reads flags.
 */
static int
http_progress_cb(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
				 curl_off_t ultotal, curl_off_t ulnow)
{
	if (QueryCancelPending || ProcDiePending)
		return 1;
	return 0;
}

/*
 * http_init creates the per-process handles on first use.  Runs in the
 * backend (never in the postmaster), so nothing is shared across fork.
 */
static bool
http_init(void)
{
	if (http_initialized)
		return true;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return false;
	http_multi = curl_multi_init();
	http_easy = curl_easy_init();
	if (http_multi == NULL || http_easy == NULL)
	{
		if (http_easy)
			curl_easy_cleanup(http_easy);
		if (http_multi)
			curl_multi_cleanup(http_multi);
		http_easy = NULL;
		http_multi = NULL;
		return false;
	}
	curl_multi_setopt(http_multi, CURLMOPT_MAXCONNECTS, 16L);
	http_initialized = true;
	return true;
}

/*
 * dlake_http_options_default fills opts from the GUCs.
 */
void
dlake_http_options_default(DlakeHttpOptions *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->connect_timeout_ms = dlake_connect_timeout_ms;
	opts->total_timeout_ms = dlake_request_timeout_ms;
	opts->verify_tls = dlake_verify_tls;
	opts->ca_file = (dlake_ca_file && dlake_ca_file[0]) ? dlake_ca_file : NULL;
	opts->max_response_bytes = 0;
}

/*
 * dlake_http_make_header builds a palloc'd header.
 */
DlakeHttpHeader *
dlake_http_make_header(const char *name, const char *value)
{
	DlakeHttpHeader *h = palloc(sizeof(DlakeHttpHeader));

	h->name = pstrdup(name);
	h->value = pstrdup(value ? value : "");
	return h;
}

/*
 * dlake_http_header returns the value of a response header (lowercase
 * name), the last one when repeated, or NULL.
 */
const char *
dlake_http_header(const DlakeHttpResponse *resp, const char *lname)
{
	ListCell   *lc;
	const char *found = NULL;

	foreach(lc, resp->headers)
	{
		DlakeHttpHeader *h = (DlakeHttpHeader *) lfirst(lc);

		if (pg_strcasecmp(h->name, lname) == 0)
			found = h->value;
	}
	return found;
}

/*
 * dlake_http_strerror names an error class for messages.
 */
const char *
dlake_http_strerror(DlakeHttpError err)
{
	switch (err)
	{
		case DLAKE_HTTP_OK:
			return "success";
		case DLAKE_HTTP_CONNECT_FAILED:
			return "could not connect";
		case DLAKE_HTTP_TIMEOUT:
			return "timed out";
		case DLAKE_HTTP_IO_ERROR:
			return "connection reset or transfer failed";
		case DLAKE_HTTP_TLS_ERROR:
			return "TLS error";
		case DLAKE_HTTP_INTERRUPTED:
			return "interrupted";
		case DLAKE_HTTP_TOO_LARGE:
			return "response too large";
		case DLAKE_HTTP_INTERNAL:
			return "internal HTTP client error";
	}
	return "unknown error";
}

/*
 * http_map_error turns a CURLcode into a DlakeHttpError.
 */
static DlakeHttpError
http_map_error(CURLcode rc, const HttpBuf *body)
{
	switch (rc)
	{
		case CURLE_OK:
			return DLAKE_HTTP_OK;
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_CONNECT:
			return DLAKE_HTTP_CONNECT_FAILED;
		case CURLE_OPERATION_TIMEDOUT:
			return DLAKE_HTTP_TIMEOUT;
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_CRL_BADFILE:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_SSL_INVALIDCERTSTATUS:
		case CURLE_SSL_ENGINE_NOTFOUND:
		case CURLE_SSL_ENGINE_SETFAILED:
		case CURLE_SSL_ENGINE_INITFAILED:
		case CURLE_USE_SSL_FAILED:
			return DLAKE_HTTP_TLS_ERROR;
		case CURLE_ABORTED_BY_CALLBACK:
			return (QueryCancelPending || ProcDiePending) ?
				DLAKE_HTTP_INTERRUPTED : DLAKE_HTTP_INTERNAL;
		case CURLE_WRITE_ERROR:
			if (body->too_large)
				return DLAKE_HTTP_TOO_LARGE;
			return body->overflow ? DLAKE_HTTP_INTERNAL : DLAKE_HTTP_IO_ERROR;
		case CURLE_OUT_OF_MEMORY:
		case CURLE_BAD_FUNCTION_ARGUMENT:
		case CURLE_URL_MALFORMAT:
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_FAILED_INIT:
		case CURLE_NOT_BUILT_IN:
		case CURLE_UNKNOWN_OPTION:
			return DLAKE_HTTP_INTERNAL;
		default:
			/* send/recv errors, empty reply, partial file, HTTP/2 framing */
			return DLAKE_HTTP_IO_ERROR;
	}
}

/*
 * http_parse_headers turns the raw header block of the final response
 * into DlakeHttpHeader entries (lowercased names).  A status line starts
 * a new block, so 100-continue and proxy preambles are dropped.
 */
static List *
http_parse_headers(const char *raw, size_t len)
{
	List	   *headers = NIL;
	const char *p = raw;
	const char *end = raw + len;

	while (p < end)
	{
		const char *eol = memchr(p, '\n', end - p);
		const char *lend;
		const char *colon;

		if (eol == NULL)
			eol = end;
		lend = eol;
		if (lend > p && lend[-1] == '\r')
			lend--;

		if (lend - p >= 5 && strncmp(p, "HTTP/", 5) == 0)
			headers = NIL;		/* new response: forget earlier headers */
		else if ((colon = memchr(p, ':', lend - p)) != NULL)
		{
			DlakeHttpHeader *h = palloc(sizeof(DlakeHttpHeader));
			const char *v = colon + 1;
			const char *vend = lend;
			char	   *c;

			while (v < vend && (*v == ' ' || *v == '\t'))
				v++;
			while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
				vend--;
			h->name = pnstrdup(p, colon - p);
			for (c = h->name; *c; c++)
				*c = (char) pg_ascii_tolower((unsigned char) *c);
			h->value = pnstrdup(v, vend - v);
			headers = lappend(headers, h);
		}
		p = eol + 1;
	}
	return headers;
}

static bool
http_has_header(const DlakeHttpRequest *req, const char *name)
{
	ListCell   *lc;

	foreach(lc, req->headers)
	{
		DlakeHttpHeader *h = (DlakeHttpHeader *) lfirst(lc);

		if (pg_strcasecmp(h->name, name) == 0)
			return true;
	}
	return false;
}

/*
 * dlake_http_perform sends one request and waits for the whole response,
 * checking for interrupts at least every HTTP_POLL_INTERVAL_MS.  resp is
 * initialised here.  Never ereports except for out-of-memory in palloc
 * outside libcurl callbacks.
 */
DlakeHttpError
dlake_http_perform(const DlakeHttpRequest *req, const DlakeHttpOptions *opts,
				   DlakeHttpResponse *resp)
{
	CURL	   *easy;
	struct curl_slist *slist = NULL;
	HttpBuf		body;
	HttpBuf		hdrs;
	ListCell   *lc;
	CURLcode	rc = CURLE_OK;
	CURLMcode	mrc;
	DlakeHttpError err;
	bool		done = false;
	bool		interrupted = false;
	bool		has_body;
	long		request_size = 0;

	memset(resp, 0, sizeof(*resp));
	initStringInfo(&resp->body);
	resp->headers = NIL;
	resp->sent = false;

	if (!http_init())
	{
		strlcpy(resp->errbuf, "could not initialise libcurl", sizeof(resp->errbuf));
		return DLAKE_HTTP_INTERNAL;
	}
	easy = http_easy;
	curl_easy_reset(easy);

	memset(&body, 0, sizeof(body));
	memset(&hdrs, 0, sizeof(hdrs));
	body.limit = opts->max_response_bytes;
	hdrs.limit = 1024 * 1024;

	/* headers: the caller's (Host included), then suppress libcurl extras */
	foreach(lc, req->headers)
	{
		DlakeHttpHeader *h = (DlakeHttpHeader *) lfirst(lc);
		char	   *line;
		struct curl_slist *n;

		if (h->value == NULL || h->value[0] == '\0')
			line = psprintf("%s;", h->name);	/* curl syntax for an empty value */
		else
			line = psprintf("%s: %s", h->name, h->value);
		n = curl_slist_append(slist, line);
		pfree(line);
		if (n == NULL)
			goto oom;
		slist = n;
	}
	if (!http_has_header(req, "Expect"))
	{
		struct curl_slist *n = curl_slist_append(slist, "Expect:");

		if (n == NULL)
			goto oom;
		slist = n;
	}

	has_body = !req->head &&
		(req->body != NULL || strcmp(req->method, "PUT") == 0 ||
		 strcmp(req->method, "POST") == 0);
	if (has_body && !http_has_header(req, "Content-Type"))
	{
		/* libcurl would otherwise label every body as a form */
		struct curl_slist *n = curl_slist_append(slist, "Content-Type:");

		if (n == NULL)
			goto oom;
		slist = n;
	}

	curl_easy_setopt(easy, CURLOPT_URL, req->url);
	curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, slist);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, resp->errbuf);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, &hdrs);
	curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, http_progress_cb);
	curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
					 (long) (opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 5000));
	if (opts->total_timeout_ms > 0)
		curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) opts->total_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, opts->verify_tls ? 1L : 0L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, opts->verify_tls ? 2L : 0L);
	if (opts->ca_file && opts->ca_file[0])
		curl_easy_setopt(easy, CURLOPT_CAINFO, opts->ca_file);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "dlake/0.1.0");

	if (req->head)
		curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
	else if (has_body)
	{
		/*
		 * Memory body with an exact Content-Length for every method; libcurl
		 * can resend it by itself if a reused connection turns out dead.
		 */
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		if (strcmp(req->method, "POST") != 0)
			curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req->method);
	}
	else if (strcmp(req->method, "GET") != 0)
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req->method);
	else
		curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);

	mrc = curl_multi_add_handle(http_multi, easy);
	if (mrc != CURLM_OK)
	{
		strlcpy(resp->errbuf, curl_multi_strerror(mrc), sizeof(resp->errbuf));
		curl_slist_free_all(slist);
		return DLAKE_HTTP_INTERNAL;
	}

	while (!done)
	{
		int			running = 0;
		int			numfds = 0;
		CURLMsg    *msg;
		int			left;

		mrc = curl_multi_perform(http_multi, &running);
		if (mrc != CURLM_OK)
		{
			strlcpy(resp->errbuf, curl_multi_strerror(mrc), sizeof(resp->errbuf));
			rc = CURLE_FAILED_INIT;
			break;
		}
		while ((msg = curl_multi_info_read(http_multi, &left)) != NULL)
		{
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy)
			{
				rc = msg->data.result;
				done = true;
			}
		}
		if (done)
			break;
		if (QueryCancelPending || ProcDiePending)
		{
			interrupted = true;
			break;
		}
		mrc = curl_multi_poll(http_multi, NULL, 0, HTTP_POLL_INTERVAL_MS, &numfds);
		if (mrc != CURLM_OK)
		{
			strlcpy(resp->errbuf, curl_multi_strerror(mrc), sizeof(resp->errbuf));
			rc = CURLE_FAILED_INIT;
			break;
		}
		if (QueryCancelPending || ProcDiePending)
		{
			interrupted = true;
			break;
		}
	}

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp->status);
	if (curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_size) != CURLE_OK)
		request_size = 0;
	resp->sent = (request_size > 0);
	curl_multi_remove_handle(http_multi, easy);
	curl_slist_free_all(slist);
	/* the option points at our list; forget it before the next reset */
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, NULL);

	if (interrupted)
		err = DLAKE_HTTP_INTERRUPTED;
	else if (!done && rc == CURLE_OK)
		err = DLAKE_HTTP_INTERNAL;
	else
		err = http_map_error(rc, &body);

	if (err != DLAKE_HTTP_OK && resp->errbuf[0] == '\0')
		strlcpy(resp->errbuf, rc != CURLE_OK ? curl_easy_strerror(rc) :
				dlake_http_strerror(err), sizeof(resp->errbuf));
	if (err == DLAKE_HTTP_TOO_LARGE)
		snprintf(resp->errbuf, sizeof(resp->errbuf),
				 "response body larger than %zu bytes", opts->max_response_bytes);

	/* copy callback buffers into palloc'd memory, now that libcurl is done */
	if (body.len > 0)
		appendBinaryStringInfo(&resp->body, body.data, (int) body.len);
	if (hdrs.len > 0)
		resp->headers = http_parse_headers(hdrs.data, hdrs.len);
	free(body.data);
	free(hdrs.data);
	return err;

oom:
	curl_slist_free_all(slist);
	strlcpy(resp->errbuf, "out of memory building request headers", sizeof(resp->errbuf));
	return DLAKE_HTTP_INTERNAL;
}

/*
 * dlake_http_reset drops the cached handles (and their connections), for
 * example after fork or when tests want a cold connection cache.
 */
void
dlake_http_reset(void)
{
	if (!http_initialized)
		return;
	curl_easy_cleanup(http_easy);
	curl_multi_cleanup(http_multi);
	http_easy = NULL;
	http_multi = NULL;
	http_initialized = false;
}
