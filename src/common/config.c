/*-------------------------------------------------------------------------
 *
 * config.c
 *	  Build the connection configuration of one call from a dlake_fdw
 *	  foreign server and the user mapping of the calling role, or from the
 *	  dlake.* GUCs when no server is named; and compute service endpoints.
 *
 * Security rule: requests signed with the server process's own identity
 * (environment variables, ~/.aws files of the postgres OS user, web
 * identity, container or instance credentials) are only allowed for
 * superusers and members of dlake_admin.  Everyone else must bring
 * access keys in a user mapping; that check happens here, before any
 * request is built, so a refused user never reaches the network.
 *
 * Nothing is cached: catalog lookups go through the syscache, which is
 * cheap, and a changed server or mapping takes effect at the next call.
 *
 * IDENTIFICATION
 *	  src/common/config.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "access/reloptions.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_user_mapping.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

#include "common/config.h"
#include "fdw/options.h"
#include "guc.h"

/* empty GUC strings mean "not set" */
static char *
nonempty(const char *s)
{
	return (s && s[0]) ? pstrdup(s) : NULL;
}

/*
 * dlake_may_use_server_identity is true for superusers and members of
 * dlake_admin (directly or through role inheritance).
 */
bool
dlake_may_use_server_identity(Oid userid)
{
	Oid			admin;

	if (superuser_arg(userid))
		return true;
	admin = get_role_oid("dlake_admin", true);
	return OidIsValid(admin) && has_privs_of_role(userid, admin);
}

/*
 * mapping_options returns the options of the user mapping of userid on
 * the server, falling back to the PUBLIC mapping; NIL when there is none.
 */
static List *
mapping_options(Oid userid, Oid serverid, Oid *mapped)
{
	HeapTuple	tp;
	Datum		datum;
	bool		isnull;
	List	   *options = NIL;

	*mapped = userid;
	tp = SearchSysCache2(USERMAPPINGUSERSERVER,
						 ObjectIdGetDatum(userid), ObjectIdGetDatum(serverid));
	if (!HeapTupleIsValid(tp))
	{
		*mapped = InvalidOid;
		tp = SearchSysCache2(USERMAPPINGUSERSERVER,
							 ObjectIdGetDatum(InvalidOid), ObjectIdGetDatum(serverid));
	}
	if (!HeapTupleIsValid(tp))
		return NIL;

	datum = SysCacheGetAttr(USERMAPPINGUSERSERVER, tp,
							Anum_pg_user_mapping_umoptions, &isnull);
	if (!isnull)
		options = untransformRelOptions(datum);
	ReleaseSysCache(tp);
	return options;
}

static bool
option_bool(List *options, const char *name, bool dflt, bool *was_set)
{
	const char *v = dlake_option_get(options, name);
	bool		b;

	if (was_set)
		*was_set = (v != NULL);
	if (v == NULL)
		return dflt;
	if (!parse_bool(v, &b))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for boolean option \"%s\": \"%s\"", name, v)));
	return b;
}

/*
 * dlake_config_get_for_user builds the configuration for userid: server
 * options (or GUCs), the user mapping's identity, and the security check.
 */
