-- dlake_fdw: option validation at CREATE time, and scans of small file://
-- tables (partition pruning, row-group skipping, pseudo-columns, markers).
-- Paths under DLAKE_FILE_ROOT are kept out of the output.
\getenv root DLAKE_FILE_ROOT
\set base 'file://' :root '/regress_fdw'
\set tloc :base '/t/'
\set eloc :base '/e/'
SET client_min_messages = warning;
CREATE SERVER regress_fdw_files FOREIGN DATA WRAPPER dlake_fdw;
RESET client_min_messages;

-- option validation
CREATE FOREIGN TABLE ft_bad (id int) SERVER regress_fdw_files
  OPTIONS (location 'file:///tmp/x/', formt 'csv');
CREATE FOREIGN TABLE ft_bad (id int) SERVER regress_fdw_files
  OPTIONS (location 'file:///tmp/x/', format 'xml');
CREATE FOREIGN TABLE ft_bad (id int) SERVER regress_fdw_files
  OPTIONS (location 'file:///tmp/x/', missing_columns 'zero');
CREATE FOREIGN TABLE ft_bad (id int) SERVER regress_fdw_files
  OPTIONS (location 'ftp://host/x/');
CREATE FOREIGN TABLE ft_bad (id int) SERVER regress_fdw_files
  OPTIONS (location 'file:///tmp/x/', header 'maybe');
CREATE FOREIGN TABLE ft_bad (id int) SERVER regress_fdw_files
  OPTIONS (location 'file:///tmp/x/', partition_by '');
CREATE FOREIGN TABLE ft_bad (id int) SERVER regress_fdw_files
  OPTIONS (location 'file:///tmp/x/', format 'csv', compression 'snappy');
CREATE FOREIGN TABLE ft_bad (id int OPTIONS (colname 'x')) SERVER regress_fdw_files
  OPTIONS (location 'file:///tmp/x/');
CREATE FOREIGN TABLE ft_bad (id int) SERVER regress_fdw_files
  OPTIONS (location 'file:///tmp/x/', access_key_id 'AKIA');
CREATE FOREIGN TABLE ft_nopart (id int) SERVER regress_fdw_files
  OPTIONS (location 'file:///tmp/x/', partition_by 'day');
SELECT * FROM ft_nopart;
DROP FOREIGN TABLE ft_nopart;
CREATE FOREIGN TABLE ft_noloc (id int) SERVER regress_fdw_files;
SELECT * FROM ft_noloc;
DROP FOREIGN TABLE ft_noloc;

