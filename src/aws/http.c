/*-------------------------------------------------------------------------
 *
 * http.c
 *	  One HTTP client over libcurl's multi interface.
 *
 * Every request of a backend goes through one cached multi handle, so
 * connections (and TLS sessions) are reused across requests of the
 * process.  A request is a transfer: dlake_http_start() attaches it (an
 * easy handle from a small free list) and sends it, dlake_http_finish()
 * waits for its response; dlake_http_perform() is the two in a row.
 * Several transfers may be in flight at once (the stream worker fetches
 * the next page of one shard while it stores another's): whoever waits
 * drives all of them, and a transfer that completes while another is
 * waited for is marked done and keeps its response in its buffers.
 *
 * The transfer is driven the PostgreSQL way (STYLE.md point 11): libcurl's
 * socket interface (curl_multi_socket_action) tells us, through a socket
 * callback that only records them, which sockets it wants watched for
 * reading or writing; the backend sleeps in a WaitEventSet holding those
 * sockets, the process latch and postmaster death, with libcurl's timer
 * (curl_multi_timeout, capped) as the timeout and DLAKE_WAIT_EVENT_HTTP
 * (PG_WAIT_EXTENSION on 15, see compat.h) as the wait event.  A query
 * cancel or termination signal sets the latch, so the wait ends at once;
 * the loop resets the latch and, when QueryCancelPending or ProcDiePending
 * is set, stops the transfer and returns DLAKE_HTTP_INTERRUPTED.  The
 * caller runs CHECK_FOR_INTERRUPTS() after cleaning up, which raises the
 * real cancel or terminate error.  A latch wake-up that was not ours to
 * handle (a SIGHUP in a background worker, for example) is passed on by
 * setting the latch again when the request ends.  A progress callback
 * also aborts on those flags, so the transfer stops even inside one long
 * libcurl call.  Background workers use the same code: MyLatch exists
 * there too.
 *
 * Descriptors: libcurl opens and closes its connection sockets through our
 * open/close callbacks, which reserve each one with AcquireExternalFD() and
 * give it back with ReleaseExternalFD(), so pooled connections count against
 * the backend's descriptor budget like libpq connections of postgres_fdw.
 * When the budget is spent the connect fails (DLAKE_HTTP_CONNECT_FAILED,
 * "Too many open files").  libcurl's few internal descriptors (the threaded
 * resolver's socket pair) are not counted: they are not created through
 * the open-socket callback.
 *
 * libcurl callbacks never ereport (nothing in them can throw) and never
 * palloc: they append to malloc'd buffers, enforce max_response_bytes,
 * record sockets and return error codes.  The buffers are copied into
 * palloc'd memory after libcurl returns.
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

#include <sys/socket.h>
#include <unistd.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "aws/http.h"
#include "compat.h"
#include "guc.h"

/*
 * Longest single wait.  The latch ends a wait at once on cancel or
 * termination; the cap only bounds how long a missed libcurl event could
 * stall a transfer.
 */
#define HTTP_WAIT_CAP_MS		1000

/* sockets watched at once, over every transfer in flight */
#define HTTP_MAX_SOCKETS		16

/* idle easy handles kept for reuse */
#define HTTP_MAX_FREE_EASY		4

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

/* a socket libcurl asked us to watch, as recorded by http_socket_cb */
typedef struct HttpSocket
{
	curl_socket_t fd;
	int			what;			/* CURL_POLL_IN / OUT / INOUT */
} HttpSocket;

/*
 * One request in flight.  malloc'd (not palloc'd): it outlives the memory
 * contexts and transactions of its caller until finished or cancelled, and
 * libcurl writes into errbuf and the buffers from its callbacks.
 */
struct DlakeHttpTransfer
{
	CURL	   *easy;
	struct curl_slist *slist;
	HttpBuf		body;
	HttpBuf		hdrs;
	size_t		max_response_bytes;
	char		errbuf[CURL_ERROR_SIZE];
	bool		done;			/* libcurl reported the transfer complete */
	bool		interrupted;	/* stopped for a pending cancel/terminate */
	CURLcode	rc;				/* result once done */
	DlakeHttpTransfer *next;	/* in http_active */
};

static bool http_initialized = false;
static CURLM *http_multi = NULL;

