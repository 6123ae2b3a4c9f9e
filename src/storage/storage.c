/*-------------------------------------------------------------------------
 *
 * storage.c
 *	  The storage interface: dispatch to the S3 or file backend, the
 *	  registry of open write streams (discarded on transaction or
 *	  subtransaction abort), and helpers shared by both backends.
 *
 * A write stream that is still open when its transaction ends was never
 * made visible: on abort it is discarded silently (S3: the multipart
 * upload is aborted; file: the temp file is unlinked), on commit it is
 * discarded with a WARNING because the caller forgot to close it.  A
 * failure while discarding is logged, never raised: we are already
 * cleaning up after an error.
 *
 * IDENTIFICATION
 *	  src/storage/storage.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/datetime.h"
#include "utils/memutils.h"

#include "guc.h"
#include "storage/storage_internal.h"

static List *open_streams = NIL;	/* in TopMemoryContext */
static bool callbacks_registered = false;

static void storage_xact_callback(XactEvent event, void *arg);
static void storage_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
									 SubTransactionId parentSubid, void *arg);

/*
 * storage_open prepares access to one location: for S3 it computes the
 * endpoint and addressing style of the bucket; credentials are resolved
 * on the first request.
 */
DlakeStorage *
storage_open(const DlakeConfig *cfg, const DlakeLocation *loc)
{
	MemoryContext cxt;
	MemoryContext old;
	DlakeStorage *st;

	if (loc->kind == DLAKE_STORAGE_S3 && cfg == NULL)
		elog(ERROR, "S3 storage needs a configuration");
	cxt = AllocSetContextCreate(CurrentMemoryContext, "dlake storage handle",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	st = palloc0(sizeof(DlakeStorage));
	st->kind = loc->kind;
	st->cxt = cxt;
	st->cfg = cfg;
	if (loc->kind == DLAKE_STORAGE_S3)
		s3_open(st, loc);
	MemoryContextSwitchTo(old);
	return st;
}

static void
check_kind(DlakeStorage *st, const DlakeLocation *loc)
{
	if (st->kind != loc->kind ||
		(loc->kind == DLAKE_STORAGE_S3 && strcmp(st->bucket, loc->bucket) != 0))
		elog(ERROR, "location \"%s\" does not belong to this storage handle", loc->uri);
}

List *
storage_list(DlakeStorage *st, const DlakeLocation *prefix, bool recursive)
{
	check_kind(st, prefix);
	if (st->kind == DLAKE_STORAGE_S3)
		return s3_list(st, prefix, recursive);
	return file_list(st, prefix, recursive);
}

bool
storage_stat(DlakeStorage *st, const DlakeLocation *loc, DlakeObjectInfo *info)
{
	check_kind(st, loc);
	memset(info, 0, sizeof(*info));
	if (st->kind == DLAKE_STORAGE_S3)
		return s3_stat(st, loc, info);
	return file_stat(st, loc, info);
}

void
storage_read_range(DlakeStorage *st, const DlakeLocation *loc,
				   int64 offset, int64 len, StringInfo buf)
{
	check_kind(st, loc);
	if (offset < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("read offset must not be negative")));
	if (len == 0)
		return;
	if (st->kind == DLAKE_STORAGE_S3)
		s3_read_range(st, loc, offset, len, buf);
	else
		file_read_range(st, loc, offset, len, buf);
}

/*
 * storage_stream_alloc creates a stream in its own memory context under
 * TopTransactionContext.
 */
DlakeWriteStream *
storage_stream_alloc(DlakeStorageKind kind, const char *uri)
{
	MemoryContext cxt;
	DlakeWriteStream *ws;

	/* streams belong to a transaction: its abort discards them */
	if (!IsTransactionState())
		elog(ERROR, "dlake write streams can only be opened inside a transaction");
	cxt = AllocSetContextCreate(TopTransactionContext, "dlake write stream",
								ALLOCSET_DEFAULT_SIZES);
	ws = MemoryContextAllocZero(cxt, sizeof(DlakeWriteStream));
	ws->kind = kind;
	ws->cxt = cxt;
	ws->opcxt = AllocSetContextCreate(cxt, "dlake write stream request",
									  ALLOCSET_DEFAULT_SIZES);
	ws->uri = MemoryContextStrdup(cxt, uri);
	ws->subid = GetCurrentSubTransactionId();
	ws->fd = -1;
	return ws;
}

