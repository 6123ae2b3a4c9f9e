/*-------------------------------------------------------------------------
 *
 * sigv4.c
 *	  AWS Signature Version 4 on OpenSSL, stage by stage.
 *
 * The stages (canonical request, string to sign, signing key, signature)
 * are separate functions so that the offline regression test can compare
 * each one with the published AWS vectors.  Everything here is pure: no
 * network, no ereport (palloc may still fail with out-of-memory).
 *
 * Two canonical URI rules exist.  S3 signs the object path exactly once
 * encoded and never normalises it (keys may contain "//", "./", "../");
 * every other service double-encodes the path as sent and removes dot
 * segments and empty segments first.
 *
 * IDENTIFICATION
 *	  src/aws/sigv4.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lib/stringinfo.h"

#include "aws/sigv4.h"
#include "common/percent.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

static const char hexdigits_upper[] = "0123456789ABCDEF";
static const char hexdigits_lower[] = "0123456789abcdef";

/* one query parameter, both parts canonically encoded */
typedef struct SigV4QueryParam
{
	char	   *name;
	char	   *value;
} SigV4QueryParam;

/* one header during canonicalisation; seq keeps the order sent */
typedef struct SigV4CanonHeader
{
	char	   *name;
	char	   *value;
	int			seq;
} SigV4CanonHeader;

/*
 * hex_encode_lower writes len bytes as lowercase hex into out (2*len+1).
 */
static void
hex_encode_lower(const unsigned char *in, size_t len, char *out)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		out[2 * i] = hexdigits_lower[in[i] >> 4];
		out[2 * i + 1] = hexdigits_lower[in[i] & 0x0F];
	}
	out[2 * len] = '\0';
}

/*
 * sigv4_sha256_hex computes the lowercase hex SHA-256 of a buffer.
 */
void
sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
	{
		/* cannot happen with a working libcrypto; leave a value that never verifies */
		memset(out, '0', 64);
		out[64] = '\0';
		return;
	}
	hex_encode_lower(md, 32, out);
}

/*
 * hmac_sha256 computes HMAC-SHA256(key, data) into out (32 bytes).
 */
static void
hmac_sha256(const unsigned char *key, size_t keylen,
			const void *data, size_t datalen, unsigned char out[32])
{
	unsigned int outlen = 32;

	if (HMAC(EVP_sha256(), key, (int) keylen, data, datalen, out, &outlen) == NULL)
		memset(out, 0, 32);
}

static inline bool
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

/*
 * sigv4_uri_encode percent-encodes every byte outside A-Z a-z 0-9 - . _ ~
 * with uppercase hex; '/' is kept literally when keep_slash (object paths).
 * Space becomes %20 and '+' becomes %2B, never the form encoding.
 */
char *
sigv4_uri_encode(const char *s, bool keep_slash)
{
	StringInfoData buf;
	const unsigned char *p;

	initStringInfo(&buf);
	for (p = (const unsigned char *) s; *p; p++)
	{
		if (is_unreserved(*p) || (keep_slash && *p == '/'))
			appendStringInfoChar(&buf, (char) *p);
		else
		{
			appendStringInfoChar(&buf, '%');
			appendStringInfoChar(&buf, hexdigits_upper[*p >> 4]);
			appendStringInfoChar(&buf, hexdigits_upper[*p & 0x0F]);
		}
	}
	return buf.data;
}

/*
 * normalize_path removes empty, "." and ".." segments of a non-S3 path,
 * keeping a trailing slash (the AWS suite's get-slashes-normalized cases).
 */
static char *
normalize_path(const char *path)
{
	size_t		len = strlen(path);
	const char **segs = palloc(sizeof(char *) * (len + 1));
	int		   *seglens = palloc(sizeof(int) * (len + 1));
	int			nsegs = 0;
	const char *p = path;
	bool		trailing = (len > 0 && path[len - 1] == '/');
	StringInfoData buf;
	int			i;

	while (*p)
	{
		const char *start;
		int			n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && *p != '/')
			p++;
		n = (int) (p - start);
		if (n == 1 && start[0] == '.')
		{
			/* a "." segment as last element still ends a directory */
			if (!*p)
				trailing = true;
			continue;
		}
		if (n == 2 && start[0] == '.' && start[1] == '.')
		{
			if (nsegs > 0)
				nsegs--;
			if (!*p)
				trailing = true;
			continue;
		}
		segs[nsegs] = start;
		seglens[nsegs] = n;
		nsegs++;
	}

	initStringInfo(&buf);
	for (i = 0; i < nsegs; i++)
	{
		appendStringInfoChar(&buf, '/');
		appendBinaryStringInfo(&buf, segs[i], seglens[i]);
	}
	if (nsegs == 0 || trailing)
		appendStringInfoChar(&buf, '/');
	return buf.data;
}