/* transfers attached to http_multi, and idle easy handles */
static DlakeHttpTransfer *http_active = NULL;
static CURL *http_free_easy[HTTP_MAX_FREE_EASY];
static int	http_nfree_easy = 0;

/* libcurl's view of the sockets to watch, kept by http_socket_cb */
static HttpSocket http_socks[HTTP_MAX_SOCKETS];
static int	http_nsocks = 0;
static bool http_socks_changed = true;
static bool http_socks_overflow = false;

/* the wait set of the transfer in progress (freed on error, see below) */
static WaitEventSet *http_wait_set = NULL;

/* descriptors reserved with AcquireExternalFD for libcurl's sockets */
static int	http_external_fds = 0;

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

/*
 * CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION: append the body, or
 * the raw header lines (parsed afterwards), to the HttpBuf; 0 (error) over
 * the limit.
 */
static size_t
http_buf_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
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
 * CURLMOPT_SOCKETFUNCTION: record which sockets libcurl wants watched and
 * for what.  Only updates the static table (no palloc, no ereport); the
 * wait loop rebuilds its WaitEventSet when the table changed.
 */
static int
http_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
			   void *socketp)
{
	int			i;

	for (i = 0; i < http_nsocks; i++)
		if (http_socks[i].fd == s)
			break;
	if (what == CURL_POLL_REMOVE)
	{
		if (i < http_nsocks)
			http_socks[i] = http_socks[--http_nsocks];
	}
	else if (i < http_nsocks)
		http_socks[i].what = what;
	else if (http_nsocks < HTTP_MAX_SOCKETS)
	{
		http_socks[http_nsocks].fd = s;
		http_socks[http_nsocks].what = what;
		http_nsocks++;
	}
	else
		http_socks_overflow = true; /* the loop falls back to short waits */
	http_socks_changed = true;
	return 0;
}

/*
 * CURLOPT_OPENSOCKETFUNCTION: reserve a descriptor of the backend's budget
 * for each socket libcurl opens; refuse (connect fails) when it is spent.
 * AcquireExternalFD may close a cached virtual file descriptor to make room,
 * which cannot throw.
 */
static curl_socket_t
http_opensocket_cb(void *clientp, curlsocktype purpose,
				   struct curl_sockaddr *address)
{
	curl_socket_t s;

	if (!AcquireExternalFD())
	{
		errno = EMFILE;
		return CURL_SOCKET_BAD;
	}
	s = socket(address->family, address->socktype, address->protocol);
	if (s == CURL_SOCKET_BAD)
	{
		int			save_errno = errno;

		ReleaseExternalFD();
		errno = save_errno;
	}
	else
		http_external_fds++;
	return s;
}

/*
 * CURLOPT_CLOSESOCKETFUNCTION: close a socket opened by http_opensocket_cb
 * and give its descriptor back.  libcurl remembers the callback per
 * connection, so pooled connections closed later (or by dlake_http_reset)
 * come here too.
 */
