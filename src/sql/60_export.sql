-- ---------------------------------------------------------------------------
-- 60_export: batch ETL to and from the lake (src/export/).
--   dlake.export        any query -> Hive-partitioned Parquet/CSV/JSONL files
--   dlake.export_table  rows of a table not exported before (incremental)
--   dlake.load          files -> table (the Redshift COPY counterpart)
--   dlake.create_zone   named base locations (raw, cleansed, curated)
-- Catalog: dlake.zones, dlake.export_runs, dlake.files, dlake.export_state,
--          dlake.load_runs, dlake.loaded_files, dlake.load_errors.
-- Every function touches storage: revoked from PUBLIC, granted to
-- dlake_admin.  See docs/export.md and docs/load.md.
-- ---------------------------------------------------------------------------

CREATE TABLE dlake.zones (
    name        text PRIMARY KEY,
    location    text NOT NULL,
    server      name,
    created     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE dlake.zones IS 'named lake zones: base location and foreign server';

CREATE TABLE dlake.export_runs (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('export', 'export_table')),
    source        text NOT NULL,
    location      text NOT NULL,
    format        text NOT NULL,
    partition_by  text[],
    mode          text NOT NULL DEFAULT 'append',
    started       timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished      timestamptz,
    rows          bigint NOT NULL DEFAULT 0,
    bytes         bigint NOT NULL DEFAULT 0,
    files         integer NOT NULL DEFAULT 0,
    status        text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
    error         text
);
COMMENT ON TABLE dlake.export_runs IS 'one row per committed dlake.export / dlake.export_table call';

CREATE TABLE dlake.files (
    id            bigserial PRIMARY KEY,
    run_id        bigint REFERENCES dlake.export_runs (id) ON DELETE SET NULL,
    location      text NOT NULL,
    path          text NOT NULL UNIQUE,
    partition     jsonb NOT NULL DEFAULT '{}',
    rows          bigint NOT NULL,
    bytes         bigint NOT NULL,
    column_stats  jsonb NOT NULL DEFAULT '{}',
    format        text NOT NULL,
    created       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX files_location_idx ON dlake.files (location);
COMMENT ON TABLE dlake.files IS 'lake files written by dlake: partition values, rows, bytes, column min/max';

CREATE TABLE dlake.export_state (
    source          oid NOT NULL,
    location        text NOT NULL,
    source_name     text NOT NULL,
    snapshot        pg_snapshot NOT NULL,
    batch           bigint NOT NULL,
    last_run        bigint,
    rows            bigint NOT NULL DEFAULT 0,
    watermark_value text,
    updated         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, location)
);
COMMENT ON TABLE dlake.export_state IS 'incremental export state per (table, location): the snapshot of the last successful run';

CREATE TABLE dlake.load_runs (
    id          bigserial PRIMARY KEY,
    target      text NOT NULL,
    location    text NOT NULL,
    started     timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished    timestamptz,
    files       integer NOT NULL DEFAULT 0,
    skipped     integer NOT NULL DEFAULT 0,
    rows        bigint NOT NULL DEFAULT 0,
    rejected    bigint NOT NULL DEFAULT 0,
    status      text NOT NULL CHECK (status IN ('running', 'succeeded'))
);
COMMENT ON TABLE dlake.load_runs IS 'one row per committed dlake.load call';