/*
 * canonical_uri returns the canonical URI line.  S3: decode the wire path
 * and encode it once (identical to the wire path when that was encoded
 * canonically), no normalisation.  Others: normalise, then encode the wire
 * path again (double encoding).
 */
static char *
canonical_uri(const char *path, bool s3_style)
{
	if (path == NULL || path[0] == '\0')
		return pstrdup("/");
	if (s3_style)
		return sigv4_uri_encode(dlake_percent_decode(path, strlen(path), false), true);
	return sigv4_uri_encode(normalize_path(path), true);
}

static int
query_param_cmp(const void *a, const void *b)
{
	const SigV4QueryParam *pa = (const SigV4QueryParam *) a;
	const SigV4QueryParam *pb = (const SigV4QueryParam *) b;
	int			c = strcmp(pa->name, pb->name);

	if (c != 0)
		return c;
	return strcmp(pa->value, pb->value);
}

/*
 * sigv4_canonical_query decodes each name and value of a raw query string,
 * re-encodes them separately, and sorts by name then value (bytewise).
 * A parameter without '=' becomes "name=".
 */
char *
sigv4_canonical_query(const char *query)
{
	SigV4QueryParam *params;
	int			nparams = 0;
	int			maxparams = 1;
	const char *p;
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	if (query == NULL || query[0] == '\0')
		return buf.data;

	for (p = query; *p; p++)
		if (*p == '&')
			maxparams++;
	params = palloc(sizeof(SigV4QueryParam) * maxparams);

	p = query;
	while (*p)
	{
		const char *end = strchr(p, '&');
		const char *eq;
		size_t		len;

		if (end == NULL)
			end = p + strlen(p);
		len = end - p;
		if (len > 0)
		{
			eq = memchr(p, '=', len);
			if (eq)
			{
				params[nparams].name = sigv4_uri_encode(dlake_percent_decode(p, eq - p, false), false);
				params[nparams].value = sigv4_uri_encode(dlake_percent_decode(eq + 1, end - eq - 1, false), false);
			}
			else
			{
				params[nparams].name = sigv4_uri_encode(dlake_percent_decode(p, len, false), false);
				params[nparams].value = pstrdup("");
			}
			nparams++;
		}
		p = (*end == '&') ? end + 1 : end;
	}

	qsort(params, nparams, sizeof(SigV4QueryParam), query_param_cmp);
	for (i = 0; i < nparams; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, '&');
		appendStringInfo(&buf, "%s=%s", params[i].name, params[i].value);
	}
	return buf.data;
}

static int
canon_header_cmp(const void *a, const void *b)
{
	const SigV4CanonHeader *ha = (const SigV4CanonHeader *) a;
	const SigV4CanonHeader *hb = (const SigV4CanonHeader *) b;
	int			c = strcmp(ha->name, hb->name);

	if (c != 0)
		return c;
	return (ha->seq > hb->seq) - (ha->seq < hb->seq);
}

/*
 * canonical_header_value trims a header value and collapses every run of
 * whitespace (spaces, tabs, folded line breaks) into one space.
 */
