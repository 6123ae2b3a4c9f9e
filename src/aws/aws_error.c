/*-------------------------------------------------------------------------
 *
 * aws_error.c
 *	  AWS error bodies and the boundary that turns them into ereport.
 *
 * S3 and STS answer errors in XML (<Error><Code>..</Code><Message>..
 * </Message><RequestId>..</RequestId></Error>, STS wrapped in
 * <ErrorResponse>); Kinesis and other JSON services answer
 * {"__type": "prefix#Code", "message": ".."} with the request id in the
 * x-amzn-RequestId header.  A tiny tag extractor is enough for the XML:
 * only three known leaf elements are read, and their text is unescaped.
 *
 * aws_report_error() maps the error to a SQLSTATE, keeps the AWS code,
 * message and request id in the detail, and names the request in the
 * context line.  Messages echoed by the service that could contain the
 * canonical request (and with it the session token) are cut short.
 *
 * IDENTIFICATION
 *	  src/aws/aws_error.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <cjson/cJSON.h>

#include "miscadmin.h"

#include "aws/aws_error.h"
#include "aws/aws_request.h"

/* codes the AWS SDKs treat as throttling (standard retry mode) */
static const char *const throttling_codes[] = {
	"SlowDown", "Throttling", "ThrottlingException", "ThrottledException",
	"RequestThrottledException", "TooManyRequestsException",
	"ProvisionedThroughputExceededException", "TransactionInProgressException",
	"RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException",
	"RequestThrottled", "EC2ThrottledException", "SlowDownRead", "SlowDownWrite",
	NULL
};

/* transient codes retried whatever the HTTP status */
static const char *const transient_codes[] = {
	"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
	"InternalError", "ServiceUnavailable", "InternalFailure",
	"IDPCommunicationError", "IncompleteBody",
	NULL
};

static const char *const auth_codes[] = {
	"AccessDenied", "AccessDeniedException", "InvalidAccessKeyId",
	"SignatureDoesNotMatch", "InvalidSignatureException", "IncompleteSignature",
	"ExpiredToken", "ExpiredTokenException", "InvalidToken",
	"InvalidClientTokenId", "UnrecognizedClientException", "MissingAuthenticationToken",
	"RequestTimeTooSkewed", "AuthorizationHeaderMalformed", "RequestExpired",
	NULL
};

static const char *const not_found_codes[] = {
	"NoSuchBucket", "NoSuchKey", "NoSuchUpload", "ResourceNotFoundException",
	"NotFound", "NoSuchEntity",
	NULL
};

static bool
code_in(const char *code, const char *const *list)
{
	int			i;

	if (code == NULL)
		return false;
	for (i = 0; list[i]; i++)
		if (strcmp(code, list[i]) == 0)
			return true;
	return false;
}

/*
 * aws_error_is_throttling is true for the SDKs' throttling codes.
 */
bool
aws_error_is_throttling(const char *code)
{
	return code_in(code, throttling_codes);
}

/*
 * aws_error_is_retryable decides whether an answer is worth another
 * attempt: 5xx, throttling and transient codes.  Auth and other 4xx
 * errors are never retried.
 */
bool
aws_error_is_retryable(long http_status, const char *code)
{
	if (code_in(code, auth_codes))
		return false;
	if (aws_error_is_throttling(code) || code_in(code, transient_codes))
		return true;
	if (http_status == 429)
		return true;
	return http_status >= 500 && http_status <= 599 && http_status != 501;
}

/*
 * xml_unescape decodes the five predefined entities and numeric
 * character references (ASCII range kept simple: others are UTF-8 encoded).
 */
