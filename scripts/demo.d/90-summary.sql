-- title: 14. Is it healthy? The observability views
-- requires: dlake.run_job
--
-- What a dashboard (or a BI tool pointed at PostgreSQL) would chart.

\pset footer off
SELECT to_regclass('dlake.stream_status') IS NOT NULL AS have_streams,
       to_regclass('dlake.files') IS NOT NULL AS have_files \gset

\if :have_streams
-- streams: per shard position, lag, throughput, errors
SELECT stream, count(*) AS shards, sum(records) AS records, max(millis_behind_latest) AS max_lag_ms,
       sum(dead_letters) AS dead_letters, max(last_batch_at) AS last_batch
  FROM dlake.stream_status GROUP BY stream ORDER BY stream;
\endif

-- rule sets: what was quarantined and why
SELECT ruleset, source, rule, field, reason, records, last_24h FROM dlake.quarantine_summary
 ORDER BY records DESC, ruleset, rule, field;

\if :have_files
-- the lake: per zone and dataset
SELECT zone, regexp_replace(location, '^.*/(cleansed|curated|raw)/', '') AS dataset,
       count(*) AS partitions, sum(files) AS files, sum(rows) AS rows, pg_size_pretty(sum(bytes)) AS size,
       max(last_write) AS last_write
  FROM dlake.lake_summary GROUP BY 1, 2 ORDER BY 1, 2;
\endif

-- jobs: every run, by pg_cron or by hand
SELECT job, count(*) AS runs, count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
       count(*) FILTER (WHERE status = 'failed') AS failed, count(*) FILTER (WHERE status = 'skipped') AS skipped,
       sum(rows) AS rows, sum(files) AS files, max(finished) AS last_finished
  FROM dlake.job_runs GROUP BY job ORDER BY job;
