/*-------------------------------------------------------------------------
 *
 * kinesis.c
 *	  Kinesis Data Streams JSON 1.1 client: builds request bodies, sends
 *	  them as signed POST / requests through aws_request_execute(), and
 *	  parses the answers with cJSON.  Errors are classified into a
 *	  KinesisError (throttled, transient, expired iterator, not found,
 *	  fatal) so that callers choose between retrying and surfacing.
 *
 *	  Requests always carry StreamName (emulators such as kinesalite ignore
 *	  StreamARN), ListShards follows NextToken and falls back to
 *	  DescribeStream when the endpoint does not support it.
 *
 * IDENTIFICATION
 *	  src/kinesis/kinesis.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include <cjson/cJSON.h>

#include "common/base64.h"
#include "miscadmin.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#include "kinesis/kinesis.h"

#define KINESIS_MAX_RESPONSE (96 * 1024 * 1024)
#define KINESIS_PUT_MAX_ENTRIES 500
#define KINESIS_PUT_MAX_BYTES (5 * 1024 * 1024)

/*
 * kinesis_epoch_to_timestamptz converts the API's epoch seconds (with
 * millisecond fraction, possibly printed in exponent notation) into a
 * timestamptz rounded to the millisecond.
 */
TimestampTz
kinesis_epoch_to_timestamptz(double epoch_seconds)
{
	double		ms = rint(epoch_seconds * 1000.0);

	return (TimestampTz) (ms * 1000.0) -
		((TimestampTz) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
}

const char *
kinesis_iterator_type_name(KinesisIteratorType t)
{
	switch (t)
	{
		case KINESIS_ITER_TRIM_HORIZON:
			return "TRIM_HORIZON";
		case KINESIS_ITER_LATEST:
			return "LATEST";
		case KINESIS_ITER_AT_TIMESTAMP:
			return "AT_TIMESTAMP";
		case KINESIS_ITER_AT_SEQUENCE:
			return "AT_SEQUENCE_NUMBER";
		case KINESIS_ITER_AFTER_SEQUENCE:
			return "AFTER_SEQUENCE_NUMBER";
	}
	return "TRIM_HORIZON";
}

static void
set_error(KinesisError *err, KinesisErrorKind kind, long http_status,
		  const char *code, const char *message)
{
	err->kind = kind;
	err->http_status = http_status;
	err->code = code ? pstrdup(code) : NULL;
	err->message = pstrdup(message ? message : (code ? code : "unknown error"));
}

/*
 * kinesis_build_request fills req for one operation (strings in the
 * current memory context; target is the caller's buffer).
 */
static void
kinesis_build_request(const KinesisClient *client, const char *op, StringInfo body,
					  bool idempotent, AwsRequest *req, char *target, size_t target_size)
{
	memset(req, 0, sizeof(*req));
	snprintf(target, target_size, "Kinesis_20131202.%s", op);

	req->service = "kinesis";
	req->region = client->region;
	req->method = "POST";
	req->endpoint = client->endpoint;
	req->path = "/";
	req->query = NULL;
	req->headers = list_make2(dlake_http_make_header("Content-Type",
													 "application/x-amz-json-1.1"),
							  dlake_http_make_header("X-Amz-Target", target));
	req->body = body->data;
	req->body_len = body->len;
	req->idempotent = idempotent;
	req->max_response_bytes = KINESIS_MAX_RESPONSE;
	req->describe = psprintf("Kinesis %s on stream \"%s\"", op,
							 client->stream_name ? client->stream_name : "");
}

/*
 * kinesis_classify turns the outcome of one operation into err; true on
 * success (resp then holds the JSON body).
 */
static bool
kinesis_classify(const char *op, AwsStatus st, const AwsResponse *resp,
				 KinesisError *err)
{
	memset(err, 0, sizeof(*err));
	err->throttles = resp->throttles;
	err->attempts = resp->attempts;

	switch (st)
	{
		case AWS_OK:
			err->kind = KINESIS_OK;
			return true;
		case AWS_ERR_INTERRUPTED:
			set_error(err, KINESIS_ERR_INTERRUPTED, 0, NULL, "request interrupted");
			return false;
		case AWS_ERR_TRANSPORT:
			set_error(err, KINESIS_ERR_TRANSIENT, 0, NULL,
					  psprintf("%s: %s", op,
							   resp->transport_message ? resp->transport_message :
							   dlake_http_strerror(resp->transport_error)));
			return false;
		case AWS_ERR_SERVICE:
			break;
	}

	{
		const char *code = resp->aws_code;
		char	   *msg;
		KinesisErrorKind kind;

		msg = psprintf("%s: %s%s%s (HTTP %ld)", op,
					   code ? code : "HTTP error",
					   resp->aws_message ? ": " : "",
					   resp->aws_message ? resp->aws_message : "",
					   resp->http_status);
		if (code && strcmp(code, "ExpiredIteratorException") == 0)
			kind = KINESIS_ERR_EXPIRED_ITERATOR;
		else if (code && aws_error_is_throttling(code))
			kind = KINESIS_ERR_THROTTLED;
		else if (code && strcmp(code, "ResourceNotFoundException") == 0)
			kind = KINESIS_ERR_NOT_FOUND;
		else if (resp->http_status >= 500 ||
				 aws_error_is_retryable(resp->http_status, code))
			kind = KINESIS_ERR_TRANSIENT;
		else
			kind = KINESIS_ERR_FATAL;
		set_error(err, kind, resp->http_status, code, msg);
	}
	return false;
}

/*
 * kinesis_call sends one operation and classifies the outcome.  On success
 * resp holds the JSON body.
 */
static bool
kinesis_call(const KinesisClient *client, const char *op, StringInfo body,
			 bool idempotent, AwsResponse *resp, KinesisError *err)
{
	AwsRequest	req;
	AwsStatus	st;
	char		target[96];

	kinesis_build_request(client, op, body, idempotent, &req, target, sizeof(target));
	st = aws_request_execute(&req, client->creds, resp);
	return kinesis_classify(op, st, resp, err);
}

/* parse resp's body; sets a protocol error and returns NULL on failure */
static cJSON *
parse_body(const AwsResponse *resp, const char *op, KinesisError *err)
{
	cJSON	   *root = cJSON_ParseWithLength(resp->body.data, resp->body.len);

	if (root == NULL || !cJSON_IsObject(root))
	{
		if (root)
			cJSON_Delete(root);
		set_error(err, KINESIS_ERR_PROTOCOL, resp->http_status, NULL,
				  psprintf("%s: response is not a JSON object", op));
		return NULL;
	}
	return root;
}

static char *
json_string_or_null(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (item && cJSON_IsString(item) && item->valuestring)
		return pstrdup(item->valuestring);
	return NULL;
}

static void
append_key_string(StringInfo buf, const char *key, const char *value, bool comma)
{
	if (comma)
		appendStringInfoChar(buf, ',');
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
	escape_json(buf, value);
}

bool
kinesis_describe_stream_summary(const KinesisClient *client,
								KinesisStreamSummary *out, KinesisError *err)
{
	StringInfoData body;
	AwsResponse resp;
	cJSON	   *root;
	const cJSON *sum;

	initStringInfo(&body);
	appendStringInfoChar(&body, '{');
	append_key_string(&body, "StreamName", client->stream_name, false);
	appendStringInfoChar(&body, '}');
	if (!kinesis_call(client, "DescribeStreamSummary", &body, true, &resp, err))
		return false;
	if ((root = parse_body(&resp, "DescribeStreamSummary", err)) == NULL)
		return false;
	memset(out, 0, sizeof(*out));
	sum = cJSON_GetObjectItemCaseSensitive(root, "StreamDescriptionSummary");
	if (sum)
	{
		const cJSON *n;

		out->status = json_string_or_null(sum, "StreamStatus");
		n = cJSON_GetObjectItemCaseSensitive(sum, "RetentionPeriodHours");
		if (cJSON_IsNumber(n))
			out->retention_hours = (int) n->valuedouble;
		n = cJSON_GetObjectItemCaseSensitive(sum, "OpenShardCount");
		if (cJSON_IsNumber(n))
			out->open_shards = (int) n->valuedouble;
	}
	cJSON_Delete(root);
	if (out->status == NULL)
	{
		set_error(err, KINESIS_ERR_PROTOCOL, 200, NULL,
				  "DescribeStreamSummary: no StreamDescriptionSummary in the response");
		return false;
	}
	return true;
}

/* append the shards of a Shards JSON array to *shards */
static void
collect_shards(const cJSON *arr, List **shards, char **last_id)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, arr)
	{
		KinesisShard *sh = palloc0(sizeof(KinesisShard));
		const cJSON *r;

		sh->shard_id = json_string_or_null(s, "ShardId");
		if (sh->shard_id == NULL)
			continue;
		sh->parent_shard_id = json_string_or_null(s, "ParentShardId");
		sh->adjacent_parent_shard_id = json_string_or_null(s, "AdjacentParentShardId");
		r = cJSON_GetObjectItemCaseSensitive(s, "HashKeyRange");
		if (r)
		{
			sh->starting_hash_key = json_string_or_null(r, "StartingHashKey");
			sh->ending_hash_key = json_string_or_null(r, "EndingHashKey");
		}
		r = cJSON_GetObjectItemCaseSensitive(s, "SequenceNumberRange");
		if (r)
		{
			sh->starting_sequence = json_string_or_null(r, "StartingSequenceNumber");
			sh->ending_sequence = json_string_or_null(r, "EndingSequenceNumber");
		}
		*shards = lappend(*shards, sh);
		if (last_id)
			*last_id = sh->shard_id;
	}
}

