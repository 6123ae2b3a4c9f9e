--
-- dlake.export / export_table / load / create_zone: argument checks,
-- Hive escaping of hostile partition values, zones, privileges, and a
-- small export → load round trip on file:// (no network).
--
SET dlake.progress_interval = 0;
\set root 'file:///tmp/dlake_regress_export'
SELECT dlake.delete(:'root' || '/') >= 0 AS cleaned;

-- Hive escaping
SELECT v, dlake._hive_escape(v) AS segment, dlake._hive_unescape(dlake._hive_escape(v)) IS NOT DISTINCT FROM v AS round_trip
FROM unnest(ARRAY['a/b', '..', '.', 'x=y', '%', '%2F', 'héllo ✓', NULL, '', 'a:b#c?d*', '../../etc',
                  E'q''"\\', E'tab\there', '2024-01-01', 'a b']) v;

-- argument errors
SELECT * FROM dlake.export(NULL, :'root' || '/x');
SELECT * FROM dlake.export('SELECT 1 AS a', NULL);
SELECT * FROM dlake.export('SELECT 1 AS a', :'root' || '/x', 'xml');
SELECT * FROM dlake.export('SELECT 1 AS a', :'root' || '/x', 'csv', mode => 'replace');
SELECT * FROM dlake.export('SELECT 1 AS a', :'root' || '/x', 'csv', ARRAY['b']);
SELECT * FROM dlake.export('SELECT 1 AS a, 2 AS b', :'root' || '/x', 'csv', ARRAY['a', 'a']);
SELECT * FROM dlake.export('SELECT 1 AS a', :'root' || '/x', 'csv', ARRAY['a']);
SELECT * FROM dlake.export('SELECT 1 AS a', :'root' || '/x', 'csv', ARRAY[NULL]::text[]);
SELECT * FROM dlake.export('SELECT 1 AS a', :'root' || '/x', 'csv', max_file_size => 10);
SELECT * FROM dlake.export('SELECT 1 AS a', :'root' || '/x', 'csv', max_open_files => 0);
SELECT * FROM dlake.export('SELECT 1 AS a', :'root' || '/x', 'csv', options => '{"colour": "red"}');
SELECT * FROM dlake.export('SELECT 1 AS a', :'root' || '/x', 'csv', compression => 'snappy');
SELECT * FROM dlake.export('SELEC 1', :'root' || '/x', 'csv');
SELECT * FROM dlake.export('SELECT 1 AS a', 'ftp://host/x', 'csv');
CREATE TABLE export_args_t (id int, d date, v text);
CREATE VIEW export_args_v AS SELECT * FROM export_args_t;
SELECT * FROM dlake.export_table('export_args_v', :'root' || '/v');
SELECT * FROM dlake.export_table('export_args_t', :'root' || '/t', mode => 'overwrite');
SELECT * FROM dlake.load('export_args_v', :'root' || '/t/');
SELECT * FROM dlake.load('export_args_t', :'root' || '/t/', max_errors => -1);
SELECT * FROM dlake.load('export_args_t', :'root' || '/t/', options => '{"match": "sideways"}');

-- zones
SELECT dlake.create_zone('cleansed', :'root' || '/cleansed/');
SELECT dlake.create_zone('cleansed', :'root' || '/cleansed2');
SELECT dlake.create_zone('bad', 's3://Bad_Bucket/x');
SELECT name, location, server FROM dlake.zones ORDER BY name;
SELECT * FROM dlake.export('SELECT 1 AS a', 'file:///abs', zone => 'cleansed');
SELECT * FROM dlake.export('SELECT 1 AS a', 'x/../y', zone => 'cleansed');
SELECT * FROM dlake.export('SELECT 1 AS a', 'x', zone => 'nope');

-- a partitioned export with hostile values, read back by dlake.load
INSERT INTO export_args_t
SELECT i, date '2024-01-01' + (i % 3), (ARRAY['a/b', '..', 'x=y', '%', NULL, 'é'])[1 + i % 6]
FROM generate_series(1, 60) i;
SELECT partition, rows FROM dlake.export('SELECT id, d, v FROM export_args_t', 'sales', 'csv',
                                         ARRAY['v', 'd'], zone => 'cleansed')
ORDER BY partition;
SELECT count(*) AS files, sum(rows) AS rows, count(DISTINCT partition->>'v') AS values_seen,
       bool_and(path LIKE 'file:///tmp/dlake_regress_export/cleansed2/sales/v=%/d=%/part-%.csv') AS contained
