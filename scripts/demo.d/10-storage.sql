-- title: 6. Objects from SQL: write, list and read back through S3
-- requires: dlake.write_text dlake.list dlake.read_text
-- storage: s3
--
-- Variables (set by scripts/demo.sh): :bucket, :server, :s3 (s3://bucket),
-- :file_root (a directory the server may write for file:// locations).

\pset footer off

SELECT dlake.write_text(:'s3' || '/hello/greeting.txt', 'Hello from PostgreSQL!', :'server') AS bytes_written;
SELECT dlake.write_text(:'s3' || '/hello/numbers.csv',
       (SELECT string_agg(i || ',' || i * i, E'\n') FROM generate_series(1, 5) i), :'server') AS bytes_written;
SELECT dlake.write_text(:'s3' || '/events/date=2026-01-01/part-0.jsonl',
       '{"id": 1, "kind": "click"}' || E'\n' || '{"id": 2, "kind": "view"}', :'server') AS bytes_written;

SELECT path, size, etag FROM dlake.list(:'s3' || '/', :'server') ORDER BY path;

SELECT dlake.read_text(:'s3' || '/hello/greeting.txt', :'server') AS greeting;
