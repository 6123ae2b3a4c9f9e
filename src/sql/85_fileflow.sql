-- ---------------------------------------------------------------------------
-- 85_fileflow: file flows, the Kinesis Agent counterpart.  A background
-- worker (src/ingest/fileflow_worker.c) calls dlake._file_flows_poll() about
-- once a second: new complete lines of the files matching each flow's
-- pattern are shipped to a Kinesis stream (PutRecords) or inserted into a
-- table, and the file positions are checkpointed in the same transaction.
-- Files are followed by a fingerprint of their first bytes, so a rotation
-- by rename is followed to the new name and a truncated or replaced file is
-- read again from its start.  See docs/operations.md (file flows).
-- ---------------------------------------------------------------------------

CREATE TABLE dlake.file_flows (
	name			text PRIMARY KEY CHECK (name ~ '^[a-z_][a-z0-9_]{0,62}$'),
	file_pattern	text NOT NULL,
	target			text NOT NULL,
	target_kind		text NOT NULL CHECK (target_kind IN ('table', 'kinesis')),
	server			text,
	processing		text NOT NULL DEFAULT 'singleline'
					CHECK (processing IN ('singleline', 'csvtojson', 'logtojson')),
	enabled			boolean NOT NULL DEFAULT true,
	owner			regrole NOT NULL DEFAULT current_user::regrole,
	created_at		timestamptz NOT NULL DEFAULT now(),
	lines			bigint NOT NULL DEFAULT 0,
	bytes			bigint NOT NULL DEFAULT 0,
	last_shipped_at timestamptz,
	last_error		text,
	last_error_at	timestamptz
);
COMMENT ON TABLE dlake.file_flows IS 'dlake: file flows (files on the database server tailed into a stream or a table)';

