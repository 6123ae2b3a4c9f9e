--
-- SigV4 stage by stage against the published AWS vectors
-- (AWS SigV4 test suite, S3 API reference examples; see
-- /work/shared/reference/s3-sigv4-credentials.md section 1.11).
--
\pset format unaligned
\pset tuples_only off

-- Test-suite credentials: AKIDEXAMPLE, us-east-1, service "service", 20150830T123600Z
\set suite_secret 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
-- S3 example credentials: AKIAIOSFODNN7EXAMPLE, us-east-1, s3, 20130524T000000Z
\set s3_secret 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
\set E 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

-- all stages of one request, for the test-suite scope
CREATE FUNCTION pg_temp.suite_sig(method text, path text, query text, headers text[],
	payload text, s3 boolean DEFAULT false)
RETURNS text LANGUAGE sql AS $$
	SELECT dlake.sigv4_signature('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
		'20150830T123600Z', 'us-east-1', 'service',
		dlake.sigv4_string_to_sign('20150830T123600Z', 'us-east-1', 'service',
			dlake.sigv4_canonical_request(method, path, query, headers, payload, s3)))
$$;

CREATE FUNCTION pg_temp.s3_sig(method text, path text, query text, headers text[], payload text)
RETURNS text LANGUAGE sql AS $$
	SELECT dlake.sigv4_signature('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
		'20130524T000000Z', 'us-east-1', 's3',
		dlake.sigv4_string_to_sign('20130524T000000Z', 'us-east-1', 's3',
			dlake.sigv4_canonical_request(method, path, query, headers, payload, true)))
$$;

-- signing-key derivation
SELECT dlake.sigv4_signing_key_hex(:'suite_secret', '20120215', 'us-east-1', 'iam')
	= 'f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d' AS iam_example_key;
SELECT dlake.sigv4_signing_key_hex(:'suite_secret', '20150830', 'us-east-1', 'service')
	= '938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75' AS suite_key;
SELECT dlake.sigv4_signing_key_hex(:'s3_secret', '20130524', 'us-east-1', 's3')
	= 'dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378' AS s3_key;

-- (a) get-vanilla: every stage printed
SELECT dlake.sigv4_canonical_request('GET', '/', '',
	ARRAY['Host:example.amazonaws.com', 'X-Amz-Date:20150830T123600Z'], :'E', false)
	AS canonical_request \gset
SELECT :'canonical_request' AS canonical_request;
SELECT dlake.sigv4_string_to_sign('20150830T123600Z', 'us-east-1', 'service', :'canonical_request')
	AS string_to_sign \gset
SELECT :'string_to_sign' AS string_to_sign;
SELECT dlake.sigv4_signature(:'suite_secret', '20150830T123600Z', 'us-east-1', 'service', :'string_to_sign')
	AS signature;
SELECT dlake.sigv4_authorization('GET', '/', '',
	ARRAY['Host:example.amazonaws.com', 'X-Amz-Date:20150830T123600Z'], :'E', false,
	'20150830T123600Z', 'us-east-1', 'service', 'AKIDEXAMPLE', :'suite_secret') AS authorization;