-- data: 4 days x 50 rows, Parquet with 5 row groups per file, a marker
SELECT dlake.write_file(format('SELECT g AS id, g * 10 AS v, (ARRAY[''a'',''b''])[g %% 2 + 1] AS k
                                FROM generate_series(%s, %s) g ORDER BY g', d * 50 + 1, d * 50 + 50),
                        format('%s/t/day=2024-01-%s/part-0.parquet', :'base', to_char(d + 1, 'FM00')),
                        NULL, '{"row_group_rows": 10}')
FROM generate_series(0, 3) d;
SELECT dlake.write_file('SELECT 1 AS x', :'base' || '/t/_SUCCESS', 'csv');
SELECT dlake.write_file('SELECT g AS id, g * 10 AS v, ''c'' AS k FROM generate_series(201, 210) g',
                        :'base' || '/t/day=__HIVE_DEFAULT_PARTITION__/part-0.parquet');

CREATE FOREIGN TABLE ft (id int, v bigint, k text, day date, _path text, _size bigint)
  SERVER regress_fdw_files
  OPTIONS (location :'tloc', format 'parquet', partition_by 'day');

-- EXPLAIN ANALYZE without paths and timings
CREATE FUNCTION fdw_explain(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
    IF line !~ 'Location:|Bytes' THEN
      RETURN NEXT line;
    END IF;
  END LOOP;
END $$;

-- run a query, return its error (paths under the root replaced) or 'ok'
CREATE FUNCTION fdw_try(q text, root text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  msg text; ctx text;
BEGIN
  EXECUTE q;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, ctx = PG_EXCEPTION_CONTEXT;
  RETURN replace(SQLSTATE || ': ' || msg || ' / ' || split_part(ctx, E'\n', 1), root, '<root>');
END $$;

SELECT count(*), sum(v), count(DISTINCT day), count(*) FILTER (WHERE day IS NULL) FROM ft;
SELECT day, count(*), min(id), max(id) FROM ft GROUP BY day ORDER BY day;
SELECT * FROM fdw_explain($$SELECT * FROM ft WHERE day = '2024-01-02'$$);
SELECT * FROM fdw_explain($$SELECT count(*) FROM ft WHERE day BETWEEN '2024-01-02' AND '2024-01-03'$$);
SELECT * FROM fdw_explain($$SELECT count(*) FROM ft WHERE day IN ('2024-01-01', '2024-01-04')$$);
SELECT * FROM fdw_explain($$SELECT count(*) FROM ft WHERE day IS NULL$$);
SELECT * FROM fdw_explain($$SELECT count(*) FROM ft WHERE day > '2024-01-01'::date + 1$$);
SELECT * FROM fdw_explain($$SELECT id FROM ft WHERE id = 77$$);
SELECT * FROM fdw_explain($$SELECT id FROM ft WHERE day < current_date AND id > 195$$);
SELECT id, v, k, day, regexp_replace(_path, '.*/regress_fdw/', '') AS path, _size > 0 AS sized
  FROM ft WHERE id IN (1, 77, 205) ORDER BY id;

-- dlake.export records its files in dlake.files: planning uses the
-- catalog (no listing) and prunes files by their column min/max too
CREATE TABLE fdw_src AS
  SELECT g AS id, g * 2 AS v, date '2024-02-01' + (g - 1) / 25 AS day FROM generate_series(1, 100) g;
SELECT count(*) FROM dlake.export('SELECT * FROM fdw_src', :'base' || '/e/', 'parquet', ARRAY['day']);
CREATE FOREIGN TABLE fte (id int, v int, day date) SERVER regress_fdw_files
  OPTIONS (location :'eloc', partition_by 'day');
SELECT * FROM fdw_explain($$SELECT * FROM fte WHERE id = 30$$);
SELECT * FROM fdw_explain($$SELECT count(*) FROM fte WHERE day >= '2024-02-03'$$);
SELECT count(*), sum(v), min(day), max(day) FROM fte;
ALTER FOREIGN TABLE fte OPTIONS (ADD catalog 'false');
SELECT * FROM fdw_explain($$SELECT * FROM fte WHERE id = 30$$);
DROP TABLE fdw_src;

-- column_name maps a column to another name in the files
CREATE FOREIGN TABLE ft_map (ident int OPTIONS (column_name 'id'), k text, day date)
  SERVER regress_fdw_files
  OPTIONS (location :'tloc', partition_by 'day');
SELECT ident, k, day FROM ft_map WHERE day = '2024-01-03' ORDER BY ident LIMIT 2;

-- missing columns: NULL by default, an error naming the object on request
CREATE FOREIGN TABLE ft_miss (id int, extra text, day date) SERVER regress_fdw_files
  OPTIONS (location :'tloc', partition_by 'day');
SELECT count(*), count(extra) FROM ft_miss;
ALTER FOREIGN TABLE ft_miss OPTIONS (ADD missing_columns 'error');
SELECT fdw_try('SELECT count(extra) FROM ft_miss', :'root');

-- a non-data file that is not a marker is an error naming it
SELECT dlake.write_file('SELECT 1 AS x', :'base' || '/t/day=2024-01-09/notes.parquet.txt', 'csv');
SELECT fdw_try('SELECT count(*) FROM ft', :'root');
SELECT count(*) FROM ft WHERE day <> '2024-01-09';

-- CSV without a header: columns by position; a glob location
SELECT dlake.write_file('SELECT g AS a, ''v'' || g AS b FROM generate_series(1, 3) g',
                        :'base' || '/nh/x=1/a.csv', 'csv', '{"header": false}');
SELECT dlake.write_file('SELECT g AS a, ''w'' || g AS b FROM generate_series(4, 5) g',
                        :'base' || '/nh/x=2/b.csv.gz', 'csv', '{"header": false}');
\set nhloc :base '/nh/'
SELECT set_config('fdw.nh', :'nhloc', false) IS NOT NULL AS set;
\set globloc :base '/nh/*/*.csv'
CREATE FOREIGN TABLE ft_nh (a int, b text, x int) SERVER regress_fdw_files
  OPTIONS (location :'nhloc', format 'csv', header 'false', partition_by 'x');
SELECT * FROM ft_nh ORDER BY a;
CREATE FOREIGN TABLE ft_glob (a int, b text) SERVER regress_fdw_files
  OPTIONS (location :'globloc', header 'false');
SELECT * FROM ft_glob ORDER BY a;

-- parallel plans: a parallel-aware scan shares the files among processes;
-- a plain scan inside a worker (inner side of a join) reads them all
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT count(*), sum(v) FROM ft WHERE day < '2024-01-09' OR day IS NULL;
CREATE TABLE fdw_local AS SELECT g % 10 AS a FROM generate_series(1, 20000) g;
ANALYZE fdw_local;
SET enable_nestloop = off;
SET enable_mergejoin = off;
SET enable_parallel_hash = off;
SELECT count(*) FROM fdw_local l JOIN ft_nh n ON n.a = l.a;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET enable_nestloop;
RESET enable_mergejoin;
RESET enable_parallel_hash;
DROP TABLE fdw_local;

-- a function that writes a file and reads again sees it
DO $$
DECLARE n int;
BEGIN
  SELECT count(*) INTO n FROM ft_nh; RAISE NOTICE 'before: % rows', n;
  PERFORM dlake.write_file('SELECT 6 AS a, ''z'' AS b', current_setting('fdw.nh') || 'x=3/c.csv', 'csv', '{"header": false}');
  SELECT count(*) INTO n FROM ft_nh; RAISE NOTICE 'after: % rows', n;
END $$;

-- dlake.fdw_listing_ttl: a listing is reused across statements, so a file
-- written behind the table's back shows up after dlake.fdw_invalidate
SET dlake.fdw_listing_ttl = '1min';
SELECT count(*) FROM ft_nh;
SELECT dlake.write_file('SELECT 8 AS a, ''t'' AS b', current_setting('fdw.nh') || 'x=4/e.csv', 'csv', '{"header": false}');
SELECT count(*) FROM ft_nh;
SELECT dlake.fdw_invalidate('ft_nh');
SELECT count(*) FROM ft_nh;
RESET dlake.fdw_listing_ttl;

-- a partition folder whose value is not of the column's type
SELECT dlake.write_file('SELECT 7 AS a, ''q'' AS b', :'base' || '/nh/x=seven/d.csv', 'csv', '{"header": false}');
SELECT fdw_try('SELECT count(*) FROM ft_nh WHERE x = 1', :'root');

-- INSERT appends files (one per statement per partition); rollback
-- deletes them again; UPDATE and DELETE are refused
\set insloc :base '/ins/'
CREATE FOREIGN TABLE ft_ins (id int, name text, day date, _path text) SERVER regress_fdw_files
  OPTIONS (location :'insloc', partition_by 'day');
INSERT INTO ft_ins (id, name, day) SELECT g, 'n' || g, date '2024-01-01' + g % 3 FROM generate_series(1, 10) g;
INSERT INTO ft_ins VALUES (11, 'no day', NULL) RETURNING id, name, day;
SELECT day, count(*), count(DISTINCT _path) AS files FROM ft_ins GROUP BY day ORDER BY day;
BEGIN;
INSERT INTO ft_ins VALUES (12, 'rolled back', '2024-01-01');
SELECT count(*) FROM ft_ins;
ROLLBACK;
BEGIN;
SAVEPOINT s;
INSERT INTO ft_ins VALUES (13, 'rolled back', '2024-01-01');
ROLLBACK TO s;
INSERT INTO ft_ins VALUES (14, 'kept', '2024-01-02');
COMMIT;
SELECT id, name FROM ft_ins WHERE id > 10 ORDER BY id;
UPDATE ft_ins SET name = 'x';
DELETE FROM ft_ins;
-- into a catalogued location: recorded in dlake.files
ALTER FOREIGN TABLE fte OPTIONS (SET catalog 'true');
INSERT INTO fte VALUES (1000, 2000, '2024-02-09');
SELECT * FROM fdw_explain($$SELECT * FROM fte WHERE id = 1000$$);
SELECT partition, rows, column_stats FROM dlake.files WHERE path LIKE '%/day=2024-02-09/%';

-- the byte limit (1 MB is more than this partition)
SET dlake.max_bytes_scanned = 1;
SELECT count(*) FROM ft WHERE day = '2024-01-01';
RESET dlake.max_bytes_scanned;

DROP FUNCTION fdw_explain(text);
DROP FUNCTION fdw_try(text, text);
DROP SERVER regress_fdw_files CASCADE;
SELECT dlake.delete(:'base' || '/') IS NOT NULL AS deleted;
DELETE FROM dlake.files WHERE path LIKE :'base' || '/%';
DELETE FROM dlake.export_runs WHERE location LIKE :'base' || '/%';