DlakeConfig *
dlake_config_get_for_user(const char *server_name, Oid userid)
{
	DlakeConfig *cfg = palloc0(sizeof(DlakeConfig));
	List	   *mopts = NIL;
	bool		may_use;
	bool		has_keys;

	cfg->user_oid = userid;

	if (server_name != NULL)
	{
		ForeignServer *server = GetForeignServerByName(server_name, false);
		ForeignDataWrapper *fdw = GetForeignDataWrapper(server->fdwid);
		AclResult	aclresult;
		bool		ps_set;
		Oid			mapped;

		if (strcmp(fdw->fdwname, "dlake_fdw") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("server \"%s\" does not use the dlake_fdw foreign-data wrapper",
							server_name),
					 errhint("Create it with CREATE SERVER ... FOREIGN DATA WRAPPER dlake_fdw.")));

		aclresult = pg_foreign_server_aclcheck(server->serverid, userid, ACL_USAGE);
		if (aclresult != ACLCHECK_OK)
			aclcheck_error(aclresult, OBJECT_FOREIGN_SERVER, server->servername);

		cfg->server_name = pstrdup(server->servername);
		cfg->server_oid = server->serverid;
		cfg->region = nonempty(dlake_option_get(server->options, "region"));
		cfg->s3_endpoint = nonempty(dlake_option_get(server->options, "endpoint"));
		cfg->kinesis_endpoint = nonempty(dlake_option_get(server->options, "kinesis_endpoint"));
		cfg->sts_endpoint = nonempty(dlake_option_get(server->options, "sts_endpoint"));
		cfg->ca_file = nonempty(dlake_option_get(server->options, "ca_file"));
		cfg->verify_tls = option_bool(server->options, "verify_tls", true, NULL);
		cfg->path_style = option_bool(server->options, "path_style", false, &ps_set);
		/* custom endpoints default to path style: most compatibles need it */
		if (!ps_set)
			cfg->path_style = (cfg->s3_endpoint != NULL);

		mopts = mapping_options(userid, server->serverid, &mapped);
		if (OidIsValid(mapped))
			cfg->user_oid = mapped;
	}
	else
	{
		cfg->server_oid = InvalidOid;
		cfg->region = nonempty(dlake_region);
		cfg->s3_endpoint = nonempty(dlake_s3_endpoint);
		cfg->kinesis_endpoint = nonempty(dlake_kinesis_endpoint);
		cfg->sts_endpoint = nonempty(dlake_sts_endpoint);
		cfg->ca_file = nonempty(dlake_ca_file);
		cfg->verify_tls = dlake_verify_tls;
		cfg->path_style = dlake_s3_path_style || cfg->s3_endpoint != NULL;
	}

	cfg->cred.access_key_id = nonempty(dlake_option_get(mopts, "access_key_id"));
	cfg->cred.secret_access_key = nonempty(dlake_option_get(mopts, "secret_access_key"));
	cfg->cred.session_token = nonempty(dlake_option_get(mopts, "session_token"));
	cfg->cred.profile = nonempty(dlake_option_get(mopts, "profile"));
	cfg->cred.role_arn = nonempty(dlake_option_get(mopts, "role_arn"));
	cfg->cred.external_id = nonempty(dlake_option_get(mopts, "external_id"));
	cfg->cred.role_session_name = "dlake";
	cfg->cred.sts_endpoint = cfg->sts_endpoint;
	cfg->cred.imds_endpoint = nonempty(dlake_imds_endpoint);

	has_keys = cfg->cred.access_key_id != NULL && cfg->cred.secret_access_key != NULL;
	may_use = dlake_may_use_server_identity(userid);
	cfg->cred.allow_server_identity = may_use;

	if (!has_keys && !may_use)
	{
		if (server_name != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to use the server's AWS identity"),
					 errdetail("Role \"%s\" has no user mapping with access keys for server \"%s\"%s.",
							   GetUserNameFromId(userid, false), server_name,
							   (cfg->cred.profile || cfg->cred.role_arn) ?
							   "; a profile or role_arn alone would use the server process's own credentials" : ""),
					 errhint("Create a user mapping with access_key_id and secret_access_key options, or be granted the dlake_admin role.")));
		else
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to use the server's AWS identity"),
					 errdetail("No server was named, so the request would be signed with the credentials of the database server process."),
					 errhint("Name a dlake_fdw server for which you have a user mapping with access_key_id and secret_access_key, or be granted the dlake_admin role.")));
	}

	if (cfg->region == NULL)
		cfg->region = aws_region_resolve(NULL, cfg->cred.profile, may_use);
	if (cfg->region == NULL || cfg->region[0] == '\0')
		cfg->region = pstrdup("us-east-1");
	cfg->cred.region = cfg->region;

	return cfg;
}

DlakeConfig *
dlake_config_get(const char *server_name)
{
	return dlake_config_get_for_user(server_name, GetUserId());
}

/*
 * dlake_config_credentials resolves the identity of cfg through the
 * credential chain and raises a clear error when that fails.
 */
