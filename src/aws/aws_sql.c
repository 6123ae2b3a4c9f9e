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
 * dlake.sigv4_canonical_request(method, path, query, headers text[],
 *								 payload_hash, s3_style) returns text
 */
Datum
dlake_sigv4_canonical_request(PG_FUNCTION_ARGS)
{
	SigV4Request req;

	memset(&req, 0, sizeof(req));
	req.method = text_to_cstring(PG_GETARG_TEXT_PP(0));
	req.path = text_to_cstring(PG_GETARG_TEXT_PP(1));
	req.query = text_to_cstring(PG_GETARG_TEXT_PP(2));
	req.headers = headers_from_array(PG_GETARG_ARRAYTYPE_P(3), &req.nheaders);
	req.payload_hash = text_to_cstring(PG_GETARG_TEXT_PP(4));
	req.s3_style = PG_GETARG_BOOL(5);
	PG_RETURN_TEXT_P(cstring_to_text(sigv4_canonical_request(&req, NULL)));
}

/*
 * dlake.sigv4_string_to_sign(amz_date, region, service, canonical_request)
 */
Datum
dlake_sigv4_string_to_sign(PG_FUNCTION_ARGS)
{
	SigV4Scope	scope;

	scope.amz_date = text_to_cstring(PG_GETARG_TEXT_PP(0));
	scope.region = text_to_cstring(PG_GETARG_TEXT_PP(1));
	scope.service = text_to_cstring(PG_GETARG_TEXT_PP(2));
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

	scope.amz_date = text_to_cstring(PG_GETARG_TEXT_PP(1));
	scope.region = text_to_cstring(PG_GETARG_TEXT_PP(2));
	scope.service = text_to_cstring(PG_GETARG_TEXT_PP(3));
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

	scope.amz_date = text_to_cstring(PG_GETARG_TEXT_PP(1));
	scope.region = text_to_cstring(PG_GETARG_TEXT_PP(2));
	scope.service = text_to_cstring(PG_GETARG_TEXT_PP(3));
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

	memset(&req, 0, sizeof(req));
	req.method = text_to_cstring(PG_GETARG_TEXT_PP(0));
	req.path = text_to_cstring(PG_GETARG_TEXT_PP(1));
	req.query = text_to_cstring(PG_GETARG_TEXT_PP(2));
	req.headers = headers_from_array(PG_GETARG_ARRAYTYPE_P(3), &req.nheaders);
	req.payload_hash = text_to_cstring(PG_GETARG_TEXT_PP(4));
	req.s3_style = PG_GETARG_BOOL(5);
	scope.amz_date = text_to_cstring(PG_GETARG_TEXT_PP(6));
	scope.region = text_to_cstring(PG_GETARG_TEXT_PP(7));
	scope.service = text_to_cstring(PG_GETARG_TEXT_PP(8));
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
	scope.amz_date = text_to_cstring(PG_GETARG_TEXT_PP(3));
	scope.region = text_to_cstring(PG_GETARG_TEXT_PP(4));
	scope.service = text_to_cstring(PG_GETARG_TEXT_PP(5));
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