static char *
xml_unescape(const char *s, size_t len)
{
	StringInfoData buf;
	size_t		i;

	initStringInfo(&buf);
	for (i = 0; i < len; i++)
	{
		if (s[i] == '&')
		{
			const char *semi = memchr(s + i, ';', len - i);
			size_t		elen = semi ? (size_t) (semi - (s + i)) + 1 : 0;

			if (elen == 5 && strncmp(s + i, "&amp;", 5) == 0)
				appendStringInfoChar(&buf, '&');
			else if (elen == 4 && strncmp(s + i, "&lt;", 4) == 0)
				appendStringInfoChar(&buf, '<');
			else if (elen == 4 && strncmp(s + i, "&gt;", 4) == 0)
				appendStringInfoChar(&buf, '>');
			else if (elen == 6 && strncmp(s + i, "&quot;", 6) == 0)
				appendStringInfoChar(&buf, '"');
			else if (elen == 6 && strncmp(s + i, "&apos;", 6) == 0)
				appendStringInfoChar(&buf, '\'');
			else if (elen > 3 && s[i + 1] == '#')
			{
				unsigned long cp;
				char		num[16];
				size_t		nlen = elen - 3;

				if (nlen >= sizeof(num))
					nlen = sizeof(num) - 1;
				memcpy(num, s + i + 2, nlen);
				num[nlen] = '\0';
				cp = (num[0] == 'x') ? strtoul(num + 1, NULL, 16) : strtoul(num, NULL, 10);
				if (cp > 0 && cp < 0x80)
					appendStringInfoChar(&buf, (char) cp);
				else if (cp < 0x800)
				{
					appendStringInfoChar(&buf, (char) (0xC0 | (cp >> 6)));
					appendStringInfoChar(&buf, (char) (0x80 | (cp & 0x3F)));
				}
				else if (cp < 0x10000)
				{
					appendStringInfoChar(&buf, (char) (0xE0 | (cp >> 12)));
					appendStringInfoChar(&buf, (char) (0x80 | ((cp >> 6) & 0x3F)));
					appendStringInfoChar(&buf, (char) (0x80 | (cp & 0x3F)));
				}
				else if (cp < 0x110000)
				{
					appendStringInfoChar(&buf, (char) (0xF0 | (cp >> 18)));
					appendStringInfoChar(&buf, (char) (0x80 | ((cp >> 12) & 0x3F)));
					appendStringInfoChar(&buf, (char) (0x80 | ((cp >> 6) & 0x3F)));
					appendStringInfoChar(&buf, (char) (0x80 | (cp & 0x3F)));
				}
			}
			else
			{
				appendStringInfoChar(&buf, '&');
				continue;
			}
			i += elen - 1;
			continue;
		}
		appendStringInfoChar(&buf, s[i]);
	}
	return buf.data;
}

/*
 * aws_xml_tag_value returns the unescaped text of the first <tag>..</tag>
 * element in xml (no attributes, no nesting inside), or NULL.  Enough for
 * the flat leaf elements of AWS error and credential responses.
 */
char *
aws_xml_tag_value(const char *xml, size_t len, const char *tag)
{
	char	   *open = psprintf("<%s>", tag);
	char	   *close = psprintf("</%s>", tag);
	const char *end = xml + len;
	const char *p = xml;
	size_t		olen = strlen(open);
	size_t		clen = strlen(close);

	while (p + olen <= end)
	{
		const char *s = memchr(p, '<', end - p);
		const char *q;

		if (s == NULL || s + olen > end)
			break;
		if (strncmp(s, open, olen) != 0)
		{
			p = s + 1;
			continue;
		}
		s += olen;
		for (q = s; q + clen <= end; q++)
		{
			if (*q == '<' && strncmp(q, close, clen) == 0)
				return xml_unescape(s, q - s);
		}
		break;
	}
	return NULL;
}

/*
 * aws_xml_root_is_error is true when the document element is <Error>: S3
 * answers CompleteMultipartUpload and CopyObject failures with 200 and
 * such a body.
 */
