/*-------------------------------------------------------------------------
 *
 * storage_sql.c
 *	  SQL functions over the storage layer: dlake.list, stat, read_text,
 *	  read_bytes, write_text, write_bytes, delete, presign, create_bucket,
 *	  copy_object, and the test helper write_generated.
 *
 * Each call builds its configuration (server + user mapping, or GUCs) and
 * so enforces the identity rule of common/config.c; file:// locations
 * need no AWS identity but the server-file privileges checked in
 * storage/file.c.  All of these functions are revoked from PUBLIC in the
 * extension script.
 *
 * IDENTIFICATION
 *	  src/api/storage_sql.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "common/config.h"
#include "storage/storage.h"

PG_FUNCTION_INFO_V1(dlake_storage_list);
PG_FUNCTION_INFO_V1(dlake_storage_stat);
PG_FUNCTION_INFO_V1(dlake_storage_read_text);
PG_FUNCTION_INFO_V1(dlake_storage_read_bytes);
PG_FUNCTION_INFO_V1(dlake_storage_write_text);
PG_FUNCTION_INFO_V1(dlake_storage_write_bytes);
PG_FUNCTION_INFO_V1(dlake_storage_delete);
PG_FUNCTION_INFO_V1(dlake_storage_presign);
PG_FUNCTION_INFO_V1(dlake_storage_create_bucket);
PG_FUNCTION_INFO_V1(dlake_storage_copy_object);
PG_FUNCTION_INFO_V1(dlake_storage_write_generated);

#define ARG_TEXT(n) text_to_cstring(PG_GETARG_TEXT_PP(n))
#define ARG_SERVER(n) (PG_ARGISNULL(n) ? NULL : NameStr(*PG_GETARG_NAME(n)))

static void
require_arg(FunctionCallInfo fcinfo, int n, const char *what)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
}

/*
 * open_location parses the location and opens storage for it: S3 needs
 * the configuration of the named server (or the GUCs), file:// does not.
 */
static DlakeStorage *
open_location(const char *uri, const char *server, DlakeLocation **loc_out)
{
	DlakeLocation *loc = dlake_location_parse_or_error(uri);
	DlakeConfig *cfg = NULL;

	if (loc->kind == DLAKE_STORAGE_S3)
		cfg = dlake_config_get(server);
	*loc_out = loc;
	return storage_open(cfg, loc);
}

static bool
is_prefix(const DlakeLocation *loc)
{
	size_t		len = strlen(loc->key);

	return len == 0 || loc->key[len - 1] == '/';
}

static void
require_object(DlakeStorage *st, DlakeLocation *loc, DlakeObjectInfo *info)
{
	if (is_prefix(loc))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("location \"%s\" is a prefix, not an object", loc->uri),
				 errhint("Use dlake.list() to see the objects under it.")));
	if (info && !storage_stat(st, loc, info))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("object \"%s\" does not exist", loc->uri)));
}

/*
 * dlake.list(location, server, recursive) returns the objects under a
 * prefix; with recursive => false, sub-prefixes come back as rows whose
 * path ends in '/' and whose other columns are NULL.
 */
