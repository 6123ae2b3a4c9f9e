/*-------------------------------------------------------------------------
 *
 * s3.c
 *	  The S3 storage backend: ListObjectsV2, HeadObject, ranged GetObject,
 *	  PutObject, multipart upload, DeleteObjects, CopyObject, presigned
 *	  URLs and bucket creation, over aws_request_execute().
 *
 * Keys are percent-encoded exactly once (sigv4_uri_encode with '/' kept)
 * and the same encoded path is signed and sent.  Every request is marked
 * idempotent so that the request layer may retry it after a dropped
 * connection: a repeated PUT/UploadPart/DELETE has the same effect, and a
 * repeated CompleteMultipartUpload whose first attempt succeeded answers
 * NoSuchUpload, which we resolve with a HEAD.
 *
 * A write stream buffers at most one part.  Objects no larger than one
 * part go up with a single PUT at close; larger ones use multipart
 * upload, each part sent as soon as it is full.
 *
 * IDENTIFICATION
 *	  src/storage/s3.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "common/base64.h"
#include "common/md5.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "aws/sigv4.h"
#include "guc.h"
#include "storage/storage_internal.h"

#define S3_MAX_PARTS 10000
#define S3_DELETE_BATCH 1000

/* everything needed to address one bucket */
typedef struct S3Target
{
	const AwsEndpoint *endpoint;
	bool		path_style;
	const char *region;
	const AwsCredentials *creds;
	const char *bucket;
} S3Target;

/*
 * s3_creds returns the handle's credentials, resolving them on first use
 * (and again when temporary ones are about to expire) in the handle's own
 * context, never in the caller's: a handle is routinely used from many
 * short-lived contexts (one per file or reader).
 */
static AwsCredentials *
s3_creds(DlakeStorage *st)
{
	if (st->creds != NULL && st->creds->expiration != DT_NOEND &&
		GetCurrentTimestamp() >= TimestampTzPlusMilliseconds(st->creds->expiration,
															 -60 * 1000))
		st->creds = NULL;		/* expiring: resolve again (old copy stays in cxt) */
	if (st->creds == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(st->cxt);

		st->creds = dlake_config_credentials(st->cfg);
		MemoryContextSwitchTo(old);
	}
	return st->creds;
}

static void
s3_target(DlakeStorage *st, S3Target *t)
{
	t->endpoint = st->endpoint;
	t->path_style = st->path_style;
	t->region = st->region;
	t->creds = s3_creds(st);
	t->bucket = st->bucket;
}

static void
ws_target(DlakeWriteStream *ws, S3Target *t)
{
	t->endpoint = &ws->endpoint;
	t->path_style = ws->path_style;
	t->region = ws->region;
	t->creds = &ws->creds;
	t->bucket = ws->bucket;
}

/*
 * s3_path returns the request path of a key (NULL = the bucket itself).
 */
static char *
s3_path(const S3Target *t, const char *key)
{
	if (key == NULL)
		return t->path_style ? psprintf("/%s", t->bucket) : pstrdup("/");
	return psprintf(t->path_style ? "/%s/%s" : "%.0s/%s",
					t->bucket, sigv4_uri_encode(key, true));
}

static void
s3_req_init(AwsRequest *req, const S3Target *t, const char *method,
			const char *key, const char *query)
{
	memset(req, 0, sizeof(*req));
	req->service = "s3";
	req->region = t->region;
	req->method = method;
	req->endpoint = t->endpoint;
	req->path = s3_path(t, key);
	req->query = query;
	req->idempotent = true;
	req->describe = psprintf("%s s3://%s/%s", method, t->bucket, key ? key : "");
}

static void
s3_exec(const AwsRequest *req, const S3Target *t, AwsResponse *resp)
{
	if (aws_request_execute(req, t->creds, resp) != AWS_OK)
		aws_report_error(req, resp);
}

/* Content-MD5 header value of a body */
static DlakeHttpHeader *
content_md5(const char *data, size_t len)
{
	uint8		digest[16];
	char		b64[32];
	const char *errstr = NULL;
	int			n;

	if (!pg_md5_binary(data ? data : "", len, digest, &errstr))
		elog(ERROR, "could not compute MD5: %s", errstr ? errstr : "unknown error");
	n = pg_b64_encode((char *) digest, 16, b64, sizeof(b64));
	if (n < 0)
		elog(ERROR, "could not base64-encode MD5");
	b64[n] = '\0';
	return dlake_http_make_header("Content-MD5", b64);
}

