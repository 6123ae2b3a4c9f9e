--
-- Location parsing: malformed s3:// and file:// URIs give clear errors
-- before anything touches the network or the file system.
--
SELECT dlake.stat('s3:/x');
SELECT dlake.stat('s3://');
SELECT dlake.stat('s3:///key');
SELECT dlake.stat('s3://Bad_Bucket/key');
SELECT dlake.stat('s3://ab/key');
SELECT dlake.stat('s3://-bucket/key');
SELECT dlake.stat('s3://192.168.1.10/key');
SELECT dlake.stat('s3://bucket/a/../b');
SELECT dlake.stat('s3://bucket/./a');
SELECT dlake.stat('s3://bucket/..');
SELECT dlake.stat('s3://bucket//a');
SELECT dlake.stat('s3://bucket/a//b');
SELECT dlake.stat(E's3://bucket/a\tb');
DO $$
DECLARE d text;
BEGIN
  PERFORM dlake.stat('s3://bucket/' || repeat('k', 1025));
EXCEPTION WHEN invalid_parameter_value THEN
  GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
  RAISE NOTICE 'long key refused: %', d;
END
$$;
SELECT dlake.stat('file://relative/dir/x');
SELECT dlake.stat('file:relative');
SELECT dlake.stat('file:///tmp/../etc/passwd');
SELECT dlake.stat('/tmp/x');
SELECT dlake.stat('relative/x');
SELECT dlake.stat('http://example.com/x');
SELECT dlake.stat('');
SELECT dlake.stat(NULL);
-- prefixes are not objects
SELECT dlake.read_text('file:///tmp/');
SELECT dlake.write_text('s3://bucket/dir/', 'x');
-- a clean round trip on the file backend (superuser)
SELECT dlake.delete('file:///tmp/dlake_regress_loc/');
SELECT dlake.write_text('file:///tmp/dlake_regress_loc/a/one.txt', 'hello');
SELECT dlake.write_text('file:///tmp/dlake_regress_loc/a/b/two.txt', 'world!');
SELECT dlake.write_bytes('file:///tmp/dlake_regress_loc/three.bin', '\x000102'::bytea);
SELECT path, size, etag IS NOT NULL AS has_etag FROM dlake.list('file:///tmp/dlake_regress_loc/');
SELECT path, size FROM dlake.list('file:///tmp/dlake_regress_loc/', recursive => false);
SELECT path, size FROM dlake.list('file:///tmp/dlake_regress_loc/a/t');
SELECT dlake.read_text('file:///tmp/dlake_regress_loc/a/b/two.txt');
SELECT dlake.read_bytes('file:///tmp/dlake_regress_loc/a/b/two.txt', NULL, 2, 3);
SELECT dlake.read_bytes('file:///tmp/dlake_regress_loc/a/b/two.txt', NULL, 100);
SELECT size FROM dlake.stat('file:///tmp/dlake_regress_loc/a/one.txt');
SELECT dlake.stat('file:///tmp/dlake_regress_loc/missing.txt') IS NULL AS missing;
SELECT dlake.read_text('file:///tmp/dlake_regress_loc/missing.txt');
SELECT dlake.copy_object('file:///tmp/dlake_regress_loc/a/one.txt', 'file:///tmp/dlake_regress_loc/c/copy.txt');
SELECT dlake.read_text('file:///tmp/dlake_regress_loc/c/copy.txt');
SELECT dlake.write_generated('file:///tmp/dlake_regress_loc/gen.bin', 10, NULL, 1);
SELECT encode(dlake.read_bytes('file:///tmp/dlake_regress_loc/gen.bin'), 'hex');
-- a write that fails leaves no object and no temp file
SELECT dlake.write_text('file:///tmp/dlake_regress_loc/a/one.txt/x', 'no');
SET statement_timeout = '100ms';
SELECT dlake.write_generated('file:///tmp/dlake_regress_loc/a/big.bin', 1000000000);
RESET statement_timeout;
SELECT f FROM pg_ls_dir('/tmp/dlake_regress_loc/a') AS f ORDER BY f;
-- objects are not transactional: a closed write stays after ROLLBACK
BEGIN;
SELECT dlake.write_text('file:///tmp/dlake_regress_loc/tx.txt', 'in a transaction');
ROLLBACK;
SELECT count(*) FROM dlake.list('file:///tmp/dlake_regress_loc/tx');
SELECT dlake.presign('file:///tmp/dlake_regress_loc/a/one.txt');
SELECT dlake.delete('file:///tmp/dlake_regress_loc/a/one.txt');
SELECT dlake.delete('file:///tmp/dlake_regress_loc/a/one.txt');
SELECT dlake.delete('file:///tmp/dlake_regress_loc/');
SELECT count(*) FROM dlake.list('file:///tmp/dlake_regress_loc/');
-- S3 addressing, seen through presigned URLs (computed locally, no network)
CREATE SERVER regress_loc_aws FOREIGN DATA WRAPPER dlake_fdw OPTIONS (region 'eu-west-1');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_loc_aws
  OPTIONS (access_key_id 'AKIDEXAMPLE', secret_access_key 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY');
CREATE SERVER regress_loc_custom FOREIGN DATA WRAPPER dlake_fdw
  OPTIONS (endpoint 'http://S3.Example.test:9000', region 'us-east-1');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_loc_custom
  OPTIONS (access_key_id 'AKIDEXAMPLE', secret_access_key 'secret');
CREATE SERVER regress_loc_ip FOREIGN DATA WRAPPER dlake_fdw
  OPTIONS (endpoint 'http://127.0.0.1:9000', path_style 'false');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_loc_ip
  OPTIONS (access_key_id 'AKIDEXAMPLE', secret_access_key 'secret');
SELECT split_part(dlake.presign(loc, '1 hour', srv), '?', 1) AS url
FROM (VALUES ('s3://my-bucket/dir/a b+c.txt', 'regress_loc_aws'),
             ('s3://my.dotted.bucket/x', 'regress_loc_aws'),
             ('s3://my-bucket/x', 'regress_loc_custom'),
             ('s3://my-bucket/x', 'regress_loc_ip')) AS t(loc, srv);
ALTER SERVER regress_loc_custom OPTIONS (ADD path_style 'false');
SELECT split_part(dlake.presign('s3://my-bucket/x', '1 hour', 'regress_loc_custom'), '?', 1) AS url;
SELECT regexp_replace(dlake.presign('s3://my-bucket/x', '2 hours', 'regress_loc_aws', 'put'),
                      '(X-Amz-Date=|%2F)[0-9TZ]+|X-Amz-Signature=[0-9a-f]{64}', '\1...', 'g') AS query;
SELECT dlake.presign('s3://my-bucket/x', '0 seconds', 'regress_loc_aws');
SELECT dlake.presign('s3://my-bucket/x', '1 hour', 'regress_loc_aws', 'DELETE');
DROP USER MAPPING FOR CURRENT_USER SERVER regress_loc_aws;
DROP USER MAPPING FOR CURRENT_USER SERVER regress_loc_custom;
DROP USER MAPPING FOR CURRENT_USER SERVER regress_loc_ip;
DROP SERVER regress_loc_aws;
DROP SERVER regress_loc_custom;
DROP SERVER regress_loc_ip;