/* one row per followed file: its fingerprint and the byte offset shipped so far */
CREATE TABLE dlake.file_flow_files (
	id				bigserial PRIMARY KEY,
	flow			text NOT NULL REFERENCES dlake.file_flows ON DELETE CASCADE,
	path			text NOT NULL,
	fingerprint		text,
	fp_len			integer NOT NULL DEFAULT 0,
	"offset"		bigint NOT NULL DEFAULT 0,
	header			text[],
	lines			bigint NOT NULL DEFAULT 0,
	first_seen		timestamptz NOT NULL DEFAULT now(),
	updated			timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON dlake.file_flow_files (flow);
COMMENT ON TABLE dlake.file_flow_files IS 'dlake: files followed by each file flow, with their checkpoints';

REVOKE ALL ON dlake.file_flows, dlake.file_flow_files FROM PUBLIC;
GRANT SELECT ON dlake.file_flows, dlake.file_flow_files TO dlake_admin;
GRANT INSERT, DELETE ON dlake.file_flows TO dlake_admin;
SELECT pg_catalog.pg_extension_config_dump('dlake.file_flows', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.file_flow_files', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.file_flow_files_id_seq', '');

/* internal: a glob of the last path component as an anchored regular expression */
CREATE FUNCTION dlake._glob_regex(glob text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp AS
$$
	SELECT '^' || replace(replace(regexp_replace(glob, '([.+^$(){}|\[\]\\])', '\\\1', 'g'), '*', '.*'), '?', '.') || '$'
$$;

/*
 * dlake.create_file_flow: follow the files matching file_pattern (an
 * absolute path; * and ? in the last component) on the database server and
 * ship each new line to target: a table (its "data" column, text, jsonb or
 * bytea) or otherwise a Kinesis stream name (through server).  processing:
 * singleline (the line), csvtojson (the first line of each file is the
 * header), logtojson (Apache common or combined log format).
 */
CREATE FUNCTION dlake.create_file_flow(name text, file_pattern text, target text,
									   processing text DEFAULT 'singleline', server text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE AS	/* invoker: target resolved on the caller's search_path */
$$
DECLARE
	kind text;
	rel regclass;
BEGIN
	IF name IS NULL OR file_pattern IS NULL OR target IS NULL OR processing IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'name, file_pattern, target and processing must not be NULL';
	END IF;
	IF NOT pg_has_role(current_user, 'dlake_admin', 'MEMBER') THEN
		RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
			MESSAGE = format('permission denied to create file flow "%s"', name),
			DETAIL = 'A file flow reads files of the database server.',
			HINT = 'Only members of dlake_admin may create file flows.';
	END IF;
	IF file_pattern !~ '^/' OR file_pattern ~ '[*?].*/' OR file_pattern ~ '/$' THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('invalid file pattern "%s"', file_pattern),
			HINT = 'Use an absolute path; wildcards (* and ?) only in the file name, e.g. /var/log/app/*.log.';
	END IF;
	IF processing NOT IN ('singleline', 'csvtojson', 'logtojson') THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('invalid processing "%s"', processing),
			HINT = 'Use singleline, csvtojson or logtojson.';
	END IF;
	rel := to_regclass(target);
	IF rel IS NOT NULL THEN
		kind := 'table';
		IF NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = rel AND a.attname = 'data'
						  AND NOT a.attisdropped AND a.atttypid IN ('text'::regtype, 'jsonb'::regtype, 'bytea'::regtype)) THEN
			RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
				MESSAGE = format('table %s has no column "data" of type text, jsonb or bytea', rel),
				HINT = 'The lines are inserted into the "data" column of the target table.';
		END IF;
		IF NOT has_table_privilege(current_user, rel, 'INSERT') THEN
			RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
				MESSAGE = format('permission denied to insert into %s', rel);
		END IF;
		SELECT format('%I.%I', n.nspname, c.relname) INTO target
		  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel;
	ELSE
		kind := 'kinesis';
		IF target !~ '^[a-zA-Z0-9_.-]{1,128}$' THEN
			RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
				MESSAGE = format('target "%s" is neither a table nor a valid Kinesis stream name', target);
		END IF;
	END IF;
	INSERT INTO dlake.file_flows (name, file_pattern, target, target_kind, server, processing, owner)
		VALUES (create_file_flow.name, create_file_flow.file_pattern, target, kind, create_file_flow.server,
				create_file_flow.processing, current_user::regrole);
END
$$;
COMMENT ON FUNCTION dlake.create_file_flow(text, text, text, text, text) IS
  'follow files on the database server and ship their new lines to a Kinesis stream or a table';
REVOKE ALL ON FUNCTION dlake.create_file_flow(text, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dlake.create_file_flow(text, text, text, text, text) TO dlake_admin;

CREATE FUNCTION dlake.drop_file_flow(name text, if_exists boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
	DELETE FROM dlake.file_flows f WHERE f.name = drop_file_flow.name
	   AND (pg_has_role(current_user, f.owner, 'MEMBER') OR pg_has_role(current_user, 'dlake_admin', 'MEMBER'));
	IF NOT FOUND AND NOT if_exists THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_object', MESSAGE = format('file flow "%s" does not exist', name);
	END IF;
END
$$;
REVOKE ALL ON FUNCTION dlake.drop_file_flow(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dlake.drop_file_flow(text, boolean) TO dlake_admin;

/* internal: one CSV line as text[] (quotes and doubled quotes) */
CREATE FUNCTION dlake._csv_fields(line text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp AS
$$
	SELECT array_agg(CASE WHEN m[1] LIKE '"%' THEN replace(substr(m[1], 2, length(m[1]) - 2), '""', '"') ELSE m[1] END ORDER BY o)
	  FROM regexp_matches(line, '(?:^|,)("(?:[^"]|"")*"|[^,]*)', 'g') WITH ORDINALITY AS x(m, o)
$$;

/* internal: an Apache common / combined log line as jsonb (NULL when it does not parse) */
CREATE FUNCTION dlake._apache_log_json(line text) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp AS
$$
	SELECT CASE WHEN m IS NOT NULL THEN
		   jsonb_strip_nulls(jsonb_build_object('host', m[1], 'ident', m[2], 'authuser', m[3], 'datetime', m[4],
							  'request', m[5], 'response', m[6], 'bytes', m[7], 'referer', m[8], 'agent', m[9])) END
	  FROM (SELECT regexp_match(line, '^(\S+) (\S+) (\S+) \[([^\]]+)\] "([^"]*)" (\d{3}) (\S+)(?: "([^"]*)" "([^"]*)")?') AS m) x
$$;

/*
 * internal: one pass of one flow.  Returns the number of lines shipped.
 * Runs as the worker (superuser) to read files; ships as the flow's owner.
 */
CREATE FUNCTION dlake._file_flow_poll(flow_name text, max_bytes integer DEFAULT 1048576)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
	fl			dlake.file_flows;
	dir			text;
	re			text;
	e			record;
	c			record;
	found_at	text;
	claimed		text[] := '{}';
	listed		record;
	chunk		bytea;
	n			integer;
	cut			integer;
	txt			text;
	lines		text[];
	payloads	text[];
	hdr			text[];
	total		bigint := 0;
	newoff		bigint;
	datatype	regtype;
BEGIN
	SELECT * INTO fl FROM dlake.file_flows f WHERE f.name = flow_name AND f.enabled;
	IF NOT FOUND THEN
		RETURN 0;
	END IF;
	dir := regexp_replace(fl.file_pattern, '/[^/]*$', '');
	IF dir = '' THEN
		dir := '/';
	END IF;
	re := dlake._glob_regex(substring(fl.file_pattern FROM '[^/]*$'));

	CREATE TEMP TABLE IF NOT EXISTS dlake_ff_listing (path text, size bigint, modified timestamptz) ON COMMIT DROP;
	TRUNCATE dlake_ff_listing;
	INSERT INTO dlake_ff_listing
		SELECT rtrim(dir, '/') || '/' || d.fname, s.size, s.modification
		  FROM pg_ls_dir(dir, true, false) d(fname), LATERAL pg_stat_file(rtrim(dir, '/') || '/' || d.fname, true) s
		 WHERE d.fname ~ re AND s.isdir IS false;

	/* where is each followed file now? (same path, or renamed: same first bytes) */
	FOR e IN SELECT * FROM dlake.file_flow_files ff WHERE ff.flow = fl.name ORDER BY ff.id LOOP
		found_at := NULL;
		FOR c IN SELECT l.path, l.size FROM dlake_ff_listing l
				  WHERE l.size >= e."offset" AND NOT l.path = ANY (claimed)
				  ORDER BY l.path = e.path DESC, l.modified, l.path LOOP
			IF e.fp_len = 0 THEN
				IF c.path = e.path THEN
					found_at := c.path;
				END IF;
				EXIT;
			END IF;
			IF md5(pg_read_binary_file(c.path, 0, e.fp_len, true)) = e.fingerprint THEN
				found_at := c.path;
				EXIT;
			END IF;
		END LOOP;
		IF found_at IS NULL THEN
			DELETE FROM dlake.file_flow_files ff WHERE ff.id = e.id;		/* gone, truncated or replaced */
		ELSE
			claimed := claimed || found_at;
			IF found_at <> e.path THEN
				UPDATE dlake.file_flow_files ff SET path = found_at, updated = now() WHERE ff.id = e.id;
			END IF;
		END IF;
	END LOOP;
	INSERT INTO dlake.file_flow_files (flow, path)
		SELECT fl.name, l.path FROM dlake_ff_listing l WHERE NOT l.path = ANY (claimed);

	/* read new complete lines, oldest files first */
	FOR e IN SELECT ff.*, l.size FROM dlake.file_flow_files ff JOIN dlake_ff_listing l USING (path)
			  WHERE ff.flow = fl.name AND l.size > ff."offset" ORDER BY l.modified, l.path LOOP
		chunk := pg_read_binary_file(e.path, e."offset", least(e.size - e."offset", max_bytes), true);
		IF chunk IS NULL THEN
			CONTINUE;
		END IF;
		n := length(chunk);
		cut := n;
		WHILE cut > 0 AND get_byte(chunk, cut - 1) <> 10 LOOP
			cut := cut - 1;
		END LOOP;
		IF cut = 0 THEN
			CONTINUE;		/* no complete line yet */
		END IF;
		txt := convert_from(substring(chunk FROM 1 FOR cut - 1), 'UTF8');
		lines := string_to_array(txt, E'\n');
		lines := ARRAY(SELECT rtrim(x, E'\r') FROM unnest(lines) x);
		hdr := e.header;
		IF fl.processing = 'csvtojson' THEN
			IF e."offset" = 0 THEN
				hdr := dlake._csv_fields(lines[1]);
				lines := lines[2:];
			END IF;
			payloads := ARRAY(SELECT jsonb_object(hdr[1:least(cardinality(hdr), cardinality(f))], f[1:least(cardinality(hdr), cardinality(f))])::text
								FROM unnest(lines) WITH ORDINALITY u(x, o), LATERAL dlake._csv_fields(x) f
							   WHERE x <> '' ORDER BY o);
		ELSIF fl.processing = 'logtojson' THEN
			payloads := ARRAY(SELECT coalesce(dlake._apache_log_json(x), jsonb_build_object('line', x))::text
								FROM unnest(lines) WITH ORDINALITY u(x, o) WHERE x <> '' ORDER BY o);
		ELSE
			payloads := lines;
		END IF;

		IF cardinality(payloads) > 0 THEN
			PERFORM set_config('role', fl.owner::text, true);
			IF fl.target_kind = 'table' THEN
				SELECT a.atttypid::regtype INTO datatype FROM pg_attribute a
				 WHERE a.attrelid = fl.target::regclass AND a.attname = 'data' AND NOT a.attisdropped;
				EXECUTE format('INSERT INTO %s (data) SELECT %s FROM unnest($1) WITH ORDINALITY u(x, o) ORDER BY o',
							   fl.target::regclass,
							   CASE datatype WHEN 'bytea'::regtype THEN 'convert_to(x, ''UTF8'')'
											 WHEN 'jsonb'::regtype THEN 'x::jsonb' ELSE 'x' END)
					USING payloads;
			ELSE
				PERFORM count(*) FROM dlake.put_records(fl.target,
					ARRAY(SELECT md5(e.path || ':' || (e."offset" + o)) FROM generate_series(1, cardinality(payloads)) o),
					payloads, server => fl.server);
			END IF;
			PERFORM set_config('role', 'none', true);
		END IF;

		newoff := e."offset" + cut;
		UPDATE dlake.file_flow_files ff
		   SET "offset" = newoff, lines = ff.lines + cardinality(payloads), header = hdr, updated = now(),
			   fp_len = CASE WHEN ff.fp_len >= 256 THEN ff.fp_len ELSE least(256, newoff)::integer END,
			   fingerprint = CASE WHEN ff.fp_len >= 256 THEN ff.fingerprint
							 ELSE md5(pg_read_binary_file(e.path, 0, least(256, newoff), true)) END
		 WHERE ff.id = e.id;
		UPDATE dlake.file_flows f SET lines = f.lines + cardinality(payloads), bytes = f.bytes + cut,
			   last_shipped_at = now(), last_error = NULL, last_error_at = NULL
		 WHERE f.name = fl.name;
		total := total + cardinality(payloads);
	END LOOP;
	RETURN total;
END
$$;

/* internal: called by the file flow worker; one subtransaction per flow */
CREATE FUNCTION dlake._file_flows_poll()
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
	f text;
	total bigint := 0;
	msg text;
BEGIN
	FOR f IN SELECT name FROM dlake.file_flows WHERE enabled ORDER BY name LOOP
		BEGIN
			total := total + dlake._file_flow_poll(f);
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
			UPDATE dlake.file_flows ff SET last_error = msg, last_error_at = now()
			 WHERE ff.name = f AND ff.last_error IS DISTINCT FROM msg;
		END;
	END LOOP;
	RETURN total;
END
$$;
REVOKE ALL ON FUNCTION dlake._file_flow_poll(text, integer), dlake._file_flows_poll() FROM PUBLIC;
