/*-------------------------------------------------------------------------
 *
 * aws_error.h
 *	  Parsing of AWS error bodies (XML and JSON) and small XML helpers
 *	  shared by aws_request.c, credentials.c and the S3 backend.
 *
 * IDENTIFICATION
 *	  src/aws/aws_error.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DLAKE_AWS_ERROR_H
#define DLAKE_AWS_ERROR_H

#include "postgres.h"

#include "aws/aws_request.h"

/* text of the first <tag>..</tag> (unescaped, palloc'd), or NULL */
extern char *aws_xml_tag_value(const char *xml, size_t len, const char *tag);

/* document element is <Error> (S3's 200-with-error answers) */
extern bool aws_xml_root_is_error(const char *xml, size_t len);

/* fill resp->aws_code / aws_message / request_id from body and headers */
extern void aws_parse_error_body(AwsResponse *resp);

/* "S3", "Kinesis", "STS" for messages */
extern const char *aws_service_label(const char *service);

#endif							/* DLAKE_AWS_ERROR_H */
