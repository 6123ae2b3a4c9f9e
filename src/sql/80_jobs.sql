-- ---------------------------------------------------------------------------
-- 80_jobs: scheduled jobs and observability.
--   dlake.run_job       run a command as a named job, recorded in dlake.job_runs
--                       (one run per job at a time: an overlapping run is skipped)
--   dlake.schedule      pg_cron job that calls dlake.run_job (cron.schedule)
--   dlake.unschedule    remove it (cron.unschedule)
-- Views: dlake.jobs, dlake.lake_summary, dlake.quarantine_summary.
-- See docs/operations.md (monitoring) and docs/reference.md.
-- ---------------------------------------------------------------------------

CREATE TABLE dlake.job_runs (
	id			bigserial PRIMARY KEY,
	job			text NOT NULL,
	started		timestamptz NOT NULL DEFAULT clock_timestamp(),
	finished	timestamptz,
	status		text NOT NULL CHECK (status IN ('succeeded', 'failed', 'skipped')),
	rows		bigint,
	bytes		bigint,
	files		bigint,
	command		text,
	error		text,
	sqlstate	text,
	detail		text,
	username	text NOT NULL DEFAULT current_user,
	pid			integer NOT NULL DEFAULT pg_backend_pid()
);
CREATE INDEX job_runs_job_idx ON dlake.job_runs (job, started);
COMMENT ON TABLE dlake.job_runs IS
  'dlake: one row per run of a job (dlake.run_job, called by pg_cron or by hand)';

/* runs are visible to the role that ran them (and its members) and to dlake_admin */
GRANT SELECT, INSERT ON dlake.job_runs TO PUBLIC;
GRANT USAGE ON SEQUENCE dlake.job_runs_id_seq TO PUBLIC;
GRANT DELETE ON dlake.job_runs TO dlake_admin;
ALTER TABLE dlake.job_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY job_runs_read ON dlake.job_runs FOR SELECT
	USING (username = current_user
		   OR pg_catalog.pg_has_role('dlake_admin', 'USAGE')
		   OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
					   WHERE r.rolname = username AND pg_catalog.pg_has_role(r.oid, 'USAGE')));
CREATE POLICY job_runs_insert ON dlake.job_runs FOR INSERT
	WITH CHECK (username = current_user);
CREATE POLICY job_runs_delete ON dlake.job_runs FOR DELETE
	USING (pg_catalog.pg_has_role('dlake_admin', 'USAGE'));
