/*-------------------------------------------------------------------------
 *
 * credentials.c
 *	  The AWS credential provider chain, in the order of the AWS SDKs:
 *
 *	  1. explicit keys (a user mapping's access_key_id/secret_access_key)
 *	  2. environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *		 AWS_SESSION_TOKEN), skipped when a profile is named explicitly
 *	  3. shared files ~/.aws/credentials and ~/.aws/config of the server's
 *		 OS user (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE), profile
 *		 from the options, AWS_PROFILE or "default"; static keys, or
 *		 role_arn with source_profile / credential_source, or
 *		 web_identity_token_file
 *	  4. web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN): STS
 *		 AssumeRoleWithWebIdentity, unsigned
 *	  5. container (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI,
 *		 AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE))
 *	  6. EC2 instance metadata, IMDSv2 only (token PUT first)
 *
 *	  then, when role_arn is set, STS AssumeRole on top of what was found.
 *
 * Everything after step 1 uses the server process's own identity and is
 * refused (AWS_CRED_NOT_ALLOWED) unless the caller allows it.  A
 * credential_process in a profile is not supported (spawning programs
 * from a backend); it is reported as an error, not skipped silently.
 *
 * Resolved credentials are cached per process, keyed by a hash of the
 * options, in a dedicated memory context.  Temporary credentials are
 * refreshed five minutes before they expire; long-term keys from the
 * environment or files are re-read after a minute so that edits to the
 * files are picked up.  A provider that is configured but fails stops the
 * chain with its own message (falling through to IMDS would hide the
 * misconfiguration); only IMDS being unreachable counts as "not found".
 *
 * No ereport here except CHECK_FOR_INTERRUPTS after an interrupted STS
 * call; failures come back as a status and a message.
 *
 * IDENTIFICATION
 *	  src/aws/credentials.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "aws/aws_error.h"
#include "aws/aws_request.h"
#include "aws/credentials.h"
#include "aws/http.h"
#include "aws/sigv4.h"
#include "guc.h"

/* refresh temporary credentials this long before they expire */
#define CRED_REFRESH_WINDOW_US	((int64) 5 * 60 * USECS_PER_SEC)
/* re-read long-term keys (environment, files) after this long */
#define CRED_STATIC_RECHECK_US	((int64) 60 * USECS_PER_SEC)
/* after IMDS was unreachable, do not probe it again for this long */
#define IMDS_NEGATIVE_US		((int64) 60 * USECS_PER_SEC)
#define IMDS_TOKEN_TTL_S		21600
#define IMDS_CONNECT_MS			1000
#define IMDS_TOTAL_MS			2000
#define CONTAINER_CONNECT_MS	2000
#define CONTAINER_TOTAL_MS		5000
#define MAX_FILE_BYTES			(1024 * 1024)
#define MAX_PROFILE_DEPTH		4

/* one cached result */
typedef struct CredCacheEntry
{
	char		key[65];		/* sha256 hex of the options */
	AwsCredentials creds;		/* strings in cred_context */
	TimestampTz refresh_at;
} CredCacheEntry;

static MemoryContext cred_context = NULL;
static List *cred_cache = NIL;

/* IMDS state of this process */
static TimestampTz imds_unavailable_until = 0;
static char *imds_token = NULL;	/* in cred_context */
static char *imds_token_endpoint = NULL;
static TimestampTz imds_token_expires = 0;

/* a section of an INI file: list of (key, value) pairs */
typedef struct IniPair
{
	char	   *key;
	char	   *value;
} IniPair;

/* what a profile says, files merged (credentials file wins) */
typedef struct AwsProfile
{
	bool		found;
	char	   *aws_access_key_id;
	char	   *aws_secret_access_key;
	char	   *aws_session_token;
	char	   *region;
	char	   *role_arn;
	char	   *source_profile;
	char	   *credential_source;
	char	   *external_id;
	char	   *role_session_name;
	char	   *web_identity_token_file;
	char	   *credential_process;
	char	   *duration_seconds;
} AwsProfile;

static AwsCredStatus resolve_profile(const AwsCredentialOptions *opts, const char *profile,
									 bool explicit_profile, int depth,
									 AwsCredentials *out, char **errmsg);
static AwsCredStatus resolve_imds(const AwsCredentialOptions *opts, AwsCredentials *out,
								  char **errmsg);
static AwsCredStatus resolve_container(AwsCredentials *out, char **errmsg);

/* ---------------------------------------------------------------- helpers */

static bool
nonempty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static const char *
env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return nonempty(v) ? v : NULL;
}

/*
 * parse_iso8601 reads "YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00)" as UTC;
 * false when malformed.
 */
static bool
parse_iso8601(const char *s, TimestampTz *out)
{
	struct tm	tm;
	int			y,
				mo,
				d,
				h,
				mi,
				sec;
	time_t		t;

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t) -1)
		return false;
	*out = time_t_to_timestamptz((pg_time_t) t);
	return true;
}

/*
 * read_small_file returns the contents of a file (at most MAX_FILE_BYTES)
 * or NULL with *err set.
 */
static char *
read_small_file(const char *path, char **err)
{
	FILE	   *f;
	StringInfoData buf;
	char		chunk[4096];
	size_t		n;

	f = fopen(path, "r");
	if (f == NULL)
	{
		*err = psprintf("could not open \"%s\": %m", path);
		return NULL;
	}
	initStringInfo(&buf);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
	{
		if (buf.len + n > MAX_FILE_BYTES)
		{
			fclose(f);
			*err = psprintf("file \"%s\" is larger than %d bytes", path, MAX_FILE_BYTES);
			return NULL;
		}
		appendBinaryStringInfo(&buf, chunk, (int) n);
	}
	fclose(f);
	return buf.data;
}

static char *
trim(char *s)
{
	char	   *e;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	*e = '\0';
	return s;
}

