/*-------------------------------------------------------------------------
 *
 * aws_sql.c
 *	  SQL-callable wrappers of the aws/ layer, for tests and diagnostics.
 *
 * The dlake.sigv4_* functions expose each SigV4 stage so the offline
 * regression test checks them against the published AWS vectors.  They are
 * pure and hold no secret beyond their arguments.
 *
 * dlake.resolve_credentials and dlake.aws_request_test reach the network
 * and the server's identity; the extension script revokes them from
 * PUBLIC.  resolve_credentials never returns a secret.
 *
 * IDENTIFICATION
 *	  src/aws/aws_sql.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "aws/aws_error.h"
#include "aws/aws_request.h"
#include "aws/credentials.h"
#include "aws/sigv4.h"
#include "guc.h"

PG_FUNCTION_INFO_V1(dlake_sigv4_canonical_request);
PG_FUNCTION_INFO_V1(dlake_sigv4_string_to_sign);
PG_FUNCTION_INFO_V1(dlake_sigv4_signing_key_hex);
PG_FUNCTION_INFO_V1(dlake_sigv4_signature);
PG_FUNCTION_INFO_V1(dlake_sigv4_authorization);
PG_FUNCTION_INFO_V1(dlake_sigv4_presign_query);
PG_FUNCTION_INFO_V1(dlake_sigv4_uri_encode);
PG_FUNCTION_INFO_V1(dlake_aws_request_stats);

/*
 * headers_from_array turns text[] of 'name:value' into SigV4Header; the
 * value is everything after the first ':' (kept raw, canonicalised later).
 */
static SigV4Header *
headers_from_array(ArrayType *arr, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	SigV4Header *hs;
	int			i,
				k = 0;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("headers must be a one-dimensional array")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
	hs = palloc(sizeof(SigV4Header) * Max(nelems, 1));
	for (i = 0; i < nelems; i++)
	{
		char	   *s;
		char	   *colon;

		if (nulls[i])
			continue;
		s = TextDatumGetCString(elems[i]);
		colon = strchr(s, ':');
		if (colon == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid header \"%s\"", s),
					 errdetail("Each header must be written as name:value.")));
		*colon = '\0';
		hs[k].name = s;
		hs[k].value = colon + 1;
		k++;
	}
	*n = k;
	return hs;
}

static void
check_amz_date(const char *d)
{
	if (strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid x-amz-date \"%s\"", d),
				 errdetail("The date must look like 20150830T123600Z.")));
}

/*
 * request_from_args fills req from the SQL arguments (method, path, query,
 * headers text[], payload_hash, s3_style) that start at argument 0.
 */
static void
request_from_args(FunctionCallInfo fcinfo, SigV4Request *req)
{
	memset(req, 0, sizeof(*req));
	req->method = text_to_cstring(PG_GETARG_TEXT_PP(0));
	req->path = text_to_cstring(PG_GETARG_TEXT_PP(1));
	req->query = text_to_cstring(PG_GETARG_TEXT_PP(2));
	req->headers = headers_from_array(PG_GETARG_ARRAYTYPE_P(3), &req->nheaders);
	req->payload_hash = text_to_cstring(PG_GETARG_TEXT_PP(4));
	req->s3_style = PG_GETARG_BOOL(5);
}

/*
 * scope_from_args fills scope from the SQL arguments (amz_date, region,
 * service) that start at argument first; the date is checked by the caller
 * (its accepted forms differ between functions).
 */
static void
scope_from_args(FunctionCallInfo fcinfo, int first, SigV4Scope *scope)
{
	scope->amz_date = text_to_cstring(PG_GETARG_TEXT_PP(first));
	scope->region = text_to_cstring(PG_GETARG_TEXT_PP(first + 1));
	scope->service = text_to_cstring(PG_GETARG_TEXT_PP(first + 2));
}

/*
 * dlake.sigv4_canonical_request(method, path, query, headers text[],
 *								 payload_hash, s3_style) returns text
 */
Datum
dlake_sigv4_canonical_request(PG_FUNCTION_ARGS)
{
	SigV4Request req;

	request_from_args(fcinfo, &req);
	PG_RETURN_TEXT_P(cstring_to_text(sigv4_canonical_request(&req, NULL)));
}