static int
http_closesocket_cb(void *clientp, curl_socket_t item)
{
	if (http_external_fds > 0)
	{
		http_external_fds--;
		ReleaseExternalFD();
	}
	return close(item);
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
	if (http_multi == NULL)
		return false;
	curl_multi_setopt(http_multi, CURLMOPT_MAXCONNECTS, 16L);
	curl_multi_setopt(http_multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb);
	http_nsocks = 0;
	http_socks_changed = true;
	http_socks_overflow = false;
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
 * dlake_http_find_header returns the value of a header of a list of
 * DlakeHttpHeader (name compared case-insensitively), the last one when
 * repeated, or NULL.  Shared by every layer that keeps response headers.
 */
const char *
dlake_http_find_header(const List *headers, const char *lname)
{
	ListCell   *lc;
	const char *found = NULL;

	foreach(lc, headers)
	{
		DlakeHttpHeader *h = (DlakeHttpHeader *) lfirst(lc);

		if (pg_strcasecmp(h->name, lname) == 0)
			found = h->value;
	}
	return found;
}

/*
 * dlake_http_header returns the value of a response header (lowercase
 * name), the last one when repeated, or NULL.
 */
const char *
dlake_http_header(const DlakeHttpResponse *resp, const char *lname)
{
	return dlake_http_find_header(resp->headers, lname);
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
 * http_free_wait_set drops the wait set of the transfer, if any.
 */
static void
http_free_wait_set(void)
{
	if (http_wait_set != NULL)
	{
		FreeWaitEventSet(http_wait_set);
		http_wait_set = NULL;
	}
}

/*
 * http_build_wait_set (re)creates the wait set from libcurl's socket table:
 * the process latch, postmaster death (exit) and every socket with the
 * events libcurl asked for.  It lives in TopMemoryContext and in
 * http_wait_set, so that dlake_http_perform can free it when the wait
 * throws.
 */
static void
http_build_wait_set(void)
{
	int			i;

	http_free_wait_set();
	http_socks_changed = false;
	http_wait_set = CreateWaitEventSet(TopMemoryContext, http_nsocks + 2);
	AddWaitEventToSet(http_wait_set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	if (IsUnderPostmaster)
		AddWaitEventToSet(http_wait_set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET,
						  NULL, NULL);
	for (i = 0; i < http_nsocks; i++)
	{
		uint32		events = 0;

		if (http_socks[i].what & CURL_POLL_IN)
			events |= WL_SOCKET_READABLE;
		if (http_socks[i].what & CURL_POLL_OUT)
			events |= WL_SOCKET_WRITEABLE;
		if (events != 0)
			AddWaitEventToSet(http_wait_set, events, http_socks[i].fd, NULL, NULL);
	}
}

/*
 * http_collect_done reads libcurl's completion messages and marks the
 * transfers they name done; true when at least one was.
 */
static bool
http_collect_done(void)
{
	CURLMsg    *msg;
	int			left;
	bool		any = false;

	while ((msg = curl_multi_info_read(http_multi, &left)) != NULL)
	{
		DlakeHttpTransfer *t = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t) == CURLE_OK &&
			t != NULL && !t->done)
		{
			t->rc = msg->data.result;
			t->done = true;
			any = true;
		}
	}
	return any;
}

/*
 * http_fail_all marks every transfer in flight done with a multi-level
 * error (the multi handle is unusable or is being dropped).
 */
static void
http_fail_all(const char *message)
{
	DlakeHttpTransfer *t;

	for (t = http_active; t != NULL; t = t->next)
	{
		if (t->done)
			continue;
		t->rc = CURLE_FAILED_INIT;
		t->done = true;
		strlcpy(t->errbuf, message, sizeof(t->errbuf));
	}
}

/* attached transfers not complete yet */
static int
http_undone(void)
{
	DlakeHttpTransfer *t;
	int			n = 0;

	for (t = http_active; t != NULL; t = t->next)
		if (!t->done)
			n++;
	return n;
}

/* what http_drive waits for */
typedef enum HttpDriveGoal
{
	HTTP_UNTIL_DONE,			/* the target transfer completes */
	HTTP_UNTIL_SENT,			/* the target's request is on the wire */
	HTTP_UNTIL_ANY				/* any transfer completes, the latch is set
								 * or the time is up */
} HttpDriveGoal;

static bool
http_request_sent(DlakeHttpTransfer *t)
{
	long		request_size = 0;

	return curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &request_size) == CURLE_OK &&
		request_size > 0;
}

/*
 * http_drive runs every transfer attached to the multi handle until the
 * goal is reached, max_ms have passed (-1: no limit) or a cancel or
 * termination is pending (then it returns true).  *latch_consumed tells
 * that the latch was reset here.
 *
 * Each round: read finished transfers, check the goal and the interrupt
 * flags, sleep on the latch + libcurl's sockets for at most libcurl's timer
 * (capped), then hand every ready socket, or the timeout, to
 * curl_multi_socket_action.  A multi-level failure fails every transfer.
 */