/* DescribeStream pages (HasMoreShards + ExclusiveStartShardId) */
static bool
list_shards_describe(const KinesisClient *client, List **shards, KinesisError *err)
{
	char	   *last = NULL;

	for (;;)
	{
		StringInfoData body;
		AwsResponse resp;
		cJSON	   *root;
		const cJSON *desc;
		bool		more = false;

		CHECK_FOR_INTERRUPTS();
		initStringInfo(&body);
		appendStringInfoChar(&body, '{');
		append_key_string(&body, "StreamName", client->stream_name, false);
		if (last)
			append_key_string(&body, "ExclusiveStartShardId", last, true);
		appendStringInfoChar(&body, '}');
		if (!kinesis_call(client, "DescribeStream", &body, true, &resp, err))
			return false;
		if ((root = parse_body(&resp, "DescribeStream", err)) == NULL)
			return false;
		desc = cJSON_GetObjectItemCaseSensitive(root, "StreamDescription");
		if (desc)
		{
			collect_shards(cJSON_GetObjectItemCaseSensitive(desc, "Shards"),
						   shards, &last);
			more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(desc, "HasMoreShards"));
		}
		cJSON_Delete(root);
		if (!more || last == NULL)
			return true;
	}
}

/*
 * kinesis_list_shards returns every shard within retention.  NextToken is
 * never combined with StreamName; an expired token restarts the listing.
 */
