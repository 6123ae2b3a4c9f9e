/*-------------------------------------------------------------------------
 *
 * location.c
 *	  Parse and validate lake locations: s3://bucket/key-or-prefix and
 *	  file:///absolute/path.
 *
 * A location is taken literally (no percent-decoding): what the user
 * writes after the bucket is the S3 key.  Paths that would be ambiguous
 * or dangerous are refused: "." and ".." segments (a key "a/../b" is a
 * different object on S3 than on a file system, and on the file backend
 * it would escape the directory), empty segments ("a//b"), control
 * characters, and relative file paths.  A trailing '/' is kept: it marks
 * a prefix ("directory").
 *
 * IDENTIFICATION
 *	  src/storage/location.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "storage/storage.h"

#define S3_MAX_KEY_BYTES 1024

/*
 * check_path_segments validates a '/'-separated path (S3 key or file path
 * without its leading '/'); returns false with a sentence in *errmsg.
 */
static bool
check_path_segments(const char *path, const char *what, char **errmsg)
{
	const char *seg = path;

	for (const char *c = path; *c; c++)
	{
		if ((unsigned char) *c < 0x20 || *c == 0x7f)
		{
			*errmsg = psprintf("The %s contains the control character 0x%02x at byte %d.",
							   what, (unsigned char) *c, (int) (c - path) + 1);
			return false;
		}
	}

	while (*seg)
	{
		const char *slash = strchr(seg, '/');
		int			len = slash ? (int) (slash - seg) : (int) strlen(seg);

		if (len == 0)
		{
			*errmsg = psprintf("The %s contains an empty segment (\"//\").", what);
			return false;
		}
		if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
		{
			*errmsg = psprintf("The %s contains a \"%.*s\" segment; relative segments are not allowed.",
							   what, len, seg);
			return false;
		}
		if (!slash)
			break;
		seg = slash + 1;		/* a trailing '/' ends the loop: a prefix */
	}
	return true;
}

/*
 * check_bucket applies the S3 bucket naming rules: 3 to 63 characters of
 * lowercase letters, digits, '.' and '-', beginning and ending with a
 * letter or digit, not shaped like an IP address.
 */
static bool
check_bucket(const char *b, char **errmsg)
{
	int			len = strlen(b);
	bool		all_digits_dots = true;

	if (len == 0)
	{
		*errmsg = pstrdup("The bucket name is empty.");
		return false;
	}
	if (len < 3 || len > 63)
	{
		*errmsg = psprintf("The bucket name \"%s\" must be between 3 and 63 characters long.", b);
		return false;
	}
	for (const char *c = b; *c; c++)
	{
		if (!(islower((unsigned char) *c) || isdigit((unsigned char) *c) ||
			  *c == '.' || *c == '-'))
		{
			*errmsg = psprintf("The bucket name \"%s\" contains \"%c\"; only lowercase letters, digits, '.' and '-' are allowed.",
							   b, isprint((unsigned char) *c) ? *c : '?');
			return false;
		}
		if (!isdigit((unsigned char) *c) && *c != '.')
			all_digits_dots = false;
	}
	if (!isalnum((unsigned char) b[0]) || !isalnum((unsigned char) b[len - 1]))
	{
		*errmsg = psprintf("The bucket name \"%s\" must begin and end with a letter or digit.", b);
		return false;
	}
	if (strstr(b, "..") != NULL)
	{
		*errmsg = psprintf("The bucket name \"%s\" contains two adjacent periods.", b);
		return false;
	}
	if (all_digits_dots)
	{
		*errmsg = psprintf("The bucket name \"%s\" is formatted like an IP address.", b);
		return false;
	}
	return true;
}

/*
 * dlake_location_parse parses uri into out; on bad input it returns false
 * and a full sentence in *errmsg explaining what is wrong.
 */
