-- title: 12. Scheduling with pg_cron: the same jobs, every minute / hour / night
-- requires: dlake.schedule dlake.run_job
--
-- dlake.schedule(job, cron schedule, command) = cron.schedule of
-- "SELECT dlake.run_job(job, command)".  The commands are those the
-- previous section ran (taken from dlake.job_runs).

\pset footer off
CREATE EXTENSION IF NOT EXISTS pg_cron;

SELECT dlake.schedule(s.job, s.schedule, r.command) AS cron_jobid, s.job, s.schedule
  FROM (VALUES ('iot_to_lake',           '* * * * *'),
               ('iot_hourly_curated',    '5 * * * *'),
               ('sales_cleansed_export', '30 2 * * *'),
               ('sales_daily_curated',   '45 2 * * *')) s(job, schedule)
  JOIN LATERAL (SELECT command FROM dlake.job_runs j WHERE j.job = s.job AND j.status = 'succeeded'
                 ORDER BY id DESC LIMIT 1) r ON true
 ORDER BY s.job;

-- a rule set can also be applied on a schedule to any table (here: nothing new)
SELECT dlake.schedule('iot_quarantine_retry', '*/10 * * * *',
  $cmd$SELECT * FROM dlake.reprocess_quarantine('dlake_staging.iot', 'iot')$cmd$) AS cron_jobid
 WHERE to_regclass('dlake_quarantine.iot') IS NOT NULL;

SELECT job, schedule, active, last_status, runs FROM dlake.jobs ORDER BY job;

-- wait for pg_cron's first run (minute granularity: at most a minute)
\echo '    waiting for pg_cron to run the every-minute jobs (up to 70 s) ...'
SELECT now() AS scheduled_at, set_config('dlake_demo.t0', now()::text, false) AS t0 \gset
DO $$
BEGIN
  FOR i IN 1..140 LOOP
    EXIT WHEN (SELECT count(DISTINCT job) FROM dlake.job_runs
                WHERE started > current_setting('dlake_demo.t0')::timestamptz)
              >= (SELECT count(*) FROM dlake.jobs WHERE schedule = '* * * * *');
    PERFORM pg_sleep(0.5);
  END LOOP;
END $$;
SELECT job, status, started, finished - started AS took, rows, files
  FROM dlake.job_runs WHERE started > :'scheduled_at' ORDER BY id;

SELECT job, schedule, last_status, last_started, runs, failed, skipped FROM dlake.jobs ORDER BY job;