bool
kinesis_list_shards(const KinesisClient *client, List **shards, KinesisError *err)
{
	int			restarts = 0;

restart:
	*shards = NIL;
	{
		char	   *token = NULL;

		for (;;)
		{
			StringInfoData body;
			AwsResponse resp;
			cJSON	   *root;

			CHECK_FOR_INTERRUPTS();
			initStringInfo(&body);
			appendStringInfoChar(&body, '{');
			if (token)
				append_key_string(&body, "NextToken", token, false);
			else
				append_key_string(&body, "StreamName", client->stream_name, false);
			appendStringInfoChar(&body, '}');
			if (!kinesis_call(client, "ListShards", &body, true, &resp, err))
			{
				if (err->code && strcmp(err->code, "ExpiredNextTokenException") == 0 &&
					restarts++ < 3)
					goto restart;
				/* endpoints without ListShards: use DescribeStream */
				if (err->kind == KINESIS_ERR_FATAL && token == NULL &&
					err->code && (strcmp(err->code, "UnknownOperationException") == 0 ||
								  strcmp(err->code, "InvalidArgumentException") == 0))
				{
					*shards = NIL;
					return list_shards_describe(client, shards, err);
				}
				return false;
			}
			if ((root = parse_body(&resp, "ListShards", err)) == NULL)
				return false;
			collect_shards(cJSON_GetObjectItemCaseSensitive(root, "Shards"), shards, NULL);
			token = json_string_or_null(root, "NextToken");
			cJSON_Delete(root);
			if (token == NULL || token[0] == '\0')
				return true;
		}
	}
}

