/*-------------------------------------------------------------------------
 *
 * storage_internal.h
 *	  Shared between storage.c (dispatch, stream bookkeeping) and the two
 *	  backends s3.c and file.c.  Not for use outside src/storage/.
 *
 * IDENTIFICATION
 *	  src/storage/storage_internal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_STORAGE_INTERNAL_H
#define DLAKE_STORAGE_INTERNAL_H

#include "postgres.h"

#include "access/xact.h"
#include "aws/aws_request.h"
#include "storage/storage.h"

/*
 * A storage handle.  Everything it caches (the handle itself, bucket,
 * endpoint, region, credentials resolved on first use) lives in its own
 * memory context, created by storage_open as a child of the caller's
 * context: the handle stays valid however many contexts (readers, files,
 * batches) its requests are made from, and goes away with the context
 * that opened it.
 */
struct DlakeStorage
{
	DlakeStorageKind kind;
	MemoryContext cxt;			/* owns the handle and what it caches */
	const DlakeConfig *cfg;		/* borrowed; NULL for file:// */
	/* S3 only */
	char	   *bucket;
	char	   *region;			/* copy of cfg->region */
	AwsEndpoint *endpoint;
	bool		path_style;
	AwsCredentials *creds;		/* resolved on first use, in cxt */
};

/*
 * An open write stream.  Lives in its own memory context under
 * TopTransactionContext and is registered in a list so that a
 * transaction or subtransaction abort discards it (S3: abort multipart;
 * file: unlink the temp file).  Everything the abort needs is copied into
 * that context.
 */
struct DlakeWriteStream
{
	DlakeStorageKind kind;
	MemoryContext cxt;			/* owns the stream and its buffers */
	MemoryContext opcxt;		/* per request, reset after each */
	SubTransactionId subid;		/* subtransaction that opened it */
	char	   *uri;
	int64		bytes;			/* accepted so far */
	bool		finished;		/* closed or aborted */

	/* buffer: at most one part (S3) / a small write buffer (file) */
	char	   *buf;
	size_t		buf_len;
	size_t		buf_cap;
	size_t		part_size;

	/* S3 */
	char	   *bucket;
	char	   *key;
	AwsEndpoint endpoint;
	bool		path_style;
	char	   *region;
	AwsCredentials creds;
	char	   *upload_id;		/* NULL until the first part is sent */
	int			nparts;
	List	   *etags;			/* of char *, part n at index n-1 */

	/* file */
	int			fd;
	char	   *final_path;
	char	   *tmp_path;
};

/* storage.c */
extern void storage_register_stream(DlakeWriteStream *ws);
extern void storage_unregister_stream(DlakeWriteStream *ws);
extern DlakeWriteStream *storage_stream_alloc(DlakeStorageKind kind, const char *uri);
extern bool storage_parse_iso8601(const char *s, TimestampTz *out);
extern bool storage_parse_http_date(const char *s, TimestampTz *out);
extern int	storage_object_info_cmp(const ListCell *a, const ListCell *b);
extern List *storage_rollup(List *objects, const char *prefix_uri, size_t prefix_len);

/* s3.c */
extern void s3_open(DlakeStorage *st, const DlakeLocation *loc);
extern List *s3_list(DlakeStorage *st, const DlakeLocation *prefix, bool recursive);
extern bool s3_stat(DlakeStorage *st, const DlakeLocation *loc, DlakeObjectInfo *info);
extern void s3_read_range(DlakeStorage *st, const DlakeLocation *loc,
						  int64 offset, int64 len, StringInfo buf);
extern void s3_write_open(DlakeStorage *st, const DlakeLocation *loc, DlakeWriteStream *ws);
extern void s3_write(DlakeWriteStream *ws, const char *data, size_t len);
extern void s3_write_close(DlakeWriteStream *ws, DlakeObjectInfo *info);
extern bool s3_write_abort(DlakeWriteStream *ws, char **errmsg);
extern void s3_delete(DlakeStorage *st, List *locations);
extern char *s3_presign(DlakeStorage *st, const DlakeLocation *loc, const char *method,
						int expires_s);
extern void s3_create_bucket(DlakeStorage *st, const char *bucket);
extern void s3_copy_object(DlakeStorage *st, const DlakeLocation *src,
						   const DlakeLocation *dst);

/* s3_xml.c: a tolerant extractor for the flat XML documents of S3 */
extern bool s3_xml_next(const char **cursor, const char *end, const char *name,
						const char **inner, size_t *inner_len);
extern char *s3_xml_child(const char *inner, size_t len, const char *name);
extern char *s3_xml_unescape(const char *s, size_t len);
extern void s3_xml_escape(StringInfo buf, const char *s);
extern char *s3_url_form_decode(const char *s);

/* file.c */
extern List *file_list(DlakeStorage *st, const DlakeLocation *prefix, bool recursive);
extern bool file_stat(DlakeStorage *st, const DlakeLocation *loc, DlakeObjectInfo *info);
extern void file_read_range(DlakeStorage *st, const DlakeLocation *loc,
							int64 offset, int64 len, StringInfo buf);
extern void file_write_open(DlakeStorage *st, const DlakeLocation *loc, DlakeWriteStream *ws);
extern void file_write(DlakeWriteStream *ws, const char *data, size_t len);
extern void file_write_close(DlakeWriteStream *ws, DlakeObjectInfo *info);
extern bool file_write_abort(DlakeWriteStream *ws, char **errmsg);
extern void file_delete(DlakeStorage *st, List *locations);
extern void file_check_access(bool write);

#endif							/* DLAKE_STORAGE_INTERNAL_H */
