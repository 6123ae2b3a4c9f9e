-- title: 11. ETL to the lake: cleansed Parquet partitioned by date, curated aggregates (each run recorded as a job)
-- requires: dlake.export dlake.export_table dlake.export_stream dlake.run_job
--
-- Each export runs through dlake.run_job, exactly as pg_cron will run it in
-- the next section: one run of a job at a time, every run in dlake.job_runs.
-- export_table is incremental: a second run writes only rows added since.

\pset footer off
SELECT to_regclass('dlake_cleansed.iot') IS NOT NULL AS have_iot,
       to_regclass('public.sales') IS NOT NULL AS have_sales \gset

\if :have_iot
-- the stream to the lake, exactly once: every record as Kinesis delivered it (JSON lines,
-- gzip) to raw/iot/, the cleansed rows as typed Parquet, one folder per day
-- (Hive style date=YYYY-MM-DD), to cleansed/iot/
SELECT job, status, rows, files, bytes FROM dlake.run_job('iot_to_lake', $cmd$
  SELECT * FROM dlake.export_stream('iot')
$cmd$);
SELECT zone, partition, files, rows, bytes FROM dlake.lake_summary
 WHERE location LIKE '%/iot' ORDER BY zone, partition::text;

-- curated: hourly averages per site (rewritten per day)
SELECT job, status, rows, files, bytes FROM dlake.run_job('iot_hourly_curated', $cmd$
  SELECT * FROM dlake.export($q$
      SELECT date, site, date_trunc('hour', "timestamp") AS hour, count(*) AS readings,
             round(avg(value)::numeric, 2)::float8 AS avg_value, min(value) AS min_value, max(value) AS max_value
        FROM dlake_cleansed.iot GROUP BY 1, 2, 3$q$,
    zone => 'curated', location => 'iot_hourly/', partition_by => '{date}', mode => 'overwrite')
$cmd$);

-- run again: nothing new arrived, nothing is written twice
SELECT job, status, rows, files FROM dlake.run_job('iot_to_lake', $cmd$
  SELECT * FROM dlake.export_stream('iot')
$cmd$);
\else
\echo '    (no IoT data: the stream section was skipped)'
\endif

\if :have_sales
SELECT job, status, rows, files, bytes FROM dlake.run_job('sales_cleansed_export', $cmd$
  SELECT * FROM dlake.export_table('public.sales', zone => 'cleansed', location => 'sales/',
                                   partition_by => '{sale_date}')
$cmd$);

-- curated: daily sales per region
SELECT job, status, rows, files, bytes FROM dlake.run_job('sales_daily_curated', $cmd$
  SELECT * FROM dlake.export($q$
      SELECT sale_date, region, count(*) AS sales, sum(quantity) AS units, sum(amount)::numeric(14,2) AS revenue
        FROM public.sales GROUP BY 1, 2$q$,
    zone => 'curated', location => 'sales_daily/', partition_by => '{sale_date}', mode => 'overwrite')
$cmd$);
\else
\echo '    (no sales data: the batch section was skipped)'
\endif

SELECT zone, count(*) AS partitions, sum(files) AS files, sum(rows) AS rows, pg_size_pretty(sum(bytes)) AS size
  FROM dlake.lake_summary GROUP BY zone ORDER BY zone;
