/*
 * 50_rules.sql — rule sets: validate, filter, dedupe, enrich, quarantine.
 *
 * A rule set (jsonb) is validated and compiled once, by create_ruleset /
 * alter_ruleset, into fragments of set-based SQL stored in
 * dlake.rulesets.compiled.  Applying it to a batch is one statement:
 *
 *   WITH c AS MATERIALIZED (core over the batch)
 *        ins AS (INSERT INTO cleansed ... WHERE valid [ON CONFLICT dedupe])
 *        q   AS (INSERT INTO quarantine ... WHERE rejected)
 *   SELECT counts
 *
 * where the core is three nested SELECTs: s1 safe-casts the typed fields
 * (C functions that return NULL instead of raising), s2 evaluates the
 * enrich expressions, the drop_if condition, the dedupe key and an array of
 * failures (one CASE per rule), s3 left-joins the lookup tables.  The
 * executor does all the work; nothing runs per row in PL/pgSQL.
 *
 * apply_ruleset adapts per batch (see _rules_run_fast and _rules_batch_sql):
 * a single INSERT into cleansed with a C tally in its WHERE clause when the
 * batch turns out to have no rejected rows (those are re-routed by ctid
 * through the full statement), and no ON CONFLICT while there are no
 * duplicates (the unique index refuses one; the batch is then rerun).
 * See docs/rules.md.
 */

/* ---------------------------------------------------------------- C helpers */

CREATE FUNCTION dlake._to_timestamptz(jsonb) RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'dlake_to_timestamptz' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dlake._to_timestamptz(jsonb, text) RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'dlake_to_timestamptz' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dlake._to_date(jsonb) RETURNS date
	AS 'MODULE_PATHNAME', 'dlake_to_date' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dlake._to_date(jsonb, text) RETURNS date
	AS 'MODULE_PATHNAME', 'dlake_to_date' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dlake._to_numeric(jsonb) RETURNS numeric
	AS 'MODULE_PATHNAME', 'dlake_to_numeric' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dlake._to_int8(jsonb) RETURNS int8
	AS 'MODULE_PATHNAME', 'dlake_to_int8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dlake._to_float8(jsonb) RETURNS float8
	AS 'MODULE_PATHNAME', 'dlake_to_float8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dlake._to_bool(jsonb) RETURNS bool
	AS 'MODULE_PATHNAME', 'dlake_to_bool' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dlake._to_uuid(jsonb) RETURNS uuid
	AS 'MODULE_PATHNAME', 'dlake_to_uuid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
/* the same casts of field key of an object, without extracting record->key first */
CREATE FUNCTION dlake._field_timestamptz(record jsonb, key text) RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'dlake_field_timestamptz' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dlake._field_timestamptz(record jsonb, key text, format text) RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'dlake_field_timestamptz' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dlake._field_date(record jsonb, key text) RETURNS date
	AS 'MODULE_PATHNAME', 'dlake_field_date' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dlake._field_date(record jsonb, key text, format text) RETURNS date
	AS 'MODULE_PATHNAME', 'dlake_field_date' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dlake._field_numeric(record jsonb, key text) RETURNS numeric
	AS 'MODULE_PATHNAME', 'dlake_field_numeric' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dlake._field_int8(record jsonb, key text) RETURNS int8
	AS 'MODULE_PATHNAME', 'dlake_field_int8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dlake._field_float8(record jsonb, key text) RETURNS float8
	AS 'MODULE_PATHNAME', 'dlake_field_float8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dlake._field_bool(record jsonb, key text) RETURNS bool
	AS 'MODULE_PATHNAME', 'dlake_field_bool' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dlake._field_uuid(record jsonb, key text) RETURNS uuid
	AS 'MODULE_PATHNAME', 'dlake_field_uuid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dlake._closest_match(text, text[]) RETURNS text
	AS 'MODULE_PATHNAME', 'dlake_closest_match' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dlake._check_expr(expr text, rule text) RETURNS void
	AS 'MODULE_PATHNAME', 'dlake_check_expr' LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION dlake._xmin8(xid) RETURNS xid8
	AS 'MODULE_PATHNAME', 'dlake_xmin8' LANGUAGE C STABLE STRICT PARALLEL SAFE;
/* the batch tally of apply_ruleset's fast path (src/etl/rules_sql.c) */
CREATE FUNCTION dlake._rules_tally_reset() RETURNS bigint
	AS 'MODULE_PATHNAME', 'dlake_rules_tally_reset' LANGUAGE C VOLATILE;
CREATE FUNCTION dlake._rules_tally(drop boolean, ok boolean, row_tid tid) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dlake_rules_tally' LANGUAGE C VOLATILE;
CREATE FUNCTION dlake._rules_tally_get(generation bigint, OUT seen bigint, OUT dropped bigint,
									   OUT rejected bigint, OUT tids tid[])
	AS 'MODULE_PATHNAME', 'dlake_rules_tally_get' LANGUAGE C VOLATILE STRICT;

/* ---------------------------------------------------------------- catalog */