static bool
http_drive(DlakeHttpTransfer *target, HttpDriveGoal goal, long max_ms,
		   bool *latch_consumed)
{
	WaitEvent	events[HTTP_MAX_SOCKETS + 2];
	int			running = 0;
	CURLMcode	mrc;
	TimestampTz deadline = 0;
	bool		latch_seen = false;
	bool		waited = false;

	if (max_ms >= 0)
		deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), max_ms);

	mrc = curl_multi_socket_action(http_multi, CURL_SOCKET_TIMEOUT, 0, &running);
	for (;;)
	{
		long		timeout_ms = -1;
		int			nev;
		int			i;
		bool		any_done;

		if (mrc != CURLM_OK)
		{
			http_fail_all(curl_multi_strerror(mrc));
			return false;
		}
		any_done = http_collect_done();
		switch (goal)
		{
			case HTTP_UNTIL_DONE:
				if (target->done)
					return false;
				break;
			case HTTP_UNTIL_SENT:
				if (target->done || http_request_sent(target))
					return false;
				break;
			case HTTP_UNTIL_ANY:
				if (any_done || latch_seen)
					return false;
				break;
		}
		if (QueryCancelPending || ProcDiePending)
			return true;
		if (http_undone() > 0 && (running == 0 || http_socks_overflow))
		{
			/* attached transfers that libcurl no longer runs */
			http_fail_all(running == 0 ?
						  "transfer stopped without a result" :
						  "too many sockets to watch");
			return false;
		}

		if (http_wait_set == NULL || http_socks_changed)
			http_build_wait_set();
		if (http_undone() == 0 ||
			curl_multi_timeout(http_multi, &timeout_ms) != CURLM_OK ||
			timeout_ms < 0 || timeout_ms > HTTP_WAIT_CAP_MS)
			timeout_ms = HTTP_WAIT_CAP_MS;
		if (deadline != 0)
		{
			long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);

			/* max_ms = 0 still looks at the sockets once */
			if (left <= 0 && waited)
				return false;
			timeout_ms = Min(timeout_ms, left);
		}
		waited = true;

		nev = WaitEventSetWait(http_wait_set, timeout_ms, events,
							   lengthof(events), DLAKE_WAIT_EVENT_HTTP);
		if (nev == 0)
		{
			mrc = curl_multi_socket_action(http_multi, CURL_SOCKET_TIMEOUT, 0,
										   &running);
			continue;
		}
		for (i = 0; i < nev && mrc == CURLM_OK; i++)
		{
			if (events[i].events & WL_LATCH_SET)
			{
				/* the flags are looked at on the next round */
				ResetLatch(MyLatch);
				*latch_consumed = true;
				latch_seen = true;
			}
			if (events[i].events & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE))
			{
				int			flags = 0;

				if (events[i].events & WL_SOCKET_READABLE)
					flags |= CURL_CSELECT_IN;
				if (events[i].events & WL_SOCKET_WRITEABLE)
					flags |= CURL_CSELECT_OUT;
				mrc = curl_multi_socket_action(http_multi, events[i].fd, flags,
											   &running);
			}
		}
	}
}

/*
 * http_transfer_free detaches t from the multi handle, keeps its easy
 * handle for reuse and frees the rest.
 */
static void
http_transfer_free(DlakeHttpTransfer *t)
{
	DlakeHttpTransfer **pp;

	for (pp = &http_active; *pp != NULL; pp = &(*pp)->next)
	{
		if (*pp == t)
		{
			*pp = t->next;
			break;
		}
	}
	if (t->easy)
	{
		if (http_multi)
			curl_multi_remove_handle(http_multi, t->easy);
		/* the options point at our list and buffer: forget them */
		curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, NULL);
		curl_easy_setopt(t->easy, CURLOPT_PRIVATE, NULL);
		if (http_multi && http_nfree_easy < HTTP_MAX_FREE_EASY)
			http_free_easy[http_nfree_easy++] = t->easy;
		else
			curl_easy_cleanup(t->easy);
	}
	curl_slist_free_all(t->slist);
	free(t->body.data);
	free(t->hdrs.data);
	free(t);
	if (http_active == NULL)
		http_free_wait_set();
}

/*
 * http_setup sets the options of t's easy handle for req.  false when
 * the header list cannot be built (out of memory).
 */
static bool
http_setup(DlakeHttpTransfer *t, const DlakeHttpRequest *req,
		   const DlakeHttpOptions *opts)
{
	CURL	   *easy = t->easy;
	ListCell   *lc;
	bool		has_body;

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
		n = curl_slist_append(t->slist, line);
		pfree(line);
		if (n == NULL)
			return false;
		t->slist = n;
	}
	if (!http_has_header(req, "Expect"))
	{
		struct curl_slist *n = curl_slist_append(t->slist, "Expect:");

		if (n == NULL)
			return false;
		t->slist = n;
	}

	has_body = !req->head &&
		(req->body != NULL || strcmp(req->method, "PUT") == 0 ||
		 strcmp(req->method, "POST") == 0);
	if (has_body && !http_has_header(req, "Content-Type"))
	{
		/* libcurl would otherwise label every body as a form */
		struct curl_slist *n = curl_slist_append(t->slist, "Content-Type:");

		if (n == NULL)
			return false;
		t->slist = n;
	}

	curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *) t);
	curl_easy_setopt(easy, CURLOPT_URL, req->url);
	curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->slist);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, http_buf_cb);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t->body);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, http_buf_cb);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t->hdrs);
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, http_opensocket_cb);
	curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, http_closesocket_cb);
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
		 * The body is not copied: it must stay valid until the transfer is
		 * finished or cancelled.
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
	return true;
}