static char *
canonical_header_value(const char *v)
{
	StringInfoData buf;
	bool		pending_space = false;

	initStringInfo(&buf);
	for (; *v; v++)
	{
		if (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
		{
			if (buf.len > 0)
				pending_space = true;
			continue;
		}
		if (pending_space)
		{
			appendStringInfoChar(&buf, ' ');
			pending_space = false;
		}
		appendStringInfoChar(&buf, *v);
	}
	return buf.data;
}

/*
 * sigv4_canonical_request builds the six-line canonical request and
 * returns the SignedHeaders list in *signed_headers (may be NULL).
 * Headers: names lowercased and sorted, values trimmed and collapsed,
 * repeated names joined with ',' in the order sent.
 */
char *
sigv4_canonical_request(const SigV4Request *req, char **signed_headers)
{
	StringInfoData buf;
	StringInfoData sh;
	SigV4CanonHeader *hs;
	int			i;

	initStringInfo(&buf);
	initStringInfo(&sh);

	appendStringInfo(&buf, "%s\n", req->method);
	appendStringInfo(&buf, "%s\n", canonical_uri(req->path, req->s3_style));
	appendStringInfo(&buf, "%s\n", sigv4_canonical_query(req->query));

	hs = palloc(sizeof(SigV4CanonHeader) * Max(req->nheaders, 1));
	for (i = 0; i < req->nheaders; i++)
	{
		char	   *n = pstrdup(req->headers[i].name);
		char	   *c;

		for (c = n; *c; c++)
			*c = (char) pg_ascii_tolower((unsigned char) *c);
		hs[i].name = n;
		hs[i].value = canonical_header_value(req->headers[i].value ? req->headers[i].value : "");
		hs[i].seq = i;
	}
	qsort(hs, req->nheaders, sizeof(SigV4CanonHeader), canon_header_cmp);

	for (i = 0; i < req->nheaders; i++)
	{
		if (i > 0 && strcmp(hs[i].name, hs[i - 1].name) == 0)
		{
			/* repeated header: continue the previous line */
			appendStringInfo(&buf, ",%s", hs[i].value);
			continue;
		}
		if (i > 0)
			appendStringInfoChar(&buf, '\n');
		appendStringInfo(&buf, "%s:%s", hs[i].name, hs[i].value);
		if (sh.len > 0)
			appendStringInfoChar(&sh, ';');
		appendStringInfoString(&sh, hs[i].name);
	}
	if (req->nheaders > 0)
		appendStringInfoChar(&buf, '\n');
	appendStringInfoChar(&buf, '\n');
	appendStringInfo(&buf, "%s\n", sh.data);
	appendStringInfoString(&buf, req->payload_hash ? req->payload_hash : SIGV4_EMPTY_SHA256);

	if (signed_headers)
		*signed_headers = sh.data;
	return buf.data;
}

/*
 * sigv4_credential_scope returns "YYYYMMDD/region/service/aws4_request".
 */
char *
sigv4_credential_scope(const SigV4Scope *scope)
{
	return psprintf("%.8s/%s/%s/aws4_request", scope->amz_date, scope->region, scope->service);
}

/*
 * sigv4_string_to_sign returns the four-line string to sign for a
 * canonical request.
 */
char *
sigv4_string_to_sign(const SigV4Scope *scope, const char *canonical_request)
{
	char		hash[65];

	sigv4_sha256_hex(canonical_request, strlen(canonical_request), hash);
	return psprintf("%s\n%s\n%s\n%s", SIGV4_ALGORITHM, scope->amz_date,
					sigv4_credential_scope(scope), hash);
}

/*
 * sigv4_signing_key derives kSigning from the secret and the scope:
 * HMAC chain over date, region, service and "aws4_request".
 */
void
sigv4_signing_key(const char *secret, const SigV4Scope *scope, unsigned char key[32])
{
	char	   *k0 = psprintf("AWS4%s", secret);
	unsigned char kdate[32],
				kregion[32],
				kservice[32];

	hmac_sha256((unsigned char *) k0, strlen(k0), scope->amz_date, 8, kdate);
	hmac_sha256(kdate, 32, scope->region, strlen(scope->region), kregion);
	hmac_sha256(kregion, 32, scope->service, strlen(scope->service), kservice);
	hmac_sha256(kservice, 32, "aws4_request", strlen("aws4_request"), key);

	/* do not leave the secret lying around in the memory context */
	explicit_bzero(k0, strlen(k0));
	pfree(k0);
	explicit_bzero(kdate, sizeof(kdate));
	explicit_bzero(kregion, sizeof(kregion));
	explicit_bzero(kservice, sizeof(kservice));
}

/*
 * sigv4_signature returns the 64-hex-digit signature of a string to sign.
 */
char *
sigv4_signature(const char *secret, const SigV4Scope *scope, const char *string_to_sign)
{
	unsigned char key[32];
	unsigned char mac[32];
	char	   *out = palloc(65);

	sigv4_signing_key(secret, scope, key);
	hmac_sha256(key, 32, string_to_sign, strlen(string_to_sign), mac);
	explicit_bzero(key, sizeof(key));
	hex_encode_lower(mac, 32, out);
	return out;
}

/*
 * sigv4_authorization returns the Authorization header value for req.
 */
char *
sigv4_authorization(const SigV4Request *req, const SigV4Scope *scope,
					const char *access_key_id, const char *secret)
{
	char	   *signed_headers;
	char	   *creq = sigv4_canonical_request(req, &signed_headers);
	char	   *sts = sigv4_string_to_sign(scope, creq);
	char	   *sig = sigv4_signature(secret, scope, sts);

	return psprintf("%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
					SIGV4_ALGORITHM, access_key_id, sigv4_credential_scope(scope),
					signed_headers, sig);
}

/*
 * sigv4_presign_query_ext is sigv4_presign_query with an existing query
 * (e.g. response-content-type=...) and an explicit payload line.  The
 * session token is part of the canonical query; X-Amz-Signature comes
 * last and is not.  Returns the complete query string to send (the
 * caller's query first, unchanged, then the X-Amz-* parameters).
 */
char *
sigv4_presign_query_ext(const char *method, const char *path, const char *query,
						const char *host, const SigV4Scope *scope, int expires_s,
						const char *access_key_id, const char *secret,
						const char *session_token, bool s3_style,
						const char *payload_hash)
{
	StringInfoData auth;
	StringInfoData all;
	SigV4Header host_header;
	SigV4Request req;
	char	   *creq;
	char	   *sts;
	char	   *sig;

	initStringInfo(&auth);
	appendStringInfo(&auth, "X-Amz-Algorithm=%s", SIGV4_ALGORITHM);
	appendStringInfo(&auth, "&X-Amz-Credential=%s",
					 sigv4_uri_encode(psprintf("%s/%s", access_key_id,
											   sigv4_credential_scope(scope)), false));
	appendStringInfo(&auth, "&X-Amz-Date=%s", scope->amz_date);
	appendStringInfo(&auth, "&X-Amz-Expires=%d", expires_s);
	if (session_token && session_token[0])
		appendStringInfo(&auth, "&X-Amz-Security-Token=%s",
						 sigv4_uri_encode(session_token, false));
	appendStringInfoString(&auth, "&X-Amz-SignedHeaders=host");

	initStringInfo(&all);
	if (query && query[0])
		appendStringInfo(&all, "%s&", query);
	appendStringInfoString(&all, auth.data);

	host_header.name = "host";
	host_header.value = host;
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	req.query = all.data;
	req.headers = &host_header;
	req.nheaders = 1;
	req.payload_hash = payload_hash;
	req.s3_style = s3_style;

	creq = sigv4_canonical_request(&req, NULL);
	sts = sigv4_string_to_sign(scope, creq);
	sig = sigv4_signature(secret, scope, sts);
	appendStringInfo(&all, "&X-Amz-Signature=%s", sig);
	return all.data;
}

/*
 * sigv4_presign_query returns the X-Amz-* query of a presigned URL whose
 * only signed header is host.  S3 signs UNSIGNED-PAYLOAD and the path
 * S3-style; other services the empty-body hash with double encoding.
 */
char *
sigv4_presign_query(const char *method, const char *path, const char *host,
					const SigV4Scope *scope, int expires_s,
					const char *access_key_id, const char *secret,
					const char *session_token)
{
	bool		s3 = (strcmp(scope->service, "s3") == 0);

	return sigv4_presign_query_ext(method, path, NULL, host, scope, expires_s,
								   access_key_id, secret, session_token, s3,
								   s3 ? SIGV4_UNSIGNED_PAYLOAD : SIGV4_EMPTY_SHA256);
}

/*
 * sigv4_format_amz_date writes t as YYYYMMDD'T'HHMMSS'Z' (UTC).
 */
void
sigv4_format_amz_date(pg_time_t t, char out[17])
{
	time_t		tt = (time_t) t;
	struct tm	tm;

	gmtime_r(&tt, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}