/*
 * dlake.sigv4_string_to_sign(amz_date, region, service, canonical_request)
 */
Datum
dlake_sigv4_string_to_sign(PG_FUNCTION_ARGS)
{
	SigV4Scope	scope;

	scope_from_args(fcinfo, 0, &scope);
	check_amz_date(scope.amz_date);
	PG_RETURN_TEXT_P(cstring_to_text(sigv4_string_to_sign(&scope,
														  text_to_cstring(PG_GETARG_TEXT_PP(3)))));
}

/*
 * dlake.sigv4_signing_key_hex(secret, date, region, service); date may be
 * YYYYMMDD or a full x-amz-date.
 */
Datum
dlake_sigv4_signing_key_hex(PG_FUNCTION_ARGS)
{
	SigV4Scope	scope;
	unsigned char key[32];
	char		hex[65];
	int			i;
	char	   *secret = text_to_cstring(PG_GETARG_TEXT_PP(0));

	scope_from_args(fcinfo, 1, &scope);
	if (strlen(scope.amz_date) < 8)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid signing date \"%s\"", scope.amz_date),
				 errdetail("The date must look like 20150830.")));
	sigv4_signing_key(secret, &scope, key);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	PG_RETURN_TEXT_P(cstring_to_text(hex));
}

/*
 * dlake.sigv4_signature(secret, amz_date, region, service, string_to_sign)
 */
Datum
dlake_sigv4_signature(PG_FUNCTION_ARGS)
{
	SigV4Scope	scope;
	char	   *secret = text_to_cstring(PG_GETARG_TEXT_PP(0));

	scope_from_args(fcinfo, 1, &scope);
	check_amz_date(scope.amz_date);
	PG_RETURN_TEXT_P(cstring_to_text(sigv4_signature(secret, &scope,
													 text_to_cstring(PG_GETARG_TEXT_PP(4)))));
}

/*
 * dlake.sigv4_authorization(method, path, query, headers, payload_hash,
 *		s3_style, amz_date, region, service, access_key_id, secret)
 */
Datum
dlake_sigv4_authorization(PG_FUNCTION_ARGS)
{
	SigV4Request req;
	SigV4Scope	scope;

	request_from_args(fcinfo, &req);
	scope_from_args(fcinfo, 6, &scope);
	check_amz_date(scope.amz_date);
	PG_RETURN_TEXT_P(cstring_to_text(sigv4_authorization(&req, &scope,
														 text_to_cstring(PG_GETARG_TEXT_PP(9)),
														 text_to_cstring(PG_GETARG_TEXT_PP(10)))));
}

/*
 * dlake.sigv4_presign_query(method, path, host, amz_date, region, service,
 *		expires_s, access_key_id, secret, session_token DEFAULT NULL)
 * Not STRICT because of the optional token; other NULLs give NULL.
 */
Datum
dlake_sigv4_presign_query(PG_FUNCTION_ARGS)
{
	SigV4Scope	scope;
	int			expires;
	int			i;

	for (i = 0; i < 9; i++)
		if (PG_ARGISNULL(i))
			PG_RETURN_NULL();
	scope_from_args(fcinfo, 3, &scope);
	check_amz_date(scope.amz_date);
	expires = PG_GETARG_INT32(6);
	if (expires < 1 || expires > 604800)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("presigned URL lifetime %d s is out of range", expires),
				 errdetail("X-Amz-Expires must be between 1 second and 604800 seconds (7 days).")));
	PG_RETURN_TEXT_P(cstring_to_text(
									 sigv4_presign_query(text_to_cstring(PG_GETARG_TEXT_PP(0)),
														 text_to_cstring(PG_GETARG_TEXT_PP(1)),
														 text_to_cstring(PG_GETARG_TEXT_PP(2)),
														 &scope, expires,
														 text_to_cstring(PG_GETARG_TEXT_PP(7)),
														 text_to_cstring(PG_GETARG_TEXT_PP(8)),
														 PG_ARGISNULL(9) ? NULL :
														 text_to_cstring(PG_GETARG_TEXT_PP(9)))));
}

/*
 * dlake.sigv4_uri_encode(s, keep_slash)
 */