/*
 * dlake_http_start attaches a transfer for req and drives it until the
 * request is on the wire (or it failed, or the connect timeout passed),
 * without waiting for the response.  req's strings and body must stay
 * valid until the transfer is finished or cancelled.  Never NULL: a
 * transfer that could not start is returned done, with its error, for
 * dlake_http_finish to report.
 */
DlakeHttpTransfer *
dlake_http_start(const DlakeHttpRequest *req, const DlakeHttpOptions *opts)
{
	DlakeHttpTransfer *t;
	CURLMcode	mrc;
	bool		latch_consumed = false;
	bool		interrupted = false;

	t = calloc(1, sizeof(DlakeHttpTransfer));
	if (t == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	t->body.limit = opts->max_response_bytes;
	t->hdrs.limit = 1024 * 1024;
	t->max_response_bytes = opts->max_response_bytes;

	if (!http_init())
	{
		strlcpy(t->errbuf, "could not initialise libcurl", sizeof(t->errbuf));
		t->rc = CURLE_FAILED_INIT;
		t->done = true;
		return t;
	}
	if (http_nfree_easy > 0)
	{
		t->easy = http_free_easy[--http_nfree_easy];
		curl_easy_reset(t->easy);
	}
	else
		t->easy = curl_easy_init();
	if (t->easy == NULL || !http_setup(t, req, opts))
	{
		strlcpy(t->errbuf, t->easy == NULL ? "could not initialise libcurl" :
				"out of memory building request headers", sizeof(t->errbuf));
		t->rc = CURLE_FAILED_INIT;
		t->done = true;
		return t;
	}

	mrc = curl_multi_add_handle(http_multi, t->easy);
	if (mrc != CURLM_OK)
	{
		strlcpy(t->errbuf, curl_multi_strerror(mrc), sizeof(t->errbuf));
		t->rc = CURLE_FAILED_INIT;
		t->done = true;
		return t;
	}
	t->next = http_active;
	http_active = t;

	PG_TRY();
	{
		interrupted = http_drive(t, HTTP_UNTIL_SENT,
								 opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 5000,
								 &latch_consumed);
	}
	PG_CATCH();
	{
		http_transfer_free(t);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (interrupted)
		t->interrupted = true;
	/* pass on a latch wake-up that belonged to our caller */
	if (latch_consumed)
		SetLatch(MyLatch);
	return t;
}

/*
 * dlake_http_transfer_done: the response of t has fully arrived (or t
 * failed), so dlake_http_finish will not wait.  Does not drive anything;
 * see dlake_http_wait.
 */
bool
dlake_http_transfer_done(const DlakeHttpTransfer *t)
{
	return t->done || t->interrupted;
}

/*
 * dlake_http_wait drives every transfer in flight for at most timeout_ms
 * (0: only what is ready now) and returns when one of them completes, the
 * latch is set (it is reset here: the caller owns it and looks at its
 * flags next) or the time is up.  With nothing in flight it is a latch
 * wait.  Postmaster death exits the process.
 */
void
dlake_http_wait(long timeout_ms)
{
	bool		latch_consumed = false;

	if (http_active == NULL || !http_initialized)
	{
		if (timeout_ms > 0)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 timeout_ms, DLAKE_WAIT_EVENT_HTTP);
			ResetLatch(MyLatch);
		}
		return;
	}
	(void) http_drive(NULL, HTTP_UNTIL_ANY, Max(timeout_ms, 0), &latch_consumed);
}

/*
 * dlake_http_finish waits for the response of t (see http_drive), fills
 * resp (initialised here) and frees t.  A pending cancel or termination
 * ends it with DLAKE_HTTP_INTERRUPTED.  Never ereports except for
 * out-of-memory in palloc outside libcurl callbacks, and the rare failures
 * of the wait itself (no descriptor left for the wait set); postmaster
 * death exits the process.
 */
