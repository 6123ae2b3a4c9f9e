
-- ---------------------------------------------------------------------------
-- 10_fdw: the dlake_fdw foreign-data wrapper.  Its servers and user mappings
-- carry the AWS configuration (endpoints, region, TLS) and identities (keys,
-- role, profile) used by every dlake function; see docs/configuration.md.
-- ---------------------------------------------------------------------------

CREATE FUNCTION dlake.fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME', 'dlake_fdw_handler'
LANGUAGE C STRICT;

CREATE FUNCTION dlake.fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME', 'dlake_fdw_validator'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER dlake_fdw
  HANDLER dlake.fdw_handler
  VALIDATOR dlake.fdw_validator;

COMMENT ON FOREIGN DATA WRAPPER dlake_fdw IS
  'dlake: AWS endpoints and identities (servers, user mappings) and lake foreign tables';