Datum
dlake_sigv4_uri_encode(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(sigv4_uri_encode(text_to_cstring(PG_GETARG_TEXT_PP(0)),
													  PG_GETARG_BOOL(1))));
}

/*
 * dlake.aws_request_stats() returns (requests, retries, throttles) of the
 * current backend.
 */
Datum
dlake_aws_request_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = Int64GetDatum(aws_request_stats.requests);
	values[1] = Int64GetDatum(aws_request_stats.retries);
	values[2] = Int64GetDatum(aws_request_stats.throttles);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

PG_FUNCTION_INFO_V1(dlake_resolve_credentials);
PG_FUNCTION_INFO_V1(dlake_aws_request_test);
PG_FUNCTION_INFO_V1(dlake_aws_credentials_reset);

static char *
text_arg_or_null(FunctionCallInfo fcinfo, int n)
{
	if (PG_NARGS() <= n || PG_ARGISNULL(n))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

static void
require_superuser(const char *fn)
{
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function %s", fn),
				 errdetail("This internal test function uses the server's own AWS identity and is reserved to superusers.")));
}

/*
 * report_cred_failure raises the ERROR for a failed credential resolution.
 */
static void
report_cred_failure(AwsCredStatus st, const char *msg)
{
	ereport(ERROR,
			(errcode(st == AWS_CRED_NOT_ALLOWED ? ERRCODE_INSUFFICIENT_PRIVILEGE :
					 st == AWS_CRED_PROVIDER_ERROR ? ERRCODE_CONNECTION_FAILURE :
					 ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("could not resolve AWS credentials"),
			 errdetail("%s", msg ? msg : "Unknown error."),
			 errhint("See docs/credentials.md for the order in which credentials are looked up.")));
}

static void
fill_cred_options(AwsCredentialOptions *o)
{
	memset(o, 0, sizeof(*o));
	o->allow_server_identity = true;
	o->sts_endpoint = dlake_sts_endpoint;
	o->imds_endpoint = dlake_imds_endpoint;
}

/*
 * dlake.resolve_credentials(profile, role_arn, external_id) runs the
 * credential chain with the server identity allowed and returns who won,
 * never the secret.  Superusers only.
 */
Datum
dlake_resolve_credentials(PG_FUNCTION_ARGS)
{
	AwsCredentialOptions o;
	AwsCredentials c;
	AwsCredStatus st;
	char	   *msg = NULL;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	require_superuser("dlake.resolve_credentials");
	fill_cred_options(&o);
	o.profile = text_arg_or_null(fcinfo, 0);
	o.role_arn = text_arg_or_null(fcinfo, 1);
	o.external_id = text_arg_or_null(fcinfo, 2);
	o.region = aws_region_resolve(NULL, o.profile, true);

	st = aws_credentials_resolve(&o, &c, &msg);
	if (st != AWS_CRED_OK)
		report_cred_failure(st, msg);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = CStringGetTextDatum(c.access_key_id);
	values[1] = CStringGetTextDatum(c.source);
	if (c.expiration == DT_NOEND)
		nulls[2] = true;
	else
		values[2] = TimestampTzGetDatum(c.expiration);
	values[3] = BoolGetDatum(c.session_token != NULL);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * dlake.aws_credentials_reset() empties this backend's credential cache.
 */
Datum
dlake_aws_credentials_reset(PG_FUNCTION_ARGS)
{
	require_superuser("dlake.aws_credentials_reset");
	aws_credentials_invalidate_cache();
	PG_RETURN_VOID();
}

/*
 * dlake.aws_request_test(service, method, url, body, region, headers,
 *		access_key_id, secret_access_key) sends one signed request through
 * aws_request_execute (with retries) and returns status and body.  Keys
 * default to the credential chain.  Superusers only: for tests.
 */
Datum
dlake_aws_request_test(PG_FUNCTION_ARGS)
{
	char	   *service = text_arg_or_null(fcinfo, 0);
	char	   *method = text_arg_or_null(fcinfo, 1);
	char	   *url = text_arg_or_null(fcinfo, 2);
	char	   *body = text_arg_or_null(fcinfo, 3);
	char	   *region = text_arg_or_null(fcinfo, 4);
	char	   *ak = text_arg_or_null(fcinfo, 6);
	char	   *sk = text_arg_or_null(fcinfo, 7);
	AwsCredentialOptions o;
	AwsCredentials c;
	AwsCredStatus cst;
	char	   *msg = NULL;
	AwsEndpoint *ep;
	char	   *path = NULL;
	char	   *q;
	AwsRequest	req;
	AwsResponse resp;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	require_superuser("dlake.aws_request_test");
	if (service == NULL || method == NULL || url == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("service, method and url must not be null")));
	ep = aws_endpoint_from_url(url, &path);
	if (ep == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid URL \"%s\"", url),
				 errdetail("The URL must start with http:// or https://.")));
	q = strchr(path, '?');
	if (q)
		*q++ = '\0';

	fill_cred_options(&o);
	o.access_key_id = ak;
	o.secret_access_key = sk;
	o.region = region ? region : aws_region_resolve(NULL, NULL, true);
	cst = aws_credentials_resolve(&o, &c, &msg);
	if (cst != AWS_CRED_OK)
		report_cred_failure(cst, msg);

	memset(&req, 0, sizeof(req));
	req.service = service;
	req.region = o.region;
	req.method = method;
	req.endpoint = ep;
	req.path = path;
	req.query = q;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.head = (strcmp(method, "HEAD") == 0);
	req.idempotent = (strcmp(method, "POST") != 0);
	req.describe = psprintf("%s %s", method, url);
	if (!PG_ARGISNULL(5))
	{
		int			n = 0;
		SigV4Header *hs = headers_from_array(PG_GETARG_ARRAYTYPE_P(5), &n);
		int			i;

		for (i = 0; i < n; i++)
			req.headers = lappend(req.headers, dlake_http_make_header(hs[i].name, hs[i].value));
	}

	if (aws_request_execute(&req, &c, &resp) != AWS_OK)
		aws_report_error(&req, &resp);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = Int32GetDatum((int32) resp.http_status);
	values[1] = CStringGetTextDatum(resp.body.data);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