-- (a') get-vanilla presigned (X-Amz-Expires=3600, payload E for a non-S3 service)
SELECT dlake.sigv4_presign_query('GET', '/', 'example.amazonaws.com', '20150830T123600Z',
	'us-east-1', 'service', 3600, 'AKIDEXAMPLE', :'suite_secret') AS presign_query;

-- (b) get-vanilla-query-order-key-case
SELECT split_part(dlake.sigv4_canonical_request('GET', '/', 'Param2=value2&Param1=value1',
	ARRAY['Host:example.amazonaws.com', 'X-Amz-Date:20150830T123600Z'], :'E', false), E'\n', 3)
	AS canonical_query;
SELECT split_part(dlake.sigv4_string_to_sign('20150830T123600Z', 'us-east-1', 'service',
	dlake.sigv4_canonical_request('GET', '/', 'Param2=value2&Param1=value1',
		ARRAY['Host:example.amazonaws.com', 'X-Amz-Date:20150830T123600Z'], :'E', false)), E'\n', 4)
	= '816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0' AS creq_hash_ok;
SELECT pg_temp.suite_sig('GET', '/', 'Param2=value2&Param1=value1',
	ARRAY['Host:example.amazonaws.com', 'X-Amz-Date:20150830T123600Z'], :'E')
	= 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500' AS query_order_key_case;

-- repeated names sort by value; valueless parameters become name=
SELECT dlake.sigv4_canonical_request('GET', '/', 'Param1=value2&Param1=Value1&uploads&b=',
	ARRAY['Host:h'], :'E', false) AS repeated_and_valueless;

-- get-vanilla-query-order-encoded: sort on the encoded name, not name=value
SELECT split_part(dlake.sigv4_canonical_request('GET', '/', 'Param-3=Value3&Param=Value2&%E1%88%B4=Value1',
	ARRAY['Host:example.amazonaws.com', 'X-Amz-Date:20150830T123600Z'], :'E', false), E'\n', 3)
	AS encoded_order;
SELECT pg_temp.suite_sig('GET', '/', 'Param-3=Value3&Param=Value2&%E1%88%B4=Value1',
	ARRAY['Host:example.amazonaws.com', 'X-Amz-Date:20150830T123600Z'], :'E')
	= '371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac' AS query_order_encoded;

-- (c) get-vanilla-with-session-token
SELECT pg_temp.suite_sig('GET', '/', '',
	ARRAY['Host:example.amazonaws.com', 'X-Amz-Date:20150830T123600Z',
		  'X-Amz-Security-Token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267'], :'E')
	= '07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8' AS session_token;

-- (d) post-x-www-form-urlencoded, original suite and aws-c-auth variants
SELECT encode(sha256('Param1=value1'::bytea), 'hex') AS body_hash \gset
SELECT :'body_hash' = '9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e' AS body_hash_ok;
SELECT dlake.sigv4_canonical_request('POST', '/', '',
	ARRAY['Content-Type:application/x-www-form-urlencoded', 'Host:example.amazonaws.com',
		  'X-Amz-Date:20150830T123600Z'], :'body_hash', false) AS post_canonical_request;
SELECT split_part(dlake.sigv4_string_to_sign('20150830T123600Z', 'us-east-1', 'service',
	dlake.sigv4_canonical_request('POST', '/', '',
		ARRAY['Content-Type:application/x-www-form-urlencoded', 'Host:example.amazonaws.com',
			  'X-Amz-Date:20150830T123600Z'], :'body_hash', false)), E'\n', 4)
	= '42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281' AS post_creq_hash_ok;
SELECT pg_temp.suite_sig('POST', '/', '',
	ARRAY['Content-Type:application/x-www-form-urlencoded', 'Host:example.amazonaws.com',
		  'X-Amz-Date:20150830T123600Z'], :'body_hash')
	= 'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a' AS post_form;
SELECT pg_temp.suite_sig('POST', '/', '',
	ARRAY['Content-Length:13', 'Content-Type:application/x-www-form-urlencoded',
		  'Host:example.amazonaws.com', 'X-Amz-Content-Sha256:' || :'body_hash',
		  'X-Amz-Date:20150830T123600Z'], :'body_hash')
	= 'd3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b' AS post_form_c_auth;

-- get-utf8 and get-unreserved (path encoding)
SELECT split_part(dlake.sigv4_canonical_request('GET', '/ሴ', '',
	ARRAY['Host:example.amazonaws.com'], :'E', false), E'\n', 2) AS utf8_path;
SELECT pg_temp.suite_sig('GET', '/ሴ', '',
	ARRAY['Host:example.amazonaws.com', 'X-Amz-Date:20150830T123600Z'], :'E')
	= '8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85' AS get_utf8;
SELECT pg_temp.suite_sig('GET', '/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', '',
	ARRAY['Host:example.amazonaws.com', 'X-Amz-Date:20150830T123600Z'], :'E')
	= '07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f' AS get_unreserved;

-- path normalisation for other services, none for S3
SELECT pg_temp.suite_sig('GET', '//example//', '',
	ARRAY['Host:example.amazonaws.com', 'X-Amz-Date:20150830T123600Z'], :'E')
	= '9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84' AS get_slashes_normalized;
SELECT pg_temp.suite_sig('GET', '/example space/', '',
	ARRAY['Host:example.amazonaws.com', 'X-Amz-Date:20150830T123600Z'], :'E')
	= '652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741' AS get_space_normalized;
SELECT p AS path,
	split_part(dlake.sigv4_canonical_request('GET', p, '', ARRAY['Host:h'], :'E', false), E'\n', 2) AS other_service,
	split_part(dlake.sigv4_canonical_request('GET', p, '', ARRAY['Host:h'], :'E', true), E'\n', 2) AS s3
FROM unnest(ARRAY['//example//', '/./example', '/example/..', '/a/b/../../c/', '/a%20b', '/a%2Bb/c%24d', '']) AS p;

-- header value trim (quotes included) and repeated headers in the order sent
SELECT dlake.sigv4_canonical_request('GET', '/', '',
	ARRAY['Host:example.amazonaws.com', 'My-Header1: value1', 'My-Header2: "a   b   c"',
		  'X-Amz-Date:20150830T123600Z'], :'E', false) AS header_trim;
SELECT pg_temp.suite_sig('GET', '/', '',
	ARRAY['Host:example.amazonaws.com', 'My-Header1: value1', 'My-Header2: "a   b   c"',
		  'X-Amz-Date:20150830T123600Z'], :'E')
	= 'acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736' AS get_header_value_trim;
SELECT pg_temp.suite_sig('GET', '/', '',
	ARRAY['Host:example.amazonaws.com', 'My-Header1:value4', 'My-Header1:value1',
		  'My-Header1:value3', 'My-Header1:value2', 'X-Amz-Date:20150830T123600Z'], :'E')
	= '08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01' AS get_header_value_order;

-- (e) S3 GET object with Range: every stage
SELECT dlake.sigv4_canonical_request('GET', '/test.txt', '',
	ARRAY['Host:examplebucket.s3.amazonaws.com', 'Range:bytes=0-9',
		  'x-amz-content-sha256:' || :'E', 'x-amz-date:20130524T000000Z'], :'E', true)
	AS s3_canonical_request \gset
SELECT :'s3_canonical_request' AS s3_canonical_request;
SELECT dlake.sigv4_string_to_sign('20130524T000000Z', 'us-east-1', 's3', :'s3_canonical_request')
	AS s3_string_to_sign;
SELECT dlake.sigv4_authorization('GET', '/test.txt', '',
	ARRAY['Host:examplebucket.s3.amazonaws.com', 'Range:bytes=0-9',
		  'x-amz-content-sha256:' || :'E', 'x-amz-date:20130524T000000Z'], :'E', true,
	'20130524T000000Z', 'us-east-1', 's3', 'AKIAIOSFODNN7EXAMPLE', :'s3_secret') AS s3_authorization;

-- (f) other S3 examples
SELECT pg_temp.s3_sig('PUT', '/test%24file.text', '',
	ARRAY['Date:Fri, 24 May 2013 00:00:00 GMT', 'Host:examplebucket.s3.amazonaws.com',
		  'x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
		  'x-amz-date:20130524T000000Z', 'x-amz-storage-class:REDUCED_REDUNDANCY'],
	encode(sha256('Welcome to Amazon S3.'::bytea), 'hex'))
	= '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd' AS s3_put_object;
SELECT pg_temp.s3_sig('GET', '/', 'lifecycle',
	ARRAY['Host:examplebucket.s3.amazonaws.com', 'x-amz-content-sha256:' || :'E',
		  'x-amz-date:20130524T000000Z'], :'E')
	= 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543' AS s3_get_lifecycle;
SELECT pg_temp.s3_sig('GET', '/', 'max-keys=2&prefix=J',
	ARRAY['Host:examplebucket.s3.amazonaws.com', 'x-amz-content-sha256:' || :'E',
		  'x-amz-date:20130524T000000Z'], :'E')
	= '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7' AS s3_list_bucket;
SELECT dlake.sigv4_presign_query('GET', '/test.txt', 'examplebucket.s3.amazonaws.com',
	'20130524T000000Z', 'us-east-1', 's3', 86400, 'AKIAIOSFODNN7EXAMPLE', :'s3_secret')
	AS s3_presigned_get;
SELECT dlake.sigv4_presign_query('GET', '/test.txt', 'examplebucket.s3.amazonaws.com',
	'20130524T000000Z', 'us-east-1', 's3', 86400, 'AKIAIOSFODNN7EXAMPLE', :'s3_secret',
	'EXAMPLE/TOKEN+==') AS s3_presigned_get_token;

-- (h) derived vectors for dlake's own requests
SELECT dlake.sigv4_signature('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20150830T123600Z',
	'us-east-1', 'kinesis',
	dlake.sigv4_string_to_sign('20150830T123600Z', 'us-east-1', 'kinesis',
		dlake.sigv4_canonical_request('POST', '/', '',
			ARRAY['Content-Type:application/x-amz-json-1.1', 'Host:kinesis.us-east-1.amazonaws.com',
				  'X-Amz-Date:20150830T123600Z', 'X-Amz-Target:Kinesis_20131202.ListShards'],
			encode(sha256('{"StreamName":"test-stream"}'::bytea), 'hex'), false)))
	= '5728e2d5b63834172d6a8d7cc6b8c3cd9832133ef5918350f41d72127ce42f9c' AS kinesis_list_shards;
SELECT dlake.sigv4_signature('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20150830T123600Z',
	'us-east-1', 'sts',
	dlake.sigv4_string_to_sign('20150830T123600Z', 'us-east-1', 'sts',
		dlake.sigv4_canonical_request('POST', '/', '',
			ARRAY['Content-Type:application/x-www-form-urlencoded; charset=utf-8',
				  'Host:sts.us-east-1.amazonaws.com', 'X-Amz-Date:20150830T123600Z'],
			encode(sha256('Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdemo&RoleSessionName=dlake&DurationSeconds=3600'::bytea), 'hex'), false)))
	= 'f8cae3b4d5b1fda077f137a8feb1c09d16c048272f82b486ea2b74d3bea803f1' AS sts_assume_role;
SELECT dlake.sigv4_signature('minioadmin', '20150830T123600Z', 'us-east-1', 's3',
	dlake.sigv4_string_to_sign('20150830T123600Z', 'us-east-1', 's3',
		dlake.sigv4_canonical_request('GET', '/lake/raw/date%3D2026-11-27/a%20b%2Bc%C3%A9.csv', '',
			ARRAY['host:localhost:9000', 'range:bytes=0-1023', 'x-amz-content-sha256:' || :'E',
				  'x-amz-date:20150830T123600Z'], :'E', true)))
	= '0becac9bfc155b11d08f6bdf34bcdae75357c0297eafafdd6231b7b668df9526' AS minio_awkward_key;
SELECT dlake.sigv4_signature('minioadmin', '20150830T123600Z', 'us-east-1', 's3',
	dlake.sigv4_string_to_sign('20150830T123600Z', 'us-east-1', 's3',
		dlake.sigv4_canonical_request('GET', '/lake',
			'list-type=2&prefix=raw%2Fdate%3D2026-11-27%2F&delimiter=%2F&max-keys=1000&encoding-type=url&continuation-token=1%2Fabc%3D%3D',
			ARRAY['host:localhost:9000', 'x-amz-content-sha256:' || :'E',
				  'x-amz-date:20150830T123600Z'], :'E', true)))
	= '616fde5f65588b9eebd0ec251b303fb38cb33df85bdc1e14b8aa824b5c928772' AS minio_list_page2;

-- encoding helper: unreserved kept, space %20, plus %2B, slash kept only on request
SELECT dlake.sigv4_uri_encode('a b+c/d~e$é') AS query_style,
	dlake.sigv4_uri_encode('a b+c/d~e$é', true) AS path_style;

-- argument errors
SELECT dlake.sigv4_presign_query('GET', '/k', 'h', '20130524T000000Z', 'us-east-1', 's3',
	604801, 'AK', 'SK');
SELECT dlake.sigv4_presign_query('GET', '/k', 'h', '20130524T000000Z', 'us-east-1', 's3',
	0, 'AK', 'SK');
SELECT dlake.sigv4_string_to_sign('2013-05-24', 'us-east-1', 's3', 'x');
SELECT dlake.sigv4_canonical_request('GET', '/', '', ARRAY['no-colon'], :'E', true);