bool
aws_xml_root_is_error(const char *xml, size_t len)
{
	const char *p = xml;
	const char *end = xml + len;

	for (;;)
	{
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
			p++;
		if (p + 2 <= end && p[0] == '<' && p[1] == '?')
		{
			const char *q = p;

			while (q + 1 < end && !(q[0] == '?' && q[1] == '>'))
				q++;
			if (q + 1 >= end)
				return false;
			p = q + 2;
			continue;
		}
		break;
	}
	return (end - p >= 7 && strncmp(p, "<Error>", 7) == 0) ||
		(end - p >= 7 && strncmp(p, "<Error ", 7) == 0);
}

/*
 * mask_message cuts a service message where it starts echoing the
 * canonical request or string to sign (they include the session token).
 */
static char *
mask_message(char *msg)
{
	static const char *const markers[] = {
		"The Canonical String", "The String-to-Sign", "CanonicalRequest", NULL
	};
	int			i;

	if (msg == NULL)
		return NULL;
	for (i = 0; markers[i]; i++)
	{
		char	   *m = strstr(msg, markers[i]);

		if (m)
		{
			while (m > msg && (m[-1] == ' ' || m[-1] == '\n'))
				m--;
			*m = '\0';
		}
	}
	return msg;
}

/*
 * aws_parse_error_body fills aws_code / aws_message / request_id of resp
 * from its body (XML or JSON) and headers.  Leaves them NULL when absent
 * (HEAD answers have no body).
 */
void
aws_parse_error_body(AwsResponse *resp)
{
	const char *body = resp->body.data;
	size_t		len = resp->body.len;
	const char *rid;
	size_t		i = 0;

	while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
		i++;

	if (i < len && body[i] == '{')
	{
		cJSON	   *root = cJSON_ParseWithLength(body, len);

		if (root != NULL)
		{
			cJSON	   *t = cJSON_GetObjectItemCaseSensitive(root, "__type");
			cJSON	   *m = cJSON_GetObjectItemCaseSensitive(root, "message");

			if (!cJSON_IsString(t))
				t = cJSON_GetObjectItemCaseSensitive(root, "code");
			if (!cJSON_IsString(t))
				t = cJSON_GetObjectItemCaseSensitive(root, "Code");
			if (!cJSON_IsString(m))
				m = cJSON_GetObjectItemCaseSensitive(root, "Message");
			if (cJSON_IsString(t) && t->valuestring)
			{
				const char *c = strrchr(t->valuestring, '#');

				resp->aws_code = pstrdup(c ? c + 1 : t->valuestring);
				/* some services append ":http://..." to the type */
				if (strchr(resp->aws_code, ':'))
					*strchr(resp->aws_code, ':') = '\0';
			}
			if (cJSON_IsString(m) && m->valuestring)
				resp->aws_message = pstrdup(m->valuestring);
			cJSON_Delete(root);
		}
	}
	else if (i < len && body[i] == '<')
	{
		resp->aws_code = aws_xml_tag_value(body, len, "Code");
		resp->aws_message = aws_xml_tag_value(body, len, "Message");
		resp->request_id = aws_xml_tag_value(body, len, "RequestId");
	}

	if (resp->request_id == NULL)
	{
		rid = aws_response_header(resp, "x-amz-request-id");
		if (rid == NULL)
			rid = aws_response_header(resp, "x-amzn-requestid");
		if (rid)
			resp->request_id = pstrdup(rid);
	}
	resp->aws_message = mask_message(resp->aws_message);
}

/*
 * aws_response_header returns a response header by lowercase name.
 */
const char *
aws_response_header(const AwsResponse *resp, const char *lname)
{
	return dlake_http_find_header(resp->headers, lname);
}

/*
 * aws_error_sqlstate maps a failed response to a SQLSTATE.
 */
