--
-- CSV and JSON lines through dlake.write_file / read_file / file_schema
-- (file:// only; no network services)
--
\set d 'file:///tmp/dlake_regress_format'
SELECT dlake.delete(:'d' || '/') >= 0 AS clean;

CREATE TEMP TABLE src AS
SELECT * FROM (VALUES
  (1, 'plain', 1.5::numeric(12,2), true, '2024-01-01 10:00:00.123456+00'::timestamptz, '1969-07-20'::date, '{"a": [1, 2]}'::jsonb, ARRAY[1,2,NULL]::int[], '\x00ff'::bytea, 1e300::float8),
  (2, 'comma, "quote"', -0.01, false, '1900-01-01 00:00:00+00', '2200-12-31', '[]', ARRAY[]::int[], '\x'::bytea, 'NaN'),
  (3, E'multi\nline\r\nvalue', 12345678.99, NULL, NULL, NULL, 'null', NULL, NULL, '-Infinity'),
  (4, '', 0, true, '2000-02-29 23:59:59.999999+00', '2000-02-29', '"str"', ARRAY[7], '\x41', '-0'),
  (5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (6, '  padded  ', 1, false, 'infinity', 'infinity', '{"k": "ünï©ødé ✓ 𝄞"}', ARRAY[-2147483648, 2147483647], '\xdeadbeef', 'Infinity'),
  (7, 'ünï©ødé ✓ 𝄞', 2, true, '2024-06-30 12:00:00+00', '0001-01-01', '{}', ARRAY[0], '\x', 5e-324)
) AS v(id, t, n, b, ts, d, j, arr, by, f);

-- CSV round trip (default options: header, comma, "" = NULL, quoted "" = empty string)
SELECT dlake.write_file('SELECT * FROM src ORDER BY id', :'d' || '/t.csv');
SELECT * FROM dlake.file_schema(:'d' || '/t.csv');
SELECT count(*) AS differences FROM (
  (SELECT * FROM src EXCEPT ALL
   SELECT * FROM dlake.read_file(:'d' || '/t.csv') AS t(id int, t text, n numeric(12,2), b bool, ts timestamptz, d date, j jsonb, arr int[], by bytea, f float8))
  UNION ALL
  (SELECT * FROM dlake.read_file(:'d' || '/t.csv') AS t(id int, t text, n numeric(12,2), b bool, ts timestamptz, d date, j jsonb, arr int[], by bytea, f float8)
   EXCEPT ALL SELECT * FROM src)) x;
-- NULL vs empty string survive
SELECT id, t IS NULL AS is_null, t = '' AS is_empty
FROM dlake.read_file(:'d' || '/t.csv') AS t(id int, t text) WHERE id IN (4, 5) ORDER BY id;
-- negative zero stays negative
SELECT f::text FROM dlake.read_file(:'d' || '/t.csv') AS t(id int, f float8) WHERE id = 4;
-- a projection skips (scans without copying) the quoted, multi-line fields
SELECT count(*) AS differences FROM (
  SELECT id, j, f, by FROM src EXCEPT ALL
  SELECT id, j, f, by FROM dlake.read_file(:'d' || '/t.csv') AS t(f float8, by bytea, j jsonb, id int)) x;
SELECT count(*), sum(length(j::text)) AS j_chars FROM dlake.read_file(:'d' || '/t.csv') AS t(j jsonb);

-- other dialects: no header, semicolon, custom NULL, force_quote; positional match
SELECT dlake.write_file('SELECT id, t, n FROM src ORDER BY id', :'d' || '/t2.csv', 'csv',
       '{"header": false, "delimiter": ";", "null": "\\N", "force_quote": true}');
SELECT substr(dlake.read_text(:'d' || '/t2.csv'), 1, 40) AS head;
SELECT * FROM dlake.read_file(:'d' || '/t2.csv', 'csv',
       '{"header": false, "delimiter": ";", "null": "\\N", "match": "position"}')
       AS t(id int, t text, n numeric) ORDER BY id;
SELECT * FROM dlake.file_schema(:'d' || '/t2.csv', NULL, '{"header": false, "delimiter": ";", "null": "\\N"}');
-- tab-separated
SELECT dlake.write_file('SELECT id, t FROM src WHERE id < 3 ORDER BY id', :'d' || '/t3.tsv', 'csv', '{"delimiter": "tab"}');
SELECT * FROM dlake.read_file(:'d' || '/t3.tsv', 'csv', '{"delimiter": "tab"}') AS t(id int, t text);

-- gzip and zstd, by extension; the magic bytes win over a misleading name
SELECT dlake.write_file('SELECT * FROM src', :'d' || '/t.csv.gz');
SELECT dlake.write_file('SELECT * FROM src', :'d' || '/t.csv.zst', NULL, '{"compression_level": 19}');
SELECT substr(dlake.read_bytes(:'d' || '/t.csv.gz'), 1, 2) AS gzip_magic,
       substr(dlake.read_bytes(:'d' || '/t.csv.zst'), 1, 4) AS zstd_magic;
SELECT dlake.copy_object(:'d' || '/t.csv.gz', :'d' || '/disguised.csv');
SELECT (SELECT count(*) FROM dlake.read_file(:'d' || '/t.csv.gz') AS t(id int)) AS gz,
       (SELECT count(*) FROM dlake.read_file(:'d' || '/t.csv.zst') AS t(id int)) AS zst,
       (SELECT count(*) FROM dlake.read_file(:'d' || '/disguised.csv') AS t(id int)) AS disguised;
SELECT count(*) AS differences FROM (
  SELECT * FROM src EXCEPT ALL
  SELECT * FROM dlake.read_file(:'d' || '/t.csv.zst') AS t(id int, t text, n numeric(12,2), b bool, ts timestamptz, d date, j jsonb, arr int[], by bytea, f float8)) x;

-- a larger file: several read-ahead ranges and gzip members of output
SELECT dlake.write_file('SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 50000) g', :'d' || '/big.csv.gz');
SELECT count(*), sum(id), count(DISTINCT h)
FROM dlake.read_file(:'d' || '/big.csv.gz', NULL, '{"read_ahead_bytes": 4096}') AS t(id int, h text);

-- JSON lines round trip (with gzip)
SELECT dlake.write_file('SELECT * FROM src ORDER BY id', :'d' || '/t.jsonl.gz');
SELECT * FROM dlake.file_schema(:'d' || '/t.jsonl.gz');
-- (bytea is base64 text in JSON; a jsonb JSON null reads back as SQL NULL)
SELECT count(*) AS differences FROM (
  (SELECT id, t, n, b, ts, d, nullif(j, 'null'), arr, encode(by, 'base64'), f FROM src EXCEPT ALL
   SELECT * FROM dlake.read_file(:'d' || '/t.jsonl.gz') AS t(id int, t text, n numeric(12,2), b bool, ts timestamptz, d date, j jsonb, arr int[], by text, f float8))
  UNION ALL
  (SELECT * FROM dlake.read_file(:'d' || '/t.jsonl.gz') AS t(id int, t text, n numeric(12,2), b bool, ts timestamptz, d date, j jsonb, arr int[], by text, f float8)
   EXCEPT ALL SELECT id, t, n, b, ts, d, nullif(j, 'null'), arr, encode(by, 'base64'), f FROM src)) x;
-- bytea is base64 in JSON; NaN/Infinity are strings
SELECT dlake.write_file('SELECT id, by, f FROM src WHERE id IN (1, 2, 6) ORDER BY id', :'d' || '/b.jsonl');
SELECT dlake.read_text(:'d' || '/b.jsonl');
SELECT id, by AS b64, f FROM dlake.read_file(:'d' || '/b.jsonl') AS t(id int, by text, f float8) ORDER BY id;

-- JSON lines written by someone else: key order, missing keys, extra keys, case, nesting
SELECT dlake.write_text(:'d' || '/other.ndjson', E'{"ID": 1, "Name": "a", "tags": ["x", "y"], "extra": {"deep": [1, {"z": null}]}}\n\n{"name": "b", "id": 2, "more": 1.5e3}\r\n{"id": 3}\n');
SELECT * FROM dlake.file_schema(:'d' || '/other.ndjson');
SELECT * FROM dlake.read_file(:'d' || '/other.ndjson', NULL, '{"extra_keys_column": "rest"}')
  AS t(id int, name text, tags text[], rest jsonb) ORDER BY id;
SELECT * FROM dlake.read_file(:'d' || '/other.ndjson', NULL, '{"case_sensitive": true}')
  AS t(id int, name text, extra text) ORDER BY id;

-- errors: option validation
SELECT dlake.write_file('SELECT 1', :'d' || '/x.csv', NULL, '{"delimter": ";"}');
SELECT dlake.write_file('SELECT 1', :'d' || '/x.csv', NULL, '{"delimiter": ";;"}');
SELECT dlake.write_file('SELECT 1', :'d' || '/x.csv', NULL, '{"compression": "snappy"}');
SELECT dlake.write_file('SELECT 1', :'d' || '/x.unknown');
SELECT * FROM dlake.read_file(:'d' || '/t.csv') AS t(nope int);
SELECT * FROM dlake.read_file(:'d' || '/t.csv');

-- errors: hostile and malformed input name the object and the line
SELECT dlake.write_bytes(:'d' || '/bad_quote.csv', convert_to(E'a,b\n1,"x\n2,y\n', 'UTF8'));
SELECT * FROM dlake.read_file(:'d' || '/bad_quote.csv') AS t(a int, b text);
SELECT dlake.write_bytes(:'d' || '/bad_count.csv', convert_to(E'a,b\n1,x\n2\n3,z,extra\n4,w\n', 'UTF8'));
SELECT * FROM dlake.read_file(:'d' || '/bad_count.csv') AS t(a int, b text);
SELECT * FROM dlake.read_file(:'d' || '/bad_count.csv', NULL, '{"on_error": "skip"}') AS t(a int, b text);
SELECT dlake.write_bytes(:'d' || '/bad_type.csv', convert_to(E'a,b\n1,x\nnot a number,y\n3,z\n99999999999,w\n', 'UTF8'));
SELECT * FROM dlake.read_file(:'d' || '/bad_type.csv') AS t(a int, b text);
SELECT * FROM dlake.read_file(:'d' || '/bad_type.csv', NULL, '{"on_error": "skip"}') AS t(a int, b text);
SELECT * FROM dlake.read_file(:'d' || '/bad_type.csv', NULL, '{"on_error": "skip", "max_errors": 1}') AS t(a int, b text);
SELECT dlake.write_bytes(:'d' || '/bad_utf8.csv', '\x612c620a312c78ff0a'::bytea);
SELECT * FROM dlake.read_file(:'d' || '/bad_utf8.csv') AS t(a int, b text);
SELECT dlake.write_bytes(:'d' || '/bad.jsonl', convert_to(E'{"a": 1}\n{"a": 2,}\n[1]\n{"a": "\\u0000"}\n{"a": 5} x\n{"a": 6}\n', 'UTF8'));
SELECT * FROM dlake.read_file(:'d' || '/bad.jsonl') AS t(a int);
SELECT * FROM dlake.read_file(:'d' || '/bad.jsonl', NULL, '{"on_error": "skip"}') AS t(a int);
SELECT dlake.write_bytes(:'d' || '/deep.jsonl', convert_to('{"a": ' || repeat('[', 10000) || repeat(']', 10000) || '}', 'UTF8'));
SELECT * FROM dlake.read_file(:'d' || '/deep.jsonl') AS t(a jsonb);
-- truncated and corrupt compressed streams
SELECT dlake.write_bytes(:'d' || '/trunc.csv.gz', substr(dlake.read_bytes(:'d' || '/big.csv.gz'), 1, 5000));
SELECT count(*) FROM dlake.read_file(:'d' || '/trunc.csv.gz') AS t(id int, h text);
SELECT dlake.write_bytes(:'d' || '/corrupt.csv.zst', '\x28b52ffd0000ffffffffffff'::bytea);
SELECT count(*) FROM dlake.read_file(:'d' || '/corrupt.csv.zst') AS t(id int);
SELECT dlake.write_bytes(:'d' || '/garbage.csv.gz', '\x1f8b08000000000000ffdeadbeefdeadbeefdeadbeef'::bytea);
SELECT count(*) FROM dlake.read_file(:'d' || '/garbage.csv.gz') AS t(id int);
-- a gzip bomb (100 MB of zeros in ~100 kB) streams in bounded memory
SELECT dlake.write_file($$SELECT repeat('0', 1000000) FROM generate_series(1, 100)$$, :'d' || '/bomb.csv.gz', NULL, '{"header": false}');
SELECT count(*), sum(length(z)) FROM dlake.read_file(:'d' || '/bomb.csv.gz', NULL, '{"header": false, "match": "position"}') AS t(z text);

SELECT dlake.delete(:'d' || '/');
