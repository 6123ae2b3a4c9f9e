
-- ---------------------------------------------------------------------------
-- 20_storage: SQL functions over lake storage (s3:// and file:// locations).
--
-- Every function here reads or writes data outside the database, so all of
-- them are revoked from PUBLIC.  Grant them per role, for example:
--   GRANT EXECUTE ON FUNCTION dlake.list(text, name, boolean),
--                             dlake.read_text(text, name) TO analyst;
-- S3 access additionally needs USAGE on the dlake_fdw server and a user
-- mapping with keys (or membership in dlake_admin to use the server's own
-- identity); file:// needs pg_read_server_files / pg_write_server_files.
-- See docs/storage.md and docs/configuration.md.
-- ---------------------------------------------------------------------------

CREATE FUNCTION dlake.list(location text, server name DEFAULT NULL,
                           recursive boolean DEFAULT true)
RETURNS TABLE (path text, size bigint, last_modified timestamptz, etag text)
AS 'MODULE_PATHNAME', 'dlake_storage_list'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.list(text, name, boolean) IS
  'objects under a location prefix (recursive => false: one level, sub-prefixes end in /)';

CREATE FUNCTION dlake.stat(location text, server name DEFAULT NULL,
                           OUT path text, OUT size bigint,
                           OUT last_modified timestamptz, OUT etag text)
RETURNS record
AS 'MODULE_PATHNAME', 'dlake_storage_stat'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.stat(text, name) IS
  'size, modification time and ETag of one object; NULL when it does not exist';

CREATE FUNCTION dlake.read_text(location text, server name DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'dlake_storage_read_text'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.read_text(text, name) IS
  'whole object as text (must be valid in the database encoding)';

CREATE FUNCTION dlake.read_bytes(location text, server name DEFAULT NULL,
                                 "offset" bigint DEFAULT 0, length bigint DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'dlake_storage_read_bytes'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.read_bytes(text, name, bigint, bigint) IS
  'a byte range of an object (length NULL: to the end)';

CREATE FUNCTION dlake.write_text(location text, content text, server name DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'dlake_storage_write_text'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.write_text(text, text, name) IS
  'create or replace an object with the given text; returns bytes written';

CREATE FUNCTION dlake.write_bytes(location text, content bytea, server name DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'dlake_storage_write_bytes'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.write_bytes(text, bytea, name) IS
  'create or replace an object with the given bytes; returns bytes written';

CREATE FUNCTION dlake.delete(location text, server name DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'dlake_storage_delete'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.delete(text, name) IS
  'delete an object, or everything under a location ending in /; returns the count';

CREATE FUNCTION dlake.presign(location text, expires_in interval DEFAULT '1 hour',
                              server name DEFAULT NULL, method text DEFAULT 'GET')
RETURNS text
AS 'MODULE_PATHNAME', 'dlake_storage_presign'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.presign(text, interval, name, text) IS
  'time-limited URL for one S3 object (GET, HEAD or PUT)';

CREATE FUNCTION dlake.create_bucket(bucket text, server name DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'dlake_storage_create_bucket'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.create_bucket(text, name) IS
  'create an S3 bucket (demos and tests)';

CREATE FUNCTION dlake.copy_object(source text, destination text, server name DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'dlake_storage_copy_object'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.copy_object(text, text, name) IS
  'copy one object (server-side within a bucket, else streamed)';

CREATE FUNCTION dlake.write_generated(location text, bytes bigint, server name DEFAULT NULL,
                                      seed integer DEFAULT 1)
RETURNS bigint
AS 'MODULE_PATHNAME', 'dlake_storage_write_generated'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.write_generated(text, bigint, name, integer) IS
  'test helper: stream a deterministic pseudo-random object of the given size';

REVOKE ALL ON FUNCTION
  dlake.list(text, name, boolean),
  dlake.stat(text, name),
  dlake.read_text(text, name),
  dlake.read_bytes(text, name, bigint, bigint),
  dlake.write_text(text, text, name),
  dlake.write_bytes(text, bytea, name),
  dlake.delete(text, name),
  dlake.presign(text, interval, name, text),
  dlake.create_bucket(text, name),
  dlake.copy_object(text, text, name),
  dlake.write_generated(text, bigint, name, integer)
FROM PUBLIC;

-- dlake_admin may use every storage function (and the server identity)
GRANT EXECUTE ON FUNCTION
  dlake.list(text, name, boolean),
  dlake.stat(text, name),
  dlake.read_text(text, name),
  dlake.read_bytes(text, name, bigint, bigint),
  dlake.write_text(text, text, name),
  dlake.write_bytes(text, bytea, name),
  dlake.delete(text, name),
  dlake.presign(text, interval, name, text),
  dlake.create_bucket(text, name),
  dlake.copy_object(text, text, name)
TO dlake_admin;