int
aws_error_sqlstate(const AwsResponse *resp)
{
	const char *code = resp->aws_code;

	if (resp->transport_error != DLAKE_HTTP_OK)
	{
		switch (resp->transport_error)
		{
			case DLAKE_HTTP_INTERRUPTED:
				return ERRCODE_QUERY_CANCELED;
			case DLAKE_HTTP_TOO_LARGE:
				return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			case DLAKE_HTTP_INTERNAL:
				return ERRCODE_INTERNAL_ERROR;
			case DLAKE_HTTP_CONNECT_FAILED:
			case DLAKE_HTTP_TLS_ERROR:
				return ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION;
			default:
				return ERRCODE_CONNECTION_FAILURE;
		}
	}
	if (code_in(code, auth_codes))
		return ERRCODE_INSUFFICIENT_PRIVILEGE;
	if (code_in(code, not_found_codes))
		return ERRCODE_UNDEFINED_OBJECT;
	if (aws_error_is_throttling(code))
		return ERRCODE_CONFIGURATION_LIMIT_EXCEEDED;
	if (code && strcmp(code, "InvalidRange") == 0)
		return ERRCODE_INVALID_PARAMETER_VALUE;
	if (code == NULL || code[0] == '\0')
	{
		if (resp->http_status == 401 || resp->http_status == 403)
			return ERRCODE_INSUFFICIENT_PRIVILEGE;
		if (resp->http_status == 404)
			return ERRCODE_UNDEFINED_OBJECT;
		if (resp->http_status == 429)
			return ERRCODE_CONFIGURATION_LIMIT_EXCEEDED;
	}
	return ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
}

/*
 * aws_service_label names a service in messages.
 */
const char *
aws_service_label(const char *service)
{
	if (service == NULL)
		return "AWS";
	if (strcmp(service, "s3") == 0)
		return "S3";
	if (strcmp(service, "kinesis") == 0)
		return "Kinesis";
	if (strcmp(service, "sts") == 0)
		return "STS";
	return service;
}

/*
 * error_summary is the short phrase after "<service> request failed: ".
 */
static const char *
error_summary(const AwsResponse *resp)
{
	const char *code = resp->aws_code;

	if (resp->transport_error != DLAKE_HTTP_OK)
		return dlake_http_strerror(resp->transport_error);
	if (code == NULL || code[0] == '\0')
	{
		switch (resp->http_status)
		{
			case 400:
				return "bad request";
			case 401:
			case 403:
				return "access denied";
			case 404:
				return "not found";
			case 429:
				return "request throttled";
			default:
				return psprintf("HTTP status %ld", resp->http_status);
		}
	}
	if (strcmp(code, "AccessDenied") == 0 || strcmp(code, "AccessDeniedException") == 0)
		return "access denied";
	if (strcmp(code, "SignatureDoesNotMatch") == 0 ||
		strcmp(code, "InvalidSignatureException") == 0)
		return "signature does not match";
	if (strcmp(code, "InvalidAccessKeyId") == 0 ||
		strcmp(code, "UnrecognizedClientException") == 0 ||
		strcmp(code, "InvalidClientTokenId") == 0)
		return "invalid access key id";
	if (strcmp(code, "ExpiredToken") == 0 || strcmp(code, "ExpiredTokenException") == 0)
		return "security token expired";
	if (strcmp(code, "InvalidToken") == 0)
		return "invalid security token";
	if (strcmp(code, "RequestTimeTooSkewed") == 0)
		return "clock skew too large";
	if (strcmp(code, "NoSuchBucket") == 0)
		return "bucket does not exist";
	if (strcmp(code, "NoSuchKey") == 0)
		return "object does not exist";
	if (strcmp(code, "NoSuchUpload") == 0)
		return "multipart upload does not exist";
	if (strcmp(code, "ResourceNotFoundException") == 0)
		return "resource not found";
	if (aws_error_is_throttling(code))
		return "request throttled";
	return psprintf("%s (HTTP status %ld)", code, resp->http_status);
}

/*
 * error_hint suggests where to look, or NULL.
 */
