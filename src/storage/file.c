/*-------------------------------------------------------------------------
 *
 * file.c
 *	  The file:// storage backend: the same interface as S3 over a local
 *	  directory tree, so a lake works with no object store at all.
 *
 * Objects are regular files; a "prefix" is matched as a string against
 * absolute paths, like an S3 key prefix.  Writes go to a temp file in the
 * target directory (name starting with ".dlake-tmp-", skipped by
 * listings), are fsync'ed and renamed into place at close, so a reader
 * sees either the old object or the complete new one.
 *
 * Access needs the same privileges as file_fdw and COPY ... FROM/TO
 * files: superuser or pg_read_server_files (list, stat, read) and
 * pg_write_server_files (write, delete), because the server process
 * reads and writes with its own OS identity.
 *
 * IDENTIFICATION
 *	  src/storage/file.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_authid.h"
#include "common/file_perm.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "storage/storage_internal.h"

#define FILE_TMP_PREFIX ".dlake-tmp-"
#define FILE_WRITE_BUFFER (256 * 1024)

/*
 * file_check_access refuses file:// access to roles that could not read
 * (or write) server files with COPY either.
 */
void
file_check_access(bool write)
{
	Oid			role = write ? ROLE_PG_WRITE_SERVER_FILES : ROLE_PG_READ_SERVER_FILES;

	if (superuser() || has_privs_of_role(GetUserId(), role))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s server files through file:// locations",
					write ? "write" : "read"),
			 errdetail("file:// locations are accessed with the operating system identity of the database server."),
			 errhint("Only superusers and roles with privileges of the \"%s\" role may use file:// locations for this.",
					 write ? "pg_write_server_files" : "pg_read_server_files")));
}

static DlakeObjectInfo *
make_info(const char *path, const struct stat *sb)
{
	DlakeObjectInfo *o = palloc0(sizeof(DlakeObjectInfo));

	o->key = pstrdup(path);
	o->uri = psprintf("file://%s", path);
	o->size = sb->st_size;
	o->last_modified = time_t_to_timestamptz(sb->st_mtime);
	o->etag = psprintf("%ld-%lld", (long) sb->st_mtime, (long long) sb->st_size);
	return o;
}

/*
 * walk appends every regular file under dir whose path starts with
 * prefix; it descends only into directories that can contain matches.
 */
static void
walk(const char *dir, const char *prefix, List **out)
{
	DIR		   *d;
	struct dirent *de;
	size_t		plen = strlen(prefix);

	CHECK_FOR_INTERRUPTS();
	d = AllocateDir(dir);
	if (d == NULL)
	{
		if (errno == ENOENT || errno == ENOTDIR)
			return;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open directory \"%s\": %m", dir)));
	}
	while ((de = ReadDir(d, dir)) != NULL)
	{
		char	   *path;
		struct stat sb;
		size_t		len;

		if (de->d_name[0] == '.')	/* ., .., hidden and temp files */
			continue;
		path = psprintf("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", de->d_name);
		if (lstat(path, &sb) != 0)
			continue;			/* vanished meanwhile */
		len = strlen(path);
		if (S_ISDIR(sb.st_mode))
		{
			/* descend when dir/ is a prefix of prefix or vice versa */
			char	   *dpath = psprintf("%s/", path);
			size_t		dlen = len + 1;

			if (strncmp(dpath, prefix, Min(dlen, plen)) == 0)
				walk(path, prefix, out);
			pfree(dpath);
		}
		else if (S_ISREG(sb.st_mode) && len >= plen && strncmp(path, prefix, plen) == 0)
			*out = lappend(*out, make_info(path, &sb));
		pfree(path);
	}
	FreeDir(d);
}

List *
file_list(DlakeStorage *st, const DlakeLocation *prefix, bool recursive)
{
	List	   *out = NIL;
	char	   *root;
	const char *p = prefix->key;
	const char *last = strrchr(p, '/');

	file_check_access(false);
	/* the directory to start from: the prefix up to its last '/' */
	root = (last == p) ? pstrdup("/") : pnstrdup(p, last - p);
	walk(root, p, &out);
	list_sort(out, storage_object_info_cmp);
	if (!recursive)
		out = storage_rollup(out, prefix->uri, strlen(prefix->uri));
	return out;
}

bool
file_stat(DlakeStorage *st, const DlakeLocation *loc, DlakeObjectInfo *info)
{
	struct stat sb;
	DlakeObjectInfo *o;

	file_check_access(false);
	if (stat(loc->key, &sb) != 0)
	{
		if (errno == ENOENT || errno == ENOTDIR)
			return false;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", loc->key)));
	}
	if (!S_ISREG(sb.st_mode))
		return false;
	o = make_info(loc->key, &sb);
	*info = *o;
	return true;
}