SELECT pg_catalog.pg_extension_config_dump('dlake.job_runs', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.job_runs_id_seq', '');

/* internal: write a 'failed' row in a transaction of its own (a background worker) */
CREATE FUNCTION dlake._job_record_failure(job text, started timestamptz, command text,
										  error text, sqlstate text, detail text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'dlake_job_record_failure'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;
COMMENT ON FUNCTION dlake._job_record_failure(text, timestamptz, text, text, text, text) IS
  'internal: record a failed job run autonomously (survives the rollback of the caller)';

/*
 * internal: rows, bytes and files of the exports and loads committed by the
 * current transaction (including its subtransactions) since a point in time.
 * SECURITY DEFINER because the export catalog is not readable by everyone;
 * it only reveals what the caller's own transaction wrote.
 */
CREATE FUNCTION dlake._job_io(since timestamptz, OUT rows bigint, OUT bytes bigint,
							  OUT files bigint, OUT calls bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS
$$
	WITH mine AS (
		SELECT e.rows, e.bytes, e.files::bigint AS files FROM dlake.export_runs e
		 WHERE e.started >= since AND pg_xact_status(dlake._xid8(e.xmin)) = 'in progress'
		UNION ALL
		SELECT l.rows, NULL, l.files::bigint FROM dlake.load_runs l
		 WHERE l.started >= since AND pg_xact_status(dlake._xid8(l.xmin)) = 'in progress'
	)
	SELECT sum(rows)::bigint, sum(bytes)::bigint, sum(files)::bigint, count(*) FROM mine
$$;

/* internal: is the command one statement that returns rows? (src/jobs/job_query.c) */
CREATE FUNCTION dlake._job_returns_rows(command text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'dlake_job_returns_rows'
LANGUAGE C STRICT STABLE;

/*
 * internal: the count of one result row of a job's command (the rule is in
 * docs/operations.md, "What a run's rows mean").  found is false when the
 * row has no count column.
 */
CREATE FUNCTION dlake._job_row_count(r jsonb, OUT n numeric, OUT found boolean)
LANGUAGE sql IMMUTABLE STRICT AS
$$
	WITH cols AS (
		SELECT e.key, e.value FROM pg_catalog.jsonb_each(r) e
		UNION ALL
		/* one level into composite columns: SELECT f(...) of a function returning a row */
		SELECT e2.key, e2.value
		  FROM pg_catalog.jsonb_each(r) e,
			   pg_catalog.jsonb_each(CASE WHEN pg_catalog.jsonb_typeof(e.value) = 'object'
										  THEN e.value ELSE '{}'::jsonb END) e2
	)
	SELECT coalesce(sum((value #>> '{}')::numeric), 0), count(*) > 0
	  FROM cols
	 WHERE key IN ('rows', 'accepted', 'moved', 'inserted', 'updated', 'deleted', 'loaded')
	   AND pg_catalog.jsonb_typeof(value) = 'number'
$$;

/*
 * dlake.run_job: run a command as one run of a named job and record it.
 *
 * - a transaction-level advisory lock per job name: when another session is
 *   running the same job, this call returns at once, recorded as 'skipped';
 * - the command runs in a subtransaction; on success the run is recorded as
 *   'succeeded' with rows/bytes/files (from the exports and loads it made;
 *   otherwise, for a command returning rows, the sum of its count columns
 *   (rows, accepted, moved, inserted, updated, deleted, loaded), or its
 *   single integer value, or the number of rows it returned; for other
 *   commands their row count);
 * - on error the run is recorded as 'failed' by a background worker in a
 *   transaction of its own, then the error is raised again (so pg_cron's
 *   cron.job_run_details shows it too, and the caller's transaction aborts).
 *
 * Not SECURITY DEFINER: the command runs as the caller, with the caller's
 * search_path.
 */
CREATE FUNCTION dlake.run_job(job text, command text)
RETURNS dlake.job_runs
LANGUAGE plpgsql VOLATILE AS
$$
DECLARE
	t0			timestamptz := pg_catalog.clock_timestamp();
	r			dlake.job_runs;
	n			bigint;
	io			record;
	msg			text;
	st			text;
	det			text;
	rid			bigint;
	rec			record;
	j			jsonb;
	c			record;
	nrows		bigint;
	counted		numeric;
	any_count	boolean;
	single		numeric;
BEGIN
	IF job IS NULL OR command IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'job name and command must not be NULL';
	END IF;

	IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('dlake.run_job'), pg_catalog.hashtext(job)) THEN
		INSERT INTO dlake.job_runs AS j (job, started, finished, status, command, error)
			VALUES (job, t0, pg_catalog.clock_timestamp(), 'skipped', command,
					'another run of this job was in progress')
			RETURNING j.* INTO r;
		RAISE NOTICE 'job "%" is already running in another session: run % skipped', job, r.id;
		RETURN r;
	END IF;

	BEGIN
		IF dlake._job_returns_rows(command) THEN
			/* read the result: sum its count columns (see _job_row_count) */
			nrows := 0;
			counted := 0;
			any_count := false;
			single := NULL;
			FOR rec IN EXECUTE command LOOP
				nrows := nrows + 1;
				j := pg_catalog.to_jsonb(rec);
				SELECT * INTO c FROM dlake._job_row_count(j);
				IF c.found THEN
					any_count := true;
					counted := counted + c.n;
				END IF;
				/* a single row of a single integer column: that number */
				single := CASE WHEN nrows = 1 AND (SELECT count(*) FROM pg_catalog.jsonb_object_keys(j)) = 1
								 AND pg_catalog.jsonb_typeof((SELECT v FROM pg_catalog.jsonb_each(j) AS x(k, v))) = 'number'
							   THEN (SELECT (v #>> '{}')::numeric FROM pg_catalog.jsonb_each(j) AS x(k, v))
						  END;
			END LOOP;
			n := CASE WHEN any_count THEN pg_catalog.round(counted)::bigint
					  WHEN nrows = 1 AND single IS NOT NULL AND single = pg_catalog.trunc(single) THEN single::bigint
					  ELSE nrows END;
		ELSE
			EXECUTE command;
			GET DIAGNOSTICS n = ROW_COUNT;
		END IF;
		io := dlake._job_io(t0);
	EXCEPTION WHEN OTHERS OR query_canceled THEN
		GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, st = RETURNED_SQLSTATE, det = PG_EXCEPTION_DETAIL;
		rid := dlake._job_record_failure(job, t0, command, msg, st, nullif(det, ''));
		IF rid IS NULL THEN
			RAISE WARNING 'failed run of job "%" could not be recorded in dlake.job_runs', job
				USING DETAIL = 'No background worker slot was free (max_worker_processes).';
		END IF;
		RAISE;
	END;

	INSERT INTO dlake.job_runs AS j (job, started, finished, status, rows, bytes, files, command)
		VALUES (job, t0, pg_catalog.clock_timestamp(), 'succeeded',
				CASE WHEN io.calls > 0 THEN io.rows ELSE n END, io.bytes, io.files, command)
		RETURNING j.* INTO r;
	RETURN r;
END
$$;
COMMENT ON FUNCTION dlake.run_job(text, text) IS
  'run a command as a named job: one run at a time, every run recorded in dlake.job_runs';

/* the pg_cron command that runs a dlake job */
CREATE FUNCTION dlake._job_command(job text, command text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp AS
$$ SELECT format('SELECT dlake.run_job(%L, %L)', job, command) $$;

/* internal: raise the error of a missing pg_cron */
CREATE FUNCTION dlake._require_pg_cron()
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
		RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
			MESSAGE = format('pg_cron is not installed in database "%s"', current_database()),
			DETAIL = 'dlake.schedule and dlake.unschedule create and remove pg_cron jobs.',
			HINT = format('Add pg_cron to shared_preload_libraries, set cron.database_name = ''%s'' (now "%s"), '
						  'restart, then run CREATE EXTENSION pg_cron. Jobs can also be run by hand with dlake.run_job().',
						  current_database(), coalesce(current_setting('cron.database_name', true), 'not set'));
	END IF;
END
$$;

/*
 * dlake.schedule: create (or replace, same name) a pg_cron job running
 * dlake.run_job(job_name, command) on a cron schedule (five fields, e.g.
 * '0 * * * *', or '@hourly', ...).  Returns pg_cron's job id.  The caller needs pg_cron's
 * own privileges (USAGE on schema cron).
 */
CREATE FUNCTION dlake.schedule(job_name text, schedule text, command text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
	id bigint;
BEGIN
	IF job_name IS NULL OR schedule IS NULL OR command IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'job_name, schedule and command must not be NULL';
	END IF;
	IF job_name !~ '^[A-Za-z0-9_.:-]{1,63}$' THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('invalid job name "%s"', job_name),
			HINT = 'Use 1 to 63 letters, digits, "_", ".", ":" or "-".';
	END IF;
	PERFORM dlake._require_pg_cron();
	EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO id
		USING job_name, schedule, dlake._job_command(job_name, command);
	RETURN id;
END
$$;
COMMENT ON FUNCTION dlake.schedule(text, text, text) IS
  'schedule a command as a pg_cron job whose runs are recorded in dlake.job_runs';

CREATE FUNCTION dlake.unschedule(job_name text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
	ok boolean;
BEGIN
	IF job_name IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'job_name must not be NULL';
	END IF;
	PERFORM dlake._require_pg_cron();
	EXECUTE 'SELECT cron.unschedule($1)' INTO ok USING job_name;
	RETURN ok;
END
$$;
COMMENT ON FUNCTION dlake.unschedule(text) IS 'remove a job created by dlake.schedule (its run history stays)';

/* internal: the caller's pg_cron jobs that run dlake jobs (none without pg_cron) */
CREATE FUNCTION dlake._cron_jobs(OUT jobid bigint, OUT job text, OUT schedule text,
								 OUT active boolean, OUT username text, OUT command text)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron')
	   OR NOT has_schema_privilege('cron', 'USAGE') THEN
		RETURN;
	END IF;
	RETURN QUERY EXECUTE
		'SELECT j.jobid::bigint, j.jobname::text, j.schedule::text, j.active, j.username::text, j.command::text FROM cron.job j'
		' WHERE j.command LIKE ''SELECT dlake.run_job(%'' AND j.jobname IS NOT NULL';
END
$$;

CREATE VIEW dlake.jobs AS
SELECT c.job,
	   c.jobid,
	   c.schedule,
	   c.active,
	   c.username,
	   l.status AS last_status,
	   l.started AS last_started,
	   l.finished AS last_finished,
	   l.error AS last_error,
	   s.runs,
	   s.failed,
	   s.skipped,
	   c.command
  FROM dlake._cron_jobs() c
  LEFT JOIN LATERAL (SELECT r.status, r.started, r.finished, r.error FROM dlake.job_runs r
					  WHERE r.job = c.job ORDER BY r.id DESC LIMIT 1) l ON true
  LEFT JOIN LATERAL (SELECT count(*) AS runs,
							count(*) FILTER (WHERE r.status = 'failed') AS failed,
							count(*) FILTER (WHERE r.status = 'skipped') AS skipped
					   FROM dlake.job_runs r WHERE r.job = c.job) s ON true;
GRANT SELECT ON dlake.jobs TO PUBLIC;
COMMENT ON VIEW dlake.jobs IS 'dlake: scheduled jobs (pg_cron) with their last run and run counts';

/* per location and partition of the file catalog (dlake.export writes it) */
CREATE VIEW dlake.lake_summary AS
SELECT z.name AS zone,
	   f.location,
	   f.partition,
	   count(*) AS files,
	   sum(f.rows)::bigint AS rows,
	   sum(f.bytes)::bigint AS bytes,
	   string_agg(DISTINCT f.format, ',') AS formats,
	   min(f.created) AS first_write,
	   max(f.created) AS last_write
  FROM dlake.files f
  LEFT JOIN LATERAL (SELECT zz.name FROM dlake.zones zz
					  WHERE f.location = zz.location
						 OR f.location LIKE rtrim(zz.location, '/') || '/%'
					  ORDER BY length(zz.location) DESC LIMIT 1) z ON true
 GROUP BY z.name, f.location, f.partition;
REVOKE ALL ON dlake.lake_summary FROM PUBLIC;
GRANT SELECT ON dlake.lake_summary TO dlake_admin;
COMMENT ON VIEW dlake.lake_summary IS
  'dlake: files, rows, bytes and last write per lake location and partition';

/*
 * internal: failures of every quarantine table the caller may read (those
 * under schema dlake_quarantine and those named in dlake.ruleset_progress),
 * per rule set, source, rule, field and reason.
 */
CREATE FUNCTION dlake._quarantine_overview(OUT quarantine regclass, OUT ruleset text, OUT source text,
										   OUT rule text, OUT field text, OUT reason text,
										   OUT records bigint, OUT last_24h bigint,
										   OUT last_quarantined timestamptz)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
	q regclass;
BEGIN
	FOR q IN
		SELECT DISTINCT t.oid::regclass FROM (
			SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			 WHERE n.nspname = 'dlake_quarantine' AND c.relkind IN ('r', 'p')
			UNION
			SELECT to_regclass(p.quarantine)::oid FROM dlake.ruleset_progress p) t
		 WHERE t.oid IS NOT NULL
		   AND has_table_privilege(t.oid, 'SELECT')
		   AND (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = t.oid AND NOT a.attisdropped
				   AND a.attname IN ('failures', 'ruleset', 'source', 'quarantined_at')) = 4
		 ORDER BY 1
	LOOP
		RETURN QUERY EXECUTE format(
			'SELECT %L::regclass, q.ruleset, q.source, f->>''rule'', f->>''field'', f->>''reason'','
			' count(*), count(*) FILTER (WHERE q.quarantined_at > now() - interval ''24 hours''),'
			' max(q.quarantined_at)'
			' FROM %s q, jsonb_array_elements(q.failures) f GROUP BY 2, 3, 4, 5, 6', q, q);
	END LOOP;
END
$$;

CREATE VIEW dlake.quarantine_summary AS
SELECT * FROM dlake._quarantine_overview();
GRANT SELECT ON dlake.quarantine_summary TO PUBLIC;
COMMENT ON VIEW dlake.quarantine_summary IS
  'dlake: quarantined records per quarantine table, rule set, source, rule, field and reason (all time and last 24 h)';

/*
 * dlake.export_stream: archive a stream to the lake, exactly once, on top of
 * dlake.export_table (incremental by snapshot):
 *   - the staged records as Kinesis delivered them (original bytes, shard,
 *     sequence number, arrival time) to <raw_zone>/<location>/ (JSON lines,
 *     gzip), so the lake keeps them after the staging retention drops them;
 *   - when the stream has a rule set, its cleansed rows (typed) to
 *     <cleansed_zone>/<location>/ as Parquet, partitioned by the "date"
 *     column when the cleansed table has one (or by partition_by).
 * A NULL zone skips that half.  Meant to be scheduled:
 *   SELECT dlake.schedule('iot_to_lake', '* * * * *',
 *                         $$SELECT * FROM dlake.export_stream('iot')$$);
 */
CREATE FUNCTION dlake.export_stream(stream text,
									raw_zone text DEFAULT 'raw',
									cleansed_zone text DEFAULT 'cleansed',
									location text DEFAULT NULL,
									raw_format text DEFAULT 'jsonl',
									cleansed_format text DEFAULT 'parquet',
									partition_by text[] DEFAULT NULL)
RETURNS TABLE (zone text, path text, partition text, rows bigint, bytes bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
	s record;
	cleansed regclass;
	loc text;
	parts text[] := partition_by;
BEGIN
	IF stream IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'stream must not be NULL';
	END IF;
	SELECT st.staging, st.ruleset INTO s FROM dlake.streams st WHERE st.name = export_stream.stream;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_object',
			MESSAGE = format('stream "%s" does not exist', stream),
			HINT = 'Streams are created with dlake.create_stream(); see SELECT name FROM dlake.streams.';
	END IF;
	loc := coalesce(location, stream);
	IF right(loc, 1) <> '/' THEN
		loc := loc || '/';
	END IF;

	IF raw_zone IS NOT NULL THEN
		RETURN QUERY SELECT raw_zone, e.path, e.partition, e.rows, e.bytes
			FROM dlake.export_table(s.staging, zone => raw_zone, location => loc, format => raw_format,
									compression => CASE WHEN raw_format = 'parquet' THEN NULL ELSE 'gzip' END) e;
	END IF;

	IF cleansed_zone IS NOT NULL AND s.ruleset IS NOT NULL THEN
		cleansed := to_regclass(format('dlake_cleansed.%I', (SELECT c.relname FROM pg_class c WHERE c.oid = s.staging)));
		IF cleansed IS NULL THEN
			RETURN;		/* nothing accepted yet: the table is made by the first batch */
		END IF;
		IF parts IS NULL AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = cleansed
										AND a.attname = 'date' AND NOT a.attisdropped) THEN
			parts := '{date}';
		END IF;
		RETURN QUERY SELECT cleansed_zone, e.path, e.partition, e.rows, e.bytes
			FROM dlake.export_table(cleansed, zone => cleansed_zone, location => loc,
									format => cleansed_format, partition_by => parts) e;
	END IF;
END
$$;
COMMENT ON FUNCTION dlake.export_stream(text, text, text, text, text, text, text[]) IS
  'export a stream''s new staged records to the raw zone and its new cleansed rows to the cleansed zone, exactly once';
REVOKE ALL ON FUNCTION dlake.export_stream(text, text, text, text, text, text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dlake.export_stream(text, text, text, text, text, text, text[]) TO dlake_admin;

/*
 * Files replaced by dlake.compact, kept until no reader can still be using
 * them: a query planned from dlake.files before the compaction committed
 * may still open them.  The next compaction (of any location) deletes those
 * retired longer ago than its grace period.
 */
CREATE TABLE dlake.retired_files (
	path		text PRIMARY KEY,
	server		name,
	location	text NOT NULL,
	retired		timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE dlake.retired_files IS
  'dlake: lake files replaced by dlake.compact, deleted by a later compaction after the grace period';
REVOKE ALL ON dlake.retired_files FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON dlake.retired_files TO dlake_admin;
SELECT pg_catalog.pg_extension_config_dump('dlake.retired_files', '');

/*
 * dlake.compact: rewrite the small files of each partition of a location
 * (as listed in the dlake.files catalog) into files of about
 * target_file_size.  In one transaction: the rows of the old files are read
 * (dlake.read_file) and written as new complete files (dlake.export, same
 * format, same partition folder), then the catalog rows of the old files
 * are removed and the files retired.  Readers that plan from the catalog see
 * either the old files or the new ones, never both.  Retired files are
 * deleted by a later call once older than grace.
 */
CREATE FUNCTION dlake.compact(location text,
							  target_file_size bigint DEFAULT 134217728,
							  server name DEFAULT NULL,
							  zone text DEFAULT NULL,
							  min_files integer DEFAULT 2,
							  grace interval DEFAULT '1 hour')
RETURNS TABLE (partition jsonb, files_before integer, files_after integer, rows bigint,
			   bytes_before bigint, bytes_after bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
	base	text := rtrim(location, '/');
	srv		name := server;
	p		record;
	fmt		text;
	coldefs	text;
	cols	text;
	keys	text;
	pkeys	text[];
	q		text;
	w		record;
	r		record;
	n_new	integer;
	b_new	bigint;
BEGIN
	IF location IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'location must not be NULL';
	END IF;
	IF target_file_size IS NULL OR target_file_size < 1024 THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('target_file_size must be at least 1024 bytes, not %s', target_file_size);
	END IF;
	IF zone IS NOT NULL THEN
		SELECT rtrim(z.location, '/') || '/' || base, coalesce(srv, z.server) INTO base, srv
		  FROM dlake.zones z WHERE z.name = compact.zone;
		IF NOT FOUND THEN
			RAISE EXCEPTION USING ERRCODE = 'undefined_object', MESSAGE = format('zone "%s" does not exist', zone),
				HINT = 'Create it with dlake.create_zone(name, location).';
		END IF;
	END IF;
	IF NOT pg_try_advisory_xact_lock(hashtext('dlake.compact'), hashtext(base)) THEN
		RAISE NOTICE 'dlake.compact of % is already running in another session; nothing done', base;
		RETURN;
	END IF;

	/* delete what earlier compactions retired, once no reader can need it */
	FOR w IN SELECT rf.path, rf.server FROM dlake.retired_files rf WHERE rf.retired < now() - grace LOOP
		BEGIN
			PERFORM dlake.delete(w.path, w.server);
			DELETE FROM dlake.retired_files rf WHERE rf.path = w.path;
		EXCEPTION WHEN OTHERS THEN
			RAISE WARNING 'could not delete retired lake file %: %', w.path, SQLERRM;
		END;
	END LOOP;

	FOR p IN
		SELECT f.partition AS part, array_agg(f.id ORDER BY f.id) AS ids, array_agg(f.path ORDER BY f.id) AS paths,
			   min(f.format) AS fmt, count(DISTINCT f.format) AS nformats, sum(f.bytes)::bigint AS bytes
		  FROM dlake.files f
		 WHERE f.location = base AND f.bytes < target_file_size
		 GROUP BY f.partition
		HAVING count(*) >= greatest(min_files, 2)
		 ORDER BY f.partition::text
	LOOP
		IF p.nformats > 1 THEN
			RAISE NOTICE 'partition % of % mixes formats; skipped', p.part, base;
			CONTINUE;
		END IF;
		fmt := p.fmt;
		/* the columns of the newest file; older files may lack some (read as NULL) */
		SELECT string_agg(format('%I %s', s.column_name, s.data_type), ', ' ORDER BY s.ordinal),
			   string_agg(format('%I', s.column_name), ', ' ORDER BY s.ordinal)
		  INTO coldefs, cols
		  FROM dlake.file_schema(p.paths[array_upper(p.paths, 1)], fmt, '{}', srv) s;
		/* partition keys in folder order (key=value/ segments after the base) */
		SELECT array_agg(split_part(seg, '=', 1) ORDER BY o) INTO pkeys
		  FROM unnest(string_to_array(substr(p.paths[1], length(base) + 2), '/')) WITH ORDINALITY AS g(seg, o)
		 WHERE seg LIKE '%=%' AND split_part(seg, '=', 1) IN (SELECT jsonb_object_keys(p.part));
		SELECT string_agg(CASE WHEN jsonb_typeof(p.part -> k) = 'null' THEN format('NULL::text AS %I', k)
							   ELSE format('%L::text AS %I', p.part ->> k, k) END, ', ' ORDER BY o)
		  INTO keys
		  FROM unnest(pkeys) WITH ORDINALITY AS u(k, o);
		SELECT format('SELECT %s%s FROM (%s) u', cols, coalesce(', ' || keys, ''),
					  string_agg(format('SELECT * FROM dlake.read_file(%L, %L, %L, %L) AS t(%s)',
										x.path, fmt, '{"missing_columns": "null"}', srv, coldefs), ' UNION ALL '))
		  INTO q
		  FROM unnest(p.paths) x(path);

		n_new := 0;
		b_new := 0;
		FOR r IN SELECT e.rows, e.bytes FROM dlake.export(q, base, fmt,
				partition_by => pkeys,
				max_file_size => target_file_size, server => srv) e
		LOOP
			n_new := n_new + 1;
			b_new := b_new + r.bytes;
		END LOOP;

		INSERT INTO dlake.retired_files (path, server, location)
			SELECT x, srv, base FROM unnest(p.paths) x ON CONFLICT DO NOTHING;
		DELETE FROM dlake.files f WHERE f.id = ANY (p.ids);

		partition := p.part;
		files_before := cardinality(p.ids);
		files_after := n_new;
		SELECT sum(f.rows)::bigint INTO rows FROM dlake.files f
		 WHERE f.location = base AND f.partition = p.part AND pg_xact_status(dlake._xid8(f.xmin)) = 'in progress';
		bytes_before := p.bytes;
		bytes_after := b_new;
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION dlake.compact(text, bigint, name, text, integer, interval) IS
  'rewrite the small files of each partition of a lake location into few large ones, atomically for catalog readers';
REVOKE ALL ON FUNCTION dlake.compact(text, bigint, name, text, integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dlake.compact(text, bigint, name, text, integer, interval) TO dlake_admin;