void
s3_open(DlakeStorage *st, const DlakeLocation *loc)
{
	/* called by storage_open in the handle's context */
	Assert(CurrentMemoryContext == st->cxt);
	st->bucket = pstrdup(loc->bucket);
	st->region = pstrdup(st->cfg->region);
	st->endpoint = dlake_config_endpoint(st->cfg, "s3", loc->bucket, &st->path_style);
}

/*
 * s3_list pages through ListObjectsV2 with encoding-type=url (keys with
 * XML-illegal bytes survive) until IsTruncated is false.
 */
List *
s3_list(DlakeStorage *st, const DlakeLocation *prefix, bool recursive)
{
	S3Target	t;
	List	   *out = NIL;
	char	   *token = NULL;
	bool		truncated = true;
	MemoryContext pagecxt;
	MemoryContext callercxt = CurrentMemoryContext;
	int			pages = 0;

	s3_target(st, &t);
	pagecxt = AllocSetContextCreate(CurrentMemoryContext, "dlake s3 list page",
									ALLOCSET_DEFAULT_SIZES);
	while (truncated)
	{
		StringInfoData q;
		AwsRequest	req;
		AwsResponse resp;
		const char *cur;
		const char *end;
		const char *inner;
		size_t		ilen;
		bool		url_encoded;
		char	   *v;
		char	   *next_token;

		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(pagecxt);

		initStringInfo(&q);
		if (token)
			appendStringInfo(&q, "continuation-token=%s&", sigv4_uri_encode(token, false));
		if (!recursive)
			appendStringInfoString(&q, "delimiter=%2F&");
		appendStringInfo(&q, "encoding-type=url&list-type=2&max-keys=1000&prefix=%s",
						 sigv4_uri_encode(prefix->key, false));

		s3_req_init(&req, &t, "GET", NULL, q.data);
		req.describe = psprintf("GET s3://%s/%s (list, page %d)", t.bucket, prefix->key, pages + 1);
		s3_exec(&req, &t, &resp);
		pages++;

		cur = resp.body.data;
		end = resp.body.data + resp.body.len;
		v = s3_xml_child(cur, resp.body.len, "EncodingType");
		url_encoded = (v && strcmp(v, "url") == 0);
		v = s3_xml_child(cur, resp.body.len, "IsTruncated");
		truncated = (v && strcmp(v, "true") == 0);
		next_token = s3_xml_child(cur, resp.body.len, "NextContinuationToken");

		MemoryContextSwitchTo(callercxt);
		while (s3_xml_next(&cur, end, "Contents", &inner, &ilen))
		{
			DlakeObjectInfo *o = palloc0(sizeof(DlakeObjectInfo));
			char	   *key = s3_xml_child(inner, ilen, "Key");
			char	   *s;

			if (key == NULL)
				continue;
			if (url_encoded)
				key = s3_url_form_decode(key);
			o->key = key;
			o->uri = psprintf("s3://%s/%s", t.bucket, key);
			s = s3_xml_child(inner, ilen, "Size");
			o->size = s ? strtoll(s, NULL, 10) : 0;
			s = s3_xml_child(inner, ilen, "LastModified");
			if (!storage_parse_iso8601(s, &o->last_modified))
				o->last_modified = DT_NOBEGIN;
			o->etag = s3_xml_child(inner, ilen, "ETag");
			out = lappend(out, o);
		}
		cur = resp.body.data;
		while (s3_xml_next(&cur, end, "CommonPrefixes", &inner, &ilen))
		{
			DlakeObjectInfo *o = palloc0(sizeof(DlakeObjectInfo));
			char	   *p = s3_xml_child(inner, ilen, "Prefix");

			if (p == NULL)
				continue;
			if (url_encoded)
				p = s3_url_form_decode(p);
			o->key = p;
			o->uri = psprintf("s3://%s/%s", t.bucket, p);
			o->size = -1;
			o->last_modified = DT_NOBEGIN;
			out = lappend(out, o);
		}

		if (truncated)
		{
			if (next_token == NULL || next_token[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_FDW_ERROR),
						 errmsg("S3 listing of \"%s\" is truncated but has no continuation token",
								prefix->uri),
						 errcontext("S3 request: %s", req.describe)));
			token = pstrdup(next_token);
		}
		MemoryContextReset(pagecxt);
	}
	MemoryContextDelete(pagecxt);
	list_sort(out, storage_object_info_cmp);
	return out;
}