bool
kinesis_get_shard_iterator(const KinesisClient *client, const char *shard_id,
						   KinesisIteratorType type, const char *sequence_number,
						   TimestampTz timestamp, int timeout_ms, char **iterator,
						   KinesisError *err)
{
	StringInfoData body;
	AwsResponse resp;
	AwsRequest	req;
	char		target[96];
	cJSON	   *root;

	initStringInfo(&body);
	appendStringInfoChar(&body, '{');
	append_key_string(&body, "StreamName", client->stream_name, false);
	append_key_string(&body, "ShardId", shard_id, true);
	append_key_string(&body, "ShardIteratorType", kinesis_iterator_type_name(type), true);
	if (type == KINESIS_ITER_AT_SEQUENCE || type == KINESIS_ITER_AFTER_SEQUENCE)
		append_key_string(&body, "StartingSequenceNumber", sequence_number, true);
	if (type == KINESIS_ITER_AT_TIMESTAMP)
	{
		double		epoch = (double) (timestamp - SetEpochTimestamp()) / USECS_PER_SEC;

		appendStringInfo(&body, ",\"Timestamp\":%.3f", epoch);
	}
	appendStringInfoChar(&body, '}');

	kinesis_build_request(client, "GetShardIterator", &body, true, &req, target, sizeof(target));
	if (timeout_ms > 0)
	{
		req.timeout_ms = timeout_ms;
		req.no_retries = true;
	}
	if (!kinesis_classify("GetShardIterator", aws_request_execute(&req, client->creds, &resp),
						  &resp, err))
		return false;
	if ((root = parse_body(&resp, "GetShardIterator", err)) == NULL)
		return false;
	*iterator = json_string_or_null(root, "ShardIterator");
	cJSON_Delete(root);
	if (*iterator == NULL)
	{
		set_error(err, KINESIS_ERR_PROTOCOL, 200, NULL,
				  "GetShardIterator: no ShardIterator in the response");
		return false;
	}
	return true;
}

