
/* ---- formats: read and write one file (src/format/format_sql.c) ---- */

CREATE FUNCTION dlake.write_file(query text, location text, format text DEFAULT NULL,
                                 options jsonb DEFAULT '{}', server name DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'dlake_write_file'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.write_file(text, text, text, jsonb, name) IS
  'run a query and write its rows to one Parquet, CSV or JSON-lines file; returns the row count';

CREATE FUNCTION dlake.read_file(location text, format text DEFAULT NULL,
                                options jsonb DEFAULT '{}', server name DEFAULT NULL)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'dlake_read_file'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.read_file(text, text, jsonb, name) IS
  'rows of one Parquet, CSV or JSON-lines file, as a column definition list asks';

CREATE FUNCTION dlake.file_schema(location text, format text DEFAULT NULL,
                                  options jsonb DEFAULT '{}', server name DEFAULT NULL)
RETURNS TABLE(ordinal integer, column_name text, data_type text, file_type text,
              nullable boolean)
AS 'MODULE_PATHNAME', 'dlake_file_schema'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.file_schema(text, text, jsonb, name) IS
  'columns of a file with the PostgreSQL types dlake infers for them';

CREATE FUNCTION dlake.parquet_metadata(location text, server name DEFAULT NULL)
RETURNS TABLE(row_group integer, column_name text, physical_type text, logical_type text,
              encodings text, codec text, num_values bigint, null_count bigint,
              min text, max text, compressed_bytes bigint, uncompressed_bytes bigint)
AS 'MODULE_PATHNAME', 'dlake_parquet_metadata'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dlake.parquet_metadata(text, name) IS
  'row groups and column chunks of a Parquet file, from its footer';

REVOKE ALL ON FUNCTION
  dlake.write_file(text, text, text, jsonb, name),
  dlake.read_file(text, text, jsonb, name),
  dlake.file_schema(text, text, jsonb, name),
  dlake.parquet_metadata(text, name)
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
  dlake.write_file(text, text, text, jsonb, name),
  dlake.read_file(text, text, jsonb, name),
  dlake.file_schema(text, text, jsonb, name),
  dlake.parquet_metadata(text, name)
TO dlake_admin;