bool
s3_stat(DlakeStorage *st, const DlakeLocation *loc, DlakeObjectInfo *info)
{
	S3Target	t;
	AwsRequest	req;
	AwsResponse resp;
	AwsStatus	rc;
	const char *h;

	s3_target(st, &t);
	s3_req_init(&req, &t, "HEAD", loc->key, NULL);
	req.head = true;
	rc = aws_request_execute(&req, t.creds, &resp);
	if (rc == AWS_ERR_SERVICE && resp.http_status == 404)
		return false;
	if (rc != AWS_OK)
		aws_report_error(&req, &resp);

	info->key = pstrdup(loc->key);
	info->uri = pstrdup(loc->uri);
	h = aws_response_header(&resp, "content-length");
	info->size = h ? strtoll(h, NULL, 10) : 0;
	h = aws_response_header(&resp, "etag");
	info->etag = h ? pstrdup(h) : NULL;
	h = aws_response_header(&resp, "last-modified");
	if (!storage_parse_http_date(h, &info->last_modified))
		info->last_modified = DT_NOBEGIN;
	return true;
}

/*
 * s3_read_range reads with "Range: bytes=a-b" (or "a-"; never a suffix
 * range).  A range that starts at or past the end (416) reads nothing,
 * which also covers any range on an empty object.
 */
void
s3_read_range(DlakeStorage *st, const DlakeLocation *loc,
			  int64 offset, int64 len, StringInfo buf)
{
	S3Target	t;
	AwsRequest	req;
	AwsResponse resp;
	AwsStatus	rc;
	bool		ranged = !(offset == 0 && len < 0);

	s3_target(st, &t);
	s3_req_init(&req, &t, "GET", loc->key, NULL);
	if (ranged)
	{
		char	   *range = (len < 0) ?
			psprintf("bytes=%lld-", (long long) offset) :
			psprintf("bytes=%lld-%lld", (long long) offset, (long long) (offset + len - 1));

		req.headers = list_make1(dlake_http_make_header("Range", range));
	}
	rc = aws_request_execute(&req, t.creds, &resp);
	if (rc == AWS_ERR_SERVICE && resp.http_status == 416)
		return;
	if (rc != AWS_OK)
		aws_report_error(&req, &resp);

	if (ranged && resp.http_status == 200)
	{
		/* the server ignored Range: take the slice ourselves */
		int64		start = Min(offset, (int64) resp.body.len);
		int64		stop = (len < 0) ? resp.body.len : Min(offset + len, (int64) resp.body.len);

		appendBinaryStringInfo(buf, resp.body.data + start, stop - start);
	}
	else if (buf->len == 0 &&
			 GetMemoryChunkContext(buf->data) == GetMemoryChunkContext(resp.body.data))
	{
		/* hand the body over instead of copying it (both in this context) */
		pfree(buf->data);
		*buf = resp.body;
		return;
	}
	else
		appendBinaryStringInfo(buf, resp.body.data, resp.body.len);
	pfree(resp.body.data);
}