void
storage_register_stream(DlakeWriteStream *ws)
{
	MemoryContext old;

	if (!callbacks_registered)
	{
		RegisterXactCallback(storage_xact_callback, NULL);
		RegisterSubXactCallback(storage_subxact_callback, NULL);
		callbacks_registered = true;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	open_streams = lappend(open_streams, ws);
	MemoryContextSwitchTo(old);
}

void
storage_unregister_stream(DlakeWriteStream *ws)
{
	open_streams = list_delete_ptr(open_streams, ws);
}

DlakeWriteStream *
storage_write_open(DlakeStorage *st, const DlakeLocation *loc)
{
	DlakeWriteStream *ws;

	check_kind(st, loc);
	if (loc->key[0] == '\0' || loc->key[strlen(loc->key) - 1] == '/')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot write to \"%s\"", loc->uri),
				 errdetail("A location ending in \"/\" is a prefix, not an object.")));
	if (st->kind == DLAKE_STORAGE_FILE)
		file_check_access(true);

	ws = storage_stream_alloc(st->kind, loc->uri);
	/* register first: a failure while opening still discards the stream */
	storage_register_stream(ws);
	if (st->kind == DLAKE_STORAGE_S3)
		s3_write_open(st, loc, ws);
	else
		file_write_open(st, loc, ws);
	return ws;
}

void
storage_write(DlakeWriteStream *ws, const char *data, size_t len)
{
	if (ws->finished)
		elog(ERROR, "write stream for \"%s\" is already closed", ws->uri);
	if (len == 0)
		return;
	if (ws->kind == DLAKE_STORAGE_S3)
		s3_write(ws, data, len);
	else
		file_write(ws, data, len);
	ws->bytes += len;
}

int64
storage_write_bytes(DlakeWriteStream *ws)
{
	return ws->bytes;
}

/*
 * storage_write_close makes the object visible and frees the stream.  On
 * error the stream stays registered and is discarded at abort.
 */
void
storage_write_close(DlakeWriteStream *ws, DlakeObjectInfo *info)
{
	DlakeObjectInfo tmp;

	if (ws->finished)
		elog(ERROR, "write stream for \"%s\" is already closed", ws->uri);
	if (info == NULL)
		info = &tmp;
	memset(info, 0, sizeof(*info));
	if (ws->kind == DLAKE_STORAGE_S3)
		s3_write_close(ws, info);
	else
		file_write_close(ws, info);
	ws->finished = true;
	storage_unregister_stream(ws);
	MemoryContextDelete(ws->cxt);
}

/*
 * discard_stream aborts a stream without raising; failures are logged.
 */
static void
discard_stream(DlakeWriteStream *ws, int elevel)
{
	char	   *msg = NULL;
	bool		ok = false;
	MemoryContext old = MemoryContextSwitchTo(ws->opcxt);

	if (!ws->finished)
	{
		PG_TRY();
		{
			if (ws->kind == DLAKE_STORAGE_S3)
				ok = s3_write_abort(ws, &msg);
			else
				ok = file_write_abort(ws, &msg);
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(ws->opcxt);
			edata = CopyErrorData();
			FlushErrorState();
			msg = edata->message;
			ok = false;
		}
		PG_END_TRY();
	}
	MemoryContextSwitchTo(old);
	if (!ok)
		ereport(elevel,
				(errmsg("could not discard the partial write of \"%s\"", ws->uri),
				 errdetail("%s", msg ? msg : "unknown error"),
				 ws->kind == DLAKE_STORAGE_S3 ?
				 errhint("An incomplete multipart upload may remain; a bucket lifecycle rule with AbortIncompleteMultipartUpload removes it.") : 0));
	ws->finished = true;
	storage_unregister_stream(ws);
	MemoryContextDelete(ws->cxt);
}

void
storage_write_abort(DlakeWriteStream *ws)
{
	if (ws == NULL || ws->finished)
		return;
	discard_stream(ws, WARNING);
}

static void
storage_xact_callback(XactEvent event, void *arg)
{
	if (open_streams == NIL)
		return;
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			{
				bool		leaked = (event != XACT_EVENT_ABORT &&
									  event != XACT_EVENT_PARALLEL_ABORT);

				while (open_streams != NIL)
				{
					DlakeWriteStream *ws = linitial(open_streams);

					if (leaked)
						ereport(WARNING,
								(errmsg("write stream for \"%s\" was not closed before commit; discarding it",
										ws->uri)));
					discard_stream(ws, WARNING);
				}
				list_free(open_streams);
				open_streams = NIL;
				break;
			}
		default:
			break;
	}
}

static void
storage_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (open_streams == NIL)
		return;
	if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		foreach(lc, open_streams)
		{
			DlakeWriteStream *ws = lfirst(lc);

			if (ws->subid == mySubid)
				ws->subid = parentSubid;
		}
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		bool		again = true;

		while (again)
		{
			again = false;
			foreach(lc, open_streams)
			{
				DlakeWriteStream *ws = lfirst(lc);

				if (ws->subid == mySubid)
				{
					discard_stream(ws, WARNING);
					again = true;
					break;
				}
			}
		}
	}
}

void
storage_delete(DlakeStorage *st, List *locations)
{
	ListCell   *lc;

	foreach(lc, locations)
		check_kind(st, (DlakeLocation *) lfirst(lc));
	if (locations == NIL)
		return;
	if (st->kind == DLAKE_STORAGE_S3)
		s3_delete(st, locations);
	else
		file_delete(st, locations);
}

