-- dlake--0.1.0.sql: built from the src/sql fragments by the Makefile

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION dlake" to load this file. \quit

/*
 * dlake_admin: members may use the server process's own AWS identity
 * (environment, ~/.aws files of the postgres OS user, instance profile),
 * create streams and file flows.  Roles are cluster-wide, so the role
 * survives DROP EXTENSION and is created only if missing.
 */
DO $do$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'dlake_admin') THEN
		CREATE ROLE dlake_admin NOLOGIN;
	END IF;
END
$do$;

GRANT USAGE ON SCHEMA dlake TO PUBLIC;

COMMENT ON SCHEMA dlake IS 'dlake: data lake functions, catalog tables and views';
