-- title: 8. Lake zones: raw, cleansed, curated
-- requires: dlake.create_zone
--
-- A zone is a named base location; every later section writes relative to
-- one.  :lake is s3://<bucket> (or file://... with DLAKE_DEMO_STORAGE=file).

\pset footer off

-- a re-run of the demo starts over: no scheduled job of an earlier run may interfere
SELECT dlake.unschedule(job) AS unscheduled_earlier_job FROM dlake.jobs WHERE to_regproc('dlake.unschedule') IS NOT NULL;
-- ... and an empty lake (objects, and the catalog rows that describe them)
SELECT sum(dlake.delete(:'lake' || '/' || z || '/', CASE WHEN :'storage' = 's3' THEN :'server' END)) AS objects_deleted
  FROM unnest(ARRAY['raw', 'cleansed', 'curated']) z;
DELETE FROM dlake.files WHERE location LIKE :'lake' || '/%';
DELETE FROM dlake.export_state WHERE location LIKE :'lake' || '/%';
DELETE FROM dlake.loaded_files WHERE location LIKE :'lake' || '/%';

SELECT dlake.create_zone('raw',      :'lake' || '/raw',      CASE WHEN :'storage' = 's3' THEN :'server' END);
SELECT dlake.create_zone('cleansed', :'lake' || '/cleansed', CASE WHEN :'storage' = 's3' THEN :'server' END);
SELECT dlake.create_zone('curated',  :'lake' || '/curated',  CASE WHEN :'storage' = 's3' THEN :'server' END);

SELECT name, location, server FROM dlake.zones ORDER BY created, name;