char *
storage_presign(DlakeStorage *st, const DlakeLocation *loc, const char *method,
				int expires_s)
{
	check_kind(st, loc);
	if (st->kind != DLAKE_STORAGE_S3)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot presign \"%s\"", loc->uri),
				 errdetail("Presigned URLs exist for S3 locations only.")));
	return s3_presign(st, loc, method, expires_s);
}

void
storage_create_bucket(DlakeStorage *st, const char *bucket)
{
	if (st->kind != DLAKE_STORAGE_S3)
		elog(ERROR, "buckets exist on S3 only");
	s3_create_bucket(st, bucket);
}

/*
 * storage_copy copies one object: server-side within one S3 bucket,
 * otherwise by streaming it through this backend in 8 MB chunks.
 */
void
storage_copy(DlakeStorage *src_st, const DlakeLocation *src,
			 DlakeStorage *dst_st, const DlakeLocation *dst)
{
	DlakeObjectInfo info;
	DlakeWriteStream *ws;
	StringInfoData buf;
	const int64 chunk = 8 * 1024 * 1024;

	check_kind(src_st, src);
	check_kind(dst_st, dst);
	if (src_st == dst_st && src->kind == DLAKE_STORAGE_S3)
	{
		s3_copy_object(src_st, src, dst);
		return;
	}
	if (!storage_stat(src_st, src, &info))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("object \"%s\" does not exist", src->uri)));
	ws = storage_write_open(dst_st, dst);
	initStringInfo(&buf);
	for (int64 off = 0; off < info.size; off += chunk)
	{
		CHECK_FOR_INTERRUPTS();
		resetStringInfo(&buf);
		storage_read_range(src_st, src, off, Min(chunk, info.size - off), &buf);
		storage_write(ws, buf.data, buf.len);
	}
	storage_write_close(ws, NULL);
}

/*
 * storage_parse_iso8601 parses "2009-10-12T17:50:30.000Z" (the form of
 * S3 XML dates); false when the text does not match.
 */
bool
storage_parse_iso8601(const char *s, TimestampTz *out)
{
	struct pg_tm tm;
	int			y, mo, d, h, mi, sec, n = 0;
	fsec_t		fsec = 0;
	const char *p;

	if (s == NULL ||
		sscanf(s, "%d-%d-%dT%d:%d:%d%n", &y, &mo, &d, &h, &mi, &sec, &n) < 6)
		return false;
	p = s + n;
	if (*p == '.')
	{
		int			scale = 100000;

		for (p++; *p >= '0' && *p <= '9'; p++)
		{
			fsec += (*p - '0') * scale;
			scale /= 10;
		}
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y;
	tm.tm_mon = mo;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return tm2timestamp(&tm, fsec, NULL, out) == 0;
}

/*
 * storage_parse_http_date parses an RFC 7231 date such as
 * "Fri, 24 May 2013 00:00:00 GMT" (Last-Modified headers).
 */
bool
storage_parse_http_date(const char *s, TimestampTz *out)
{
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct pg_tm tm;
	char		mon[4];
	int			d, y, h, mi, sec;

	if (s == NULL ||
		sscanf(s, "%*3s, %d %3s %d %d:%d:%d", &d, mon, &y, &h, &mi, &sec) != 6)
		return false;
	memset(&tm, 0, sizeof(tm));
	for (int i = 0; i < 12; i++)
		if (pg_strcasecmp(mon, months[i]) == 0)
			tm.tm_mon = i + 1;
	if (tm.tm_mon == 0)
		return false;
	tm.tm_year = y;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return tm2timestamp(&tm, 0, NULL, out) == 0;
}

int
storage_object_info_cmp(const ListCell *a, const ListCell *b)
{
	const DlakeObjectInfo *x = lfirst(a);
	const DlakeObjectInfo *y = lfirst(b);

	return strcmp(x->uri, y->uri);
}

/*
 * storage_rollup turns a sorted recursive listing into a one-level one:
 * objects deeper than the prefix collapse into "sub/" entries (size -1),
 * as an S3 listing with delimiter '/' does.
 */
List *
storage_rollup(List *objects, const char *prefix_uri, size_t prefix_len)
{
	List	   *out = NIL;
	DlakeObjectInfo *last_dir = NULL;
	ListCell   *lc;

	foreach(lc, objects)
	{
		DlakeObjectInfo *o = lfirst(lc);
		const char *rest = o->uri + prefix_len;
		const char *slash = strchr(rest, '/');
		DlakeObjectInfo *d;
		char	   *dir_uri;

		if (slash == NULL)
		{
			out = lappend(out, o);
			continue;
		}
		dir_uri = pnstrdup(o->uri, slash - o->uri + 1);
		if (last_dir && strcmp(last_dir->uri, dir_uri) == 0)
			continue;
		d = palloc0(sizeof(DlakeObjectInfo));
		d->uri = dir_uri;
		d->key = pnstrdup(o->key, strlen(o->key) - strlen(slash) + 1);
		d->size = -1;
		d->last_modified = DT_NOBEGIN;
		d->etag = NULL;
		out = lappend(out, d);
		last_dir = d;
	}
	return out;
}
