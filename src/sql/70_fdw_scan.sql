-- ---------------------------------------------------------------------------
-- 70_fdw_scan: helpers of the lake foreign tables (src/fdw/).
--   dlake.fdw_invalidate  forget cached file listings (dlake.fdw_listing_ttl)
-- See docs/fdw.md.
-- ---------------------------------------------------------------------------

CREATE FUNCTION dlake.fdw_invalidate(foreign_table regclass DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'dlake_fdw_invalidate'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.fdw_invalidate(regclass) IS
  'forget the cached file listing of a lake foreign table (NULL: of all), in every session at commit';