bool
dlake_location_parse(const char *uri, DlakeLocation *out, char **errmsg)
{
	memset(out, 0, sizeof(*out));

	if (uri == NULL || uri[0] == '\0')
	{
		*errmsg = pstrdup("The location is empty.");
		return false;
	}

	if (pg_strncasecmp(uri, "s3:", 3) == 0)
	{
		const char *p = uri + 3;
		const char *slash;

		if (strncmp(p, "//", 2) != 0)
		{
			*errmsg = pstrdup("An S3 location must start with \"s3://\" followed by the bucket name.");
			return false;
		}
		p += 2;
		slash = strchr(p, '/');
		out->kind = DLAKE_STORAGE_S3;
		out->bucket = slash ? pnstrdup(p, slash - p) : pstrdup(p);
		if (!check_bucket(out->bucket, errmsg))
			return false;
		out->key = slash ? pstrdup(slash + 1) : pstrdup("");
		if (strlen(out->key) > S3_MAX_KEY_BYTES)
		{
			*errmsg = psprintf("The key is %d bytes long; S3 keys are at most %d bytes.",
							   (int) strlen(out->key), S3_MAX_KEY_BYTES);
			return false;
		}
		if (!check_path_segments(out->key, "key", errmsg))
			return false;
		out->uri = psprintf("s3://%s/%s", out->bucket, out->key);
		return true;
	}

	if (pg_strncasecmp(uri, "file:", 5) == 0)
	{
		const char *p = uri + 5;

		if (strncmp(p, "//", 2) != 0)
		{
			*errmsg = pstrdup("A file location must be an absolute URI of the form file:///absolute/path.");
			return false;
		}
		p += 2;
		if (strncmp(p, "localhost/", 10) == 0)
			p += 9;
		if (*p != '/')
		{
			*errmsg = pstrdup("A file location must be an absolute URI of the form file:///absolute/path (three slashes); relative paths and host names are not allowed.");
			return false;
		}
		if (!check_path_segments(p + 1, "path", errmsg))
			return false;
		if (strlen(p) >= MAXPGPATH)
		{
			*errmsg = psprintf("The path is longer than %d bytes.", MAXPGPATH - 1);
			return false;
		}
		out->kind = DLAKE_STORAGE_FILE;
		out->bucket = NULL;
		out->key = pstrdup(p);
		out->uri = psprintf("file://%s", p);
		return true;
	}

	{
		const char *colon = strstr(uri, "://");

		if (colon && colon > uri)
			*errmsg = psprintf("The scheme \"%.*s\" is not supported; use s3:// or file://.",
							   (int) (colon - uri), uri);
		else if (uri[0] == '/')
			*errmsg = psprintf("A local path must be written as a URI: file://%s.", uri);
		else
			*errmsg = pstrdup("The location has no scheme; use s3://bucket/prefix or file:///absolute/path.");
	}
	return false;
}

/*
 * dlake_location_parse_or_error parses uri or raises
 * ERRCODE_INVALID_PARAMETER_VALUE with the reason in the detail.
 */
DlakeLocation *
dlake_location_parse_or_error(const char *uri)
{
	DlakeLocation *loc = palloc0(sizeof(DlakeLocation));
	char	   *msg = NULL;

	if (!dlake_location_parse(uri, loc, &msg))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid location \"%s\"", uri ? uri : ""),
				 errdetail("%s", msg),
				 errhint("Locations look like s3://bucket/prefix/object or file:///absolute/dir/file.")));
	return loc;
}

/*
 * dlake_location_child returns base joined with a relative path, which
 * must itself be clean (no leading '/', no "." / ".." / empty segments).
 */
DlakeLocation *
dlake_location_child(const DlakeLocation *base, const char *relative)
{
	DlakeLocation *loc = palloc0(sizeof(DlakeLocation));
	char	   *msg = NULL;
	size_t		blen = strlen(base->key);
	bool		need_slash = blen > 0 && base->key[blen - 1] != '/';

	if (relative[0] == '/' || !check_path_segments(relative, "relative path", &msg))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid relative path \"%s\" under location \"%s\"", relative, base->uri),
				 errdetail("%s", msg ? msg : "The relative path starts with \"/\".")));

	loc->kind = base->kind;
	loc->bucket = base->bucket ? pstrdup(base->bucket) : NULL;
	loc->key = psprintf("%s%s%s", base->key, need_slash ? "/" : "", relative);
	if (loc->kind == DLAKE_STORAGE_S3)
		loc->uri = psprintf("s3://%s/%s", loc->bucket, loc->key);
	else
		loc->uri = psprintf("file://%s", loc->key);
	return loc;
}