/* base64 alphabet -> value + 1; 0 for any other byte (incl. '=') */
static const unsigned char b64_value[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7,
	['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14,
	['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21,
	['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26,
	['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33,
	['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
	['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47,
	['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52,
	['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59,
	['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

/*
 * b64_decode_fast decodes canonical padded base64 (what Kinesis sends) four
 * characters at a time through a table; returns -1 for anything else
 * (whitespace, bad length, stray characters), so that the caller can fall
 * back to pg_b64_decode, which decides.
 */
#define b64_valid(c) (b64_value[(c)] != 0)
#define B64(c) ((uint32) (b64_value[(c)] - 1))

static int
b64_decode_fast(const char *src, int len, char *dst)
{
	const unsigned char *s = (const unsigned char *) src;
	unsigned char *d = (unsigned char *) dst;
	int			pad = 0;
	int			i;

	if (len % 4 != 0)
		return -1;
	if (len == 0)
		return 0;
	if (s[len - 1] == '=')
		pad = (s[len - 2] == '=') ? 2 : 1;
	for (i = 0; i < len - 4; i += 4)
	{
		unsigned char a = s[i],
					b = s[i + 1],
					c = s[i + 2],
					e = s[i + 3];
		uint32		v;

		if (!(b64_valid(a) && b64_valid(b) && b64_valid(c) && b64_valid(e)))
			return -1;
		v = (B64(a) << 18) | (B64(b) << 12) | (B64(c) << 6) | B64(e);
		d[0] = v >> 16;
		d[1] = (v >> 8) & 0xff;
		d[2] = v & 0xff;
		d += 3;
	}
	/* last quad, with its padding */
	{
		unsigned char a = s[i],
					b = s[i + 1],
					c = pad == 2 ? 'A' : s[i + 2],
					e = pad >= 1 ? 'A' : s[i + 3];
		uint32		v;

		if (!(b64_valid(a) && b64_valid(b) && b64_valid(c) && b64_valid(e)))
			return -1;
		v = (B64(a) << 18) | (B64(b) << 12) | (B64(c) << 6) | B64(e);
		*d++ = v >> 16;
		if (pad < 2)
			*d++ = (v >> 8) & 0xff;
		if (pad < 1)
			*d++ = v & 0xff;
	}
	return (char *) d - dst;
}

/* decode one Records[] element into *rec; false on malformed input */
static bool
decode_record(const cJSON *r, KinesisRecord *rec)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(r, "Data");
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(r, "ApproximateArrivalTimestamp");
	int			srclen;
	int			len;

	memset(rec, 0, sizeof(*rec));
	rec->sequence_number = json_string_or_null(r, "SequenceNumber");
	rec->partition_key = json_string_or_null(r, "PartitionKey");
	if (rec->sequence_number == NULL || d == NULL || !cJSON_IsString(d))
		return false;
	if (rec->partition_key == NULL)
		rec->partition_key = pstrdup("");
	if (cJSON_IsNumber(ts))
		rec->arrival = kinesis_epoch_to_timestamptz(ts->valuedouble);
	else
		rec->arrival = 0;
	srclen = strlen(d->valuestring);
	/* header room in front: the staging insert uses the bytes as a bytea */
	rec->data = (char *) palloc(VARHDRSZ + pg_b64_dec_len(srclen) + 1) + VARHDRSZ;
	rec->data_varlena = true;
	len = b64_decode_fast(d->valuestring, srclen, rec->data);
	if (len < 0)
		len = pg_b64_decode(d->valuestring, srclen, rec->data, pg_b64_dec_len(srclen));
	if (len < 0)
		return false;
	rec->data_len = len;
	return true;
}

/* the request body of GetRecords */
static void
get_records_body(StringInfo body, const char *iterator, int limit)
{
	initStringInfo(body);
	appendStringInfoChar(body, '{');
	append_key_string(body, "ShardIterator", iterator, false);
	appendStringInfo(body, ",\"Limit\":%d}", limit);
}

/*
 * get_records_parse reads a GetRecords answer: base64-decodes the data
 * and de-aggregates KPL records.
 */
static bool
get_records_parse(AwsResponse *resp, KinesisGetRecordsResult *out, KinesisError *err)
{
	cJSON	   *volatile root;
	bool		ok = true;

	out->response_bytes = resp->body.len;
	if ((root = parse_body(resp, "GetRecords", err)) == NULL)
		return false;
	pfree(resp->body.data);
	resp->body.data = NULL;

	PG_TRY();
	{
		const cJSON *recs = cJSON_GetObjectItemCaseSensitive(root, "Records");
		const cJSON *mb = cJSON_GetObjectItemCaseSensitive(root, "MillisBehindLatest");
		const cJSON *children = cJSON_GetObjectItemCaseSensitive(root, "ChildShards");
		const cJSON *r;
		int			cap = Max(cJSON_GetArraySize(recs), 1);

		out->next_iterator = json_string_or_null(root, "NextShardIterator");
		if (cJSON_IsNumber(mb))
			out->millis_behind = (int64) mb->valuedouble;
		if (children && cJSON_IsArray(children))
		{
			const cJSON *c;

			cJSON_ArrayForEach(c, children)
			{
				char	   *id = json_string_or_null(c, "ShardId");

				if (id)
					out->child_shards = lappend(out->child_shards, id);
			}
		}

		out->records = palloc(sizeof(KinesisRecord) * cap);
		cJSON_ArrayForEach(r, recs)
		{
			KinesisRecord rec;
			List	   *subs = NIL;

			if (!decode_record(r, &rec))
			{
				set_error(err, KINESIS_ERR_PROTOCOL, 200, NULL,
						  "GetRecords: malformed record in the response");
				ok = false;
				break;
			}
			out->nkinesis++;
			out->data_bytes += rec.data_len;
			if (kpl_is_aggregate(rec.data, rec.data_len) && kpl_deaggregate(&rec, &subs))
			{
				ListCell   *lc;

				foreach(lc, subs)
				{
					if (out->nrecords >= cap)
					{
						cap *= 2;
						out->records = repalloc(out->records, sizeof(KinesisRecord) * cap);
					}
					out->records[out->nrecords++] = *(KinesisRecord *) lfirst(lc);
				}
				pfree(rec.data - VARHDRSZ);	/* allocated with header room */
			}
			else
			{
				if (out->nrecords >= cap)
				{
					cap *= 2;
					out->records = repalloc(out->records, sizeof(KinesisRecord) * cap);
				}
				out->records[out->nrecords++] = rec;
			}
		}
	}
	PG_CATCH();
	{
		cJSON_Delete(root);
		PG_RE_THROW();
	}
	PG_END_TRY();
	cJSON_Delete(root);
	return ok;
}

/*
 * kinesis_get_records performs one GetRecords call, base64-decodes the
 * data and de-aggregates KPL records.
 */
bool
kinesis_get_records(const KinesisClient *client, const char *iterator, int limit,
					KinesisGetRecordsResult *out, KinesisError *err)
{
	StringInfoData body;
	AwsResponse resp;

	memset(out, 0, sizeof(*out));
	out->millis_behind = -1;
	get_records_body(&body, iterator, limit);
	if (!kinesis_call(client, "GetRecords", &body, true, &resp, err))
		return false;
	return get_records_parse(&resp, out, err);
}

/*
 * kinesis_get_records_start sends a GetRecords call and returns without
 * waiting for the answer; the request lives in a memory context under
 * parent until kinesis_get_records_finish or kinesis_pending_cancel.
 */
KinesisPending *
kinesis_get_records_start(const KinesisClient *client, const char *iterator,
						  int limit, MemoryContext parent)
{
	StringInfoData body;
	AwsRequest	req;
	char		target[96];
	AwsPendingRequest *p;

	get_records_body(&body, iterator, limit);
	kinesis_build_request(client, "GetRecords", &body, true, &req, target, sizeof(target));
	p = aws_request_start(&req, client->creds, parent);
	list_free_deep(req.headers);
	pfree(body.data);
	return (KinesisPending *) p;
}

/* the answer of p has arrived: finishing it will not wait */
bool
kinesis_pending_ready(const KinesisPending *p)
{
	return aws_request_ready((const AwsPendingRequest *) p);
}

/*
 * kinesis_get_records_finish completes a started GetRecords call like
 * kinesis_get_records (retries sign with client's credentials) and frees
 * p.
 */
bool
kinesis_get_records_finish(KinesisPending *p, const KinesisClient *client,
						   KinesisGetRecordsResult *out, KinesisError *err)
{
	AwsResponse resp;
	AwsStatus	st;

	memset(out, 0, sizeof(*out));
	out->millis_behind = -1;
	st = aws_request_finish((AwsPendingRequest *) p, client->creds, &resp);
	if (!kinesis_classify("GetRecords", st, &resp, err))
		return false;
	return get_records_parse(&resp, out, err);
}

/* kinesis_pending_cancel drops a started call and frees p */
void
kinesis_pending_cancel(KinesisPending *p)
{
	aws_request_cancel((AwsPendingRequest *) p);
}

int
kinesis_put_records_once(const KinesisClient *client, KinesisPutEntry *entries,
						 int n, KinesisError *err)
{
	StringInfoData body;
	AwsResponse resp;
	cJSON	   *root;
	int		   *sent;
	int			nsent = 0;
	int64		bytes = 0;
	int			remaining = 0;
	const cJSON *recs;
	const cJSON *r;
	int			i;

	sent = palloc(sizeof(int) * Min(n, KINESIS_PUT_MAX_ENTRIES));
	initStringInfo(&body);
	appendStringInfoChar(&body, '{');
	append_key_string(&body, "StreamName", client->stream_name, false);
	appendStringInfoString(&body, ",\"Records\":[");
	for (i = 0; i < n && nsent < KINESIS_PUT_MAX_ENTRIES; i++)
	{
		KinesisPutEntry *e = &entries[i];
		int64		sz = e->data_len + strlen(e->partition_key);
		char	   *b64;
		int			b64len;

		if (e->done)
			continue;
		if (nsent > 0 && bytes + sz > KINESIS_PUT_MAX_BYTES)
			break;
		bytes += sz;
		if (nsent > 0)
			appendStringInfoChar(&body, ',');
		appendStringInfoChar(&body, '{');
		b64 = palloc(pg_b64_enc_len(e->data_len) + 1);
		b64len = pg_b64_encode(e->data, e->data_len, b64, pg_b64_enc_len(e->data_len));
		if (b64len < 0)
			elog(ERROR, "base64 encoding failed");
		appendStringInfoString(&body, "\"Data\":\"");
		appendBinaryStringInfo(&body, b64, b64len);
		appendStringInfoChar(&body, '"');
		pfree(b64);
		append_key_string(&body, "PartitionKey", e->partition_key, true);
		if (e->explicit_hash_key)
			append_key_string(&body, "ExplicitHashKey", e->explicit_hash_key, true);
		appendStringInfoChar(&body, '}');
		e->attempts++;
		sent[nsent++] = i;
	}
	appendStringInfoString(&body, "]}");
	if (nsent == 0)
		return 0;

	/* PutRecords is not idempotent after a network error: it may duplicate */
	if (!kinesis_call(client, "PutRecords", &body, false, &resp, err))
		return -1;
	if ((root = parse_body(&resp, "PutRecords", err)) == NULL)
		return -1;
	recs = cJSON_GetObjectItemCaseSensitive(root, "Records");
	if (!cJSON_IsArray(recs) || cJSON_GetArraySize(recs) != nsent)
	{
		cJSON_Delete(root);
		set_error(err, KINESIS_ERR_PROTOCOL, 200, NULL,
				  "PutRecords: the response does not have one result per entry");
		return -1;
	}
	i = 0;
	cJSON_ArrayForEach(r, recs)
	{
		KinesisPutEntry *e = &entries[sent[i++]];
		char	   *code = json_string_or_null(r, "ErrorCode");

		if (code)
		{
			e->error_code = code;
			e->error_message = json_string_or_null(r, "ErrorMessage");
		}
		else
		{
			e->done = true;
			e->shard_id = json_string_or_null(r, "ShardId");
			e->sequence_number = json_string_or_null(r, "SequenceNumber");
		}
	}
	cJSON_Delete(root);
	for (i = 0; i < n; i++)
		if (!entries[i].done)
			remaining++;
	return remaining;
}

/*
 * kinesis_report_error raises a failed call as an ERROR with a SQLSTATE
 * matching the kind of failure.
 */
void
kinesis_report_error(const KinesisError *err, const char *context)
{
	int			sqlstate;
	const char *hint = NULL;

	switch (err->kind)
	{
		case KINESIS_ERR_INTERRUPTED:
			CHECK_FOR_INTERRUPTS();
			sqlstate = ERRCODE_QUERY_CANCELED;
			break;
		case KINESIS_ERR_THROTTLED:
			sqlstate = ERRCODE_CONFIGURATION_LIMIT_EXCEEDED;
			hint = "Kinesis throttled the request; retry later or add shards.";
			break;
		case KINESIS_ERR_TRANSIENT:
			sqlstate = ERRCODE_CONNECTION_FAILURE;
			hint = "Check that the Kinesis endpoint is reachable.";
			break;
		case KINESIS_ERR_NOT_FOUND:
			sqlstate = ERRCODE_UNDEFINED_OBJECT;
			hint = "Check the stream name and the region of the server.";
			break;
		case KINESIS_ERR_PROTOCOL:
			sqlstate = ERRCODE_PROTOCOL_VIOLATION;
			break;
		default:
			if (err->code && (strstr(err->code, "AccessDenied") ||
							  strstr(err->code, "Signature") ||
							  strstr(err->code, "Token")))
			{
				sqlstate = ERRCODE_INSUFFICIENT_PRIVILEGE;
				hint = "Check the credentials of the user mapping and the IAM policy.";
			}
			else
				sqlstate = ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
			break;
	}
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("kinesis request failed: %s", err->message),
			 err->code ? errdetail("AWS error code: %s.", err->code) : 0,
			 hint ? errhint("%s", hint) : 0,
			 errcontext("%s", context)));
}