FROM dlake.files WHERE location = 'file:///tmp/dlake_regress_export/cleansed2/sales';
CREATE TABLE export_args_back (id int, d date, v text);
SELECT count(*) AS files, sum(rows) AS rows, sum(rejected) AS rejected
FROM dlake.load('export_args_back', 'sales/', zone => 'cleansed');
SELECT count(*), sum(id) FROM export_args_back;
-- loaded files are skipped the second time
SELECT count(*) FROM dlake.load('export_args_back', 'sales/', zone => 'cleansed');
SELECT status, rows, files FROM dlake.export_runs ORDER BY id DESC LIMIT 1;

-- incremental: only new rows
SELECT sum(rows) FROM dlake.export_table('export_args_t', :'root' || '/inc', 'jsonl');
INSERT INTO export_args_t VALUES (1000, '2024-02-01', 'new');
SELECT sum(rows) FROM dlake.export_table('export_args_t', :'root' || '/inc', 'jsonl');
SELECT sum(rows) FROM dlake.export_table('export_args_t', :'root' || '/inc', 'jsonl');
SELECT batch, rows FROM dlake.export_state WHERE source = 'export_args_t'::regclass;

-- load: timestamp formats (epoch seconds, epoch millis, a to_timestamp pattern)
SET timezone = 'UTC';
SELECT dlake.write_text(:'root' || '/ts/e.csv', E'id,ts,d\n1,1700000000,1700000000\n2,1700000000.5,0\n3,notanumber,0\n') > 0 AS written;
SELECT dlake.write_text(:'root' || '/ts/ms.csv', E'id,ts\n4,1700000000123\n') > 0 AS written;
SELECT dlake.write_text(:'root' || '/ts/pat.csv', E'id,ts\n5,27/11/2026 10:11\n6,31/02/2026 10:11\n') > 0 AS written;
CREATE TABLE export_args_ts (id int, ts timestamptz, d date);
SELECT rows, rejected FROM dlake.load('export_args_ts', :'root' || '/ts/e.csv',
                                      options => '{"timestamp_format": "epoch"}', max_errors => 1);
SELECT rows, rejected FROM dlake.load('export_args_ts', :'root' || '/ts/ms.csv',
                                      options => '{"timestamp_format": "epoch_ms"}');
SELECT rows, rejected FROM dlake.load('export_args_ts', :'root' || '/ts/pat.csv',
                                      options => '{"timestamp_format": "DD/MM/YYYY HH24:MI"}', max_errors => 1);
SELECT * FROM export_args_ts ORDER BY id;
SELECT line, column_name, error FROM dlake.load_errors ORDER BY id DESC LIMIT 2;
DROP TABLE export_args_ts;

-- load: invalid UTF-8 and a malformed JSON line are bad rows too
SELECT dlake.write_bytes(:'root' || '/bad/u.csv', convert_to(E'id,v\n1,ok\n2,bad', 'UTF8') || '\xfffe'::bytea
                         || convert_to(E'\n3,fine\n', 'UTF8')) > 0 AS written;
SELECT dlake.write_text(:'root' || '/bad/j.jsonl', E'{"id":4,"v":"a"}\n{"id":5,"v":\n{"id":6,"v":"c"}\n') > 0 AS written;
CREATE TABLE export_args_bad (id int, v text);
SELECT rows, rejected FROM dlake.load('export_args_bad', :'root' || '/bad/', max_errors => 2) ORDER BY path;
SELECT id, v FROM export_args_bad ORDER BY id;
SELECT line, column_name, error, raw_line FROM dlake.load_errors ORDER BY id DESC LIMIT 2;
DROP TABLE export_args_bad;

-- on_error => record: the failure becomes a "failed" run, files of the attempt are gone
SELECT count(*) FROM dlake.export(
  'SELECT i, 1 / (i - 950) AS x, i / 100 AS k FROM generate_series(1, 1000) i',
  :'root' || '/fail', 'csv', ARRAY['k'], max_open_files => 1, options => '{"on_error": "record"}');
SELECT kind, status, error, files FROM dlake.export_runs ORDER BY id DESC LIMIT 1;
SELECT count(*) AS objects_left FROM dlake.list(:'root' || '/fail/');
SELECT count(*) FROM dlake.export('SELECT 1 AS a', :'root' || '/x', 'csv', options => '{"on_error": "maybe"}');

-- privileges: nothing for PUBLIC
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_can_execute
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'dlake' AND p.proname IN ('export', 'export_table', 'load', 'create_zone')
ORDER BY 1;
SELECT c.relname, has_table_privilege('public', c.oid, 'SELECT') AS public_can_read
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'dlake' AND c.relname IN ('zones', 'export_runs', 'files', 'export_state', 'load_runs',
                                           'loaded_files', 'load_errors')
ORDER BY 1;

DROP VIEW export_args_v;
DROP TABLE export_args_t, export_args_back;
SELECT dlake.delete(:'root' || '/') > 0 AS cleaned;
