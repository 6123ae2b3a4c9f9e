--
-- Privileges: storage functions are revoked from PUBLIC; a plain role may
-- not sign requests with the server's own AWS identity; file:// needs the
-- server-file roles.  Nothing here reaches the network.
--
CREATE ROLE regress_dlake_plain;
CREATE ROLE regress_dlake_reader IN ROLE pg_read_server_files;
CREATE ROLE regress_dlake_admin_member IN ROLE dlake_admin;
CREATE SERVER regress_priv_srv FOREIGN DATA WRAPPER dlake_fdw
  OPTIONS (endpoint 'http://127.0.0.1:9', region 'us-east-1');

-- revoked from PUBLIC
SELECT p.oid::regprocedure AS function,
       has_function_privilege('regress_dlake_plain', p.oid, 'EXECUTE') AS plain_may_execute,
       has_function_privilege('regress_dlake_admin_member', p.oid, 'EXECUTE') AS admin_may_execute
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'dlake'
  AND p.proname IN ('list', 'stat', 'read_text', 'read_bytes', 'write_text', 'write_bytes',
                    'delete', 'presign', 'create_bucket', 'copy_object', 'write_generated')
ORDER BY p.proname;

SET ROLE regress_dlake_plain;
SELECT * FROM dlake.list('s3://regress-bucket/x', 'regress_priv_srv');
RESET ROLE;

GRANT EXECUTE ON FUNCTION dlake.list(text, name, boolean), dlake.read_text(text, name),
  dlake.write_text(text, text, name), dlake.delete(text, name)
  TO regress_dlake_plain, regress_dlake_reader;

-- no USAGE on the server
SET ROLE regress_dlake_plain;
SELECT * FROM dlake.list('s3://regress-bucket/x', 'regress_priv_srv');
RESET ROLE;
GRANT USAGE ON FOREIGN SERVER regress_priv_srv TO regress_dlake_plain;

-- USAGE but no user mapping: the server identity is refused
SET ROLE regress_dlake_plain;
SELECT * FROM dlake.list('s3://regress-bucket/x', 'regress_priv_srv');
-- no server at all: the GUC defaults would also use the server identity
SELECT * FROM dlake.list('s3://regress-bucket/x');
RESET ROLE;

-- a mapping with only a profile (files of the server's OS user) is refused too
CREATE USER MAPPING FOR regress_dlake_plain SERVER regress_priv_srv OPTIONS (profile 'default');
SET ROLE regress_dlake_plain;
SELECT dlake.read_text('s3://regress-bucket/x', 'regress_priv_srv');
RESET ROLE;
DROP USER MAPPING FOR regress_dlake_plain SERVER regress_priv_srv;

-- a PUBLIC mapping without keys does not help either
CREATE USER MAPPING FOR PUBLIC SERVER regress_priv_srv OPTIONS (role_arn 'arn:aws:iam::123456789012:role/x');
SET ROLE regress_dlake_plain;
SELECT dlake.delete('s3://regress-bucket/x', 'regress_priv_srv');
RESET ROLE;
DROP USER MAPPING FOR PUBLIC SERVER regress_priv_srv;

-- a dlake_admin member gets past the identity check (and then finds no
-- credentials or no endpoint: either way not a privilege error)
GRANT USAGE ON FOREIGN SERVER regress_priv_srv TO regress_dlake_admin_member;
SET dlake.imds_endpoint = 'off';
SET dlake.max_retries = 0;
SET ROLE regress_dlake_admin_member;
DO $$
BEGIN
  PERFORM * FROM dlake.list('s3://regress-bucket/x', 'regress_priv_srv');
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'privilege error: %', SQLSTATE = '42501';
END
$$;
RESET ROLE;
RESET dlake.imds_endpoint;
RESET dlake.max_retries;
REVOKE USAGE ON FOREIGN SERVER regress_priv_srv FROM regress_dlake_admin_member;

-- pg_user_mappings hides the keys from other roles
CREATE USER MAPPING FOR regress_dlake_reader SERVER regress_priv_srv
  OPTIONS (access_key_id 'AKIDREGRESS', secret_access_key 'SECRETREGRESS');
SET ROLE regress_dlake_plain;
SELECT usename, umoptions FROM pg_user_mappings WHERE srvname = 'regress_priv_srv';
RESET ROLE;

-- file:// needs pg_read_server_files / pg_write_server_files
SET ROLE regress_dlake_plain;
SELECT dlake.write_text('file:///tmp/dlake_regress_priv/x.txt', 'x');
SELECT * FROM dlake.list('file:///tmp/');
SELECT dlake.delete('file:///tmp/dlake_regress_priv/x.txt');
RESET ROLE;
SET ROLE regress_dlake_reader;
SELECT count(*) >= 0 AS listed FROM dlake.list('file:///tmp/dlake_regress_priv/');
SELECT dlake.write_text('file:///tmp/dlake_regress_priv/x.txt', 'x');
RESET ROLE;

DROP USER MAPPING FOR regress_dlake_reader SERVER regress_priv_srv;
DROP SERVER regress_priv_srv;
REVOKE EXECUTE ON FUNCTION dlake.list(text, name, boolean), dlake.read_text(text, name),
  dlake.write_text(text, text, name), dlake.delete(text, name)
  FROM regress_dlake_plain, regress_dlake_reader;
DROP ROLE regress_dlake_plain;
DROP ROLE regress_dlake_reader;
DROP ROLE regress_dlake_admin_member;
