/*-------------------------------------------------------------------------
 *
 * credentials.c
 *	  The AWS credential provider chain (first cut: explicit keys and
 *	  environment; the rest of the chain follows).
 *
 * IDENTIFICATION
 *	  src/aws/credentials.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdlib.h>

#include "aws/credentials.h"
#include "guc.h"

AwsCredStatus
aws_credentials_resolve(const AwsCredentialOptions *opts, AwsCredentials *out, char **errmsg)
{
	const char *ak;
	const char *sk;

	memset(out, 0, sizeof(*out));
	*errmsg = NULL;
	if (opts->access_key_id && opts->access_key_id[0])
	{
		out->access_key_id = pstrdup(opts->access_key_id);
		out->secret_access_key = pstrdup(opts->secret_access_key ? opts->secret_access_key : "");
		out->session_token = opts->session_token ? pstrdup(opts->session_token) : NULL;
		out->expiration = DT_NOEND;
		out->source = "user mapping";
		return AWS_CRED_OK;
	}
	if (!opts->allow_server_identity)
		return AWS_CRED_NOT_ALLOWED;
	ak = getenv("AWS_ACCESS_KEY_ID");
	sk = getenv("AWS_SECRET_ACCESS_KEY");
	if (ak && ak[0] && sk)
	{
		const char *tok = getenv("AWS_SESSION_TOKEN");

		out->access_key_id = pstrdup(ak);
		out->secret_access_key = pstrdup(sk);
		out->session_token = (tok && tok[0]) ? pstrdup(tok) : NULL;
		out->expiration = DT_NOEND;
		out->source = "environment";
		return AWS_CRED_OK;
	}
	*errmsg = pstrdup("no AWS credentials found");
	return AWS_CRED_NOT_FOUND;
}

void
aws_credentials_invalidate_cache(void)
{
}

char *
aws_region_resolve(const char *explicit_region, const char *profile, bool allow_server_identity)
{
	const char *r;

	if (explicit_region && explicit_region[0])
		return pstrdup(explicit_region);
	if (dlake_region && dlake_region[0])
		return pstrdup(dlake_region);
	r = getenv("AWS_REGION");
	if (r == NULL || !r[0])
		r = getenv("AWS_DEFAULT_REGION");
	return pstrdup((r && r[0]) ? r : "us-east-1");
}
