-- title: 8. Lake zones: raw, cleansed, curated
-- requires: dlake.create_zone
--
-- A zone is a named base location; every later section writes relative to
-- one.  :lake is s3://<bucket> (or file://... with DLAKE_DEMO_STORAGE=file).

\pset footer off

SELECT dlake.create_zone('raw',      :'lake' || '/raw',      CASE WHEN :'storage' = 's3' THEN :'server' END);
SELECT dlake.create_zone('cleansed', :'lake' || '/cleansed', CASE WHEN :'storage' = 's3' THEN :'server' END);
SELECT dlake.create_zone('curated',  :'lake' || '/curated',  CASE WHEN :'storage' = 's3' THEN :'server' END);

SELECT name, location, server FROM dlake.zones ORDER BY created, name;
