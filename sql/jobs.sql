-- dlake.run_job, dlake.job_runs, dlake.schedule without pg_cron, the
-- observability views (offline: no pg_cron in this database, no services)
\pset footer off
SET client_min_messages = notice;

CREATE TABLE jobs_t (i int);

-- a succeeded run: rows = the command's row count
SELECT status, rows, bytes, files, error FROM dlake.run_job('jobs_ins', 'INSERT INTO jobs_t SELECT generate_series(1, 5)');
SELECT count(*) FROM jobs_t;

-- a failed run: the error is raised again...
SELECT dlake.run_job('jobs_fail', 'SELECT 1/0');
-- ...and the run is recorded although the transaction rolled back
SELECT job, status, error, sqlstate, finished >= started AS timed, username = current_user AS mine
  FROM dlake.job_runs WHERE job = 'jobs_fail';

-- the command's own changes are rolled back with the failure
BEGIN;
SELECT dlake.run_job('jobs_fail2', 'INSERT INTO jobs_t VALUES (100); SELECT * FROM no_such_table');
ROLLBACK;
SELECT count(*) AS still_5 FROM jobs_t;
SELECT status, sqlstate, error FROM dlake.job_runs WHERE job = 'jobs_fail2';

-- a job inside a transaction that later rolls back leaves no 'succeeded' row
BEGIN;
SELECT status FROM dlake.run_job('jobs_rolled_back', 'SELECT 1');
ROLLBACK;
SELECT count(*) AS none FROM dlake.job_runs WHERE job = 'jobs_rolled_back';

-- arguments
SELECT dlake.run_job(NULL, 'SELECT 1');
SELECT dlake.run_job('x', NULL);

-- the command runs as the caller with the caller's search_path
CREATE SCHEMA jobs_s;
CREATE TABLE jobs_s.t2 (v text);
SET search_path = jobs_s, public;
SELECT status, rows FROM dlake.run_job('jobs_path', 'INSERT INTO t2 VALUES (current_user)');
RESET search_path;
SELECT v = current_user AS as_caller FROM jobs_s.t2;

-- dlake.schedule / unschedule need pg_cron in this database
SELECT dlake.schedule('jobs_sched', '* * * * *', 'SELECT 1');
SELECT dlake.unschedule('jobs_sched');
SELECT dlake.schedule('bad name!', '* * * * *', 'SELECT 1');
SELECT count(*) AS no_cron_jobs FROM dlake.jobs;

-- the command pg_cron runs
SELECT dlake._job_command('daily', $$SELECT * FROM dlake.export_table('t', zone => 'raw')$$);

-- runs by other roles are not visible; a role cannot forge runs of another
CREATE ROLE jobs_user;
GRANT USAGE ON SCHEMA public TO jobs_user;
SET ROLE jobs_user;
SELECT count(*) AS visible FROM dlake.job_runs;
SELECT status FROM dlake.run_job('jobs_user_job', 'SELECT 1');
SELECT job FROM dlake.job_runs;
INSERT INTO dlake.job_runs (job, status, username) VALUES ('forged', 'succeeded', 'postgres');
RESET ROLE;
SELECT job, status, username FROM dlake.job_runs WHERE job = 'jobs_user_job';

-- observability views (other tests of this database may have written files)
SELECT coalesce(sum(files), 0) = (SELECT count(*) FROM dlake.files) AS lake_summary_consistent FROM dlake.lake_summary;
SELECT count(*) FROM dlake.quarantine_summary WHERE source = 'public.jobs_src';

-- quarantine_summary over a rule set's quarantine table
SELECT dlake.create_ruleset('jobs_rs', '{"required": ["id", "v"], "types": {"id": "int8", "v": "float8"}}');
CREATE TABLE jobs_src (record jsonb);
INSERT INTO jobs_src VALUES ('{"id": 1, "v": 2}'), ('{"id": 2}'), ('{"id": 3}'), ('{"v": "x"}');
SELECT job, status, command, error FROM dlake.run_job('jobs_rules', $$SELECT * FROM dlake.apply_ruleset('jobs_rs', 'jobs_src')$$);
SELECT quarantine, ruleset, source, rule, field, reason, records, last_24h FROM dlake.quarantine_summary
 WHERE quarantine = 'dlake_quarantine.jobs_src'::regclass ORDER BY rule, field, reason;

-- rows of a command that returns rows: the sum of its count columns
-- (accepted of apply_ruleset, also through SELECT f(...) returning a row)
INSERT INTO jobs_src VALUES ('{"id": 4, "v": 1}'), ('{"id": 5, "v": 1}'), ('{"id": 6, "v": 1}'), ('{"id": 7}');
SELECT status, rows FROM dlake.run_job('jobs_rules2', $$SELECT * FROM dlake.apply_ruleset('jobs_rs', 'jobs_src')$$);
INSERT INTO jobs_src VALUES ('{"id": 8, "v": 1}'), ('{"id": 9, "v": 1}');
SELECT status, rows FROM dlake.run_job('jobs_rules3', $$SELECT dlake.apply_ruleset('jobs_rs', 'jobs_src')$$);
-- several rows: summed; other columns ignored
SELECT rows FROM dlake.run_job('jobs_sum', $$SELECT * FROM (VALUES ('a', 3::bigint, 100), ('b', 4, 200), ('c', NULL, 300)) v(name, rows, other)$$);
SELECT rows FROM dlake.run_job('jobs_sum2', $$SELECT * FROM (VALUES (2, 10, 1)) v(inserted, rejected, updated)$$);
-- a single integer value (a function returning a count)
SELECT rows FROM dlake.run_job('jobs_single', 'SELECT 42::bigint AS purged');
-- no count column: the number of rows returned
SELECT rows FROM dlake.run_job('jobs_plain', 'SELECT g FROM generate_series(1, 5) g');
SELECT rows FROM dlake.run_job('jobs_plain1', $$SELECT 'x' AS word$$);
SELECT rows FROM dlake.run_job('jobs_returning', 'INSERT INTO jobs_t SELECT generate_series(200, 202) RETURNING 1 AS one');
-- statements without rows: their row count
SELECT rows FROM dlake.run_job('jobs_dml', 'DELETE FROM jobs_t WHERE i >= 200');
SELECT rows FROM dlake.run_job('jobs_ctas', 'CREATE TEMP TABLE jobs_tmp AS SELECT 7 AS rows');
SELECT dlake._job_returns_rows(c) FROM (VALUES ('SELECT 1'), ('VALUES (1)'), ('WITH x AS (SELECT 1) SELECT * FROM x'),
  ('INSERT INTO t VALUES (1)'), ('SELECT 1; SELECT 2'), ('SELEC 1'), ('CALL p()')) v(c);

-- dlake.export_stream needs an existing stream
SELECT * FROM dlake.export_stream('no_such_stream');
SELECT * FROM dlake.export_stream(NULL);

-- dlake.compact: arguments; a location without catalogued files has nothing to do
SELECT * FROM dlake.compact(NULL);
SELECT * FROM dlake.compact('file:///nowhere', target_file_size => 10);
SELECT * FROM dlake.compact('x/', zone => 'no_such_zone');
SELECT * FROM dlake.compact('file:///nowhere');

-- cleanup
DROP TABLE jobs_t, jobs_src, dlake_cleansed.jobs_src, dlake_quarantine.jobs_src;
DROP SCHEMA jobs_s CASCADE;
SELECT dlake.drop_ruleset('jobs_rs');
DELETE FROM dlake.job_runs WHERE job LIKE 'jobs%';
REVOKE USAGE ON SCHEMA public FROM jobs_user;
DROP ROLE jobs_user;