void
s3_write_open(DlakeStorage *st, const DlakeLocation *loc, DlakeWriteStream *ws)
{
	AwsCredentials *c = s3_creds(st);
	MemoryContext old = MemoryContextSwitchTo(ws->cxt);

	ws->bucket = pstrdup(st->bucket);
	ws->key = pstrdup(loc->key);
	ws->endpoint.base_url = pstrdup(st->endpoint->base_url);
	ws->endpoint.host = pstrdup(st->endpoint->host);
	ws->endpoint.verify_tls = st->endpoint->verify_tls;
	ws->endpoint.ca_file = st->endpoint->ca_file ? pstrdup(st->endpoint->ca_file) : NULL;
	ws->path_style = st->path_style;
	ws->region = pstrdup(st->region);
	ws->creds.access_key_id = pstrdup(c->access_key_id);
	ws->creds.secret_access_key = pstrdup(c->secret_access_key);
	ws->creds.session_token = c->session_token ? pstrdup(c->session_token) : NULL;
	ws->creds.expiration = c->expiration;
	ws->creds.source = c->source;
	ws->part_size = (size_t) dlake_multipart_part_size_kb * 1024;
	ws->buf = NULL;
	ws->buf_len = ws->buf_cap = 0;
	MemoryContextSwitchTo(old);
}

/*
 * s3_create_upload starts the multipart upload (POST ?uploads).
 */
static void
s3_create_upload(DlakeWriteStream *ws)
{
	S3Target	t;
	AwsRequest	req;
	AwsResponse resp;
	char	   *id;

	ws_target(ws, &t);
	s3_req_init(&req, &t, "POST", ws->key, "uploads=");
	req.headers = list_make1(dlake_http_make_header("Content-Type", "application/octet-stream"));
	s3_exec(&req, &t, &resp);
	id = s3_xml_child(resp.body.data, resp.body.len, "UploadId");
	if (id == NULL || id[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("S3 did not return an upload id for \"%s\"", ws->uri),
				 errcontext("S3 request: %s", req.describe)));
	ws->upload_id = MemoryContextStrdup(ws->cxt, id);
}

/*
 * s3_upload_part sends the buffer as the next part and keeps its ETag.
 */
static void
s3_upload_part(DlakeWriteStream *ws)
{
	S3Target	t;
	AwsRequest	req;
	AwsResponse resp;
	const char *etag;
	int			partno;
	MemoryContext old = MemoryContextSwitchTo(ws->opcxt);

	if (ws->upload_id == NULL)
		s3_create_upload(ws);
	partno = ws->nparts + 1;
	if (partno > S3_MAX_PARTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("object \"%s\" needs more than %d parts", ws->uri, S3_MAX_PARTS),
				 errhint("Raise dlake.multipart_part_size (now %d kB).",
						 dlake_multipart_part_size_kb)));

	ws_target(ws, &t);
	s3_req_init(&req, &t, "PUT", ws->key,
				psprintf("partNumber=%d&uploadId=%s", partno,
						 sigv4_uri_encode(ws->upload_id, false)));
	req.describe = psprintf("PUT s3://%s/%s (part %d)", ws->bucket, ws->key, partno);
	req.body = ws->buf;
	req.body_len = ws->buf_len;
	req.headers = list_make1(content_md5(ws->buf, ws->buf_len));
	s3_exec(&req, &t, &resp);
	etag = aws_response_header(&resp, "etag");
	if (etag == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("S3 did not return an ETag for part %d of \"%s\"", partno, ws->uri),
				 errcontext("S3 request: %s", req.describe)));
	MemoryContextSwitchTo(ws->cxt);
	ws->etags = lappend(ws->etags, pstrdup(etag));
	ws->nparts = partno;
	MemoryContextSwitchTo(old);
	MemoryContextReset(ws->opcxt);
	ws->buf_len = 0;
}

/*
 * s3_write appends to the part buffer; a full buffer is uploaded as a
 * part just before more data arrives, so an object of exactly one part
 * still goes up with a single PUT.
 */
void
s3_write(DlakeWriteStream *ws, const char *data, size_t len)
{
	while (len > 0)
	{
		size_t		n;

		if (ws->buf_len == ws->part_size)
		{
			CHECK_FOR_INTERRUPTS();
			s3_upload_part(ws);
		}
		n = Min(len, ws->part_size - ws->buf_len);
		if (ws->buf_len + n > ws->buf_cap)
		{
			size_t		cap = Max(ws->buf_cap * 2, (size_t) 64 * 1024);

			while (cap < ws->buf_len + n)
				cap *= 2;
			cap = Min(cap, ws->part_size);
			if (ws->buf == NULL)
				ws->buf = MemoryContextAllocHuge(ws->cxt, cap);
			else
				ws->buf = repalloc_huge(ws->buf, cap);
			ws->buf_cap = cap;
		}
		memcpy(ws->buf + ws->buf_len, data, n);
		ws->buf_len += n;
		data += n;
		len -= n;
	}
}

