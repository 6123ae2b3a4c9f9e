--
-- dlake_fdw option validation: unknown names with a closest-match hint,
-- secrets only in user mappings, booleans and endpoint URLs checked.
--
CREATE SERVER regress_opt_bad FOREIGN DATA WRAPPER dlake_fdw OPTIONS (regoin 'us-east-1');
CREATE SERVER regress_opt_bad FOREIGN DATA WRAPPER dlake_fdw OPTIONS (endpiont 'http://127.0.0.1:9000');
CREATE SERVER regress_opt_bad FOREIGN DATA WRAPPER dlake_fdw OPTIONS (completely_unrelated 'x');
-- secrets belong in user mappings
CREATE SERVER regress_opt_bad FOREIGN DATA WRAPPER dlake_fdw OPTIONS (secret_access_key 'wJalrXUtnFEMI');
CREATE SERVER regress_opt_bad FOREIGN DATA WRAPPER dlake_fdw OPTIONS (access_key_id 'AKIDEXAMPLE');
CREATE SERVER regress_opt_bad FOREIGN DATA WRAPPER dlake_fdw OPTIONS (session_token 'tok');
-- booleans
CREATE SERVER regress_opt_bad FOREIGN DATA WRAPPER dlake_fdw OPTIONS (path_style 'maybe');
CREATE SERVER regress_opt_bad FOREIGN DATA WRAPPER dlake_fdw OPTIONS (verify_tls '');
-- endpoints
CREATE SERVER regress_opt_bad FOREIGN DATA WRAPPER dlake_fdw OPTIONS (endpoint 'ftp://127.0.0.1:9000');
CREATE SERVER regress_opt_bad FOREIGN DATA WRAPPER dlake_fdw OPTIONS (endpoint '127.0.0.1:9000');
CREATE SERVER regress_opt_bad FOREIGN DATA WRAPPER dlake_fdw OPTIONS (endpoint 'http://127.0.0.1:9000/some/path');
CREATE SERVER regress_opt_bad FOREIGN DATA WRAPPER dlake_fdw OPTIONS (kinesis_endpoint 'http://');
CREATE SERVER regress_opt_bad FOREIGN DATA WRAPPER dlake_fdw OPTIONS (region '');
-- a good server
CREATE SERVER regress_opt FOREIGN DATA WRAPPER dlake_fdw
  OPTIONS (region 'eu-west-1', endpoint 'http://127.0.0.1:9000/', path_style 'true',
           kinesis_endpoint 'https://kinesis.eu-west-1.amazonaws.com', sts_endpoint 'http://127.0.0.1:9001',
           ca_file '/etc/ssl/certs/ca-certificates.crt', verify_tls 'on');
ALTER SERVER regress_opt OPTIONS (SET path_style 'false');
ALTER SERVER regress_opt OPTIONS (SET path_style 'sometimes');
ALTER SERVER regress_opt OPTIONS (ADD secret_access_key 'x');
SELECT srvname, srvoptions FROM pg_foreign_server WHERE srvname = 'regress_opt';
-- user mappings
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_opt OPTIONS (acess_key_id 'AKID');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_opt OPTIONS (region 'us-east-1');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_opt OPTIONS (access_key_id 'AKID');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_opt OPTIONS (session_token 'tok');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_opt
  OPTIONS (access_key_id 'AKID', secret_access_key 'SECRET', session_token 'TOKEN',
           role_arn 'arn:aws:iam::123456789012:role/demo', external_id 'ext-1');
CREATE USER MAPPING FOR PUBLIC SERVER regress_opt OPTIONS (profile 'lake');
-- foreign table and column options are accepted for the lake FDW
CREATE FOREIGN TABLE regress_opt_ft (a int OPTIONS (column_name 'A'))
  SERVER regress_opt OPTIONS (location 's3://bucket/t/', formt 'csv');
CREATE FOREIGN TABLE regress_opt_ft (a int OPTIONS (colum_name 'A'))
  SERVER regress_opt OPTIONS (location 's3://bucket/t/', format 'csv');
CREATE FOREIGN TABLE regress_opt_ft (a int OPTIONS (column_name 'A'))
  SERVER regress_opt OPTIONS (location 's3://bucket/t/', format 'csv', header 'yes please');
CREATE FOREIGN TABLE regress_opt_ft (a int OPTIONS (column_name 'A'))
  SERVER regress_opt OPTIONS (location 's3://bucket/t/', format 'csv', header 'true',
                              delimiter ';', null '', compression 'gzip');
CREATE FOREIGN TABLE regress_opt_ft2 (a int) SERVER regress_opt OPTIONS (endpoint 'http://x');
DROP FOREIGN TABLE regress_opt_ft;
DROP USER MAPPING FOR CURRENT_USER SERVER regress_opt;
DROP USER MAPPING FOR PUBLIC SERVER regress_opt;
DROP SERVER regress_opt;