DlakeHttpError
dlake_http_finish(DlakeHttpTransfer *t, DlakeHttpResponse *resp)
{
	DlakeHttpError err;
	bool		interrupted = t->interrupted;
	bool		latch_consumed = false;
	long		request_size = 0;

	memset(resp, 0, sizeof(*resp));
	initStringInfo(&resp->body);
	resp->headers = NIL;
	resp->sent = false;

	if (!t->done && !interrupted)
	{
		PG_TRY();
		{
			interrupted = http_drive(t, HTTP_UNTIL_DONE, -1, &latch_consumed);
		}
		PG_CATCH();
		{
			/*
			 * The wait threw (no descriptor for the wait set, or the like):
			 * detach the transfer so the next request starts clean, and free
			 * what libcurl holds before passing the error on.
			 */
			http_transfer_free(t);
			PG_RE_THROW();
		}
		PG_END_TRY();
	}

	if (t->easy)
	{
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &resp->status);
		if (curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &request_size) != CURLE_OK)
			request_size = 0;
	}
	resp->sent = (request_size > 0);
	strlcpy(resp->errbuf, t->errbuf, sizeof(resp->errbuf));

	/* pass on a latch wake-up that belonged to our caller */
	if (latch_consumed)
		SetLatch(MyLatch);

	if (interrupted && !t->done)
		err = DLAKE_HTTP_INTERRUPTED;
	else
		err = http_map_error(t->rc, &t->body);

	if (err != DLAKE_HTTP_OK && resp->errbuf[0] == '\0')
		strlcpy(resp->errbuf, t->rc != CURLE_OK ? curl_easy_strerror(t->rc) :
				dlake_http_strerror(err), sizeof(resp->errbuf));
	if (err == DLAKE_HTTP_TOO_LARGE)
		snprintf(resp->errbuf, sizeof(resp->errbuf),
				 "response body larger than %zu bytes", t->max_response_bytes);

	/* copy callback buffers into palloc'd memory, now that libcurl is done */
	PG_TRY();
	{
		if (t->body.len > 0)
			appendBinaryStringInfo(&resp->body, t->body.data, (int) t->body.len);
		if (t->hdrs.len > 0)
			resp->headers = http_parse_headers(t->hdrs.data, t->hdrs.len);
	}
	PG_CATCH();
	{
		http_transfer_free(t);
		PG_RE_THROW();
	}
	PG_END_TRY();
	http_transfer_free(t);

	/* a socket table that overflowed no longer mirrors libcurl's view */
	if (http_socks_overflow && http_active == NULL)
		dlake_http_reset();
	return err;
}

/*
 * dlake_http_cancel stops t, whatever its state, and frees it.  A
 * connection with a response half read is closed, not reused.
 */
void
dlake_http_cancel(DlakeHttpTransfer *t)
{
	http_transfer_free(t);
}

/*
 * dlake_http_perform sends one request and waits for the whole response:
 * dlake_http_start, then dlake_http_finish.  resp is initialised here.
 */
DlakeHttpError
dlake_http_perform(const DlakeHttpRequest *req, const DlakeHttpOptions *opts,
				   DlakeHttpResponse *resp)
{
	return dlake_http_finish(dlake_http_start(req, opts), resp);
}

/*
 * dlake_http_reset drops the cached handles (and their connections), for
 * example after fork or when tests want a cold connection cache.  A
 * transfer still in flight is failed; its owner still finishes or cancels
 * it.
 */
void
dlake_http_reset(void)
{
	DlakeHttpTransfer *t;

	if (!http_initialized)
		return;
	http_fail_all("connection cache reset");
	for (t = http_active; t != NULL; t = t->next)
	{
		if (t->easy)
		{
			curl_multi_remove_handle(http_multi, t->easy);
			curl_easy_cleanup(t->easy);
			t->easy = NULL;
		}
	}
	http_free_wait_set();
	while (http_nfree_easy > 0)
		curl_easy_cleanup(http_free_easy[--http_nfree_easy]);
	curl_multi_cleanup(http_multi);
	http_multi = NULL;
	http_nsocks = 0;
	http_socks_changed = true;
	http_socks_overflow = false;
	http_initialized = false;
}
