/*-------------------------------------------------------------------------
 *
 * http.h
 *	  One HTTP client over libcurl (multi interface, waits on the latch):
 *	  connection reuse, connect and total timeouts, interrupt checks, TLS
 *	  verification, several requests in flight at once.  No retries here (see aws_request.h) and no ereport:
 *	  every call returns a DlakeHttpError.
 *
 * IDENTIFICATION
 *	  src/aws/http.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_HTTP_H
#define DLAKE_HTTP_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

typedef enum DlakeHttpError
{
	DLAKE_HTTP_OK = 0,
	DLAKE_HTTP_CONNECT_FAILED,	/* resolve / connect refused */
	DLAKE_HTTP_TIMEOUT,			/* connect or total timeout */
	DLAKE_HTTP_IO_ERROR,		/* reset, send/recv failure, partial body */
	DLAKE_HTTP_TLS_ERROR,		/* certificate or handshake problem */
	DLAKE_HTTP_INTERRUPTED,		/* query cancel or termination pending */
	DLAKE_HTTP_TOO_LARGE,		/* response body over max_response_bytes */
	DLAKE_HTTP_INTERNAL			/* libcurl misuse / out of memory */
} DlakeHttpError;

typedef struct DlakeHttpHeader
{
	char	   *name;
	char	   *value;
} DlakeHttpHeader;

typedef struct DlakeHttpOptions
{
	int			connect_timeout_ms;
	int			total_timeout_ms;	/* 0 = none */
	bool		verify_tls;
	const char *ca_file;		/* NULL = system default */
	size_t		max_response_bytes; /* 0 = unlimited */
} DlakeHttpOptions;

typedef struct DlakeHttpRequest
{
	const char *method;
	const char *url;			/* full URL; path sent as is (PATH_AS_IS) */
	List	   *headers;		/* of DlakeHttpHeader *; Host included */
	const char *body;			/* may be NULL */
	size_t		body_len;
	bool		head;			/* HEAD: no body expected */
} DlakeHttpRequest;

typedef struct DlakeHttpResponse
{
	long		status;			/* HTTP status, 0 if none */
	StringInfoData body;
	List	   *headers;		/* of DlakeHttpHeader *, names lowercased */
	char		errbuf[256];	/* libcurl's message when not OK */
	bool		sent;			/* request bytes reached the wire (a
								 * failure with !sent is safe to retry) */
} DlakeHttpResponse;

/* a request in flight (see http.c) */
typedef struct DlakeHttpTransfer DlakeHttpTransfer;

extern void dlake_http_options_default(DlakeHttpOptions *opts);
extern DlakeHttpError dlake_http_perform(const DlakeHttpRequest *req,
										 const DlakeHttpOptions *opts,
										 DlakeHttpResponse *resp);

/*
 * The same in two steps, so that several requests can be in flight:
 * start sends the request (req's strings and body must outlive the
 * transfer), finish waits for the response and frees the transfer, cancel
 * drops it.  dlake_http_wait drives everything in flight until one
 * transfer completes, the latch is set (and reset) or timeout_ms pass.
 */
extern DlakeHttpTransfer *dlake_http_start(const DlakeHttpRequest *req,
										   const DlakeHttpOptions *opts);
extern bool dlake_http_transfer_done(const DlakeHttpTransfer *t);
extern DlakeHttpError dlake_http_finish(DlakeHttpTransfer *t,
										DlakeHttpResponse *resp);
extern void dlake_http_cancel(DlakeHttpTransfer *t);
extern void dlake_http_wait(long timeout_ms);
extern const char *dlake_http_header(const DlakeHttpResponse *resp, const char *lname);
extern const char *dlake_http_find_header(const List *headers, const char *lname);
extern const char *dlake_http_strerror(DlakeHttpError err);
extern DlakeHttpHeader *dlake_http_make_header(const char *name, const char *value);

/* drop the cached libcurl handles and their pooled connections */
extern void dlake_http_reset(void);

#endif							/* DLAKE_HTTP_H */
