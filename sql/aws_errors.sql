--
-- How AWS answers are parsed and classified (offline): error codes from S3
-- and STS XML and from Kinesis JSON, request ids, the SQLSTATE of the ERROR,
-- and which answers are retried.
--
\pset format unaligned

-- S3 XML error with entities
SELECT * FROM dlake.aws_error_parse(404,
	'<?xml version="1.0" encoding="UTF-8"?>' || E'\n' ||
	'<Error><Code>NoSuchKey</Code><Message>The specified key does not exist: a&amp;b &lt;c&gt; &#233;</Message>' ||
	'<Key>a&amp;b</Key><RequestId>4442587FB7D0A2F9</RequestId><HostId>x</HostId></Error>');

-- request id from the header when the body has none
SELECT code, request_id, sqlstate FROM dlake.aws_error_parse(404,
	'<Error><Code>NoSuchBucket</Code><Message>no bucket</Message></Error>',
	ARRAY['x-amz-request-id:ABC123']);

-- STS Query-protocol error
SELECT * FROM dlake.aws_error_parse(403,
	'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>' ||
	'<Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole</Message>' ||
	'</Error><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>');

-- Kinesis JSON errors: __type prefix stripped, message or Message
SELECT * FROM dlake.aws_error_parse(400,
	'{"__type":"com.amazonaws.kinesis.v20131202#ProvisionedThroughputExceededException","message":"Rate exceeded for shard"}',
	ARRAY['x-amzn-RequestId:f1e2d3c4']);
SELECT code, message, sqlstate, retryable FROM dlake.aws_error_parse(400,
	'{"__type":"ResourceNotFoundException","Message":"Stream s under account 1 not found."}');

-- a signature error: the echoed canonical request (with the token) is cut
SELECT code, message, sqlstate, retryable FROM dlake.aws_error_parse(400,
	'{"__type":"InvalidSignatureException","message":"The request signature we calculated does not match the signature you provided.\n\nThe Canonical String for this request should have been\n''POST\n/\n\nx-amz-security-token:SECRET-TOKEN\n''"}');
SELECT code, sqlstate, retryable FROM dlake.aws_error_parse(403,
	'<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match.</Message>' ||
	'<CanonicalRequest>GET / x-amz-security-token:SECRET</CanonicalRequest></Error>');

-- S3 answers 200 with an <Error> body for CompleteMultipartUpload / CopyObject
SELECT code, retryable, error_in_200 FROM dlake.aws_error_parse(200,
	'<?xml version="1.0" encoding="UTF-8"?>' || E'\n\n' ||
	'<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>');
SELECT error_in_200 FROM dlake.aws_error_parse(200,
	'<?xml version="1.0"?><CompleteMultipartUploadResult><ETag>"x"</ETag></CompleteMultipartUploadResult>');

-- classification table: status and code -> SQLSTATE, retry, throttling
SELECT s AS status, c AS code, p.sqlstate, p.retryable, p.throttling
FROM (VALUES
	(503, 'SlowDown'), (500, 'InternalError'), (502, NULL), (504, NULL), (501, 'NotImplemented'),
	(400, 'RequestTimeout'), (400, 'ThrottlingException'), (400, 'Throttling'),
	(400, 'RequestLimitExceeded'), (400, 'TooManyRequestsException'), (429, NULL),
	(403, 'AccessDenied'), (403, 'InvalidAccessKeyId'), (403, 'SignatureDoesNotMatch'),
	(400, 'ExpiredToken'), (400, 'InvalidToken'), (403, 'RequestTimeTooSkewed'),
	(400, 'UnrecognizedClientException'), (400, 'AccessDeniedException'),
	(404, 'NoSuchKey'), (404, 'NoSuchBucket'), (404, 'NoSuchUpload'),
	(400, 'ResourceNotFoundException'), (416, 'InvalidRange'), (412, 'PreconditionFailed'),
	(400, 'InvalidArgumentException'), (403, NULL), (404, NULL), (400, NULL)
) AS v(s, c),
LATERAL dlake.aws_error_parse(s,
	CASE WHEN c IS NULL THEN '' ELSE '<Error><Code>' || c || '</Code><Message>m</Message></Error>' END) p;

-- not XML, not JSON (a proxy's HTML page): no code, classified by status
SELECT * FROM dlake.aws_error_parse(502, '<html><body>Bad Gateway</body></html>');
SELECT * FROM dlake.aws_error_parse(500, 'garbage {');
SELECT * FROM dlake.aws_error_parse(400, '{"__type": 12');
