/*-------------------------------------------------------------------------
 *
 * sigv4.h
 *	  AWS Signature Version 4 on OpenSSL, exposed stage by stage so tests
 *	  can check each stage against the published AWS vectors.
 *
 * All functions are pure: no network, no ereport; strings are palloc'd in
 * CurrentMemoryContext.
 *
 * IDENTIFICATION
 *	  src/aws/sigv4.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_SIGV4_H
#define DLAKE_SIGV4_H

#include "postgres.h"

#include "pgtime.h"

#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

typedef struct SigV4Header
{
	const char *name;			/* as sent; lowercased when canonicalised */
	const char *value;
} SigV4Header;

typedef struct SigV4Request
{
	const char *method;			/* "GET", "PUT", ... */
	const char *path;			/* path exactly as sent on the wire (already
								 * percent-encoded) */
	const char *query;			/* raw query string as sent, without '?';
								 * NULL or "" for none */
	const SigV4Header *headers; /* headers to sign; must include host */
	int			nheaders;
	const char *payload_hash;	/* lowercase hex SHA-256 of the body, or
								 * UNSIGNED-PAYLOAD */
	bool		s3_style;		/* S3: no double encoding, no path
								 * normalisation */
} SigV4Request;

typedef struct SigV4Scope
{
	const char *amz_date;		/* YYYYMMDD'T'HHMMSS'Z' */
	const char *region;
	const char *service;
} SigV4Scope;

/* stages */
extern char *sigv4_canonical_request(const SigV4Request *req, char **signed_headers);
extern char *sigv4_credential_scope(const SigV4Scope *scope);
extern char *sigv4_string_to_sign(const SigV4Scope *scope, const char *canonical_request);
extern void sigv4_signing_key(const char *secret, const SigV4Scope *scope, unsigned char key[32]);
extern char *sigv4_signature(const char *secret, const SigV4Scope *scope, const char *string_to_sign);

/* whole: the value of the Authorization header */
extern char *sigv4_authorization(const SigV4Request *req, const SigV4Scope *scope,
								 const char *access_key_id, const char *secret);

/*
 * Presigned URL: returns the query string to append (all X-Amz-* params
 * including X-Amz-Signature) for a request whose only signed header is host.
 */
extern char *sigv4_presign_query(const char *method, const char *path, const char *host,
								 const SigV4Scope *scope, int expires_s,
								 const char *access_key_id, const char *secret,
								 const char *session_token);

/*
 * Same with an existing query (kept, and signed) and explicit path style and
 * payload line; returns the whole query string to send.
 */
extern char *sigv4_presign_query_ext(const char *method, const char *path,
									 const char *query, const char *host,
									 const SigV4Scope *scope, int expires_s,
									 const char *access_key_id, const char *secret,
									 const char *session_token, bool s3_style,
									 const char *payload_hash);

/* helpers */
extern void sigv4_sha256_hex(const void *data, size_t len, char out[65]);
extern char *sigv4_uri_encode(const char *s, bool keep_slash);
extern char *sigv4_canonical_query(const char *query);
extern void sigv4_format_amz_date(pg_time_t t, char out[17]);

#endif							/* DLAKE_SIGV4_H */