AwsCredentials *
dlake_config_credentials(const DlakeConfig *cfg)
{
	AwsCredentials *creds = palloc0(sizeof(AwsCredentials));
	char	   *msg = NULL;
	AwsCredStatus st;

	st = aws_credentials_resolve(&cfg->cred, creds, &msg);
	switch (st)
	{
		case AWS_CRED_OK:
			return creds;
		case AWS_CRED_NOT_ALLOWED:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to use the server's AWS identity"),
					 msg ? errdetail("%s", msg) : 0,
					 errhint("Create a user mapping with access_key_id and secret_access_key options, or be granted the dlake_admin role.")));
			break;
		case AWS_CRED_NOT_FOUND:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("no AWS credentials found"),
					 msg ? errdetail("%s", msg) : 0,
					 errhint("Create a user mapping with access_key_id and secret_access_key options, or give the server process credentials (environment, ~/.aws/credentials, instance profile).")));
			break;
		case AWS_CRED_INVALID:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid AWS credentials configuration"),
					 msg ? errdetail("%s", msg) : 0));
			break;
		case AWS_CRED_PROVIDER_ERROR:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("could not obtain AWS credentials"),
					 msg ? errdetail("%s", msg) : 0));
			break;
	}
	return NULL;				/* keep compiler quiet */
}

/*
 * split_url splits "scheme://authority[/]" into its scheme ("http" or
 * "https") and lowercased authority.
 */
static void
split_url(const char *url, char **scheme, char **authority)
{
	const char *p = strstr(url, "://");
	char	   *a;
	int			len;

	if (p == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid endpoint URL \"%s\"", url),
				 errhint("Use http://host[:port] or https://host[:port].")));
	*scheme = pnstrdup(url, p - url);
	p += 3;
	len = strcspn(p, "/");
	a = pnstrdup(p, len);
	for (char *c = a; *c; c++)
		*c = pg_tolower((unsigned char) *c);
	*authority = a;
}

/* is the host part of an authority an IP address (v4 or bracketed v6)? */
static bool
authority_is_ip(const char *authority)
{
	if (authority[0] == '[')
		return true;
	for (const char *c = authority; *c && *c != ':'; c++)
		if (!isdigit((unsigned char) *c) && *c != '.')
			return false;
	return true;
}

/*
 * bucket_virtual_hostable: 3-63 characters of lowercase letters, digits
 * and hyphens, starting and ending with a letter or digit; dots only when
 * the endpoint is plain HTTP (wildcard certificates cover one label).
 */
static bool
bucket_virtual_hostable(const char *bucket, bool https)
{
	int			len = strlen(bucket);

	if (len < 3 || len > 63)
		return false;
	if (!isalnum((unsigned char) bucket[0]) || !isalnum((unsigned char) bucket[len - 1]))
		return false;
	for (const char *c = bucket; *c; c++)
	{
		if (islower((unsigned char) *c) || isdigit((unsigned char) *c) || *c == '-')
			continue;
		if (*c == '.' && !https)
			continue;
		return false;
	}
	return true;
}

/*
 * dlake_config_endpoint returns the endpoint of a service ("s3",
 * "kinesis", "sts").  For S3 it decides the addressing style: virtual-host
 * (bucket in the host name) for AWS when the bucket allows it, path style
 * for custom endpoints unless path_style is false, and path style whenever
 * the bucket or the endpoint cannot be used in a host name.
 */
AwsEndpoint *
dlake_config_endpoint(const DlakeConfig *cfg, const char *service,
					  const char *bucket, bool *path_style)
{
	AwsEndpoint *ep = palloc0(sizeof(AwsEndpoint));
	char	   *scheme;
	char	   *authority;
	const char *custom = NULL;

	if (strcmp(service, "s3") == 0)
		custom = cfg->s3_endpoint;
	else if (strcmp(service, "kinesis") == 0)
		custom = cfg->kinesis_endpoint;
	else if (strcmp(service, "sts") == 0)
		custom = cfg->sts_endpoint;
	else
		elog(ERROR, "unknown AWS service \"%s\"", service);

	if (custom)
		split_url(custom, &scheme, &authority);
	else
	{
		scheme = "https";
		authority = psprintf("%s.%s.amazonaws.com", service, cfg->region);
	}

	if (strcmp(service, "s3") == 0)
	{
		bool		use_path = cfg->path_style;

		if (bucket == NULL ||
			!bucket_virtual_hostable(bucket, strcmp(scheme, "https") == 0) ||
			(custom && authority_is_ip(authority)))
			use_path = true;
		if (!use_path)
			authority = psprintf("%s.%s", bucket, authority);
		if (path_style)
			*path_style = use_path;
	}
	else if (path_style)
		*path_style = false;

	ep->host = authority;
	ep->base_url = psprintf("%s://%s", scheme, authority);
	ep->verify_tls = cfg->verify_tls;
	ep->ca_file = cfg->ca_file;
	return ep;
}