CREATE TABLE dlake.rulesets (
	name		text PRIMARY KEY,
	rules		jsonb NOT NULL,
	compiled	jsonb NOT NULL,
	version		integer NOT NULL DEFAULT 1,
	owner		regrole NOT NULL DEFAULT current_user::regrole,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE dlake.rulesets IS 'dlake rule sets: the rules as given and their compiled SQL';

/*
 * Progress of dlake.apply_ruleset per (rule set, source): the snapshot of
 * the last run.  Rows whose inserting transaction was visible in that
 * snapshot have been processed; all others (including transactions that
 * were still running then and committed later) are processed next time.
 */
CREATE TABLE dlake.ruleset_progress (
	ruleset		text NOT NULL REFERENCES dlake.rulesets (name) ON DELETE CASCADE,
	source		oid NOT NULL,
	source_name	text NOT NULL,
	cleansed	text NOT NULL,
	quarantine	text NOT NULL,
	snapshot	pg_snapshot NOT NULL,
	runs		bigint NOT NULL DEFAULT 0,
	accepted	bigint NOT NULL DEFAULT 0,
	rejected	bigint NOT NULL DEFAULT 0,
	filtered	bigint NOT NULL DEFAULT 0,
	duplicates	bigint NOT NULL DEFAULT 0,
	last_run_at	timestamptz,
	owner		regrole NOT NULL DEFAULT current_user::regrole,
	PRIMARY KEY (ruleset, source)
);
COMMENT ON TABLE dlake.ruleset_progress IS 'dlake.apply_ruleset progress and totals per rule set and source table';

SELECT pg_catalog.pg_extension_config_dump('dlake.rulesets', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.ruleset_progress', '');

/* everyone may create rule sets; only their owner (or a member) changes them */
GRANT SELECT, INSERT, UPDATE, DELETE ON dlake.rulesets, dlake.ruleset_progress TO PUBLIC;
ALTER TABLE dlake.rulesets ENABLE ROW LEVEL SECURITY;
ALTER TABLE dlake.ruleset_progress ENABLE ROW LEVEL SECURITY;
CREATE POLICY rulesets_read ON dlake.rulesets FOR SELECT USING (true);
CREATE POLICY rulesets_owner ON dlake.rulesets FOR ALL
	USING (pg_catalog.pg_has_role(owner, 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role(owner, 'MEMBER'));
CREATE POLICY progress_read ON dlake.ruleset_progress FOR SELECT USING (true);
CREATE POLICY progress_owner ON dlake.ruleset_progress FOR ALL
	USING (pg_catalog.pg_has_role(owner, 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role(owner, 'MEMBER'));

/* ---------------------------------------------------------------- compiler */

/* raise the standard "bad rule set" error */
CREATE FUNCTION dlake._rules_error(p_ruleset text, p_where text, p_msg text,
								   p_detail text DEFAULT NULL, p_hint text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
	IF p_detail IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('invalid rule set "%s": %s: %s', p_ruleset, p_where, p_msg),
			HINT = coalesce(p_hint, 'See docs/rules.md for the rule set reference.');
	END IF;
	RAISE EXCEPTION USING
		ERRCODE = 'invalid_parameter_value',
		MESSAGE = format('invalid rule set "%s": %s: %s', p_ruleset, p_where, p_msg),
		DETAIL = p_detail,
		HINT = coalesce(p_hint, 'See docs/rules.md for the rule set reference.');
END
$$;

/* refuse keys of obj that are not in allowed, with a closest-match hint */
CREATE FUNCTION dlake._rules_check_keys(p_ruleset text, p_where text, obj jsonb, allowed text[])
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
	k text;
	best text;
BEGIN
	IF jsonb_typeof(obj) IS DISTINCT FROM 'object' THEN
		PERFORM dlake._rules_error(p_ruleset, p_where, 'must be a JSON object',
			format('Got %s.', coalesce(jsonb_typeof(obj), 'nothing')));
	END IF;
	FOR k IN SELECT jsonb_object_keys(obj) LOOP
		IF NOT k = ANY (allowed) THEN
			best := dlake._closest_match(k, allowed);
			PERFORM dlake._rules_error(p_ruleset, p_where, format('unknown key "%s"', k),
				format('Valid keys are: %s.', array_to_string(allowed, ', ')),
				CASE WHEN best IS NOT NULL THEN format('Perhaps you meant "%s".', best) END);
		END IF;
	END LOOP;
END
$$;

/* the keys of a JSON object (none for anything else) */
CREATE FUNCTION dlake._rules_keys(obj jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE AS
$$
SELECT CASE WHEN jsonb_typeof(obj) = 'object' THEN ARRAY(SELECT jsonb_object_keys(obj)) ELSE '{}'::text[] END
$$;

/* a list of field names given as a JSON string or array of strings */
CREATE FUNCTION dlake._rules_names(p_ruleset text, p_where text, v jsonb)
RETURNS text[] LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
	r text[];
BEGIN
	IF jsonb_typeof(v) = 'string' THEN
		RETURN ARRAY[v #>> '{}'];
	END IF;
	IF jsonb_typeof(v) IS DISTINCT FROM 'array'
	   OR EXISTS (SELECT 1 FROM jsonb_array_elements(v) e WHERE jsonb_typeof(e) <> 'string') THEN
		PERFORM dlake._rules_error(p_ruleset, p_where, 'must be an array of field names',
			format('Got %s.', v::text), 'Write for example ["sensor_id", "timestamp"].');
	END IF;
	SELECT array_agg(e ORDER BY o) INTO r FROM jsonb_array_elements_text(v) WITH ORDINALITY AS t(e, o);
	RETURN coalesce(r, '{}');
END
$$;

/*
 * (name, path, sql) triples from an object of named SQL expressions, a
 * string or an array of strings; path names the rule in error messages.
 */
CREATE FUNCTION dlake._rules_exprs(p_ruleset text, p_where text, v jsonb)
RETURNS TABLE (name text, path text, sql text) LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
	IF jsonb_typeof(v) = 'string' THEN
		RETURN QUERY SELECT p_where, p_where, v #>> '{}';
	ELSIF jsonb_typeof(v) = 'array' THEN
		IF EXISTS (SELECT 1 FROM jsonb_array_elements(v) el WHERE jsonb_typeof(el) <> 'string') THEN
			PERFORM dlake._rules_error(p_ruleset, p_where, 'must hold SQL expressions as strings');
		END IF;
		RETURN QUERY SELECT format('%s[%s]', p_where, o - 1), format('%s[%s]', p_where, o - 1), el
			FROM jsonb_array_elements_text(v) WITH ORDINALITY AS t(el, o);
	ELSIF jsonb_typeof(v) = 'object' THEN
		IF EXISTS (SELECT 1 FROM jsonb_each(v) el WHERE jsonb_typeof(el.value) <> 'string') THEN
			PERFORM dlake._rules_error(p_ruleset, p_where, 'must map names to SQL expressions as strings');
		END IF;
		RETURN QUERY SELECT el.key, format('%s.%s', p_where, el.key), el.value FROM jsonb_each_text(v) el ORDER BY el.key;
	ELSE
		PERFORM dlake._rules_error(p_ruleset, p_where,
			'must be a SQL expression, an array of them, or an object of named ones');
	END IF;
END
$$;

/* the empty, typed batch relation the compiler type-checks against */
CREATE FUNCTION dlake._rules_empty_batch() RETURNS text LANGUAGE sql IMMUTABLE AS
$$
SELECT 'SELECT NULL::bigint AS _dlake_source_id, NULL::jsonb AS record, NULL::bytea AS _dlake_data,'
	' NULL::text AS _dlake_shard_id, NULL::numeric AS _dlake_seq, NULL::integer AS _dlake_subseq'
	' WHERE false'
$$;

/*
 * The core query of a compiled rule set over batch_sql, a query with the
 * columns of _rules_empty_batch() (and possibly more, carried through).
 * Output: the batch columns, the typed fields, the enrich fields, and
 * _dlake_fa (jsonb[] of failures), _dlake_drop (bool), _dlake_dkey (text).
 */
CREATE FUNCTION dlake._rules_core(c jsonb, batch_sql text) RETURNS text
LANGUAGE sql IMMUTABLE AS
$$
SELECT format(
	'SELECT s2.*%s, %s AS _dlake_fa FROM ('
	'SELECT s1.*%s, %s AS _dlake_f0, coalesce(%s, false) AS _dlake_drop, %s AS _dlake_dkey FROM ('
	'SELECT b.*%s FROM (%s) b OFFSET 0) s1) s2%s',
	c->>'lookup_cols', c->>'lookup_fails',
	c->>'enrich_cols', c->>'failures', c->>'drop', c->>'dkey',
	c->>'casts', batch_sql, c->>'joins')
$$;

/* probe: the type of expression expr over the typed empty s1 relation */
CREATE FUNCTION dlake._rules_probe_type(p_ruleset text, p_where text, c jsonb, expr text)
RETURNS text LANGUAGE plpgsql VOLATILE
AS
$$
DECLARE
	t text;
BEGIN
	BEGIN
		PERFORM dlake._check_expr(expr, p_where);
	EXCEPTION WHEN syntax_error OR invalid_parameter_value THEN
		PERFORM dlake._rules_error(p_ruleset, p_where, 'not a single SQL expression',
			format('%s (expression: %s)', SQLERRM, expr),
			'Write one scalar expression over the record''s fields, such as "value > 0 AND unit = ''C''".');
	END;
	BEGIN
		EXECUTE format(E'SELECT pg_catalog.format_type(pg_catalog.pg_typeof(v.x)::oid, NULL) FROM (SELECT 1) one LEFT JOIN (SELECT (%s\n) AS x FROM (SELECT b.*%s FROM (%s) b) s1) v ON true',
					   expr, c->>'casts', dlake._rules_empty_batch())
			INTO t;
	EXCEPTION WHEN OTHERS THEN
		PERFORM dlake._rules_error(p_ruleset, p_where, 'the SQL expression does not compile',
			format('%s (expression: %s)', SQLERRM, expr),
			'Expressions see the typed fields as columns named like the fields, and the whole record as "record" (jsonb), e.g. record->>''type'' = ''heartbeat''.');
	END;
	RETURN t;
END
$$;

/*
 * Validate rules and compile them into SQL fragments (see _rules_core).
 */
CREATE FUNCTION dlake._rules_compile(p_ruleset text, rules jsonb)
RETURNS jsonb LANGUAGE plpgsql VOLATILE
AS
$$
DECLARE
	type_names constant text[] := ARRAY['timestamptz', 'date', 'numeric', 'int8', 'float8', 'bool', 'text', 'uuid', 'jsonb'];
	type_alias constant jsonb := '{"timestamp with time zone":"timestamptz","bigint":"int8","integer":"int8","int":"int8",
		"double precision":"float8","float":"float8","double":"float8","boolean":"bool","string":"text","decimal":"numeric"}';
	typ jsonb := '{}';		-- field → canonical type
	fmt jsonb := '{}';		-- field → declared format
	casts text := '';
	fconds text[] := '{}';	-- per failure: when it applies
	fobjs text[] := '{}';	-- and what it reports
	fast text[] := '{}';	-- cheap tests, one true whenever a failure applies
	nfirst int;
	lconds text[] := '{}';
	lobjs text[] := '{}';
	enrich_cols text := '';
	lookup_cols text := '';
	lookup_fails text := '';
	joins text := '';
	drop_sql text := 'NULL::boolean';
	dkey text := 'NULL::text';
	dwindow text;
	dcols jsonb := '[]';
	columns jsonb := '[]';
	enriched text[] := '{}';
	req text[];
	f text;
	t text;
	k text;
	v jsonb;
	spec jsonb;
	lit text;
	valexpr text;
	rawexpr text;
	e record;
	n int := 0;
	lk regclass;
	lk_name text;
	lk_key text;
	lk_col text;
	lk_field text;
	lk_keytype text;
	lk_coltype text;
	keyexpr text;
	c jsonb;
	drops text[] := '{}';
	keys text[];
BEGIN
	IF p_ruleset IS NULL OR p_ruleset !~ '^[A-Za-z_][A-Za-z0-9_.-]{0,62}$' THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_name',
			MESSAGE = format('invalid rule set name "%s"', p_ruleset),
			HINT = 'Use letters, digits, "_", "-" and ".", starting with a letter or "_", at most 63 characters.';
	END IF;
	PERFORM dlake._rules_check_keys(p_ruleset, 'rules', rules,
		ARRAY['description', 'required', 'types', 'checks', 'conditions', 'drop_if', 'dedupe', 'enrich']);

	/* types */
	IF rules ? 'types' THEN
		PERFORM dlake._rules_check_keys(p_ruleset, 'types', rules->'types', dlake._rules_keys(rules->'types'));
		FOR f, spec IN SELECT key, value FROM jsonb_each(rules->'types') LOOP
			IF f = 'record' OR f LIKE '\_dlake%' OR f = '' THEN
				PERFORM dlake._rules_error(p_ruleset, format('types.%s', f), 'reserved field name',
					'The names "record" and those starting with "_dlake" are used by dlake.');
			END IF;
			IF jsonb_typeof(spec) = 'object' THEN
				PERFORM dlake._rules_check_keys(p_ruleset, format('types.%s', f), spec, ARRAY['type', 'format']);
				IF jsonb_typeof(spec->'format') NOT IN ('string') AND spec ? 'format' THEN
					PERFORM dlake._rules_error(p_ruleset, format('types.%s.format', f), 'must be a string');
				END IF;
				t := spec->>'type';
				IF spec ? 'format' THEN
					fmt := fmt || jsonb_build_object(f, spec->>'format');
				END IF;
			ELSIF jsonb_typeof(spec) = 'string' THEN
				t := spec #>> '{}';
			ELSE
				t := NULL;
			END IF;
			t := coalesce(type_alias->>lower(t), lower(t));
			IF t IS NULL OR NOT t = ANY (type_names) THEN
				PERFORM dlake._rules_error(p_ruleset, format('types.%s', f),
					format('unknown type %s', coalesce(spec->>'type', spec::text)),
					format('Supported types are: %s.', array_to_string(type_names, ', ')),
					CASE WHEN dlake._closest_match(coalesce(lower(spec->>'type'), lower(spec #>> '{}'), ''), type_names) IS NOT NULL
						 THEN format('Perhaps you meant "%s".', dlake._closest_match(coalesce(lower(spec->>'type'), lower(spec #>> '{}'), ''), type_names)) END);
			END IF;
			IF fmt ? f AND t NOT IN ('timestamptz', 'date') THEN
				PERFORM dlake._rules_error(p_ruleset, format('types.%s.format', f),
					'a format applies only to timestamptz and date fields');
			END IF;
			IF fmt ? f THEN
				BEGIN
					PERFORM to_timestamp('2000-01-01', fmt->>f);
				EXCEPTION WHEN OTHERS THEN
					IF SQLSTATE NOT IN ('22007', '22008', '22P02') THEN
						PERFORM dlake._rules_error(p_ruleset, format('types.%s.format', f),
							'invalid format template', SQLERRM,
							'Use to_timestamp() template patterns, e.g. "DD/MM/YYYY HH24:MI:SS".');
					END IF;
				END;
			END IF;
			typ := typ || jsonb_build_object(f, t);
			casts := casts || ', ' || CASE t
				WHEN 'text' THEN format('b.record->>%L', f)
				WHEN 'jsonb' THEN format('NULLIF(b.record->%L, ''null''::jsonb)', f)
				WHEN 'timestamptz' THEN
					CASE WHEN fmt ? f THEN format('dlake._field_timestamptz(b.record, %L, %L)', f, fmt->>f)
						 ELSE format('dlake._field_timestamptz(b.record, %L)', f) END
				WHEN 'date' THEN
					CASE WHEN fmt ? f THEN format('dlake._field_date(b.record, %L, %L)', f, fmt->>f)
						 ELSE format('dlake._field_date(b.record, %L)', f) END
				ELSE format('dlake._field_%s(b.record, %L)', t, f) END
				|| format(' AS %I', f);
			columns := columns || jsonb_build_array(jsonb_build_object('name', f,
				'type', CASE t WHEN 'int8' THEN 'bigint' WHEN 'float8' THEN 'double precision'
					WHEN 'bool' THEN 'boolean' ELSE t END));
		END LOOP;
	END IF;

	/* required */
	IF rules ? 'required' THEN
		req := dlake._rules_names(p_ruleset, 'required', rules->'required');
		FOREACH f IN ARRAY req LOOP
			fconds := fconds || format('coalesce(jsonb_typeof(s1.record->%L), ''null'') = ''null''', f);
			/*
			 * A typed field's safe cast is NULL when the field is missing,
			 * JSON null or not convertible: one IS NULL test covers both the
			 * required and the type failure without re-reading the record.
			 */
			fast := fast || CASE WHEN typ ? f THEN format('s1.%I IS NULL', f) ELSE fconds[cardinality(fconds)] END;
			fobjs := fobjs || format('CASE WHEN s1.record ? %L THEN %L::jsonb ELSE %L::jsonb END',
				f, jsonb_build_object('rule', 'required', 'field', f, 'reason', 'null'),
				jsonb_build_object('rule', 'required', 'field', f, 'reason', 'missing'));
		END LOOP;
	END IF;

	/* type failures */
	FOR f, t IN SELECT key, value FROM jsonb_each_text(typ) LOOP
		IF t NOT IN ('text', 'jsonb') THEN
			fconds := fconds || format('s1.%I IS NULL AND jsonb_typeof(s1.record->%L) <> ''null''', f, f);
			IF NOT f = ANY (coalesce(req, '{}')) THEN
				fast := fast || fconds[cardinality(fconds)];
			END IF;
			fobjs := fobjs || format('jsonb_build_object(''rule'', ''types'', ''field'', %L, ''reason'', %L, ''value'', s1.record->%L)',
				f, CASE WHEN fmt ? f THEN format('not a valid %s in format %s', t, fmt->>f) ELSE format('not a valid %s', t) END, f);
		END IF;
	END LOOP;
	/* the failures added from here on are their own cheap test */
	nfirst := cardinality(fconds);

	/* checks */
	IF rules ? 'checks' THEN
		PERFORM dlake._rules_check_keys(p_ruleset, 'checks', rules->'checks', dlake._rules_keys(rules->'checks'));
		FOR f, spec IN SELECT key, value FROM jsonb_each(rules->'checks') LOOP
			PERFORM dlake._rules_check_keys(p_ruleset, format('checks.%s', f), spec,
				ARRAY['min', 'max', 'pattern', 'enum', 'max_length', 'min_length']);
			t := typ->>f;
			/* a text-typed field already holds record->>f */
			rawexpr := CASE WHEN t = 'text' THEN format('s1.%I', f) ELSE format('(s1.record->>%L)', f) END;
			FOR k, v IN SELECT key, value FROM jsonb_each(spec) LOOP
				IF k IN ('min', 'max') THEN
					IF t IN ('text', 'bool', 'uuid', 'jsonb') THEN
						PERFORM dlake._rules_error(p_ruleset, format('checks.%s.%s', f, k),
							format('min and max do not apply to a %s field', t),
							'They compare numbers, dates and timestamps.');
					END IF;
					IF jsonb_typeof(v) NOT IN ('number', 'string') THEN
						PERFORM dlake._rules_error(p_ruleset, format('checks.%s.%s', f, k), 'must be a number or a string',
							format('Got %s.', v::text));
					END IF;
					IF t IS NULL THEN
						valexpr := format('dlake._field_numeric(s1.record, %L)', f);
						lit := format('%L::numeric', v #>> '{}');
						/* an untyped field compared with min/max must be a number */
						IF k = 'min' OR NOT spec ? 'min' THEN
							fconds := fconds || format('%s IS NULL AND jsonb_typeof(s1.record->%L) <> ''null''', valexpr, f);
							fobjs := fobjs || format('jsonb_build_object(''rule'', ''checks'', ''field'', %L, ''reason'', ''not a number'', ''value'', s1.record->%L)',
								f, f);
						END IF;
					ELSE
						valexpr := format('s1.%I', f);
						lit := format('%L::%s', v #>> '{}', t);
					END IF;
					BEGIN
						EXECUTE 'SELECT ' || lit;
					EXCEPTION WHEN OTHERS THEN
						PERFORM dlake._rules_error(p_ruleset, format('checks.%s.%s', f, k),
							format('%s is not a valid %s', v::text, coalesce(t, 'numeric')), SQLERRM);
					END;
					fconds := fconds || format('%s %s %s', valexpr, CASE k WHEN 'min' THEN '<' ELSE '>' END, lit);
					fobjs := fobjs || format('jsonb_build_object(''rule'', ''checks'', ''field'', %L, ''reason'', %L, ''value'', s1.record->%L)',
						f,
						format('%s %s', CASE k WHEN 'min' THEN 'below minimum' ELSE 'above maximum' END, v #>> '{}'), f);
				ELSIF k = 'pattern' THEN
					IF jsonb_typeof(v) <> 'string' THEN
						PERFORM dlake._rules_error(p_ruleset, format('checks.%s.pattern', f), 'must be a string');
					END IF;
					BEGIN
						PERFORM '' ~ (v #>> '{}');
					EXCEPTION WHEN OTHERS THEN
						PERFORM dlake._rules_error(p_ruleset, format('checks.%s.pattern', f),
							'invalid regular expression', SQLERRM,
							'Patterns are PostgreSQL POSIX regular expressions, e.g. "^s-[0-9]+$".');
					END;
					fconds := fconds || format('%s !~ %L', rawexpr, v #>> '{}');
					fobjs := fobjs || format('jsonb_build_object(''rule'', ''checks'', ''field'', %L, ''reason'', %L, ''value'', s1.record->%L)',
						f, format('does not match pattern %s', v #>> '{}'), f);
				ELSIF k = 'enum' THEN
					IF jsonb_typeof(v) <> 'array' OR jsonb_array_length(v) = 0
					   OR EXISTS (SELECT 1 FROM jsonb_array_elements(v) el WHERE jsonb_typeof(el) NOT IN ('string', 'number', 'boolean')) THEN
						PERFORM dlake._rules_error(p_ruleset, format('checks.%s.enum', f),
							'must be a non-empty array of strings, numbers or booleans', format('Got %s.', v::text));
					END IF;
					IF t IS NULL OR t IN ('text', 'jsonb') THEN
						valexpr := rawexpr;
						lit := format('ARRAY[%s]::text[]', (SELECT string_agg(format('%L', el), ', ') FROM jsonb_array_elements_text(v) el));
					ELSE
						valexpr := format('s1.%I', f);
						lit := format('ARRAY[%s]::%s[]', (SELECT string_agg(format('%L', el), ', ') FROM jsonb_array_elements_text(v) el), t);
						BEGIN
							EXECUTE 'SELECT ' || lit;
						EXCEPTION WHEN OTHERS THEN
							PERFORM dlake._rules_error(p_ruleset, format('checks.%s.enum', f),
								format('the values are not all valid %s', t), SQLERRM);
						END;
					END IF;
					fconds := fconds || format('NOT (%s = ANY (%s))', valexpr, lit);
					fobjs := fobjs || format('jsonb_build_object(''rule'', ''checks'', ''field'', %L, ''reason'', %L, ''value'', s1.record->%L)',
						f, format('not one of %s', (SELECT string_agg(el, ', ') FROM jsonb_array_elements_text(v) el)), f);
				ELSE
					IF jsonb_typeof(v) <> 'number' OR (v #>> '{}')::numeric < 0 OR (v #>> '{}')::numeric <> trunc((v #>> '{}')::numeric) THEN
						PERFORM dlake._rules_error(p_ruleset, format('checks.%s.%s', f, k),
							'must be a non-negative integer', format('Got %s.', v::text));
					END IF;
					fconds := fconds || format('char_length(%s) %s %s', rawexpr, CASE k WHEN 'max_length' THEN '>' ELSE '<' END, v #>> '{}');
					fobjs := fobjs || format('jsonb_build_object(''rule'', ''checks'', ''field'', %L, ''reason'', %L, ''value'', s1.record->%L)',
						f,
						format('%s %s characters', CASE k WHEN 'max_length' THEN 'longer than' ELSE 'shorter than' END, v #>> '{}'), f);
				END IF;
			END LOOP;
		END LOOP;
	END IF;

	/* the probes below need the casts */
	c := jsonb_build_object('casts', casts);

	/* conditions */
	IF rules ? 'conditions' THEN
		FOR e IN SELECT * FROM dlake._rules_exprs(p_ruleset, 'conditions', rules->'conditions') LOOP
			t := dlake._rules_probe_type(p_ruleset, e.path, c, e.sql);
			IF t <> 'boolean' THEN
				PERFORM dlake._rules_error(p_ruleset, e.path,
					format('a condition must be boolean, not %s', t), format('The expression was: %s', e.sql));
			END IF;
			fconds := fconds || format(E'NOT (%s\n)', e.sql);
			fobjs := fobjs || format('%L::jsonb', jsonb_build_object('rule', 'condition', 'name', e.name, 'field', NULL, 'reason', format('condition %s is false', e.name)));
		END LOOP;
	END IF;

	/* drop_if */
	IF rules ? 'drop_if' THEN
		FOR e IN SELECT * FROM dlake._rules_exprs(p_ruleset, 'drop_if', rules->'drop_if') LOOP
			t := dlake._rules_probe_type(p_ruleset, e.path, c, e.sql);
			IF t <> 'boolean' THEN
				PERFORM dlake._rules_error(p_ruleset, e.path,
					format('a drop_if condition must be boolean, not %s', t), format('The expression was: %s', e.sql));
			END IF;
			drops := drops || format(E'(%s\n)', e.sql);
		END LOOP;
		IF cardinality(drops) > 0 THEN
			drop_sql := '(' || array_to_string(drops, ' OR ') || ')';
		END IF;
	END IF;

	/* dedupe */
	IF rules ? 'dedupe' THEN
		IF jsonb_typeof(rules->'dedupe') = 'object' THEN
			PERFORM dlake._rules_check_keys(p_ruleset, 'dedupe', rules->'dedupe', ARRAY['keys', 'window']);
			keys := dlake._rules_names(p_ruleset, 'dedupe.keys', rules->'dedupe'->'keys');
			IF rules->'dedupe' ? 'window' THEN
				dwindow := rules->'dedupe'->>'window';
				BEGIN
					PERFORM dwindow::interval;
				EXCEPTION WHEN OTHERS THEN
					PERFORM dlake._rules_error(p_ruleset, 'dedupe.window', 'not an interval', SQLERRM,
						'Write for example "10 minutes" or "1 day".');
				END;
			END IF;
		ELSE
			keys := dlake._rules_names(p_ruleset, 'dedupe', rules->'dedupe');
		END IF;
		IF cardinality(keys) = 0 THEN
			PERFORM dlake._rules_error(p_ruleset, 'dedupe', 'needs at least one key field');
		END IF;
		/* typed key fields: the typed columns are the key (unique index on them) */
		IF NOT EXISTS (SELECT 1 FROM unnest(keys) kf WHERE NOT typ ? kf OR typ->>kf = 'jsonb') THEN
			dcols := to_jsonb(keys);
		ELSE
			dcols := '["_dlake_dedupe_key"]';
		END IF;
		SELECT format('jsonb_build_array(%s)::text',
			string_agg(CASE WHEN typ ? kf AND typ->>kf NOT IN ('text', 'jsonb') THEN format('to_jsonb(s1.%I)', kf)
							ELSE format('s1.record->%L', kf) END, ', '))
		  INTO dkey FROM unnest(keys) kf;
		/* a record missing a key field is never a duplicate */
		dkey := format('CASE WHEN %s THEN %s END',
			(SELECT string_agg(format('jsonb_typeof(s1.record->%L) <> ''null''', kf), ' AND ') FROM unnest(keys) kf), dkey);
		IF dcols <> '["_dlake_dedupe_key"]' THEN
			dkey := 'NULL::text';
		END IF;
	END IF;

	/* enrich */
	IF rules ? 'enrich' THEN
		PERFORM dlake._rules_check_keys(p_ruleset, 'enrich', rules->'enrich', dlake._rules_keys(rules->'enrich'));
		FOR f, spec IN SELECT key, value FROM jsonb_each(rules->'enrich') LOOP
			IF f = 'record' OR f LIKE '\_dlake%' OR f = '' OR typ ? f THEN
				PERFORM dlake._rules_error(p_ruleset, format('enrich.%s', f), 'field name already used',
					'Enrich fields must differ from the typed fields, from "record" and from names starting with "_dlake".');
			END IF;
			n := n + 1;
			IF jsonb_typeof(spec) = 'string' THEN
				t := dlake._rules_probe_type(p_ruleset, format('enrich.%s', f), c, spec #>> '{}');
				IF t = 'unknown' THEN
					t := 'text';
					enrich_cols := enrich_cols || format(E', (%s\n)::text AS %I', spec #>> '{}', f);
				ELSE
					enrich_cols := enrich_cols || format(E', (%s\n) AS %I', spec #>> '{}', f);
				END IF;
				columns := columns || jsonb_build_array(jsonb_build_object('name', f, 'type', t));
			ELSIF jsonb_typeof(spec) = 'object' THEN
				PERFORM dlake._rules_check_keys(p_ruleset, format('enrich.%s', f), spec,
					ARRAY['lookup', 'key', 'column', 'field', 'on_missing']);
				IF NOT (spec ? 'lookup' AND spec ? 'key' AND spec ? 'column') THEN
					PERFORM dlake._rules_error(p_ruleset, format('enrich.%s', f),
						'a lookup needs "lookup", "key" and "column"',
						NULL, 'Write for example {"lookup": "public.sensors", "key": "sensor_id", "column": "site", "on_missing": "null"}.');
				END IF;
				lk := to_regclass(spec->>'lookup');
				IF lk IS NULL THEN
					PERFORM dlake._rules_error(p_ruleset, format('enrich.%s.lookup', f),
						format('relation "%s" does not exist', spec->>'lookup'), NULL,
						'Create the lookup table first, or fix its (schema-qualified) name.');
				END IF;
				lk_key := spec->>'key';
				lk_col := spec->>'column';
				lk_name := (SELECT format('%I.%I', n.nspname, r.relname) FROM pg_catalog.pg_class r
							JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace WHERE r.oid = lk);
				lk_field := coalesce(spec->>'field', lk_key);
				SELECT format_type(atttypid, NULL) INTO lk_keytype FROM pg_attribute
					WHERE attrelid = lk AND attname = lk_key AND attnum > 0 AND NOT attisdropped;
				IF lk_keytype IS NULL THEN
					PERFORM dlake._rules_error(p_ruleset, format('enrich.%s.key', f),
						format('column "%s" does not exist in %s', lk_key, lk::text), NULL,
						CASE WHEN dlake._closest_match(lk_key, ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = lk AND attnum > 0 AND NOT attisdropped)) IS NOT NULL
							 THEN format('Perhaps you meant "%s".', dlake._closest_match(lk_key, ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = lk AND attnum > 0 AND NOT attisdropped))) END);
				END IF;
				SELECT format_type(atttypid, NULL) INTO lk_coltype FROM pg_attribute
					WHERE attrelid = lk AND attname = lk_col AND attnum > 0 AND NOT attisdropped;
				IF lk_coltype IS NULL THEN
					PERFORM dlake._rules_error(p_ruleset, format('enrich.%s.column', f),
						format('column "%s" does not exist in %s', lk_col, lk::text), NULL,
						CASE WHEN dlake._closest_match(lk_col, ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = lk AND attnum > 0 AND NOT attisdropped)) IS NOT NULL
							 THEN format('Perhaps you meant "%s".', dlake._closest_match(lk_col, ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = lk AND attnum > 0 AND NOT attisdropped))) END);
				END IF;
				IF coalesce(spec->>'on_missing', 'null') NOT IN ('null', 'reject') THEN
					PERFORM dlake._rules_error(p_ruleset, format('enrich.%s.on_missing', f),
						format('unknown value "%s"', spec->>'on_missing'), NULL, 'Use "null" or "reject".');
				END IF;
				/* the record's key value, converted safely to the lookup key's type */
				IF typ ? lk_field THEN
					keyexpr := format('s2.%I', lk_field);
				ELSIF lk_keytype IN ('text', 'character varying', 'character', 'name') THEN
					keyexpr := format('(s2.record->>%L)', lk_field);
				ELSIF lk_keytype IN ('bigint', 'integer', 'smallint') THEN
					keyexpr := format('dlake._field_int8(s2.record, %L)', lk_field);
				ELSIF lk_keytype = 'numeric' THEN
					keyexpr := format('dlake._field_numeric(s2.record, %L)', lk_field);
				ELSIF lk_keytype = 'uuid' THEN
					keyexpr := format('dlake._field_uuid(s2.record, %L)', lk_field);
				ELSE
					keyexpr := format('(s2.record->>%L)', lk_field);
					lk_key := NULL;	-- compare as text below
				END IF;
				/* a unique key joins directly; otherwise one row per key value */
				IF lk_key IS NOT NULL AND EXISTS (
						SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
						 WHERE i.indrelid = lk AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL
						   AND a.attname = spec->>'key') THEN
					joins := joins || format(' LEFT JOIN %s lk%s ON lk%s.%I = %s', lk_name, n, n, lk_key, keyexpr);
				ELSIF lk_key IS NOT NULL THEN
					joins := joins || format(' LEFT JOIN (SELECT DISTINCT ON (%I) %I, %I FROM %s ORDER BY %I) lk%s ON lk%s.%I = %s',
						lk_key, lk_key, lk_col, lk_name, lk_key, n, n, lk_key, keyexpr);
				ELSE
					joins := joins || format(' LEFT JOIN (SELECT DISTINCT ON (%I::text) %I::text AS %I, %I FROM %s ORDER BY %I::text) lk%s ON lk%s.%I = %s',
						spec->>'key', spec->>'key', spec->>'key', lk_col, lk_name, spec->>'key', n, n, spec->>'key', keyexpr);
					lk_key := spec->>'key';
				END IF;
				lookup_cols := lookup_cols || format(', lk%s.%I AS %I', n, lk_col, f);
				IF spec->>'on_missing' = 'reject' THEN
					lconds := lconds || format('%s IS NOT NULL AND lk%s.%I IS NULL', keyexpr, n, lk_key);
					lobjs := lobjs || format('jsonb_build_object(''rule'', ''lookup'', ''field'', %L, ''reason'', %L, ''value'', s2.record->%L)',
						f, format('no %s in %s for %s', lk_col, lk_name, lk_field), lk_field);
				END IF;
				columns := columns || jsonb_build_array(jsonb_build_object('name', f, 'type', lk_coltype));
			ELSE
				PERFORM dlake._rules_error(p_ruleset, format('enrich.%s', f),
					'must be a SQL expression (string) or a lookup (object)', format('Got %s.', spec::text));
			END IF;
			enriched := enriched || f;
		END LOOP;
	END IF;

	/*
	 * Failures: a cheap test first (any failure condition true?), and the
	 * failure objects are only built for the rows that fail.
	 */
	IF cardinality(lconds) > 0 THEN
		lookup_fails := format('CASE WHEN coalesce(%s, false) THEN array_remove(s2._dlake_f0 || ARRAY[%s]::jsonb[], NULL) ELSE s2._dlake_f0 END',
			(SELECT string_agg(format('(%s)', x), ' OR ') FROM unnest(lconds) x),
			(SELECT string_agg(format('CASE WHEN %s THEN %s END', x, y), ', ') FROM unnest(lconds, lobjs) u(x, y)));
	ELSE
		lookup_fails := 's2._dlake_f0';
	END IF;

	c := jsonb_build_object(
		'casts', casts,
		'failures', format(E'CASE WHEN s1.record IS NULL THEN ARRAY[%L::jsonb] WHEN jsonb_typeof(s1.record) <> ''object'' THEN ARRAY[%L::jsonb] WHEN coalesce(%s, false) THEN array_remove(ARRAY[%s]::jsonb[], NULL) ELSE ''{}''::jsonb[] END',
			'{"rule": "json", "field": null, "reason": "invalid JSON"}',
			'{"rule": "json", "field": null, "reason": "record is not a JSON object"}',
			coalesce((SELECT string_agg(format(E'(%s\n)', x), ' OR ') FROM unnest(fast || fconds[nfirst + 1:]) x), 'false'),
			coalesce((SELECT string_agg(format(E'CASE WHEN %s\nTHEN %s END', x, y), ', ') FROM unnest(fconds, fobjs) u(x, y)), '')),
		'enrich_cols', enrich_cols,
		'drop', drop_sql,
		'dkey', dkey,
		'window', dwindow,
		'dedupe', jsonb_array_length(dcols) > 0,
		'dedupe_cols', dcols,
		'joins', joins,
		'lookup_cols', lookup_cols,
		'lookup_fails', lookup_fails,
		'columns', columns,
		/* user SQL (conditions, enrich, drop_if) runs with the creator's search_path */
		'search_path', current_setting('search_path'),
		/* the record as written to cleansed: typed values normalised, enrich fields added */
		'record_expr', format('(c.record || jsonb_strip_nulls(jsonb_build_object(%s)) || jsonb_build_object(%s))',
			coalesce((SELECT string_agg(format('%L, to_jsonb(c.%I)', key, key), ', ') FROM jsonb_each_text(typ) WHERE value NOT IN ('text', 'jsonb')), ''),
			coalesce((SELECT string_agg(format('%L, to_jsonb(c.%I)', x, x), ', ') FROM unnest(enriched) x), '')));

	/* the whole core must plan over an empty batch */
	BEGIN
		EXECUTE format('SELECT * FROM (%s) c LIMIT 0', dlake._rules_core(c, dlake._rules_empty_batch()));
	EXCEPTION WHEN OTHERS THEN
		PERFORM dlake._rules_error(p_ruleset, 'rules', 'the compiled rule set does not plan', SQLERRM);
	END;
	RETURN c;
END
$$;

/* ---------------------------------------------------------------- rule set DDL */

CREATE FUNCTION dlake.create_ruleset(name text, rules jsonb)
RETURNS void LANGUAGE plpgsql VOLATILE STRICT
AS
$$
BEGIN
	IF EXISTS (SELECT 1 FROM dlake.rulesets r WHERE r.name = create_ruleset.name) THEN
		RAISE EXCEPTION USING ERRCODE = 'duplicate_object',
			MESSAGE = format('rule set "%s" already exists', create_ruleset.name),
			HINT = 'Use dlake.alter_ruleset() to change it.';
	END IF;
	INSERT INTO dlake.rulesets (name, rules, compiled)
		VALUES (create_ruleset.name, create_ruleset.rules, dlake._rules_compile(create_ruleset.name, create_ruleset.rules));
END
$$;
COMMENT ON FUNCTION dlake.create_ruleset(text, jsonb) IS 'validate, compile and store a rule set';

CREATE FUNCTION dlake.alter_ruleset(name text, rules jsonb)
RETURNS void LANGUAGE plpgsql VOLATILE STRICT
AS
$$
DECLARE
	c jsonb := dlake._rules_compile(alter_ruleset.name, alter_ruleset.rules);
BEGIN
	UPDATE dlake.rulesets r SET rules = alter_ruleset.rules, compiled = c,
		version = r.version + 1, updated_at = now()
	 WHERE r.name = alter_ruleset.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_object',
			MESSAGE = format('rule set "%s" does not exist', alter_ruleset.name),
			HINT = 'Create it with dlake.create_ruleset(), or check that you own it.';
	END IF;
END
$$;
COMMENT ON FUNCTION dlake.alter_ruleset(text, jsonb) IS 'replace the rules of a rule set; takes effect for the next batch';

CREATE FUNCTION dlake.drop_ruleset(name text, if_exists boolean DEFAULT false)
RETURNS void LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
	DELETE FROM dlake.rulesets r WHERE r.name = drop_ruleset.name;
	IF NOT FOUND AND NOT if_exists THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_object',
			MESSAGE = format('rule set "%s" does not exist', drop_ruleset.name),
			HINT = 'Check the name in dlake.rulesets, or that you own the rule set.';
	END IF;
END
$$;
COMMENT ON FUNCTION dlake.drop_ruleset(text, boolean) IS 'drop a rule set (cleansed and quarantine tables are kept)';

/* the compiled rule set, or a clean error */
CREATE FUNCTION dlake._rules_get(p_ruleset text, OUT compiled jsonb, OUT version integer)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
	SELECT r.compiled, r.version INTO compiled, version FROM dlake.rulesets r WHERE r.name = p_ruleset;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_object',
			MESSAGE = format('rule set "%s" does not exist', p_ruleset),
			HINT = 'Create it with dlake.create_ruleset(); see dlake.rulesets for the existing ones.';
	END IF;
END
$$;

/* ---------------------------------------------------------------- ad hoc */

/*
 * Run expr over the compiled core on a one-row batch holding record: the
 * same SQL as a batch, so ad-hoc answers match what apply_ruleset does.
 */
CREATE FUNCTION dlake._rules_one(p_ruleset text, record jsonb, expr text)
RETURNS jsonb LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
	c jsonb := (dlake._rules_get(p_ruleset)).compiled;
	r jsonb;
	msg text;
	st text;
BEGIN
	PERFORM set_config('search_path', coalesce(c->>'search_path', 'pg_catalog'), true);
	BEGIN
		EXECUTE format('SELECT %s FROM (%s) c', coalesce(expr, c->>'record_expr'),
			dlake._rules_core(c, 'SELECT NULL::bigint AS _dlake_source_id, $1 AS record, NULL::bytea AS _dlake_data,'
								 ' NULL::text AS _dlake_shard_id, NULL::numeric AS _dlake_seq, NULL::integer AS _dlake_subseq'))
			INTO r USING record;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, st = RETURNED_SQLSTATE;
		RAISE EXCEPTION USING ERRCODE = st,
			MESSAGE = format('rule set "%s" cannot be applied', p_ruleset),
			DETAIL = msg,
			HINT = 'Fix the rule set with dlake.alter_ruleset() or restore the objects it uses (lookup tables).';
	END;
	RETURN r;
END
$$;

CREATE FUNCTION dlake.validate(record jsonb, ruleset text)
RETURNS jsonb LANGUAGE sql VOLATILE AS
$$ SELECT dlake._rules_one(ruleset, record, 'to_jsonb(c._dlake_fa)') $$;
COMMENT ON FUNCTION dlake.validate(jsonb, text) IS 'failures of one record against a rule set (empty array when valid)';

CREATE FUNCTION dlake.enrich(record jsonb, ruleset text)
RETURNS jsonb LANGUAGE sql VOLATILE AS
$$ SELECT CASE WHEN record IS NOT NULL THEN dlake._rules_one(ruleset, record, NULL) END $$;
COMMENT ON FUNCTION dlake.enrich(jsonb, text) IS 'one record with typed fields normalised and enrich fields added, as written to cleansed';

/* ---------------------------------------------------------------- apply */

/* the batch columns read from any source table, as a select list over alias s */
CREATE FUNCTION dlake._rules_source_cols(source regclass, record_column name DEFAULT NULL)
RETURNS text LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
	cols jsonb;
	rec text;
	col text;
BEGIN
	SELECT jsonb_object_agg(attname, format_type(atttypid, NULL)) INTO cols
	  FROM pg_attribute WHERE attrelid = source AND attnum > 0 AND NOT attisdropped;
	col := coalesce(record_column::text,
		CASE WHEN cols->>'payload' IN ('jsonb', 'json') THEN 'payload'
			 WHEN cols->>'record' IN ('jsonb', 'json') THEN 'record' END);
	IF col IS NULL THEN
		rec := 'to_jsonb(s)';
	ELSIF NOT cols ? col THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_column',
			MESSAGE = format('column "%s" of relation %s does not exist', col, source),
			HINT = 'record_column names the jsonb column holding the records.';
	ELSIF cols->>col = 'jsonb' THEN
		rec := format('s.%I', col);
	ELSIF cols->>col = 'json' THEN
		rec := format('s.%I::jsonb', col);
	ELSE
		RAISE EXCEPTION USING ERRCODE = 'datatype_mismatch',
			MESSAGE = format('column "%s" of relation %s is %s, not jsonb', col, source, cols->>col),
			HINT = 'Cast it in a view, or omit record_column to use the whole row.';
	END IF;
	RETURN format('%s AS _dlake_source_id, %s AS record, %s AS _dlake_data, %s AS _dlake_shard_id, %s AS _dlake_seq, %s AS _dlake_subseq',
		CASE WHEN cols->>'id' IN ('bigint', 'integer', 'smallint') THEN 's.id::bigint' ELSE 'NULL::bigint' END,
		rec,
		CASE WHEN cols->>'data' = 'bytea' THEN 's.data' ELSE 'NULL::bytea' END,
		CASE WHEN cols ? 'shard_id' THEN 's.shard_id::text' ELSE 'NULL::text' END,
		CASE WHEN cols->>'sequence_number' IN ('numeric', 'bigint', 'text') THEN 's.sequence_number::numeric' ELSE 'NULL::numeric' END,
		CASE WHEN cols->>'sub_sequence_number' IN ('integer', 'bigint', 'smallint') THEN 's.sub_sequence_number::integer' ELSE 'NULL::integer' END);
END
$$;

/*
 * Resolve (and create when missing) the cleansed and quarantine tables of
 * a source; add columns that a changed rule set needs.
 */
CREATE FUNCTION dlake._rules_tables(c jsonb, source regclass, p_cleansed text, p_quarantine text,
									OUT cleansed regclass, OUT quarantine regclass)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
	relname text := (SELECT r.relname FROM pg_class r WHERE r.oid = source);
	col jsonb;
BEGIN
	IF p_cleansed IS NULL THEN
		p_cleansed := format('dlake_cleansed.%I', relname);
		IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'dlake_cleansed') THEN
			CREATE SCHEMA IF NOT EXISTS dlake_cleansed;
		END IF;
	END IF;
	IF p_quarantine IS NULL THEN
		p_quarantine := format('dlake_quarantine.%I', relname);
		IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'dlake_quarantine') THEN
			CREATE SCHEMA IF NOT EXISTS dlake_quarantine;
		END IF;
	END IF;

	cleansed := to_regclass(p_cleansed);
	IF cleansed IS NULL THEN
		EXECUTE format('CREATE TABLE %s (%s record jsonb NOT NULL, _dlake_dedupe_key text,'
					   ' _dlake_source_id bigint, _dlake_loaded_at timestamptz NOT NULL DEFAULT now())',
			p_cleansed,
			coalesce((SELECT string_agg(format('%I %s, ', x->>'name', x->>'type'), '') FROM jsonb_array_elements(c->'columns') x), ''));
		cleansed := to_regclass(p_cleansed);
	ELSE
		/* a changed rule set may add fields */
		FOR col IN SELECT x FROM jsonb_array_elements(c->'columns') x
			WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = cleansed AND a.attname = x->>'name' AND NOT a.attisdropped)
		LOOP
			EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s', cleansed, col->>'name', col->>'type');
		END LOOP;
		IF NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = cleansed AND a.attname = '_dlake_dedupe_key' AND NOT a.attisdropped) THEN
			EXECUTE format('ALTER TABLE %s ADD COLUMN _dlake_dedupe_key text, ADD COLUMN _dlake_source_id bigint,'
						   ' ADD COLUMN _dlake_loaded_at timestamptz NOT NULL DEFAULT now()', cleansed);
		END IF;
	END IF;
	/*
	 * The dedupe key: a unique index (or, with a window, a plain one on the
	 * key and _dlake_loaded_at).  Any existing unique index on the same set
	 * of columns serves (ON CONFLICT and uniqueness ignore column order).
	 */
	IF (c->>'dedupe')::boolean AND NOT EXISTS (
			SELECT 1 FROM pg_index i
			 WHERE i.indrelid = cleansed AND i.indisunique = (c->>'window' IS NULL) AND i.indpred IS NULL
			   AND CASE WHEN c->>'window' IS NULL THEN
						(SELECT array_agg(a.attname::text ORDER BY a.attname::text) FROM unnest(i.indkey) k(n)
						   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n)
						= ARRAY(SELECT x FROM jsonb_array_elements_text(c->'dedupe_cols') x ORDER BY x)
					ELSE
						(SELECT array_agg(a.attname::text ORDER BY k.o) FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
						   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n)
						= ARRAY(SELECT jsonb_array_elements_text(c->'dedupe_cols')) || '{_dlake_loaded_at}'::text[]
					END) THEN
		IF c->>'window' IS NULL THEN
			/*
			 * Maintaining this index is most of the cost of dedupe, so it is
			 * built for cheap inserts: numeric and time key parts first
			 * (sequence numbers and event times mostly grow, so new entries
			 * land at the right edge of the tree instead of at one place per
			 * device), and text parts compared bytewise ("C"; equality is the
			 * same under any deterministic collation).  The window variant
			 * keeps the key order and collation: its NOT EXISTS probe
			 * compares in the column's collation and must use the index.
			 */
			EXECUTE format('CREATE UNIQUE INDEX ON %s (%s)', cleansed,
				(SELECT string_agg(format('%I', x)
						|| CASE WHEN co.collisdeterministic AND a.atttypid IN ('text'::regtype, 'varchar'::regtype)
								THEN ' COLLATE "C"' ELSE '' END, ', '
						ORDER BY CASE WHEN a.atttypid IN ('int8'::regtype, 'int4'::regtype, 'int2'::regtype, 'numeric'::regtype,
														  'float8'::regtype, 'timestamptz'::regtype, 'timestamp'::regtype,
														  'date'::regtype) THEN 0 ELSE 1 END, o)
				   FROM jsonb_array_elements_text(c->'dedupe_cols') WITH ORDINALITY d(x, o)
				   JOIN pg_attribute a ON a.attrelid = cleansed AND a.attname = d.x AND NOT a.attisdropped
				   LEFT JOIN pg_collation co ON co.oid = a.attcollation));
		ELSE
			EXECUTE format('CREATE INDEX ON %s (%s, _dlake_loaded_at)', cleansed,
				(SELECT string_agg(format('%I', x), ', ') FROM jsonb_array_elements_text(c->'dedupe_cols') x));
		END IF;
	END IF;

	quarantine := to_regclass(p_quarantine);
	IF quarantine IS NULL THEN
		EXECUTE format('CREATE TABLE %s (_dlake_id bigserial PRIMARY KEY,'
					   ' quarantined_at timestamptz NOT NULL DEFAULT now(), ruleset text NOT NULL,'
					   ' ruleset_version integer NOT NULL, source text NOT NULL, source_id bigint,'
					   ' shard_id text, sequence_number numeric, sub_sequence_number integer,'
					   ' record jsonb, data bytea, failures jsonb NOT NULL)', p_quarantine);
		quarantine := to_regclass(p_quarantine);
	END IF;
END
$$;

/*
 * The dedupe part of an INSERT ... SELECT ... FROM c: an ON CONFLICT clause
 * (unique key) or, with a window, a NOT EXISTS over recent cleansed rows.
 */
CREATE FUNCTION dlake._rules_dedupe_sql(c jsonb, cleansed regclass) RETURNS text
LANGUAGE sql STABLE AS
$$
SELECT CASE
	WHEN NOT (c->>'dedupe')::boolean THEN ''
	WHEN c->>'window' IS NULL THEN
		format(' ON CONFLICT (%s) DO NOTHING',
			(SELECT string_agg(format('%I', x), ', ') FROM jsonb_array_elements_text(c->'dedupe_cols') x))
	ELSE
		format(' AND NOT EXISTS (SELECT 1 FROM %s x WHERE %s AND x._dlake_loaded_at > now() - %L::interval)',
			cleansed,
			(SELECT string_agg(format('x.%I = c.%I', x, CASE x WHEN '_dlake_dedupe_key' THEN '_dlake_dkey' ELSE x END), ' AND ')
			   FROM jsonb_array_elements_text(c->'dedupe_cols') x),
			c->>'window')
	END
$$;

/* the key columns of c (for PARTITION BY), and "some key part is NULL" */
CREATE FUNCTION dlake._rules_dedupe_keys(c jsonb, OUT keys text, OUT anynull text)
LANGUAGE sql IMMUTABLE AS
$$
SELECT string_agg(format('c.%I', CASE x WHEN '_dlake_dedupe_key' THEN '_dlake_dkey' ELSE x END), ', '),
	   string_agg(format('c.%I IS NULL', CASE x WHEN '_dlake_dedupe_key' THEN '_dlake_dkey' ELSE x END), ' OR ')
  FROM jsonb_array_elements_text(c->'dedupe_cols') x
$$;

/*
 * The routing statement for one batch: returns (accepted, rejected,
 * filtered, duplicates).
 *
 * optimistic: with a unique dedupe key, insert without ON CONFLICT.
 * Speculative insertion costs a token lock, an index pre-check and a
 * second heap update per row; when the batch holds no duplicate (the
 * usual case) a plain insert does the same work far cheaper, and the
 * unique index still refuses any duplicate: the caller (_rules_run) then
 * reruns the batch with ON CONFLICT DO NOTHING.  Same result either way.
 */
CREATE FUNCTION dlake._rules_batch_sql(c jsonb, p_ruleset text, version integer, source regclass,
									   cleansed regclass, quarantine regclass, batch_sql text,
									   optimistic boolean DEFAULT false)
RETURNS text LANGUAGE sql STABLE AS
$$
SELECT format(
	'WITH c AS MATERIALIZED (%s), '
	'ins AS (INSERT INTO %s (%s record, _dlake_dedupe_key, _dlake_source_id) '
	'SELECT %s c.record, c._dlake_dkey, c._dlake_source_id FROM %s RETURNING 1), '
	'q AS (INSERT INTO %s (ruleset, ruleset_version, source, source_id, shard_id, sequence_number,'
	' sub_sequence_number, record, data, failures) '
	'SELECT %L, %s, %L, c._dlake_source_id, c._dlake_shard_id, c._dlake_seq, c._dlake_subseq, c.record,'
	' c._dlake_data, to_jsonb(c._dlake_fa) FROM c WHERE NOT c._dlake_drop AND cardinality(c._dlake_fa) > 0 RETURNING 1) '
	'SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM q), count(*) FILTER (WHERE c._dlake_drop),'
	' count(*) FILTER (WHERE NOT c._dlake_drop AND cardinality(c._dlake_fa) = 0) FROM c',
	dlake._rules_core(c, batch_sql),
	cleansed,
	coalesce((SELECT string_agg(format('%I, ', x->>'name'), '') FROM jsonb_array_elements(c->'columns') x), ''),
	coalesce((SELECT string_agg(format('c.%I, ', x->>'name'), '') FROM jsonb_array_elements(c->'columns') x), ''),
	CASE WHEN c->>'window' IS NULL THEN
		'c WHERE NOT c._dlake_drop AND cardinality(c._dlake_fa) = 0'
		|| CASE WHEN optimistic THEN '' ELSE dlake._rules_dedupe_sql(c, cleansed) END
	ELSE
		format('(SELECT c.*, row_number() OVER (PARTITION BY %s ORDER BY c._dlake_source_id) AS _dlake_rn FROM c'
			   ' WHERE NOT c._dlake_drop AND cardinality(c._dlake_fa) = 0) c WHERE (%s OR (c._dlake_rn = 1%s))',
			   (dlake._rules_dedupe_keys(c)).keys, (dlake._rules_dedupe_keys(c)).anynull, dlake._rules_dedupe_sql(c, cleansed))
	END,
	quarantine, p_ruleset, version, source::text)
$$;

/*
 * Run one batch statement; turn any error into one that names the rule set.
 * fallback, when given, is the same batch with ON CONFLICT DO NOTHING: stmt
 * (an optimistic plain insert, see _rules_batch_sql) is rolled back to its
 * own subtransaction when the unique dedupe index refuses a duplicate, and
 * fallback runs instead (retried = true).
 */
CREATE FUNCTION dlake._rules_run(p_ruleset text, source regclass, stmt text, fallback text DEFAULT NULL,
								 OUT accepted bigint, OUT rejected bigint, OUT filtered bigint, OUT duplicates bigint,
								 OUT retried boolean)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
	valid bigint;
	msg text;
	st text;
BEGIN
	/* user SQL in the rule set resolves names as when it was created (reverted at function exit) */
	PERFORM set_config('search_path',
		coalesce((SELECT r.compiled->>'search_path' FROM dlake.rulesets r WHERE r.name = p_ruleset), 'pg_catalog'), true);
	retried := false;
	BEGIN
		EXECUTE stmt INTO accepted, rejected, filtered, valid;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, st = RETURNED_SQLSTATE;
		IF fallback IS NULL OR st <> '23505' THEN
			RAISE EXCEPTION USING ERRCODE = st,
				MESSAGE = format('rule set "%s" cannot be applied to %s', p_ruleset, source),
				DETAIL = msg,
				HINT = 'Fix the rule set with dlake.alter_ruleset() or restore the objects it uses (lookup tables); the records stay unprocessed in the source and are processed by the next run.';
		END IF;
		retried := true;
	END;
	IF retried THEN
		BEGIN
			EXECUTE fallback INTO accepted, rejected, filtered, valid;
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, st = RETURNED_SQLSTATE;
			RAISE EXCEPTION USING ERRCODE = st,
				MESSAGE = format('rule set "%s" cannot be applied to %s', p_ruleset, source),
				DETAIL = msg,
				HINT = 'Fix the rule set with dlake.alter_ruleset() or restore the objects it uses (lookup tables); the records stay unprocessed in the source and are processed by the next run.';
		END;
	END IF;
	duplicates := valid - accepted;
END
$$;

/*
 * The fast routing statement of apply_ruleset for one batch (batch_sql
 * also yields each row's ctid as _dlake_ctid): one INSERT into cleansed
 * straight from the core, no batch materialised for a second insert.
 * dlake._rules_tally() in its WHERE clause counts dropped and rejected
 * rows and remembers the rejected rows' ctids; _rules_run_fast routes
 * those through the full statement afterwards.
 */
CREATE FUNCTION dlake._rules_fast_sql(c jsonb, cleansed regclass, batch_sql text, optimistic boolean)
RETURNS text LANGUAGE sql STABLE AS
$$
SELECT format(
	'INSERT INTO %s (%s record, _dlake_dedupe_key, _dlake_source_id) '
	'SELECT %s c.record, c._dlake_dkey, c._dlake_source_id FROM (%s) c'
	' WHERE dlake._rules_tally(c._dlake_drop, cardinality(c._dlake_fa) = 0, c._dlake_ctid)%s',
	cleansed,
	coalesce((SELECT string_agg(format('%I, ', x->>'name'), '') FROM jsonb_array_elements(c->'columns') x), ''),
	coalesce((SELECT string_agg(format('c.%I, ', x->>'name'), '') FROM jsonb_array_elements(c->'columns') x), ''),
	dlake._rules_core(c, batch_sql),
	CASE WHEN optimistic THEN '' ELSE dlake._rules_dedupe_sql(c, cleansed) END)
$$;

/*
 * Route one batch of apply_ruleset by the fast statement.  Every row is
 * decided exactly once: valid and dropped rows by the fast statement; the
 * rows it rejected (by ctid) by the full statement afterwards, which puts
 * each of them in quarantine, or in cleansed when it passes by then (a
 * lookup row committed in between), so none is lost or written twice.
 * A unique violation of an optimistic insert reruns the whole batch with
 * the full statement and ON CONFLICT (retried).
 */
CREATE FUNCTION dlake._rules_run_fast(p_ruleset text, source regclass, c jsonb, version integer,
									  cleansed regclass, quarantine regclass, cols text, range_sql text,
									  optimistic boolean,
									  OUT accepted bigint, OUT rejected bigint, OUT filtered bigint,
									  OUT duplicates bigint, OUT retried boolean)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
	gen bigint;
	tl record;
	r record;
	msg text;
	st text;
	/* generated under this function's search_path: object names are qualified as elsewhere */
	fast_sql text := dlake._rules_fast_sql(c, cleansed,
		format('SELECT %s, s.ctid AS _dlake_ctid FROM %s s WHERE %s', cols, source, range_sql), optimistic);
BEGIN
	/* user SQL in the rule set resolves names as when it was created (so do error messages, as in _rules_run) */
	PERFORM set_config('search_path', coalesce(c->>'search_path', 'pg_catalog'), true);
	retried := false;
	BEGIN
		gen := dlake._rules_tally_reset();
		EXECUTE fast_sql;
		GET DIAGNOSTICS accepted = ROW_COUNT;
		tl := dlake._rules_tally_get(gen);
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, st = RETURNED_SQLSTATE;
		IF NOT optimistic OR st <> '23505' THEN
			RAISE EXCEPTION USING ERRCODE = st,
				MESSAGE = format('rule set "%s" cannot be applied to %s', p_ruleset, source),
				DETAIL = msg,
				HINT = 'Fix the rule set with dlake.alter_ruleset() or restore the objects it uses (lookup tables); the records stay unprocessed in the source and are processed by the next run.';
		END IF;
		retried := true;
	END;
	/* back to ours to generate the statements below */
	PERFORM set_config('search_path', 'pg_catalog, pg_temp', true);
	IF retried THEN
		r := dlake._rules_run(p_ruleset, source,
			dlake._rules_batch_sql(c, p_ruleset, version, source, cleansed, quarantine,
				format('SELECT %s FROM %s s WHERE %s', cols, source, range_sql)));
		accepted := r.accepted;
		rejected := r.rejected;
		filtered := r.filtered;
		duplicates := r.duplicates;
		RETURN;
	END IF;
	filtered := tl.dropped;
	duplicates := tl.seen - tl.dropped - tl.rejected - accepted;
	rejected := 0;
	IF tl.rejected > 0 THEN
		r := dlake._rules_run(p_ruleset, source,
			dlake._rules_batch_sql(c, p_ruleset, version, source, cleansed, quarantine,
				format('SELECT %s FROM %s s WHERE s.ctid = ANY (%L::tid[]) AND %s', cols, source, tl.tids, range_sql)));
		accepted := accepted + r.accepted;
		rejected := r.rejected;
		filtered := filtered + r.filtered;
		duplicates := duplicates + r.duplicates;
	END IF;
END
$$;

/*
 * Apply a rule set to staging rows first_id..last_id: the stream worker's
 * entry point (src/etl/rules.h).  Runs inside the caller's transaction.
 */
CREATE FUNCTION dlake._apply_range(p_ruleset text, staging regclass, p_cleansed text, p_quarantine text,
								   first_id bigint, last_id bigint,
								   OUT accepted bigint, OUT rejected bigint, OUT filtered bigint, OUT duplicates bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
	g record := dlake._rules_get(p_ruleset);
	t record := dlake._rules_tables(g.compiled, staging, p_cleansed, p_quarantine);
BEGIN
	SELECT r.accepted, r.rejected, r.filtered, r.duplicates INTO accepted, rejected, filtered, duplicates
	  FROM dlake._rules_run(p_ruleset, staging,
		dlake._rules_batch_sql(g.compiled, p_ruleset, g.version, staging, t.cleansed, t.quarantine,
			format('SELECT %s FROM %s s WHERE s.id BETWEEN %s AND %s',
				dlake._rules_source_cols(staging), staging, first_id, last_id))) r;
END
$$;

/*
 * dlake.apply_ruleset: incremental, idempotent application to any table.
 * Progress is the snapshot of the previous run (see dlake.ruleset_progress):
 * a row is new when its inserting transaction was not visible in it.  One
 * call is one transaction (all batches commit together, or none).
 */
CREATE FUNCTION dlake.apply_ruleset(ruleset text, source regclass,
									cleansed regclass DEFAULT NULL, quarantine regclass DEFAULT NULL,
									batch_size integer DEFAULT 10000, record_column name DEFAULT NULL)
RETURNS TABLE (accepted bigint, rejected bigint, filtered bigint, duplicates bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
	g record;
	t record;
	prev pg_snapshot;
	cur pg_snapshot;
	nblocks bigint;
	step bigint;
	b bigint := 0;
	cols text;
	filter text;
	r record;
	a_acc bigint := 0;
	a_rej bigint := 0;
	a_fil bigint := 0;
	a_dup bigint := 0;
	batch text;
	range_sql text;
	can_fast boolean;
	fast boolean;
	can_optimize boolean;
	optimistic boolean;
BEGIN
	IF ruleset IS NULL OR source IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'ruleset and source must not be NULL';
	END IF;
	IF batch_size IS NULL OR batch_size < 1 THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('batch_size must be positive, not %s', batch_size);
	END IF;
	IF NOT pg_try_advisory_xact_lock(hashtext('dlake.apply_ruleset'), hashtext(ruleset || '/' || source::oid::text)) THEN
		RAISE NOTICE 'dlake.apply_ruleset(%, %) is already running in another session; nothing done', ruleset, source;
		RETURN QUERY SELECT 0::bigint, 0::bigint, 0::bigint, 0::bigint;
		RETURN;
	END IF;
	g := dlake._rules_get(ruleset);
	t := dlake._rules_tables(g.compiled, source, cleansed::text, quarantine::text);
	cols := dlake._rules_source_cols(source, record_column);
	can_optimize := (g.compiled->>'dedupe')::boolean AND g.compiled->>'window' IS NULL;
	optimistic := can_optimize;
	/* the fast path needs the source's ctid and plain (not windowed) dedupe */
	can_fast := g.compiled->>'window' IS NULL;
	fast := can_fast;

	SELECT p.snapshot INTO prev FROM dlake.ruleset_progress p
	 WHERE p.ruleset = apply_ruleset.ruleset AND p.source = apply_ruleset.source::oid;
	cur := pg_current_snapshot();
	/* measured after the snapshot: every row visible in it is in these blocks */
	nblocks := pg_relation_size(source) / current_setting('block_size')::bigint;
	SELECT greatest(1, batch_size / greatest(1, CASE WHEN relpages > 0 AND reltuples > 0 THEN reltuples / relpages ELSE 50 END))::bigint
	  INTO step FROM pg_class WHERE oid = source;

	filter := format('pg_visible_in_snapshot(dlake._xmin8(s.xmin), %L::pg_snapshot)', cur);
	IF prev IS NOT NULL THEN
		filter := filter || format(' AND NOT pg_visible_in_snapshot(dlake._xmin8(s.xmin), %L::pg_snapshot)', prev);
	END IF;

	WHILE b < nblocks LOOP
		range_sql := format('s.ctid >= ''(%s,0)''::tid AND s.ctid < ''(%s,0)''::tid AND %s', b, b + step, filter);
		batch := format('SELECT %s FROM %s s WHERE %s', cols, source, range_sql);
		/*
		 * Two independent adaptations, each returning after a batch that
		 * did not need it:
		 * - fast: one INSERT with a tally (_rules_run_fast) rather than the
		 *   full statement that materialises the batch for two inserts;
		 *   after a batch with rejected records, the next one takes the
		 *   full statement (the fast one would route them twice).
		 * - optimistic: with a unique dedupe key, insert without ON CONFLICT
		 *   (see _rules_batch_sql); after a batch with duplicates, the next
		 *   one goes straight to ON CONFLICT.
		 */
		IF fast THEN
			r := dlake._rules_run_fast(ruleset, source, g.compiled, g.version, t.cleansed, t.quarantine,
				cols, range_sql, optimistic);
		ELSIF optimistic THEN
			r := dlake._rules_run(ruleset, source,
				dlake._rules_batch_sql(g.compiled, ruleset, g.version, source, t.cleansed, t.quarantine, batch, true),
				dlake._rules_batch_sql(g.compiled, ruleset, g.version, source, t.cleansed, t.quarantine, batch));
		ELSE
			r := dlake._rules_run(ruleset, source,
				dlake._rules_batch_sql(g.compiled, ruleset, g.version, source, t.cleansed, t.quarantine, batch));
		END IF;
		fast := can_fast AND r.rejected = 0;
		optimistic := can_optimize AND NOT r.retried AND r.duplicates = 0;
		a_acc := a_acc + r.accepted;
		a_rej := a_rej + r.rejected;
		a_fil := a_fil + r.filtered;
		a_dup := a_dup + r.duplicates;
		b := b + step;
	END LOOP;

	INSERT INTO dlake.ruleset_progress AS p (ruleset, source, source_name, cleansed, quarantine, snapshot,
			runs, accepted, rejected, filtered, duplicates, last_run_at)
		VALUES (apply_ruleset.ruleset, apply_ruleset.source, apply_ruleset.source::text, t.cleansed::text,
			t.quarantine::text, cur, 1, a_acc, a_rej, a_fil, a_dup, now())
		ON CONFLICT ON CONSTRAINT ruleset_progress_pkey DO UPDATE SET
			snapshot = excluded.snapshot, source_name = excluded.source_name,
			cleansed = excluded.cleansed, quarantine = excluded.quarantine,
			runs = p.runs + 1, accepted = p.accepted + excluded.accepted,
			rejected = p.rejected + excluded.rejected, filtered = p.filtered + excluded.filtered,
			duplicates = p.duplicates + excluded.duplicates, last_run_at = now();

	RETURN QUERY SELECT a_acc, a_rej, a_fil, a_dup;
END
$$;
COMMENT ON FUNCTION dlake.apply_ruleset(text, regclass, regclass, regclass, integer, name)
	IS 'apply a rule set to the rows of a table not processed yet: valid → cleansed, rejected → quarantine';

/*
 * Move quarantined records that pass the (fixed) rule set into cleansed,
 * exactly once: the DELETE from quarantine and the INSERT into cleansed are
 * one statement.
 */
CREATE FUNCTION dlake.reprocess_quarantine(source regclass, ruleset text,
										   cleansed regclass DEFAULT NULL, quarantine regclass DEFAULT NULL)
RETURNS TABLE (moved bigint, filtered bigint, duplicates bigint, still_rejected bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
	g record;
	t record;
	core text;
	r record;
	msg text;
	st text;
BEGIN
	IF NOT pg_try_advisory_xact_lock(hashtext('dlake.apply_ruleset'), hashtext(ruleset || '/' || source::oid::text)) THEN
		RAISE NOTICE 'a rule set run on % is in progress in another session; nothing done', source;
		RETURN QUERY SELECT 0::bigint, 0::bigint, 0::bigint, 0::bigint;
		RETURN;
	END IF;
	g := dlake._rules_get(ruleset);
	t := dlake._rules_tables(g.compiled, source, cleansed::text, quarantine::text);
	core := dlake._rules_core(g.compiled, format(
		'SELECT q.source_id AS _dlake_source_id, q.record, q.data AS _dlake_data, q.shard_id AS _dlake_shard_id,'
		' q.sequence_number AS _dlake_seq, q.sub_sequence_number AS _dlake_subseq, q._dlake_id AS _dlake_qid'
		' FROM %s q WHERE q.record IS NOT NULL', t.quarantine));
	PERFORM set_config('search_path', coalesce(g.compiled->>'search_path', 'pg_catalog'), true);
	BEGIN
		EXECUTE format(
			'WITH c AS MATERIALIZED (%s), '
			'd AS (DELETE FROM %s q USING c WHERE q._dlake_id = c._dlake_qid'
			' AND (c._dlake_drop OR cardinality(c._dlake_fa) = 0) RETURNING q._dlake_id), '
			'ins AS (INSERT INTO %s (%s record, _dlake_dedupe_key, _dlake_source_id) '
			'SELECT %s c.record, c._dlake_dkey, c._dlake_source_id FROM c JOIN d ON d._dlake_id = c._dlake_qid'
			' WHERE NOT c._dlake_drop %s RETURNING 1) '
			'SELECT (SELECT count(*) FROM ins) AS moved,'
			' (SELECT count(*) FROM c JOIN d ON d._dlake_id = c._dlake_qid WHERE c._dlake_drop) AS dropped,'
			' (SELECT count(*) FROM c JOIN d ON d._dlake_id = c._dlake_qid WHERE NOT c._dlake_drop) AS passed,'
			' (SELECT count(*) FROM %s) AS total',
			core, t.quarantine, t.cleansed,
			coalesce((SELECT string_agg(format('%I, ', x->>'name'), '') FROM jsonb_array_elements(g.compiled->'columns') x), ''),
			coalesce((SELECT string_agg(format('c.%I, ', x->>'name'), '') FROM jsonb_array_elements(g.compiled->'columns') x), ''),
			dlake._rules_dedupe_sql(g.compiled, t.cleansed),
			t.quarantine)
			INTO r;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, st = RETURNED_SQLSTATE;
		RAISE EXCEPTION USING ERRCODE = st,
			MESSAGE = format('rule set "%s" cannot be applied to %s', ruleset, t.quarantine),
			DETAIL = msg,
			HINT = 'Fix the rule set with dlake.alter_ruleset() or restore the objects it uses (lookup tables).';
	END;
	/* the last count was taken before the DELETE's effects became visible */
	RETURN QUERY SELECT r.moved, r.dropped, r.passed - r.moved, r.total - r.dropped - r.passed;
END
$$;
COMMENT ON FUNCTION dlake.reprocess_quarantine(regclass, text, regclass, regclass)
	IS 'move quarantined records that now pass the rule set into cleansed, exactly once';

/* failures of a quarantine table grouped by rule, field and reason */
CREATE FUNCTION dlake.quarantine_summary(quarantine regclass)
RETURNS TABLE (rule text, field text, reason text, records bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
	RETURN QUERY EXECUTE format(
		'SELECT f->>''rule'', f->>''field'', f->>''reason'', count(*) FROM %s q, jsonb_array_elements(q.failures) f'
		' GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3', quarantine);
END
$$;
COMMENT ON FUNCTION dlake.quarantine_summary(regclass) IS 'quarantined records per rule, field and reason';