CREATE TABLE dlake.loaded_files (
    id          bigserial PRIMARY KEY,
    run_id      bigint REFERENCES dlake.load_runs (id) ON DELETE SET NULL,
    target      oid NOT NULL,
    location    text NOT NULL,
    etag        text,
    size        bigint NOT NULL,
    rows        bigint NOT NULL,
    rejected    bigint NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX loaded_files_lookup_idx ON dlake.loaded_files (target, location);
COMMENT ON TABLE dlake.loaded_files IS 'load history: objects already loaded into a table (skipped unless force)';

CREATE TABLE dlake.load_errors (
    id          bigserial PRIMARY KEY,
    run_id      bigint REFERENCES dlake.load_runs (id) ON DELETE CASCADE,
    object      text NOT NULL,
    line        bigint,
    column_name text,
    error       text NOT NULL,
    sqlstate    text,
    raw_line    text,
    logged_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE dlake.load_errors IS 'rows rejected by dlake.load (up to max_errors per call)';

CREATE FUNCTION dlake._xid8(xid) RETURNS xid8
AS 'MODULE_PATHNAME', 'dlake_xid_to_xid8'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dlake._xid8(xid) IS
  'internal: full transaction id of a tuple xmin (incremental export)';

CREATE FUNCTION dlake._hive_escape(value text) RETURNS text
AS 'MODULE_PATHNAME', 'dlake_hive_escape_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION dlake._hive_escape(text) IS
  'Hive path segment of a partition value (NULL -> __HIVE_DEFAULT_PARTITION__)';

CREATE FUNCTION dlake._hive_unescape(segment text) RETURNS text
AS 'MODULE_PATHNAME', 'dlake_hive_unescape_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dlake._hive_unescape(text) IS
  'partition value of a Hive path segment (inverse of dlake._hive_escape)';

CREATE FUNCTION dlake.create_zone(name text, location text, server name DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'dlake_create_zone'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.create_zone(text, text, name) IS
  'create or replace a zone (a named base location, e.g. raw, cleansed, curated)';

CREATE FUNCTION dlake.export(query text, location text DEFAULT NULL,
                             format text DEFAULT 'parquet',
                             partition_by text[] DEFAULT NULL,
                             compression text DEFAULT NULL,
                             max_file_size bigint DEFAULT NULL,
                             mode text DEFAULT 'append',
                             server name DEFAULT NULL,
                             options jsonb DEFAULT '{}',
                             max_open_files integer DEFAULT NULL,
                             manifest boolean DEFAULT false,
                             zone text DEFAULT NULL)
RETURNS TABLE (path text, partition text, rows bigint, bytes bigint)
AS 'MODULE_PATHNAME', 'dlake_export'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.export(text, text, text, text[], text, bigint, text, name, jsonb,
                                 integer, boolean, text) IS
  'run a query and write its rows as Hive-partitioned Parquet, CSV or JSON-lines files';

CREATE FUNCTION dlake.export_table(source regclass, location text DEFAULT NULL,
                                   format text DEFAULT 'parquet',
                                   partition_by text[] DEFAULT NULL,
                                   compression text DEFAULT NULL,
                                   max_file_size bigint DEFAULT NULL,
                                   mode text DEFAULT 'append',
                                   server name DEFAULT NULL,
                                   options jsonb DEFAULT '{}',
                                   max_open_files integer DEFAULT NULL,
                                   manifest boolean DEFAULT false,
                                   zone text DEFAULT NULL,
                                   watermark text DEFAULT NULL)
RETURNS TABLE (path text, partition text, rows bigint, bytes bigint)
AS 'MODULE_PATHNAME', 'dlake_export_table'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.export_table(regclass, text, text, text[], text, bigint, text, name,
                                       jsonb, integer, boolean, text, text) IS
  'export the rows of a table that no earlier successful run to the same location exported';

CREATE FUNCTION dlake.load(target regclass, location text DEFAULT NULL,
                           format text DEFAULT NULL,
                           options jsonb DEFAULT '{}',
                           server name DEFAULT NULL,
                           max_errors integer DEFAULT 0,
                           force boolean DEFAULT false,
                           pattern text DEFAULT NULL,
                           zone text DEFAULT NULL)
RETURNS TABLE (path text, rows bigint, rejected bigint)
AS 'MODULE_PATHNAME', 'dlake_load'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.load(regclass, text, text, jsonb, name, integer, boolean, text, text) IS
  'load the files under a location (or listed by a manifest) into a table, skipping files already loaded';

REVOKE ALL ON FUNCTION
  dlake.create_zone(text, text, name),
  dlake.export(text, text, text, text[], text, bigint, text, name, jsonb, integer, boolean, text),
  dlake.export_table(regclass, text, text, text[], text, bigint, text, name, jsonb, integer,
                     boolean, text, text),
  dlake.load(regclass, text, text, jsonb, name, integer, boolean, text, text)
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
  dlake.create_zone(text, text, name),
  dlake.export(text, text, text, text[], text, bigint, text, name, jsonb, integer, boolean, text),
  dlake.export_table(regclass, text, text, text[], text, bigint, text, name, jsonb, integer,
                     boolean, text, text),
  dlake.load(regclass, text, text, jsonb, name, integer, boolean, text, text)
TO dlake_admin;

REVOKE ALL ON dlake.zones, dlake.export_runs, dlake.files, dlake.export_state,
              dlake.load_runs, dlake.loaded_files, dlake.load_errors FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON dlake.zones, dlake.export_runs, dlake.files,
      dlake.export_state, dlake.load_runs, dlake.loaded_files, dlake.load_errors TO dlake_admin;
GRANT USAGE ON SEQUENCE dlake.export_runs_id_seq, dlake.files_id_seq, dlake.load_runs_id_seq,
      dlake.loaded_files_id_seq, dlake.load_errors_id_seq TO dlake_admin;

-- the catalog is user data: pg_dump keeps it
SELECT pg_catalog.pg_extension_config_dump('dlake.zones', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.export_runs', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.files', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.export_state', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.load_runs', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.loaded_files', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.load_errors', '');
-- and the sequences behind their ids, so restored runs keep unique ids
SELECT pg_catalog.pg_extension_config_dump('dlake.export_runs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.files_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.load_runs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.loaded_files_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.load_errors_id_seq', '');
