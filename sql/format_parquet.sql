--
-- Parquet through dlake.write_file / read_file / file_schema / parquet_metadata
-- (file:// only; interop with other writers is in test/integration)
--
\set d 'file:///tmp/dlake_regress_parquet'
SELECT dlake.delete(:'d' || '/') >= 0 AS clean;

CREATE TEMP TABLE src AS
SELECT g AS id,
  CASE g % 3 WHEN 0 THEN NULL ELSE g % 2 = 0 END AS b,
  (g % 1000 - 500)::int2 AS i2,
  CASE WHEN g = 1 THEN -2147483648 WHEN g = 2 THEN 2147483647 ELSE g * 7 END::int4 AS i4,
  CASE WHEN g = 1 THEN -9223372036854775808 WHEN g = 2 THEN 9223372036854775807 ELSE g::int8 * 1000003 END::int8 AS i8,
  (ARRAY['NaN', 'Infinity', '-Infinity', '-0', '1.5'])[g % 5 + 1]::float4 AS f4,
  (ARRAY['NaN', 'Infinity', '-Infinity', '-0', '0.1', '5e-324'])[g % 6 + 1]::float8 AS f8,
  (g * 1.25 - 1000)::numeric(9,2) AS n9,
  (g * 123456789.123)::numeric(18,3) AS n18,
  CASE WHEN g = 3 THEN 99999999999999999999999999999999999999 ELSE g END::numeric(38,0) AS n38,
  CASE WHEN g % 7 = 0 THEN NULL ELSE g / 7.0 END::numeric(30,9) AS n30,
  CASE WHEN g % 11 = 0 THEN NULL WHEN g % 11 = 1 THEN '' ELSE 'ünï ✓ ' || (g % 100) END AS t,
  ('v' || g % 10)::varchar(10) AS vc,
  decode(lpad(to_hex(g), 8, '0'), 'hex') AS by,
  date '1970-01-01' + (g * 97 % 200000 - 100000) AS d,
  timestamp '2000-01-01' + g * interval '1 hour 1.000001 second' AS ts,
  timestamptz '1960-01-01 00:00:00+00' + g * interval '17 days 0.000003 seconds' AS tstz,
  time '00:00:00' + g * interval '17.000001 seconds' AS tm,
  md5(g::text)::uuid AS u,
  jsonb_build_object('g', g, 'a', jsonb_build_array(g, NULL, 'x')) AS jb,
  CASE WHEN g % 4 = 0 THEN NULL ELSE ('{"k": ' || g || '}')::json END AS js,
  CASE g % 5 WHEN 0 THEN NULL WHEN 1 THEN ARRAY[]::int[] ELSE ARRAY[g, NULL, -g] END AS ai,
  CASE g % 3 WHEN 0 THEN NULL ELSE ARRAY['a' || g, NULL] END AS at,
  NULL::int8 AS nul
FROM generate_series(1, 5000) g;

-- every codec; small row groups and pages; dictionary on and off
SELECT dlake.write_file('SELECT * FROM src ORDER BY id', :'d' || '/snappy.parquet', NULL, '{"row_group_rows": 1200, "page_bytes": 4096}');
SELECT dlake.write_file('SELECT * FROM src ORDER BY id', :'d' || '/zstd.parquet', 'parquet', '{"compression": "zstd", "compression_level": 9, "dictionary": false}');
SELECT dlake.write_file('SELECT * FROM src ORDER BY id', :'d' || '/gzip.parquet', 'parquet', '{"compression": "gzip", "row_group_bytes": "64kB"}');
SELECT dlake.write_file('SELECT * FROM src ORDER BY id', :'d' || '/none.pq', 'parquet', '{"compression": "none"}');

SELECT * FROM dlake.file_schema(:'d' || '/snappy.parquet');

CREATE TEMP VIEW cols AS SELECT 'id int, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n9 numeric(9,2), n18 numeric(18,3), n38 numeric(38,0), n30 numeric(30,9), t text, vc varchar(10), by bytea, d date, ts timestamp, tstz timestamptz, tm time, u uuid, jb jsonb, js json, ai int[], at text[], nul int8' AS c;
SELECT f, (SELECT count(*) FROM (
    SELECT id, b, i2, i4, i8, f4, f8, n9, n18, n38, n30, t, vc, by, d, ts, tstz, tm, u, jb, js::text, ai, at, nul FROM src
    EXCEPT ALL
    SELECT id, b, i2, i4, i8, f4, f8, n9, n18, n38, n30, t, vc, by, d, ts, tstz, tm, u, jb, js::text, ai, at, nul
    FROM dlake.read_file(:'d' || '/' || f) AS t(id int, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n9 numeric(9,2), n18 numeric(18,3), n38 numeric(38,0), n30 numeric(30,9), t text, vc varchar(10), by bytea, d date, ts timestamp, tstz timestamptz, tm time, u uuid, jb jsonb, js json, ai int[], at text[], nul int8)
  ) x) AS differences
FROM unnest(ARRAY['snappy.parquet', 'zstd.parquet', 'gzip.parquet', 'none.pq']) f;
-- projections without LIST columns take the column-batch path (dictionary
-- entries converted once per chunk): same values, rows and NULLs
SELECT f, (SELECT count(*) FROM (
    SELECT id, b, i2, i4, i8, f4, f8, n9, n18, n38, n30, t, vc, by, d, ts, tstz, tm, u, jb, js::text, nul FROM src
    EXCEPT ALL
    SELECT id, b, i2, i4, i8, f4, f8, n9, n18, n38, n30, t, vc, by, d, ts, tstz, tm, u, jb, js::text, nul
    FROM dlake.read_file(:'d' || '/' || f) AS t(id int, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n9 numeric(9,2), n18 numeric(18,3), n38 numeric(38,0), n30 numeric(30,9), t text, vc varchar(10), by bytea, d date, ts timestamp, tstz timestamptz, tm time, u uuid, jb jsonb, js json, nul int8)
  ) x) AS differences,
  (SELECT count(*) FROM dlake.read_file(:'d' || '/' || f) AS t(t text, ts timestamptz)) AS two_cols,
  (SELECT sum(i2) || '/' || count(nope) || '/' || count(DISTINCT vc) FROM dlake.read_file(:'d' || '/' || f, NULL, '{"missing_columns": "null"}') AS t(nope int, i2 int8, vc text)) AS coerced,
  (SELECT count(*) FROM dlake.read_file(:'d' || '/' || f, NULL, '{"on_error": "skip"}') AS t(id int, n38 int8)) AS n38_fits
FROM unnest(ARRAY['snappy.parquet', 'zstd.parquet', 'gzip.parquet', 'none.pq']) f;
SELECT sum(i2), count(DISTINCT vc), min(t), max(t), count(t)
FROM dlake.read_file(:'d' || '/snappy.parquet') AS t(i2 int8, vc text, t text);
-- DECIMAL on INT32/INT64 becomes the same Numeric numeric_in makes (byte for byte)
SELECT count(*) AS decimals, count(*) FILTER (WHERE numeric_send(s.n9) <> numeric_send(r.n9) OR numeric_send(s.n18) <> numeric_send(r.n18)) AS different,
  count(*) FILTER (WHERE r.n9 = 0) AS zeros, count(*) FILTER (WHERE r.n9 < 0) AS negatives
FROM src s JOIN dlake.read_file(:'d' || '/zstd.parquet') AS r(id int, n9 numeric(9,2), n18 numeric(18,3)) ON r.id = s.id;
-- -0 and NaN survive
SELECT f4::text, f8::text FROM dlake.read_file(:'d' || '/snappy.parquet') AS t(id int, f4 float4, f8 float8) WHERE id IN (3, 4, 6) ORDER BY id;

-- footer: row groups, codecs, statistics
SELECT row_group, column_name, physical_type, logical_type, codec, num_values, null_count, min, max
FROM dlake.parquet_metadata(:'d' || '/snappy.parquet')
WHERE row_group = 0 OR column_name = 'id' ORDER BY row_group, column_name;
SELECT count(DISTINCT row_group) AS row_groups, min(codec), bool_and(encodings LIKE '%PLAIN%') AS plain
FROM dlake.parquet_metadata(:'d' || '/zstd.parquet');
SELECT count(DISTINCT row_group) > 1 AS several_row_groups FROM dlake.parquet_metadata(:'d' || '/gzip.parquet');

-- projection by name in any order, missing columns, type conversions
SELECT * FROM dlake.read_file(:'d' || '/snappy.parquet', NULL, '{"missing_columns": "null"}')
  AS t(t text, id int8, nope text, i2 int8, f4 float8, d timestamptz, n9 text, u text, jb text, ai text) WHERE id <= 3 ORDER BY id;
SELECT * FROM dlake.read_file(:'d' || '/snappy.parquet') AS t(id int, nope int);
SELECT * FROM dlake.read_file(:'d' || '/snappy.parquet') AS t(id int, i8 int4) WHERE id < 5;
SELECT count(*) FROM dlake.read_file(:'d' || '/snappy.parquet', NULL, '{"on_error": "skip"}') AS t(id int, n38 int8);
SELECT count(*) FROM dlake.read_file(:'d' || '/snappy.parquet', NULL, '{"match": "position"}') AS t(a int, b bool, c int2);

-- write-side errors
SELECT dlake.write_file($$SELECT 1e40::numeric AS n$$, :'d' || '/e1.parquet');
SELECT dlake.write_file($$SELECT 'NaN'::numeric AS n$$, :'d' || '/e2.parquet');
SELECT dlake.write_file($$SELECT '-infinity'::date AS d$$, :'d' || '/e3.parquet');
SELECT dlake.write_file($$SELECT 1.5::numeric(50,2) AS n$$, :'d' || '/e4.parquet');
SELECT dlake.write_file($$SELECT ARRAY[[1,2],[3,4]] AS a$$, :'d' || '/e5.parquet');
SELECT dlake.write_file($$SELECT 1 AS a$$, :'d' || '/e6.parquet', NULL, '{"compression": "lz4_raw"}');
SELECT count(*) AS failed_writes_left FROM dlake.list(:'d' || '/') WHERE path ~ '/e[0-9]\.parquet$';
-- an empty result is a valid file with no rows
SELECT dlake.write_file('SELECT * FROM src WHERE false', :'d' || '/empty.parquet');
SELECT count(*) FROM dlake.read_file(:'d' || '/empty.parquet') AS t(id int, t text);
-- other types are written as their text
SELECT dlake.write_file($$SELECT interval '1 day 2 hours' AS iv, inet '10.0.0.1/8' AS ip, point(1,2) AS pt$$, :'d' || '/other.parquet');
SELECT * FROM dlake.file_schema(:'d' || '/other.parquet');
SELECT * FROM dlake.read_file(:'d' || '/other.parquet') AS t(iv interval, ip inet, pt text);

-- hostile files: error naming the object, backend survives
SELECT dlake.write_bytes(:'d' || '/bad1.parquet', '\x504152310000000050415231'::bytea);
SELECT * FROM dlake.read_file(:'d' || '/bad1.parquet') AS t(a int);
SELECT dlake.write_bytes(:'d' || '/bad2.parquet', 'PAR1'::bytea || '\xffffff7f'::bytea || 'PAR1'::bytea);
SELECT * FROM dlake.read_file(:'d' || '/bad2.parquet') AS t(a int);
SELECT dlake.write_bytes(:'d' || '/bad3.parquet', substr(dlake.read_bytes(:'d' || '/none.pq'), 1, 30000) || substr(dlake.read_bytes(:'d' || '/none.pq'), 30001 + 100));
SELECT count(*) FROM dlake.read_file(:'d' || '/bad3.parquet') AS t(id int, t text);
SELECT dlake.write_bytes(:'d' || '/bad4.parquet', 'not parquet at all'::bytea);
SELECT * FROM dlake.read_file(:'d' || '/bad4.parquet', 'parquet') AS t(a int);
SELECT 1 AS still_alive;

SELECT dlake.delete(:'d' || '/') >= 10 AS cleaned;