void
file_read_range(DlakeStorage *st, const DlakeLocation *loc,
				int64 offset, int64 len, StringInfo buf)
{
	int			fd;
	struct stat sb;
	int64		end;

	file_check_access(false);
	fd = OpenTransientFile(loc->key, O_RDONLY | PG_BINARY);
	if (fd < 0)
	{
		if (errno == ENOENT || errno == ENOTDIR)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("object \"%s\" does not exist", loc->uri)));
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\" for reading: %m", loc->key)));
	}
	if (fstat(fd, &sb) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", loc->key)));
	if (!S_ISREG(sb.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a regular file", loc->uri)));
	end = (len < 0) ? sb.st_size : Min(sb.st_size, offset + len);
	if (end - offset >= (int64) MaxAllocSize - buf->len)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("read of %lld bytes from \"%s\" is too large",
						(long long) (end - offset), loc->uri)));
	while (offset < end)
	{
		size_t		want = Min(end - offset, 1024 * 1024);
		ssize_t		n;

		CHECK_FOR_INTERRUPTS();
		enlargeStringInfo(buf, want);
		n = pread(fd, buf->data + buf->len, want, offset);
		if (n < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", loc->key)));
		if (n == 0)
			break;				/* truncated meanwhile */
		buf->len += n;
		buf->data[buf->len] = '\0';
		offset += n;
	}
	CloseTransientFile(fd);
}

/*
 * mkdir_parents creates the missing directories above path.
 */
static void
mkdir_parents(const char *path)
{
	char	   *dir = pstrdup(path);
	char	   *slash = strrchr(dir, '/');

	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';
	if (pg_mkdir_p(dir, pg_dir_create_mode) != 0 && errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", dir)));
}

void
file_write_open(DlakeStorage *st, const DlakeLocation *loc, DlakeWriteStream *ws)
{
	static uint32 counter = 0;
	const char *slash = strrchr(loc->key, '/');
	MemoryContext old = MemoryContextSwitchTo(ws->cxt);

	ws->final_path = pstrdup(loc->key);
	ws->tmp_path = psprintf("%.*s/" FILE_TMP_PREFIX "%s.%d.%u",
							(int) (slash - loc->key), loc->key, slash + 1,
							MyProcPid, ++counter);
	ws->buf_cap = FILE_WRITE_BUFFER;
	ws->buf = palloc(ws->buf_cap);
	MemoryContextSwitchTo(old);

	mkdir_parents(ws->final_path);
	ws->fd = open(ws->tmp_path, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY,
				  pg_file_create_mode);
	if (ws->fd < 0)
	{
		int			save_errno = errno;

		ws->tmp_path = NULL;	/* nothing to remove at abort */
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create a temporary file next to \"%s\": %m",
						loc->key),
				 errcontext("writing %s", loc->uri)));
	}
}

static void
file_flush(DlakeWriteStream *ws)
{
	size_t		done = 0;

	while (done < ws->buf_len)
	{
		ssize_t		n = write(ws->fd, ws->buf + done, ws->buf_len - done);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write file \"%s\": %m", ws->tmp_path),
					 errcontext("writing %s", ws->uri)));
		}
		done += n;
	}
	ws->buf_len = 0;
}

void
file_write(DlakeWriteStream *ws, const char *data, size_t len)
{
	while (len > 0)
	{
		size_t		n = Min(len, ws->buf_cap - ws->buf_len);

		memcpy(ws->buf + ws->buf_len, data, n);
		ws->buf_len += n;
		data += n;
		len -= n;
		if (ws->buf_len == ws->buf_cap)
		{
			CHECK_FOR_INTERRUPTS();
			file_flush(ws);
		}
	}
}

void
file_write_close(DlakeWriteStream *ws, DlakeObjectInfo *info)
{
	struct stat sb;

	file_flush(ws);
	if (pg_fsync(ws->fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", ws->tmp_path)));
	if (close(ws->fd) != 0)
	{
		ws->fd = -1;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", ws->tmp_path)));
	}
	ws->fd = -1;
	if (rename(ws->tmp_path, ws->final_path) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not rename file \"%s\" to \"%s\": %m",
						ws->tmp_path, ws->final_path)));
	/* make the rename durable */
	{
		char	   *dir = pstrdup(ws->final_path);

		*strrchr(dir, '/') = '\0';
		fsync_fname(dir[0] ? dir : "/", true);
	}
	if (stat(ws->final_path, &sb) == 0)
	{
		DlakeObjectInfo *o = make_info(ws->final_path, &sb);

		*info = *o;
	}
}

bool
file_write_abort(DlakeWriteStream *ws, char **errmsg)
{
	if (ws->fd >= 0)
	{
		close(ws->fd);
		ws->fd = -1;
	}
	if (ws->tmp_path && unlink(ws->tmp_path) != 0 && errno != ENOENT && errno != ENOTDIR)
	{
		*errmsg = psprintf("could not remove temporary file \"%s\": %m", ws->tmp_path);
		return false;
	}
	return true;
}

void
file_delete(DlakeStorage *st, List *locations)
{
	ListCell   *lc;

	file_check_access(true);
	foreach(lc, locations)
	{
		DlakeLocation *loc = lfirst(lc);

		CHECK_FOR_INTERRUPTS();
		if (unlink(loc->key) != 0 && errno != ENOENT)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not delete file \"%s\": %m", loc->key)));
	}
}
