
/* ---- aws/: SigV4 stages, request statistics, credential and request test helpers ---- */

CREATE FUNCTION dlake.sigv4_canonical_request(method text, path text, query text,
	headers text[], payload_hash text, s3_style boolean)
RETURNS text
AS 'MODULE_PATHNAME', 'dlake_sigv4_canonical_request'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dlake.sigv4_canonical_request(text, text, text, text[], text, boolean) IS
	'internal test helper: SigV4 canonical request (headers as name:value)';

CREATE FUNCTION dlake.sigv4_string_to_sign(amz_date text, region text, service text,
	canonical_request text)
RETURNS text
AS 'MODULE_PATHNAME', 'dlake_sigv4_string_to_sign'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dlake.sigv4_string_to_sign(text, text, text, text) IS
	'internal test helper: SigV4 string to sign';

CREATE FUNCTION dlake.sigv4_signing_key_hex(secret text, date text, region text, service text)
RETURNS text
AS 'MODULE_PATHNAME', 'dlake_sigv4_signing_key_hex'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dlake.sigv4_signing_key_hex(text, text, text, text) IS
	'internal test helper: SigV4 signing key (hex)';

CREATE FUNCTION dlake.sigv4_signature(secret text, amz_date text, region text, service text,
	string_to_sign text)
RETURNS text
AS 'MODULE_PATHNAME', 'dlake_sigv4_signature'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dlake.sigv4_signature(text, text, text, text, text) IS
	'internal test helper: SigV4 signature of a string to sign';

CREATE FUNCTION dlake.sigv4_authorization(method text, path text, query text,
	headers text[], payload_hash text, s3_style boolean, amz_date text, region text,
	service text, access_key_id text, secret text)
RETURNS text
AS 'MODULE_PATHNAME', 'dlake_sigv4_authorization'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dlake.sigv4_authorization(text, text, text, text[], text, boolean, text, text, text, text, text) IS
	'internal test helper: SigV4 Authorization header value';

CREATE FUNCTION dlake.sigv4_presign_query(method text, path text, host text, amz_date text,
	region text, service text, expires_s integer, access_key_id text, secret text,
	session_token text DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'dlake_sigv4_presign_query'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION dlake.sigv4_presign_query(text, text, text, text, text, text, integer, text, text, text) IS
	'internal test helper: query string of a SigV4 presigned URL';

CREATE FUNCTION dlake.sigv4_uri_encode(s text, keep_slash boolean DEFAULT false)
RETURNS text
AS 'MODULE_PATHNAME', 'dlake_sigv4_uri_encode'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dlake.sigv4_uri_encode(text, boolean) IS
	'internal test helper: SigV4 percent-encoding (unreserved A-Z a-z 0-9 - . _ ~)';

CREATE FUNCTION dlake.aws_request_stats(OUT requests bigint, OUT retries bigint,
	OUT throttles bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'dlake_aws_request_stats'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION dlake.aws_request_stats() IS
	'AWS requests, retries and throttled answers of the current backend';

CREATE FUNCTION dlake.resolve_credentials(profile text DEFAULT NULL, role_arn text DEFAULT NULL,
	external_id text DEFAULT NULL,
	OUT access_key_id text, OUT source text, OUT expires timestamptz, OUT has_session_token boolean)
RETURNS record
AS 'MODULE_PATHNAME', 'dlake_resolve_credentials'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE EXECUTE ON FUNCTION dlake.resolve_credentials(text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION dlake.resolve_credentials(text, text, text) IS
	'internal (superuser): run the AWS credential chain with the server identity; returns the key id and source, never the secret';

CREATE FUNCTION dlake.aws_credentials_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'dlake_aws_credentials_reset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE EXECUTE ON FUNCTION dlake.aws_credentials_reset() FROM PUBLIC;
COMMENT ON FUNCTION dlake.aws_credentials_reset() IS
	'internal (superuser): forget the credentials cached by this backend';

CREATE FUNCTION dlake.aws_request_test(service text, method text, url text,
	request_body text DEFAULT NULL, region text DEFAULT NULL, headers text[] DEFAULT NULL,
	access_key_id text DEFAULT NULL, secret_access_key text DEFAULT NULL,
	OUT status integer, OUT body text)
RETURNS record
AS 'MODULE_PATHNAME', 'dlake_aws_request_test'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE EXECUTE ON FUNCTION dlake.aws_request_test(text, text, text, text, text, text[], text, text) FROM PUBLIC;
COMMENT ON FUNCTION dlake.aws_request_test(text, text, text, text, text, text[], text, text) IS
	'internal (superuser): send one signed AWS request with retries; for tests';

CREATE FUNCTION dlake.aws_error_parse(http_status integer, body text, headers text[] DEFAULT NULL,
	OUT code text, OUT message text, OUT request_id text, OUT sqlstate text,
	OUT retryable boolean, OUT throttling boolean, OUT error_in_200 boolean)
RETURNS record
AS 'MODULE_PATHNAME', 'dlake_aws_error_parse'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION dlake.aws_error_parse(integer, text, text[]) IS
	'internal test helper: how an AWS answer is parsed and classified (code, SQLSTATE, retry)';
