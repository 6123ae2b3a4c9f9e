/*-------------------------------------------------------------------------
 *
 * credentials.h
 *	  The AWS credential provider chain: explicit keys, environment,
 *	  shared files and profiles, web identity, container, IMDSv2, and STS
 *	  AssumeRole on top.  Results are cached with their expiry and
 *	  refreshed five minutes before it.  No ereport: failures come back as
 *	  a status with a message.
 *
 * IDENTIFICATION
 *	  src/aws/credentials.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_CREDENTIALS_H
#define DLAKE_CREDENTIALS_H

#include "postgres.h"

#include "datatype/timestamp.h"

typedef struct AwsCredentials
{
	char	   *access_key_id;
	char	   *secret_access_key;
	char	   *session_token;	/* NULL for long-term keys */
	TimestampTz expiration;		/* DT_NOEND for long-term keys */
	const char *source;			/* "user mapping", "environment", "profile
								 * default", "web identity", "container",
								 * "imds", "assume role" */
} AwsCredentials;

typedef struct AwsCredentialOptions
{
	/* explicit, from a user mapping */
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;
	const char *profile;		/* from a user mapping; else AWS_PROFILE */
	const char *role_arn;		/* STS AssumeRole on top of the base creds */
	const char *external_id;
	const char *role_session_name;

	/*
	 * May the chain use the server process's own identity (environment,
	 * files of the OS user, web identity, container, IMDS)?  Only for
	 * superusers and dlake_admin members; decided by the caller.
	 */
	bool		allow_server_identity;

	const char *region;			/* for STS */
	const char *sts_endpoint;	/* NULL/"" = regional AWS endpoint */
	const char *imds_endpoint;	/* NULL/"" = default; "off" = skip */
} AwsCredentialOptions;

typedef enum AwsCredStatus
{
	AWS_CRED_OK = 0,
	AWS_CRED_NOT_FOUND,			/* chain exhausted */
	AWS_CRED_NOT_ALLOWED,		/* would need the server identity */
	AWS_CRED_INVALID,			/* malformed file, partial keys */
	AWS_CRED_PROVIDER_ERROR		/* STS / IMDS / container call failed */
} AwsCredStatus;

extern AwsCredStatus aws_credentials_resolve(const AwsCredentialOptions *opts,
											 AwsCredentials *out,
											 char **errmsg);
extern void aws_credentials_invalidate_cache(void);

/* region resolution: explicit, AWS_REGION, AWS_DEFAULT_REGION, profile, us-east-1 */
extern char *aws_region_resolve(const char *explicit_region, const char *profile,
								bool allow_server_identity);

#endif							/* DLAKE_CREDENTIALS_H */