Datum
dlake_storage_list(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DlakeLocation *loc;
	DlakeStorage *st;
	List	   *objs;
	ListCell   *lc;
	bool		recursive = PG_ARGISNULL(2) ? true : PG_GETARG_BOOL(2);

	require_arg(fcinfo, 0, "location");
	InitMaterializedSRF(fcinfo, 0);
	st = open_location(ARG_TEXT(0), ARG_SERVER(1), &loc);
	objs = storage_list(st, loc, recursive);
	foreach(lc, objs)
	{
		DlakeObjectInfo *o = lfirst(lc);
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = CStringGetTextDatum(o->uri);
		if (o->size < 0)
		{
			nulls[1] = nulls[2] = nulls[3] = true;
			values[1] = values[2] = values[3] = (Datum) 0;
		}
		else
		{
			values[1] = Int64GetDatum(o->size);
			values[2] = TimestampTzGetDatum(o->last_modified);
			nulls[2] = TIMESTAMP_NOT_FINITE(o->last_modified);
			values[3] = o->etag ? CStringGetTextDatum(o->etag) : (Datum) 0;
			nulls[3] = (o->etag == NULL);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * dlake.stat(location, server) returns one row describing the object, or
 * NULL when it does not exist.
 */
Datum
dlake_storage_stat(PG_FUNCTION_ARGS)
{
	DlakeLocation *loc;
	DlakeStorage *st;
	DlakeObjectInfo info;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	require_arg(fcinfo, 0, "location");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	st = open_location(ARG_TEXT(0), ARG_SERVER(1), &loc);
	require_object(st, loc, NULL);
	if (!storage_stat(st, loc, &info))
		PG_RETURN_NULL();
	values[0] = CStringGetTextDatum(info.uri);
	values[1] = Int64GetDatum(info.size);
	values[2] = TimestampTzGetDatum(info.last_modified);
	nulls[2] = TIMESTAMP_NOT_FINITE(info.last_modified);
	values[3] = info.etag ? CStringGetTextDatum(info.etag) : (Datum) 0;
	nulls[3] = (info.etag == NULL);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}

/* read a whole object or a range into a varlena of the given type */
static bytea *
read_varlena(const char *uri, const char *server, int64 offset, int64 length)
{
	DlakeLocation *loc;
	DlakeStorage *st;
	StringInfoData buf;
	bytea	   *result;

	st = open_location(uri, server, &loc);
	require_object(st, loc, NULL);
	initStringInfo(&buf);
	storage_read_range(st, loc, offset, length, &buf);
	if ((Size) buf.len + VARHDRSZ > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("object \"%s\" is too large to return as one value", loc->uri)));
	result = (bytea *) palloc(buf.len + VARHDRSZ);
	SET_VARSIZE(result, buf.len + VARHDRSZ);
	memcpy(VARDATA(result), buf.data, buf.len);
	pfree(buf.data);
	return result;
}

Datum
dlake_storage_read_text(PG_FUNCTION_ARGS)
{
	text	   *t;

	require_arg(fcinfo, 0, "location");
	t = (text *) read_varlena(ARG_TEXT(0), ARG_SERVER(1), 0, -1);
	pg_verifymbstr(VARDATA(t), VARSIZE(t) - VARHDRSZ, false);
	PG_RETURN_TEXT_P(t);
}

Datum
dlake_storage_read_bytes(PG_FUNCTION_ARGS)
{
	int64		offset = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2);
	int64		length = PG_ARGISNULL(3) ? -1 : PG_GETARG_INT64(3);

	require_arg(fcinfo, 0, "location");
	if (offset < 0 || (!PG_ARGISNULL(3) && length < 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("offset and length must not be negative")));
	PG_RETURN_BYTEA_P(read_varlena(ARG_TEXT(0), ARG_SERVER(1), offset, length));
}

static int64
write_varlena(const char *uri, const char *server, const char *data, size_t len)
{
	DlakeLocation *loc;
	DlakeStorage *st;
	DlakeWriteStream *ws;
	int64		n;

	st = open_location(uri, server, &loc);
	ws = storage_write_open(st, loc);
	storage_write(ws, data, len);
	n = storage_write_bytes(ws);
	storage_write_close(ws, NULL);
	return n;
}

Datum
dlake_storage_write_text(PG_FUNCTION_ARGS)
{
	text	   *content;

	require_arg(fcinfo, 0, "location");
	require_arg(fcinfo, 1, "content");
	content = PG_GETARG_TEXT_PP(1);
	PG_RETURN_INT64(write_varlena(ARG_TEXT(0), ARG_SERVER(2),
								  VARDATA_ANY(content), VARSIZE_ANY_EXHDR(content)));
}

Datum
dlake_storage_write_bytes(PG_FUNCTION_ARGS)
{
	bytea	   *content;

	require_arg(fcinfo, 0, "location");
	require_arg(fcinfo, 1, "content");
	content = PG_GETARG_BYTEA_PP(1);
	PG_RETURN_INT64(write_varlena(ARG_TEXT(0), ARG_SERVER(2),
								  VARDATA_ANY(content), VARSIZE_ANY_EXHDR(content)));
}

/*
 * dlake.delete(location, server) deletes one object, or every object
 * under a prefix ending in '/'; returns how many objects were deleted.
 */
Datum
dlake_storage_delete(PG_FUNCTION_ARGS)
{
	DlakeLocation *loc;
	DlakeStorage *st;
	List	   *targets = NIL;

	require_arg(fcinfo, 0, "location");
	st = open_location(ARG_TEXT(0), ARG_SERVER(1), &loc);
	if (is_prefix(loc))
	{
		List	   *objs = storage_list(st, loc, true);
		ListCell   *lc;

		foreach(lc, objs)
		{
			DlakeObjectInfo *o = lfirst(lc);

			targets = lappend(targets, dlake_location_parse_or_error(o->uri));
		}
	}
	else
	{
		DlakeObjectInfo info;

		if (storage_stat(st, loc, &info))
			targets = list_make1(loc);
	}
	storage_delete(st, targets);
	PG_RETURN_INT64(list_length(targets));
}

/*
 * dlake.presign(location, expires_in, server, method) returns a URL that
 * grants one GET (or PUT) of the object to whoever holds it.
 */
Datum
dlake_storage_presign(PG_FUNCTION_ARGS)
{
	DlakeLocation *loc;
	DlakeStorage *st;
	Interval   *iv;
	int64		secs;
	char	   *method;

	require_arg(fcinfo, 0, "location");
	require_arg(fcinfo, 1, "expires_in");
	iv = PG_GETARG_INTERVAL_P(1);
	method = PG_ARGISNULL(3) ? "GET" : asc_toupper(ARG_TEXT(3), strlen(ARG_TEXT(3)));
	secs = iv->time / USECS_PER_SEC + (int64) iv->day * SECS_PER_DAY +
		(int64) iv->month * DAYS_PER_MONTH * SECS_PER_DAY;
	if (secs < 1 || secs > 604800)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expires_in must be between 1 second and 7 days"),
				 errdetail("S3 accepts presigned URLs valid for at most 604800 seconds.")));
	if (strcmp(method, "GET") != 0 && strcmp(method, "PUT") != 0 &&
		strcmp(method, "HEAD") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unsupported method \"%s\" for a presigned URL", method),
				 errhint("Use GET, HEAD or PUT.")));
	st = open_location(ARG_TEXT(0), ARG_SERVER(2), &loc);
	require_object(st, loc, NULL);
	PG_RETURN_TEXT_P(cstring_to_text(storage_presign(st, loc, method, (int) secs)));
}