static const char *
error_hint(const AwsRequest *req, const AwsResponse *resp)
{
	const char *code = resp->aws_code;

	if (resp->transport_error == DLAKE_HTTP_CONNECT_FAILED ||
		resp->transport_error == DLAKE_HTTP_TIMEOUT ||
		resp->transport_error == DLAKE_HTTP_IO_ERROR)
		return psprintf("Check that %s is reachable. Each attempt is bounded by dlake.connect_timeout and dlake.request_timeout; dlake.max_retries sets the number of retries.",
						req->endpoint ? req->endpoint->base_url : "the endpoint");
	if (resp->transport_error == DLAKE_HTTP_TLS_ERROR)
		return "Check the server certificate, the ca_file server option or dlake.ca_file.";
	if (resp->transport_error != DLAKE_HTTP_OK)
		return NULL;
	if (code == NULL)
		return NULL;
	if (strcmp(code, "SignatureDoesNotMatch") == 0 ||
		strcmp(code, "InvalidSignatureException") == 0)
		return "Check secret_access_key in the user mapping (or the credentials the server process uses).";
	if (strcmp(code, "InvalidAccessKeyId") == 0 ||
		strcmp(code, "UnrecognizedClientException") == 0 ||
		strcmp(code, "InvalidClientTokenId") == 0)
		return "Check access_key_id in the user mapping (or the credentials the server process uses).";
	if (strcmp(code, "AccessDenied") == 0 || strcmp(code, "AccessDeniedException") == 0)
		return "Check the IAM policy of the credentials in use; docs/credentials.md lists the actions each feature needs.";
	if (strcmp(code, "ExpiredToken") == 0 || strcmp(code, "ExpiredTokenException") == 0)
		return "Temporary credentials expired: renew session_token in the user mapping, or let dlake obtain credentials through role_arn or the server identity.";
	if (strcmp(code, "RequestTimeTooSkewed") == 0)
		return "Synchronise the database server's clock (NTP).";
	if (aws_error_is_throttling(code))
		return "Lower the request rate, or raise dlake.max_retries and dlake.retry_max_delay.";
	return NULL;
}

/*
 * aws_report_error raises the ERROR for a failed request.  For an
 * interrupted request it lets CHECK_FOR_INTERRUPTS raise the real
 * cancel/terminate error first.
 */
void
aws_report_error(const AwsRequest *req, const AwsResponse *resp)
{
	const char *label = aws_service_label(req->service);
	const char *describe = req->describe ? req->describe :
		psprintf("%s %s", req->method, req->path ? req->path : "/");
	const char *hint;

	if (resp->transport_error == DLAKE_HTTP_INTERRUPTED)
	{
		CHECK_FOR_INTERRUPTS();
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("canceling %s request due to user request", label),
				 errcontext("%s request: %s", label, describe)));
	}

	hint = error_hint(req, resp);
	if (resp->transport_error != DLAKE_HTTP_OK)
		ereport(ERROR,
				(errcode(aws_error_sqlstate(resp)),
				 errmsg("%s request failed: %s", label, error_summary(resp)),
				 errdetail_internal("Network error: %s, attempts: %d.",
									resp->transport_message ? resp->transport_message :
									dlake_http_strerror(resp->transport_error),
									resp->attempts),
				 hint ? errhint("%s", hint) : 0,
				 errcontext("%s request: %s", label, describe)));

	ereport(ERROR,
			(errcode(aws_error_sqlstate(resp)),
			 errmsg("%s request failed: %s", label, error_summary(resp)),
			 errdetail_internal("AWS error code: %s, message: %s, request id: %s, HTTP status: %ld, attempts: %d.",
								resp->aws_code ? resp->aws_code : "(none)",
								resp->aws_message ? resp->aws_message : "(none)",
								resp->request_id ? resp->request_id : "(none)",
								resp->http_status, resp->attempts),
			 hint ? errhint("%s", hint) : 0,
			 errcontext("%s request: %s", label, describe)));
	pg_unreachable();
}