/*
 * home_dir is $HOME, else the passwd entry of the server's OS user.
 */
static const char *
home_dir(void)
{
	const char *h = env_nonempty("HOME");
	struct passwd *pw;

	if (h)
		return h;
	pw = getpwuid(geteuid());
	return (pw && pw->pw_dir) ? pw->pw_dir : NULL;
}

static char *
aws_file_path(const char *envvar, const char *leaf)
{
	const char *p = env_nonempty(envvar);
	const char *h;

	if (p)
	{
		if (p[0] == '~' && p[1] == '/' && (h = home_dir()) != NULL)
			return psprintf("%s%s", h, p + 1);
		return pstrdup(p);
	}
	h = home_dir();
	if (h == NULL)
		return NULL;
	return psprintf("%s/.aws/%s", h, leaf);
}

/*
 * ini_section returns the (key, value) pairs of one section of an AWS
 * INI file.  Comments start with '#' or ';'; indented lines under a key
 * (sub-properties such as "s3 =") are skipped.  *exists tells whether the
 * section was present.
 */
static List *
ini_section(const char *text, const char *section, bool *exists)
{
	List	   *pairs = NIL;
	char	   *copy = pstrdup(text);
	char	   *line;
	char	   *save = NULL;
	bool		in = false;

	*exists = false;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
	{
		char	   *t;
		char	   *eq;
		bool		indented = (line[0] == ' ' || line[0] == '\t');

		t = trim(line);
		if (t[0] == '\0' || t[0] == '#' || t[0] == ';')
			continue;
		if (t[0] == '[')
		{
			char	   *end = strchr(t, ']');

			if (end == NULL)
				continue;
			*end = '\0';
			in = (strcmp(trim(t + 1), section) == 0);
			if (in)
				*exists = true;
			continue;
		}
		if (!in || indented)
			continue;
		eq = strchr(t, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		{
			IniPair    *p = palloc(sizeof(IniPair));
			char	   *v = trim(eq + 1);
			char	   *c;

			/* inline comments need a space before them */
			for (c = v; *c; c++)
				if ((*c == '#' || *c == ';') && c > v && (c[-1] == ' ' || c[-1] == '\t'))
				{
					*c = '\0';
					v = trim(v);
					break;
				}
			p->key = pstrdup(trim(t));
			p->value = pstrdup(v);
			pairs = lappend(pairs, p);
		}
	}
	return pairs;
}

static void
profile_apply(AwsProfile *prof, List *pairs, bool overwrite)
{
	ListCell   *lc;

	foreach(lc, pairs)
	{
		IniPair    *p = (IniPair *) lfirst(lc);
		char	  **slot = NULL;

		if (strcmp(p->key, "aws_access_key_id") == 0)
			slot = &prof->aws_access_key_id;
		else if (strcmp(p->key, "aws_secret_access_key") == 0)
			slot = &prof->aws_secret_access_key;
		else if (strcmp(p->key, "aws_session_token") == 0 ||
				 strcmp(p->key, "aws_security_token") == 0)
			slot = &prof->aws_session_token;
		else if (strcmp(p->key, "region") == 0)
			slot = &prof->region;
		else if (strcmp(p->key, "role_arn") == 0)
			slot = &prof->role_arn;
		else if (strcmp(p->key, "source_profile") == 0)
			slot = &prof->source_profile;
		else if (strcmp(p->key, "credential_source") == 0)
			slot = &prof->credential_source;
		else if (strcmp(p->key, "external_id") == 0)
			slot = &prof->external_id;
		else if (strcmp(p->key, "role_session_name") == 0)
			slot = &prof->role_session_name;
		else if (strcmp(p->key, "web_identity_token_file") == 0)
			slot = &prof->web_identity_token_file;
		else if (strcmp(p->key, "credential_process") == 0)
			slot = &prof->credential_process;
		else if (strcmp(p->key, "duration_seconds") == 0)
			slot = &prof->duration_seconds;
		if (slot && (overwrite || *slot == NULL))
			*slot = p->value;
	}
}

/*
 * load_profile reads one profile from the config file ([profile x], or
 * [default]) and the credentials file ([x]); the credentials file wins.
 * A missing file is not an error.
 */
static bool
load_profile(const char *name, AwsProfile *prof, char **errmsg)
{
	char	   *cred_path = aws_file_path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
	char	   *conf_path = aws_file_path("AWS_CONFIG_FILE", "config");
	struct stat st;
	bool		exists;

	memset(prof, 0, sizeof(*prof));
	if (conf_path && stat(conf_path, &st) == 0)
	{
		char	   *err = NULL;
		char	   *text = read_small_file(conf_path, &err);
		List	   *pairs;

		if (text == NULL)
		{
			*errmsg = err;
			return false;
		}
		if (strcmp(name, "default") == 0)
		{
			pairs = ini_section(text, "default", &exists);
			if (!exists)
				pairs = ini_section(text, "profile default", &exists);
		}
		else
			pairs = ini_section(text, psprintf("profile %s", name), &exists);
		if (exists)
			prof->found = true;
		profile_apply(prof, pairs, true);
	}
	if (cred_path && stat(cred_path, &st) == 0)
	{
		char	   *err = NULL;
		char	   *text = read_small_file(cred_path, &err);
		List	   *pairs;

		if (text == NULL)
		{
			*errmsg = err;
			return false;
		}
		pairs = ini_section(text, name, &exists);
		if (exists)
			prof->found = true;
		profile_apply(prof, pairs, true);
	}
	return true;
}

/* -------------------------------------------------------------- the cache */

static void
cred_context_init(void)
{
	if (cred_context == NULL)
		cred_context = AllocSetContextCreate(TopMemoryContext, "dlake credentials",
											 ALLOCSET_SMALL_SIZES);
}

static char *
cred_cache_key(const AwsCredentialOptions *opts)
{
	StringInfoData buf;
	char	   *hex = palloc(65);

#define KEYPART(x) appendStringInfo(&buf, "%s\x1f", (x) ? (x) : "\x1e")
	initStringInfo(&buf);
	KEYPART(opts->access_key_id);
	KEYPART(opts->secret_access_key);
	KEYPART(opts->session_token);
	KEYPART(opts->profile);
	KEYPART(opts->role_arn);
	KEYPART(opts->external_id);
	KEYPART(opts->role_session_name);
	KEYPART(opts->region);
	KEYPART(opts->sts_endpoint);
	KEYPART(opts->imds_endpoint);
	appendStringInfo(&buf, "%d", opts->allow_server_identity ? 1 : 0);
#undef KEYPART
	sigv4_sha256_hex(buf.data, buf.len, hex);
	explicit_bzero(buf.data, buf.len);
	pfree(buf.data);
	return hex;
}

static void
free_creds_strings(AwsCredentials *c)
{
	if (c->access_key_id)
		pfree(c->access_key_id);
	if (c->secret_access_key)
	{
		explicit_bzero(c->secret_access_key, strlen(c->secret_access_key));
		pfree(c->secret_access_key);
	}
	if (c->session_token)
		pfree(c->session_token);
	memset(c, 0, sizeof(*c));
}

static void
copy_creds(const AwsCredentials *src, AwsCredentials *dst)
{
	dst->access_key_id = pstrdup(src->access_key_id);
	dst->secret_access_key = pstrdup(src->secret_access_key);
	dst->session_token = src->session_token ? pstrdup(src->session_token) : NULL;
	dst->expiration = src->expiration;
	dst->source = src->source;	/* static strings */
}

static CredCacheEntry *
cred_cache_lookup(const char *key)
{
	ListCell   *lc;

	foreach(lc, cred_cache)
	{
		CredCacheEntry *e = (CredCacheEntry *) lfirst(lc);

		if (strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

static void
cred_cache_store(const char *key, const AwsCredentials *creds)
{
	CredCacheEntry *e;
	MemoryContext old;
	TimestampTz now = GetCurrentTimestamp();

	cred_context_init();
	old = MemoryContextSwitchTo(cred_context);
	e = cred_cache_lookup(key);
	if (e == NULL)
	{
		e = palloc0(sizeof(CredCacheEntry));
		strlcpy(e->key, key, sizeof(e->key));
		cred_cache = lappend(cred_cache, e);
	}
	else
		free_creds_strings(&e->creds);
	copy_creds(creds, &e->creds);
	if (creds->expiration == DT_NOEND)
		e->refresh_at = now + CRED_STATIC_RECHECK_US;
	else
		e->refresh_at = creds->expiration - CRED_REFRESH_WINDOW_US;
	MemoryContextSwitchTo(old);
}

/*
 * aws_credentials_invalidate_cache forgets every cached credential and
 * the IMDS token (after ExpiredToken, or for tests).
 */
void
aws_credentials_invalidate_cache(void)
{
	if (cred_context != NULL)
		MemoryContextDelete(cred_context);
	cred_context = NULL;
	cred_cache = NIL;
	imds_token = NULL;
	imds_token_endpoint = NULL;
	imds_token_expires = 0;
	imds_unavailable_until = 0;
}

/* --------------------------------------------------------------- STS calls */

/*
 * sts_url returns the STS endpoint: options, dlake.sts_endpoint, else
 * the regional AWS endpoint.
 */
static const char *
sts_url(const AwsCredentialOptions *opts, const char *region)
{
	if (nonempty(opts->sts_endpoint))
		return opts->sts_endpoint;
	if (nonempty(dlake_sts_endpoint))
		return dlake_sts_endpoint;
	return psprintf("https://sts.%s.amazonaws.com", region);
}

static char *
session_name(const char *given)
{
	if (nonempty(given))
		return pstrdup(given);
	return psprintf("dlake-%d-%ld", MyProcPid, (long) time(NULL));
}

/*
 * sts_parse_credentials reads <Credentials> of an AssumeRole* answer.
 */
static bool
sts_parse_credentials(const StringInfoData *body, AwsCredentials *out)
{
	char	   *ak = aws_xml_tag_value(body->data, body->len, "AccessKeyId");
	char	   *sk = aws_xml_tag_value(body->data, body->len, "SecretAccessKey");
	char	   *tok = aws_xml_tag_value(body->data, body->len, "SessionToken");
	char	   *exp = aws_xml_tag_value(body->data, body->len, "Expiration");
	TimestampTz ts;

	if (!nonempty(ak) || !nonempty(sk) || !nonempty(tok) || !parse_iso8601(exp, &ts))
		return false;
	out->access_key_id = ak;
	out->secret_access_key = sk;
	out->session_token = tok;
	out->expiration = ts;
	return true;
}

/*
 * sts_call posts a Query API form to STS, signed with base (or unsigned
 * when base is NULL), and parses the credentials out of the answer.
 */
static AwsCredStatus
sts_call(const AwsCredentialOptions *opts, const char *action, const char *form,
		 const AwsCredentials *base, AwsCredentials *out, char **errmsg)
{
	char	   *region = aws_region_resolve(opts->region, opts->profile, opts->allow_server_identity);
	const char *url = sts_url(opts, region);
	char	   *path = NULL;
	AwsEndpoint *ep = aws_endpoint_from_url(url, &path);
	AwsRequest	req;
	AwsResponse resp;
	AwsStatus	st;

	if (ep == NULL)
	{
		*errmsg = psprintf("invalid STS endpoint \"%s\"", url);
		return AWS_CRED_INVALID;
	}
	memset(&req, 0, sizeof(req));
	req.service = "sts";
	req.region = region;
	req.method = "POST";
	req.endpoint = ep;
	req.path = path;
	req.headers = list_make1(dlake_http_make_header("Content-Type",
													"application/x-www-form-urlencoded; charset=utf-8"));
	req.body = form;
	req.body_len = strlen(form);
	req.idempotent = true;
	req.max_response_bytes = 1024 * 1024;
	req.describe = psprintf("%s %s", action, url);

	st = aws_request_execute(&req, base, &resp);
	if (st == AWS_ERR_INTERRUPTED)
		CHECK_FOR_INTERRUPTS();
	if (st != AWS_OK)
	{
		if (st == AWS_ERR_TRANSPORT || st == AWS_ERR_INTERRUPTED)
			*errmsg = psprintf("STS %s at %s failed: %s (%s)", action, url,
							   dlake_http_strerror(resp.transport_error),
							   resp.transport_message ? resp.transport_message : "");
		else
			*errmsg = psprintf("STS %s at %s failed: %s: %s (HTTP status %ld, request id %s)",
							   action, url,
							   resp.aws_code ? resp.aws_code : "error",
							   resp.aws_message ? resp.aws_message : "no message",
							   resp.http_status,
							   resp.request_id ? resp.request_id : "none");
		return AWS_CRED_PROVIDER_ERROR;
	}
	if (!sts_parse_credentials(&resp.body, out))
	{
		*errmsg = psprintf("STS %s at %s answered without usable credentials", action, url);
		return AWS_CRED_PROVIDER_ERROR;
	}
	return AWS_CRED_OK;
}

/*
 * assume_role calls STS AssumeRole with base credentials.
 */
static AwsCredStatus
assume_role(const AwsCredentialOptions *opts, const char *role_arn, const char *external_id,
			const char *rsn, const char *duration, const AwsCredentials *base,
			AwsCredentials *out, char **errmsg)
{
	StringInfoData form;
	AwsCredStatus st;

	initStringInfo(&form);
	appendStringInfo(&form, "Action=AssumeRole&Version=2011-06-15&RoleArn=%s&RoleSessionName=%s",
					 sigv4_uri_encode(role_arn, false),
					 sigv4_uri_encode(session_name(rsn), false));
	if (nonempty(duration))
		appendStringInfo(&form, "&DurationSeconds=%s", sigv4_uri_encode(duration, false));
	if (nonempty(external_id))
		appendStringInfo(&form, "&ExternalId=%s", sigv4_uri_encode(external_id, false));
	st = sts_call(opts, "AssumeRole", form.data, base, out, errmsg);
	if (st == AWS_CRED_OK)
		out->source = "assume role";
	return st;
}

/*
 * web_identity reads the token file (again on every refresh: it rotates)
 * and calls AssumeRoleWithWebIdentity unsigned.
 */
static AwsCredStatus
web_identity(const AwsCredentialOptions *opts, const char *token_file, const char *role_arn,
			 const char *rsn, AwsCredentials *out, char **errmsg)
{
	char	   *err = NULL;
	char	   *token = read_small_file(token_file, &err);
	StringInfoData form;
	AwsCredStatus st;

	if (token == NULL)
	{
		*errmsg = psprintf("web identity token file: %s", err);
		return AWS_CRED_INVALID;
	}
	token = trim(token);
	if (!nonempty(role_arn))
	{
		*errmsg = pstrdup("web identity token file is set but no role ARN (AWS_ROLE_ARN) is");
		return AWS_CRED_INVALID;
	}
	initStringInfo(&form);
	appendStringInfo(&form,
					 "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=%s&RoleSessionName=%s&WebIdentityToken=%s",
					 sigv4_uri_encode(role_arn, false),
					 sigv4_uri_encode(session_name(rsn), false),
					 sigv4_uri_encode(token, false));
	st = sts_call(opts, "AssumeRoleWithWebIdentity", form.data, NULL, out, errmsg);
	explicit_bzero(form.data, form.len);
	if (st == AWS_CRED_OK)
		out->source = "web identity";
	return st;
}

/* ------------------------------------------------- container and IMDS */

/*
 * json_credentials reads AccessKeyId/SecretAccessKey/Token/Expiration of
 * a container or IMDS answer.
 */
static bool
json_credentials(const char *body, size_t len, AwsCredentials *out, char **errmsg)
{
	cJSON	   *root = cJSON_ParseWithLength(body, len);
	cJSON	   *ak,
			   *sk,
			   *tok,
			   *exp,
			   *code;
	bool		ok = false;

	if (root == NULL)
	{
		*errmsg = pstrdup("answer is not JSON");
		return false;
	}
	code = cJSON_GetObjectItemCaseSensitive(root, "Code");
	ak = cJSON_GetObjectItemCaseSensitive(root, "AccessKeyId");
	sk = cJSON_GetObjectItemCaseSensitive(root, "SecretAccessKey");
	tok = cJSON_GetObjectItemCaseSensitive(root, "Token");
	exp = cJSON_GetObjectItemCaseSensitive(root, "Expiration");
	if (cJSON_IsString(code) && strcmp(code->valuestring, "Success") != 0)
		*errmsg = psprintf("answer has Code \"%s\"", code->valuestring);
	else if (!cJSON_IsString(ak) || !cJSON_IsString(sk) || !nonempty(ak->valuestring) ||
			 !nonempty(sk->valuestring))
		*errmsg = pstrdup("answer lacks AccessKeyId or SecretAccessKey");
	else
	{
		out->access_key_id = pstrdup(ak->valuestring);
		out->secret_access_key = pstrdup(sk->valuestring);
		out->session_token = (cJSON_IsString(tok) && nonempty(tok->valuestring)) ?
			pstrdup(tok->valuestring) : NULL;
		out->expiration = DT_NOEND;
		if (cJSON_IsString(exp) && !parse_iso8601(exp->valuestring, &out->expiration))
			*errmsg = psprintf("invalid Expiration \"%s\"", exp->valuestring);
		else
			ok = true;
	}
	cJSON_Delete(root);
	return ok;
}

/*
 * container_host_allowed: FULL_URI must be https, loopback, or the ECS /
 * EKS Pod Identity link-local addresses.
 */
static bool
container_host_allowed(const char *url)
{
	const char *p;
	char		host[256];
	size_t		n = 0;

	if (strncmp(url, "https://", 8) == 0)
		return true;
	if (strncmp(url, "http://", 7) != 0)
		return false;
	p = url + 7;
	if (*p == '[')
	{
		const char *e = strchr(p, ']');

		if (e == NULL || (size_t) (e - p - 1) >= sizeof(host))
			return false;
		memcpy(host, p + 1, e - p - 1);
		host[e - p - 1] = '\0';
	}
	else
	{
		while (p[n] && p[n] != ':' && p[n] != '/' && n < sizeof(host) - 1)
		{
			host[n] = p[n];
			n++;
		}
		host[n] = '\0';
	}
	return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost") == 0 ||
		strcmp(host, "::1") == 0 || strcmp(host, "169.254.170.2") == 0 ||
		strcmp(host, "169.254.170.23") == 0 || strcmp(host, "fd00:ec2::23") == 0 ||
		strncmp(host, "127.", 4) == 0;
}

/*
 * resolve_container: GET the container credentials endpoint.
 */
static AwsCredStatus
resolve_container(AwsCredentials *out, char **errmsg)
{
	const char *rel = env_nonempty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env_nonempty("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *tok_file = env_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *tok = env_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	char	   *url;
	char	   *auth = NULL;
	DlakeHttpRequest hreq;
	DlakeHttpResponse hresp;
	DlakeHttpOptions hopts;
	DlakeHttpError herr;
	char	   *perr = NULL;

	if (rel)
		url = psprintf("http://169.254.170.2%s%s", rel[0] == '/' ? "" : "/", rel);
	else
	{
		url = pstrdup(full);
		if (!container_host_allowed(url))
		{
			*errmsg = psprintf("AWS_CONTAINER_CREDENTIALS_FULL_URI \"%s\" must use https or a loopback or container metadata address", url);
			return AWS_CRED_INVALID;
		}
	}
	if (tok_file)
	{
		char	   *err = NULL;

		auth = read_small_file(tok_file, &err);
		if (auth == NULL)
		{
			*errmsg = psprintf("container authorization token file: %s", err);
			return AWS_CRED_INVALID;
		}
		auth = trim(auth);
	}
	else if (tok)
		auth = pstrdup(tok);
	if (auth && (strchr(auth, '\r') || strchr(auth, '\n')))
	{
		*errmsg = pstrdup("container authorization token contains a line break");
		return AWS_CRED_INVALID;
	}

	memset(&hreq, 0, sizeof(hreq));
	hreq.method = "GET";
	hreq.url = url;
	hreq.headers = list_make1(dlake_http_make_header("Accept", "application/json"));
	if (auth)
		hreq.headers = lappend(hreq.headers, dlake_http_make_header("Authorization", auth));
	dlake_http_options_default(&hopts);
	hopts.connect_timeout_ms = CONTAINER_CONNECT_MS;
	hopts.total_timeout_ms = CONTAINER_TOTAL_MS;
	hopts.max_response_bytes = 64 * 1024;
	herr = dlake_http_perform(&hreq, &hopts, &hresp);
	if (herr == DLAKE_HTTP_INTERRUPTED)
		CHECK_FOR_INTERRUPTS();
	if (herr != DLAKE_HTTP_OK)
	{
		*errmsg = psprintf("container credentials endpoint %s: %s (%s)", url,
						   dlake_http_strerror(herr), hresp.errbuf);
		return AWS_CRED_PROVIDER_ERROR;
	}
	if (hresp.status != 200)
	{
		*errmsg = psprintf("container credentials endpoint %s answered HTTP status %ld", url,
						   hresp.status);
		return AWS_CRED_PROVIDER_ERROR;
	}
	if (!json_credentials(hresp.body.data, hresp.body.len, out, &perr))
	{
		*errmsg = psprintf("container credentials endpoint %s: %s", url, perr);
		return AWS_CRED_PROVIDER_ERROR;
	}
	out->source = "container";
	return AWS_CRED_OK;
}

/*
 * imds_endpoint returns the IMDS base URL, or NULL when disabled.
 */
static const char *
imds_endpoint(const AwsCredentialOptions *opts)
{
	const char *ep = NULL;
	const char *dis = env_nonempty("AWS_EC2_METADATA_DISABLED");

	if (nonempty(opts->imds_endpoint))
		ep = opts->imds_endpoint;
	else if (nonempty(dlake_imds_endpoint))
		ep = dlake_imds_endpoint;
	if (ep && pg_strcasecmp(ep, "off") == 0)
		return NULL;
	if (dis && pg_strcasecmp(dis, "true") == 0)
		return NULL;
	if (ep == NULL)
		ep = env_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	if (ep == NULL)
		ep = "http://169.254.169.254";
	return ep;
}

/*
 * imds_get performs one IMDS request with the short metadata timeouts.
 */
static DlakeHttpError
imds_get(const char *method, const char *url, List *headers, DlakeHttpResponse *resp)
{
	DlakeHttpRequest hreq;
	DlakeHttpOptions hopts;
	DlakeHttpError herr;

	memset(&hreq, 0, sizeof(hreq));
	hreq.method = method;
	hreq.url = url;
	hreq.headers = headers;
	if (strcmp(method, "PUT") == 0)
	{
		hreq.body = "";
		hreq.body_len = 0;
	}
	dlake_http_options_default(&hopts);
	hopts.connect_timeout_ms = IMDS_CONNECT_MS;
	hopts.total_timeout_ms = IMDS_TOTAL_MS;
	hopts.max_response_bytes = 64 * 1024;
	herr = dlake_http_perform(&hreq, &hopts, resp);
	if (herr == DLAKE_HTTP_INTERRUPTED)
		CHECK_FOR_INTERRUPTS();
	return herr;
}

/*
 * resolve_imds: IMDSv2 token PUT, role name, role credentials.  An
 * unreachable IMDS is "not found" (we are not on EC2) and is not probed
 * again for a minute.
 */
static AwsCredStatus
resolve_imds(const AwsCredentialOptions *opts, AwsCredentials *out, char **errmsg)
{
	const char *ep = imds_endpoint(opts);
	char	   *base;
	DlakeHttpResponse r;
	DlakeHttpError herr;
	TimestampTz now = GetCurrentTimestamp();
	char	   *role;
	char	   *nl;
	char	   *perr = NULL;
	List	   *th;

	if (ep == NULL)
	{
		*errmsg = pstrdup("instance metadata (IMDS) is disabled");
		return AWS_CRED_NOT_FOUND;
	}
	base = pstrdup(ep);
	while (strlen(base) > 0 && base[strlen(base) - 1] == '/')
		base[strlen(base) - 1] = '\0';
	if (now < imds_unavailable_until)
	{
		*errmsg = psprintf("instance metadata at %s was unreachable less than a minute ago", base);
		return AWS_CRED_NOT_FOUND;
	}

	if (imds_token == NULL || imds_token_endpoint == NULL ||
		strcmp(imds_token_endpoint, base) != 0 || now >= imds_token_expires)
	{
		herr = imds_get("PUT", psprintf("%s/latest/api/token", base),
						list_make1(dlake_http_make_header("X-aws-ec2-metadata-token-ttl-seconds",
														  CppAsString2(IMDS_TOKEN_TTL_S))),
						&r);
		if (herr != DLAKE_HTTP_OK)
		{
			imds_unavailable_until = now + IMDS_NEGATIVE_US;
			*errmsg = psprintf("instance metadata at %s: %s", base, dlake_http_strerror(herr));
			return AWS_CRED_NOT_FOUND;
		}
		if (r.status != 200 || r.body.len == 0)
		{
			*errmsg = psprintf("instance metadata at %s refused an IMDSv2 token (HTTP status %ld)",
							   base, r.status);
			return AWS_CRED_PROVIDER_ERROR;
		}
		cred_context_init();
		imds_token = MemoryContextStrdup(cred_context, trim(r.body.data));
		imds_token_endpoint = MemoryContextStrdup(cred_context, base);
		imds_token_expires = now + (int64) (IMDS_TOKEN_TTL_S - 60) * USECS_PER_SEC;
	}

	th = list_make1(dlake_http_make_header("X-aws-ec2-metadata-token", imds_token));
	herr = imds_get("GET", psprintf("%s/latest/meta-data/iam/security-credentials/", base), th, &r);
	if (herr == DLAKE_HTTP_OK && r.status == 401)
	{
		/* token expired early: forget it, the next call fetches a new one */
		imds_token = NULL;
		*errmsg = psprintf("instance metadata at %s rejected the IMDSv2 token", base);
		return AWS_CRED_PROVIDER_ERROR;
	}
	if (herr != DLAKE_HTTP_OK || r.status != 200)
	{
		*errmsg = psprintf("instance metadata at %s: no instance role (%s, HTTP status %ld)",
						   base, dlake_http_strerror(herr), r.status);
		return AWS_CRED_PROVIDER_ERROR;
	}
	role = trim(r.body.data);
	if ((nl = strchr(role, '\n')) != NULL)
		*nl = '\0';
	role = trim(role);
	if (!nonempty(role))
	{
		*errmsg = psprintf("instance metadata at %s: no instance role attached", base);
		return AWS_CRED_NOT_FOUND;
	}
	herr = imds_get("GET", psprintf("%s/latest/meta-data/iam/security-credentials/%s",
									base, sigv4_uri_encode(role, false)), th, &r);
	if (herr != DLAKE_HTTP_OK || r.status != 200)
	{
		*errmsg = psprintf("instance metadata at %s: credentials of role \"%s\" unavailable (%s, HTTP status %ld)",
						   base, role, dlake_http_strerror(herr), r.status);
		return AWS_CRED_PROVIDER_ERROR;
	}
	if (!json_credentials(r.body.data, r.body.len, out, &perr))
	{
		*errmsg = psprintf("instance metadata at %s: %s", base, perr);
		return AWS_CRED_PROVIDER_ERROR;
	}
	out->source = "imds";
	return AWS_CRED_OK;
}

/* ---------------------------------------------------------- the chain */

static AwsCredStatus
resolve_env(AwsCredentials *out, char **errmsg)
{
	const char *ak = env_nonempty("AWS_ACCESS_KEY_ID");
	const char *sk = env_nonempty("AWS_SECRET_ACCESS_KEY");
	const char *tok = env_nonempty("AWS_SESSION_TOKEN");
	const char *exp = env_nonempty("AWS_CREDENTIAL_EXPIRATION");

	if (ak == NULL)
		return AWS_CRED_NOT_FOUND;
	if (sk == NULL)
	{
		*errmsg = pstrdup("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
		return AWS_CRED_INVALID;
	}
	if (tok == NULL)
		tok = env_nonempty("AWS_SECURITY_TOKEN");
	out->access_key_id = pstrdup(ak);
	out->secret_access_key = pstrdup(sk);
	out->session_token = tok ? pstrdup(tok) : NULL;
	out->expiration = DT_NOEND;
	if (exp && !parse_iso8601(exp, &out->expiration))
		out->expiration = DT_NOEND;
	out->source = "environment";
	return AWS_CRED_OK;
}

/*
 * resolve_credential_source: the base credentials of a profile that says
 * credential_source = Environment | Ec2InstanceMetadata | EcsContainer.
 */
static AwsCredStatus
resolve_credential_source(const AwsCredentialOptions *opts, const char *src,
						  AwsCredentials *out, char **errmsg)
{
	AwsCredStatus st;

	if (pg_strcasecmp(src, "Environment") == 0)
		st = resolve_env(out, errmsg);
	else if (pg_strcasecmp(src, "Ec2InstanceMetadata") == 0)
		st = resolve_imds(opts, out, errmsg);
	else if (pg_strcasecmp(src, "EcsContainer") == 0)
		st = resolve_container(out, errmsg);
	else
	{
		*errmsg = psprintf("unknown credential_source \"%s\"", src);
		return AWS_CRED_INVALID;
	}
	if (st == AWS_CRED_NOT_FOUND && *errmsg == NULL)
		*errmsg = psprintf("credential_source %s provided no credentials", src);
	return st == AWS_CRED_NOT_FOUND ? AWS_CRED_INVALID : st;
}

/*
 * resolve_profile resolves a named profile of the shared files: static
 * keys, web identity, or role_arn on top of source_profile or
 * credential_source.  NOT_FOUND when the profile does not exist and was
 * not asked for explicitly.
 */
static AwsCredStatus
resolve_profile(const AwsCredentialOptions *opts, const char *profile, bool explicit_profile,
				int depth, AwsCredentials *out, char **errmsg)
{
	AwsProfile prof;
	AwsCredentials base;
	AwsCredStatus st;

	if (depth > MAX_PROFILE_DEPTH)
	{
		*errmsg = psprintf("profile \"%s\": source_profile chain is longer than %d (a cycle?)",
						   profile, MAX_PROFILE_DEPTH);
		return AWS_CRED_INVALID;
	}
	if (!load_profile(profile, &prof, errmsg))
		return AWS_CRED_INVALID;
	if (!prof.found)
	{
		if (explicit_profile)
		{
			*errmsg = psprintf("profile \"%s\" not found in the shared credentials or config file of the server's OS user",
							   profile);
			return AWS_CRED_INVALID;
		}
		return AWS_CRED_NOT_FOUND;
	}

	if (nonempty(prof.role_arn))
	{
		memset(&base, 0, sizeof(base));
		if (nonempty(prof.web_identity_token_file))
			return web_identity(opts, prof.web_identity_token_file, prof.role_arn,
								prof.role_session_name, out, errmsg);
		if (nonempty(prof.source_profile))
		{
			/* the source profile's own static keys, or its own role */
			if (strcmp(prof.source_profile, profile) == 0 && nonempty(prof.aws_access_key_id))
			{
				base.access_key_id = prof.aws_access_key_id;
				base.secret_access_key = prof.aws_secret_access_key ? prof.aws_secret_access_key : "";
				base.session_token = prof.aws_session_token;
				st = AWS_CRED_OK;
			}
			else
				st = resolve_profile(opts, prof.source_profile, true, depth + 1, &base, errmsg);
		}
		else if (nonempty(prof.credential_source))
			st = resolve_credential_source(opts, prof.credential_source, &base, errmsg);
		else
		{
			*errmsg = psprintf("profile \"%s\" has role_arn but neither source_profile nor credential_source",
							   profile);
			return AWS_CRED_INVALID;
		}
		if (st != AWS_CRED_OK)
			return st;
		return assume_role(opts, prof.role_arn, prof.external_id, prof.role_session_name,
						   prof.duration_seconds, &base, out, errmsg);
	}

	if (nonempty(prof.aws_access_key_id))
	{
		if (!nonempty(prof.aws_secret_access_key))
		{
			*errmsg = psprintf("profile \"%s\" has aws_access_key_id but no aws_secret_access_key",
							   profile);
			return AWS_CRED_INVALID;
		}
		out->access_key_id = pstrdup(prof.aws_access_key_id);
		out->secret_access_key = pstrdup(prof.aws_secret_access_key);
		out->session_token = nonempty(prof.aws_session_token) ? pstrdup(prof.aws_session_token) : NULL;
		out->expiration = DT_NOEND;
		out->source = "profile";
		return AWS_CRED_OK;
	}
	if (nonempty(prof.credential_process))
	{
		*errmsg = psprintf("profile \"%s\" uses credential_process, which dlake does not support",
						   profile);
		return AWS_CRED_INVALID;
	}
	if (explicit_profile)
	{
		*errmsg = psprintf("profile \"%s\" has no credentials", profile);
		return AWS_CRED_INVALID;
	}
	return AWS_CRED_NOT_FOUND;
}

/*
 * resolve_base runs the chain (without role_arn on top).
 */
static AwsCredStatus
resolve_base(const AwsCredentialOptions *opts, AwsCredentials *out, char **errmsg)
{
	AwsCredStatus st;
	const char *profile;
	bool		explicit_profile = nonempty(opts->profile);
	const char *wif;
	StringInfoData tried;

	initStringInfo(&tried);

	/* 2. environment (botocore: an explicitly chosen profile skips it) */
	if (!explicit_profile)
	{
		st = resolve_env(out, errmsg);
		if (st != AWS_CRED_NOT_FOUND)
			return st;
		appendStringInfoString(&tried, "environment");
	}

	/* 3. shared files */
	profile = explicit_profile ? opts->profile : env_nonempty("AWS_PROFILE");
	if (profile == NULL)
		profile = env_nonempty("AWS_DEFAULT_PROFILE");
	if (profile == NULL)
		profile = "default";
	st = resolve_profile(opts, profile, explicit_profile || env_nonempty("AWS_PROFILE") != NULL,
						 0, out, errmsg);
	if (st != AWS_CRED_NOT_FOUND || explicit_profile)
		return st;
	appendStringInfo(&tried, ", profile \"%s\" in the shared files", profile);

	/* 4. web identity from the environment */
	wif = env_nonempty("AWS_WEB_IDENTITY_TOKEN_FILE");
	if (wif)
		return web_identity(opts, wif, env_nonempty("AWS_ROLE_ARN"),
							env_nonempty("AWS_ROLE_SESSION_NAME"), out, errmsg);
	appendStringInfoString(&tried, ", web identity");

	/* 5. container */
	if (env_nonempty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") ||
		env_nonempty("AWS_CONTAINER_CREDENTIALS_FULL_URI"))
		return resolve_container(out, errmsg);
	appendStringInfoString(&tried, ", container");

	/* 6. IMDSv2 */
	*errmsg = NULL;
	st = resolve_imds(opts, out, errmsg);
	if (st != AWS_CRED_NOT_FOUND)
		return st;
	*errmsg = psprintf("no AWS credentials found (tried %s, %s)", tried.data,
					   *errmsg ? *errmsg : "instance metadata");
	return AWS_CRED_NOT_FOUND;
}

/*
 * sentence makes a provider message fit for errdetail: capital first
 * letter, final period.
 */
static char *
sentence(char *msg)
{
	size_t		len;

	if (msg == NULL || msg[0] == '\0')
		return msg;
	len = strlen(msg);
	msg[0] = (char) pg_toupper((unsigned char) msg[0]);
	if (msg[len - 1] != '.')
		msg = psprintf("%s.", msg);
	return msg;
}

static AwsCredStatus resolve_internal(const AwsCredentialOptions *opts, AwsCredentials *out,
									  char **errmsg);

/*
 * aws_credentials_resolve returns credentials for opts in *out (palloc'd
 * in the caller's context), from the cache when still fresh.  On failure
 * *errmsg is a complete sentence, ready for errdetail.
 */
AwsCredStatus
aws_credentials_resolve(const AwsCredentialOptions *opts, AwsCredentials *out, char **errmsg)
{
	AwsCredStatus st = resolve_internal(opts, out, errmsg);

	if (st != AWS_CRED_OK)
		*errmsg = sentence(*errmsg ? *errmsg : pstrdup("unknown credential provider failure"));
	return st;
}

static AwsCredStatus
resolve_internal(const AwsCredentialOptions *opts, AwsCredentials *out, char **errmsg)
{
	bool		has_keys = nonempty(opts->access_key_id);
	char	   *key;
	CredCacheEntry *e;
	AwsCredentials base;
	AwsCredentials result;
	AwsCredStatus st;

	memset(out, 0, sizeof(*out));
	*errmsg = NULL;

	/* 1. explicit keys */
	if (has_keys && !nonempty(opts->secret_access_key))
	{
		*errmsg = pstrdup("access_key_id is set but secret_access_key is not");
		return AWS_CRED_INVALID;
	}
	if (!has_keys && nonempty(opts->secret_access_key))
	{
		*errmsg = pstrdup("secret_access_key is set but access_key_id is not");
		return AWS_CRED_INVALID;
	}
	if (has_keys && !nonempty(opts->role_arn))
	{
		out->access_key_id = pstrdup(opts->access_key_id);
		out->secret_access_key = pstrdup(opts->secret_access_key);
		out->session_token = nonempty(opts->session_token) ? pstrdup(opts->session_token) : NULL;
		out->expiration = DT_NOEND;
		out->source = "user mapping";
		return AWS_CRED_OK;
	}
	if (!has_keys && !opts->allow_server_identity)
	{
		*errmsg = pstrdup("credentials other than explicit keys would use the server process's own AWS identity, which is reserved to superusers and members of dlake_admin");
		return AWS_CRED_NOT_ALLOWED;
	}

	key = cred_cache_key(opts);
	e = cred_cache_lookup(key);
	if (e != NULL && GetCurrentTimestamp() < e->refresh_at)
	{
		copy_creds(&e->creds, out);
		return AWS_CRED_OK;
	}

	memset(&base, 0, sizeof(base));
	if (has_keys)
	{
		base.access_key_id = pstrdup(opts->access_key_id);
		base.secret_access_key = pstrdup(opts->secret_access_key);
		base.session_token = nonempty(opts->session_token) ? pstrdup(opts->session_token) : NULL;
		base.expiration = DT_NOEND;
		base.source = "user mapping";
	}
	else
	{
		st = resolve_base(opts, &base, errmsg);
		if (st != AWS_CRED_OK)
			return st;
	}

	if (nonempty(opts->role_arn))
	{
		memset(&result, 0, sizeof(result));
		st = assume_role(opts, opts->role_arn, opts->external_id, opts->role_session_name,
						 NULL, &base, &result, errmsg);
		if (st != AWS_CRED_OK)
			return st;
	}
	else
		result = base;

	cred_cache_store(key, &result);
	*out = result;
	return AWS_CRED_OK;
}

/*
 * aws_region_resolve: explicit, dlake.region, AWS_REGION,
 * AWS_DEFAULT_REGION, the profile's region (server identity only), then
 * us-east-1.
 */
char *
aws_region_resolve(const char *explicit_region, const char *profile, bool allow_server_identity)
{
	const char *r;

	if (nonempty(explicit_region))
		return pstrdup(explicit_region);
	if (nonempty(dlake_region))
		return pstrdup(dlake_region);
	if ((r = env_nonempty("AWS_REGION")) != NULL)
		return pstrdup(r);
	if ((r = env_nonempty("AWS_DEFAULT_REGION")) != NULL)
		return pstrdup(r);
	if (allow_server_identity)
	{
		AwsProfile prof;
		char	   *err = NULL;
		const char *p = nonempty(profile) ? profile : env_nonempty("AWS_PROFILE");

		if (load_profile(p ? p : "default", &prof, &err) && nonempty(prof.region))
			return pstrdup(prof.region);
	}
	return pstrdup("us-east-1");
}