Datum
dlake_storage_create_bucket(PG_FUNCTION_ARGS)
{
	char	   *bucket;
	DlakeLocation *loc;
	DlakeStorage *st;

	require_arg(fcinfo, 0, "bucket");
	bucket = ARG_TEXT(0);
	st = open_location(psprintf("s3://%s/", bucket), ARG_SERVER(1), &loc);
	storage_create_bucket(st, loc->bucket);
	PG_RETURN_VOID();
}

/*
 * dlake.copy_object(source, destination, server): server-side within one
 * bucket, otherwise streamed (also between S3 and file://).
 */
Datum
dlake_storage_copy_object(PG_FUNCTION_ARGS)
{
	DlakeLocation *src;
	DlakeLocation *dst;
	DlakeStorage *sst;
	DlakeStorage *dst_st;
	char	   *server;

	require_arg(fcinfo, 0, "source");
	require_arg(fcinfo, 1, "destination");
	server = ARG_SERVER(2);
	sst = open_location(ARG_TEXT(0), server, &src);
	require_object(sst, src, NULL);
	dst = dlake_location_parse_or_error(ARG_TEXT(1));
	if (dst->kind == DLAKE_STORAGE_S3 && src->kind == DLAKE_STORAGE_S3 &&
		strcmp(dst->bucket, src->bucket) == 0)
		dst_st = sst;
	else
		dst_st = open_location(ARG_TEXT(1), server, &dst);
	storage_copy(sst, src, dst_st, dst);
	PG_RETURN_VOID();
}

/*
 * dlake.write_generated(location, bytes, server, seed) streams a
 * deterministic pseudo-random byte sequence of the given length through a
 * write stream without materialising it: the test of multipart uploads,
 * cancellation and faults.  The sequence is 32-bit little-endian words of
 * the LCG x' = 1664525 x + 1013904223 (mod 2^32), starting from seed.
 */
Datum
dlake_storage_write_generated(PG_FUNCTION_ARGS)
{
	DlakeLocation *loc;
	DlakeStorage *st;
	DlakeWriteStream *ws;
	int64		total;
	int64		done = 0;
	uint32		x;
	const size_t chunk = 1024 * 1024;
	uint8	   *buf;

	require_arg(fcinfo, 0, "location");
	require_arg(fcinfo, 1, "bytes");
	total = PG_GETARG_INT64(1);
	x = PG_ARGISNULL(3) ? 1 : (uint32) PG_GETARG_INT32(3);
	if (total < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bytes must not be negative")));

	st = open_location(ARG_TEXT(0), ARG_SERVER(2), &loc);
	ws = storage_write_open(st, loc);
	buf = palloc(chunk);
	while (done < total)
	{
		size_t		n = Min((int64) chunk, total - done);

		CHECK_FOR_INTERRUPTS();
		for (size_t i = 0; i < n; i += 4)
		{
			x = x * 1664525u + 1013904223u;
			buf[i] = x & 0xff;
			if (i + 1 < n)
				buf[i + 1] = (x >> 8) & 0xff;
			if (i + 2 < n)
				buf[i + 2] = (x >> 16) & 0xff;
			if (i + 3 < n)
				buf[i + 3] = (x >> 24) & 0xff;
		}
		storage_write(ws, (char *) buf, n);
		done += n;
	}
	storage_write_close(ws, NULL);
	PG_RETURN_INT64(done);
}
