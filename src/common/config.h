/*-------------------------------------------------------------------------
 *
 * config.h
 *	  The connection configuration of one call: where to send requests and
 *	  with which identity.  Built from a foreign server of dlake_fdw and the
 *	  current user's user mapping, or from the GUCs when no server is named.
 *
 * dlake_config_get() enforces the security rule: the server process's own
 * AWS identity (environment, files of the OS user, instance profile ...)
 * is only for superusers and members of dlake_admin; a plain user must
 * bring keys (or a profile/role) in a user mapping.
 *
 * IDENTIFICATION
 *	  src/common/config.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_CONFIG_H
#define DLAKE_CONFIG_H

#include "postgres.h"

#include "aws/aws_request.h"
#include "aws/credentials.h"

typedef struct DlakeConfig
{
	char	   *server_name;	/* NULL when built from GUCs */
	Oid			server_oid;		/* InvalidOid when none */
	Oid			user_oid;		/* role whose mapping was used */
	char	   *region;
	char	   *s3_endpoint;	/* NULL = AWS */
	bool		path_style;
	char	   *kinesis_endpoint;	/* NULL = AWS */
	char	   *sts_endpoint;
	char	   *ca_file;
	bool		verify_tls;
	AwsCredentialOptions cred;	/* explicit keys / profile / role */
} DlakeConfig;

/* look up server + user mapping (server_name may be NULL); ereports */
extern DlakeConfig *dlake_config_get(const char *server_name);

/* same for an explicit role (used by background workers) */
extern DlakeConfig *dlake_config_get_for_user(const char *server_name, Oid userid);

/* resolve credentials for cfg; ereports with a hint on failure */
extern AwsCredentials *dlake_config_credentials(const DlakeConfig *cfg);

/* endpoint for a service: "s3" (bucket may be NULL), "kinesis", "sts" */
extern AwsEndpoint *dlake_config_endpoint(const DlakeConfig *cfg, const char *service,
										  const char *bucket, bool *path_style);

/* true when the current user may use the server process's own identity */
extern bool dlake_may_use_server_identity(Oid userid);

#endif							/* DLAKE_CONFIG_H */