/* does the object exist with a multipart ETag of nparts parts? */
static bool
s3_upload_already_completed(DlakeWriteStream *ws)
{
	S3Target	t;
	AwsRequest	req;
	AwsResponse resp;
	const char *etag;
	char	   *suffix;

	ws_target(ws, &t);
	s3_req_init(&req, &t, "HEAD", ws->key, NULL);
	req.head = true;
	if (aws_request_execute(&req, t.creds, &resp) != AWS_OK)
		return false;
	etag = aws_response_header(&resp, "etag");
	suffix = psprintf("-%d\"", ws->nparts);
	return etag && strlen(etag) > strlen(suffix) &&
		strcmp(etag + strlen(etag) - strlen(suffix), suffix) == 0;
}

void
s3_write_close(DlakeWriteStream *ws, DlakeObjectInfo *info)
{
	S3Target	t;
	AwsRequest	req;
	AwsResponse resp;
	MemoryContext callercxt = CurrentMemoryContext;
	char	   *etag = NULL;

	ws_target(ws, &t);
	if (ws->upload_id == NULL)
	{
		/* small object: one PUT */
		MemoryContextSwitchTo(ws->opcxt);
		s3_req_init(&req, &t, "PUT", ws->key, NULL);
		req.body = ws->buf ? ws->buf : "";
		req.body_len = ws->buf_len;
		req.headers = list_make2(content_md5(req.body, req.body_len),
								 dlake_http_make_header("Content-Type", "application/octet-stream"));
		s3_exec(&req, &t, &resp);
		etag = (char *) aws_response_header(&resp, "etag");
	}
	else
	{
		StringInfoData body;
		ListCell   *lc;
		AwsStatus	rc;
		int			i = 0;

		if (ws->buf_len > 0)
			s3_upload_part(ws);
		MemoryContextSwitchTo(ws->opcxt);
		initStringInfo(&body);
		appendStringInfoString(&body,
							   "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
		foreach(lc, ws->etags)
		{
			appendStringInfo(&body, "<Part><PartNumber>%d</PartNumber><ETag>", ++i);
			s3_xml_escape(&body, (char *) lfirst(lc));
			appendStringInfoString(&body, "</ETag></Part>");
		}
		appendStringInfoString(&body, "</CompleteMultipartUpload>");

		s3_req_init(&req, &t, "POST", ws->key,
					psprintf("uploadId=%s", sigv4_uri_encode(ws->upload_id, false)));
		req.describe = psprintf("POST s3://%s/%s (complete %d parts)", ws->bucket, ws->key, ws->nparts);
		req.body = body.data;
		req.body_len = body.len;
		req.headers = list_make1(dlake_http_make_header("Content-Type", "application/xml"));
		rc = aws_request_execute(&req, t.creds, &resp);
		if (rc == AWS_ERR_SERVICE && resp.attempts > 1 && resp.aws_code &&
			strcmp(resp.aws_code, "NoSuchUpload") == 0 &&
			s3_upload_already_completed(ws))
			rc = AWS_OK;		/* an earlier attempt succeeded */
		else if (rc != AWS_OK)
			aws_report_error(&req, &resp);
		else
			etag = s3_xml_child(resp.body.data, resp.body.len, "ETag");
		ws->upload_id = NULL;	/* nothing left to abort */
	}

	MemoryContextSwitchTo(callercxt);
	info->uri = pstrdup(ws->uri);
	info->key = pstrdup(ws->key);
	info->size = ws->bytes;
	info->etag = etag ? pstrdup(etag) : NULL;
	info->last_modified = GetCurrentTimestamp();
}

/*
 * s3_write_abort aborts the multipart upload, if one was started.  Never
 * raises (the caller also catches); false with a message on failure.
 */
bool
s3_write_abort(DlakeWriteStream *ws, char **errmsg)
{
	S3Target	t;
	AwsRequest	req;
	AwsResponse resp;
	AwsStatus	rc;

	if (ws->upload_id == NULL)
		return true;
	ws_target(ws, &t);
	s3_req_init(&req, &t, "DELETE", ws->key,
				psprintf("uploadId=%s", sigv4_uri_encode(ws->upload_id, false)));
	rc = aws_request_execute(&req, t.creds, &resp);
	if (rc == AWS_OK || (rc == AWS_ERR_SERVICE && resp.http_status == 404))
	{
		ws->upload_id = NULL;
		return true;
	}
	if (rc == AWS_ERR_SERVICE && (resp.http_status == 405 || resp.http_status == 501))
	{
		/* the server cannot abort uploads (s3rver): nothing more to do */
		elog(LOG, "S3 endpoint %s does not support AbortMultipartUpload; upload of \"%s\" left incomplete",
			 ws->endpoint.base_url, ws->uri);
		ws->upload_id = NULL;
		return true;
	}
	*errmsg = psprintf("AbortMultipartUpload failed: %s",
					   rc == AWS_ERR_SERVICE ?
					   psprintf("HTTP %ld %s", resp.http_status,
								resp.aws_code ? resp.aws_code : "") :
					   (resp.transport_message ? resp.transport_message : "transport error"));
	return false;
}

/*
 * s3_delete_one deletes a single key (DELETE /key).
 */
static void
s3_delete_one(const S3Target *t, const char *key)
{
	AwsRequest	req;
	AwsResponse resp;

	s3_req_init(&req, t, "DELETE", key, NULL);
	s3_exec(&req, t, &resp);
}

/*
 * s3_delete removes keys with DeleteObjects in batches of 1000, checking
 * the per-key errors of each answer; servers without batch delete get one
 * DELETE per key.
 */
void
s3_delete(DlakeStorage *st, List *locations)
{
	S3Target	t;
	int			n = list_length(locations);
	MemoryContext batchcxt;
	MemoryContext old;
	bool		batch_ok = true;

	s3_target(st, &t);
	batchcxt = AllocSetContextCreate(CurrentMemoryContext, "dlake s3 delete",
									 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(batchcxt);
	for (int start = 0; start < n; start += S3_DELETE_BATCH)
	{
		int			stop = Min(n, start + S3_DELETE_BATCH);
		StringInfoData body;
		AwsRequest	req;
		AwsResponse resp;
		AwsStatus	rc;
		const char *cur;
		const char *inner;
		size_t		ilen;

		CHECK_FOR_INTERRUPTS();
		if (!batch_ok)
		{
			for (int i = start; i < stop; i++)
				s3_delete_one(&t, ((DlakeLocation *) list_nth(locations, i))->key);
			continue;
		}

		initStringInfo(&body);
		appendStringInfoString(&body,
							   "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>");
		for (int i = start; i < stop; i++)
		{
			appendStringInfoString(&body, "<Object><Key>");
			s3_xml_escape(&body, ((DlakeLocation *) list_nth(locations, i))->key);
			appendStringInfoString(&body, "</Key></Object>");
		}
		appendStringInfoString(&body, "</Delete>");

		s3_req_init(&req, &t, "POST", NULL, "delete=");
		req.describe = psprintf("POST s3://%s/ (delete %d objects)", t.bucket, stop - start);
		req.body = body.data;
		req.body_len = body.len;
		req.headers = list_make2(content_md5(body.data, body.len),
								 dlake_http_make_header("Content-Type", "application/xml"));
		rc = aws_request_execute(&req, t.creds, &resp);
		if (rc == AWS_ERR_SERVICE &&
			(resp.http_status == 405 || resp.http_status == 501 ||
			 (resp.aws_code && strcmp(resp.aws_code, "NotImplemented") == 0)))
		{
			batch_ok = false;
			start -= S3_DELETE_BATCH;	/* redo this batch key by key */
			continue;
		}
		if (rc != AWS_OK)
			aws_report_error(&req, &resp);

		cur = resp.body.data;
		if (s3_xml_next(&cur, resp.body.data + resp.body.len, "Error", &inner, &ilen))
		{
			char	   *key = s3_xml_child(inner, ilen, "Key");
			char	   *code = s3_xml_child(inner, ilen, "Code");
			char	   *msg = s3_xml_child(inner, ilen, "Message");

			ereport(ERROR,
					(errcode((code && strcmp(code, "AccessDenied") == 0) ?
							 ERRCODE_INSUFFICIENT_PRIVILEGE : ERRCODE_FDW_ERROR),
					 errmsg("could not delete \"s3://%s/%s\"", t.bucket, key ? key : "?"),
					 errdetail("S3 error %s: %s", code ? code : "unknown",
							   msg ? msg : "no message"),
					 errcontext("S3 request: %s", req.describe)));
		}
		MemoryContextReset(batchcxt);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(batchcxt);
}

/*
 * s3_presign returns a URL that lets anyone holding it perform one
 * request (GET or PUT) on the object until it expires.
 */
char *
s3_presign(DlakeStorage *st, const DlakeLocation *loc, const char *method,
		   int expires_s)
{
	S3Target	t;
	SigV4Scope	scope;
	char		amz_date[17];
	char	   *path;
	char	   *query;

	s3_target(st, &t);
	sigv4_format_amz_date((pg_time_t) time(NULL), amz_date);
	scope.amz_date = amz_date;
	scope.region = t.region;
	scope.service = "s3";
	path = s3_path(&t, loc->key);
	query = sigv4_presign_query(method, path, t.endpoint->host, &scope, expires_s,
								t.creds->access_key_id, t.creds->secret_access_key,
								t.creds->session_token);
	return psprintf("%s%s?%s", t.endpoint->base_url, path, query);
}

/* does HEAD Bucket answer 200 with our credentials? */
static bool
s3_bucket_accessible(const S3Target *t)
{
	AwsRequest	req;
	AwsResponse resp;

	s3_req_init(&req, t, "HEAD", NULL, NULL);
	req.head = true;
	req.describe = psprintf("HEAD s3://%s (bucket)", t->bucket);
	return aws_request_execute(&req, t->creds, &resp) == AWS_OK &&
		resp.http_status == 200;
}

void
s3_create_bucket(DlakeStorage *st, const char *bucket)
{
	S3Target	t;
	AwsRequest	req;
	AwsResponse resp;
	AwsStatus	rc;
	char	   *body = NULL;

	s3_target(st, &t);
	s3_req_init(&req, &t, "PUT", NULL, NULL);
	req.describe = psprintf("PUT s3://%s (create bucket)", bucket);
	if (st->cfg->s3_endpoint == NULL && strcmp(t.region, "us-east-1") != 0)
	{
		body = psprintf("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
						"<LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>",
						t.region);
		req.body = body;
		req.body_len = strlen(body);
		req.headers = list_make1(dlake_http_make_header("Content-Type", "application/xml"));
	}
	rc = aws_request_execute(&req, t.creds, &resp);
	if (rc == AWS_ERR_SERVICE && resp.aws_code &&
		strcmp(resp.aws_code, "BucketAlreadyOwnedByYou") == 0)
		return;

	/*
	 * BucketAlreadyExists means "the name is taken" on AWS (by another
	 * account) but is also what some S3-compatible servers (s3rver) answer
	 * for a bucket of our own.  Tell them apart with HEAD Bucket: if our
	 * credentials can access the bucket, it is usable and this is not an
	 * error; otherwise report the original answer.
	 */
	if (rc == AWS_ERR_SERVICE && resp.aws_code &&
		strcmp(resp.aws_code, "BucketAlreadyExists") == 0 &&
		s3_bucket_accessible(&t))
		return;
	if (rc != AWS_OK)
		aws_report_error(&req, &resp);
}

void
s3_copy_object(DlakeStorage *st, const DlakeLocation *src, const DlakeLocation *dst)
{
	S3Target	t;
	AwsRequest	req;
	AwsResponse resp;

	s3_target(st, &t);
	s3_req_init(&req, &t, "PUT", dst->key, NULL);
	req.describe = psprintf("PUT %s (copy from %s)", dst->uri, src->uri);
	req.headers = list_make1(dlake_http_make_header("x-amz-copy-source",
													psprintf("/%s/%s", src->bucket,
															 sigv4_uri_encode(src->key, true))));
	s3_exec(&req, &t, &resp);
}
