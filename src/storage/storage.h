/*-------------------------------------------------------------------------
 *
 * storage.h
 *	  One small interface over a lake location, two backends:
 *	  s3://bucket/prefix (any S3-compatible endpoint) and file:///abs/dir.
 *
 * Storage is a backend module: its functions raise ERRORs themselves
 * (through aws_report_error for S3) with errcontext naming the object.
 * Writers are streaming: S3 uses multipart upload (parts uploaded as they
 * fill, completed at close, aborted on error or transaction abort); the
 * file backend writes a temp file renamed at close, so readers never see
 * a partial object.
 *
 * IDENTIFICATION
 *	  src/storage/storage.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_STORAGE_H
#define DLAKE_STORAGE_H

#include "postgres.h"

#include "common/config.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

typedef enum DlakeStorageKind
{
	DLAKE_STORAGE_S3,
	DLAKE_STORAGE_FILE
} DlakeStorageKind;

typedef struct DlakeLocation
{
	DlakeStorageKind kind;
	char	   *bucket;			/* S3 only */
	char	   *key;			/* S3: key or prefix (no leading '/'); file:
								 * absolute path */
	char	   *uri;			/* normalised URI */
} DlakeLocation;

typedef struct DlakeObjectInfo
{
	char	   *uri;			/* full URI of the object */
	char	   *key;			/* S3 key / absolute file path */
	int64		size;
	TimestampTz last_modified;
	char	   *etag;			/* S3 ETag (quoted as returned); file:
								 * "mtime-size" */
} DlakeObjectInfo;

/*
 * A storage handle (opaque).  storage_open allocates it, with everything it
 * caches (endpoint, credentials resolved on first use), in a memory context
 * of its own under the caller's current context: it may be used from any
 * shorter-lived context and lives until the context that opened it goes.
 */
typedef struct DlakeStorage DlakeStorage;
typedef struct DlakeWriteStream DlakeWriteStream;	/* opaque */

/* parse; returns false with *errmsg (a full sentence) on bad input */
extern bool dlake_location_parse(const char *uri, DlakeLocation *out, char **errmsg);
/* parse or ereport ERRCODE_INVALID_PARAMETER_VALUE */
extern DlakeLocation *dlake_location_parse_or_error(const char *uri);
/* child location: base + "/" + relative (relative must be a clean path) */
extern DlakeLocation *dlake_location_child(const DlakeLocation *base, const char *relative);

extern DlakeStorage *storage_open(const DlakeConfig *cfg, const DlakeLocation *loc);

/*
 * List objects under a prefix.  recursive=false lists one level (S3
 * delimiter '/'; sub-prefixes come back with size -1 and a trailing '/').
 * Paginates to the end; returns a List of DlakeObjectInfo *, sorted by key.
 */
extern List *storage_list(DlakeStorage *st, const DlakeLocation *prefix, bool recursive);

/* stat one object; returns false when it does not exist */
extern bool storage_stat(DlakeStorage *st, const DlakeLocation *loc, DlakeObjectInfo *info);

/* read [offset, offset+len) into buf (appended); len < 0 = to the end */
extern void storage_read_range(DlakeStorage *st, const DlakeLocation *loc,
							   int64 offset, int64 len, StringInfo buf);

extern DlakeWriteStream *storage_write_open(DlakeStorage *st, const DlakeLocation *loc);
extern void storage_write(DlakeWriteStream *ws, const char *data, size_t len);
extern int64 storage_write_bytes(DlakeWriteStream *ws);
/* make the object visible; returns its info */
extern void storage_write_close(DlakeWriteStream *ws, DlakeObjectInfo *info);
/* discard: abort multipart / unlink temp file; never raises */
extern void storage_write_abort(DlakeWriteStream *ws);

/* delete objects (List of DlakeLocation *); S3 batches by 1000 */
extern void storage_delete(DlakeStorage *st, List *locations);

/*
 * S3-only helpers used by the SQL API: a presigned URL for one object
 * (method GET or PUT, expires_s 1..604800), bucket creation (for demos and
 * tests) and a copy (server-side within one S3 bucket, else streamed).
 */
extern char *storage_presign(DlakeStorage *st, const DlakeLocation *loc,
							 const char *method, int expires_s);
extern void storage_create_bucket(DlakeStorage *st, const char *bucket);
extern void storage_copy(DlakeStorage *src_st, const DlakeLocation *src,
						 DlakeStorage *dst_st, const DlakeLocation *dst);

#endif							/* DLAKE_STORAGE_H */