PG_FUNCTION_INFO_V1(dlake_aws_error_parse);

/*
 * dlake.aws_error_parse(http_status, body, headers text[]) classifies an
 * AWS answer the way aws_request_execute does: the parsed code, message
 * and request id, the SQLSTATE aws_report_error would use, whether it is
 * retried and whether it counts as throttling, and whether the body is an
 * S3 200-with-<Error> document.  Pure: for the offline tests.
 */
Datum
dlake_aws_error_parse(PG_FUNCTION_ARGS)
{
	AwsResponse resp;
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};
	char	   *body;
	bool		error_200;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	body = text_to_cstring(PG_GETARG_TEXT_PP(1));
	memset(&resp, 0, sizeof(resp));
	resp.http_status = PG_GETARG_INT32(0);
	initStringInfo(&resp.body);
	appendStringInfoString(&resp.body, body);
	if (!PG_ARGISNULL(2))
	{
		int			n = 0;
		SigV4Header *hs = headers_from_array(PG_GETARG_ARRAYTYPE_P(2), &n);
		int			i;

		for (i = 0; i < n; i++)
		{
			DlakeHttpHeader *h = dlake_http_make_header(hs[i].name, hs[i].value);
			char	   *c;

			for (c = h->name; *c; c++)
				*c = (char) pg_ascii_tolower((unsigned char) *c);
			resp.headers = lappend(resp.headers, h);
		}
	}
	error_200 = (resp.http_status == 200 && aws_xml_root_is_error(resp.body.data, resp.body.len));
	aws_parse_error_body(&resp);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	if (resp.aws_code)
		values[0] = CStringGetTextDatum(resp.aws_code);
	else
		nulls[0] = true;
	if (resp.aws_message)
		values[1] = CStringGetTextDatum(resp.aws_message);
	else
		nulls[1] = true;
	if (resp.request_id)
		values[2] = CStringGetTextDatum(resp.request_id);
	else
		nulls[2] = true;
	values[3] = CStringGetTextDatum(unpack_sql_state(aws_error_sqlstate(&resp)));
	values[4] = BoolGetDatum(aws_error_is_retryable(error_200 ? 500 : resp.http_status,
													resp.aws_code));
	values[5] = BoolGetDatum(aws_error_is_throttling(resp.aws_code));
	values[6] = BoolGetDatum(error_200);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
