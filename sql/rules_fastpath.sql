-- apply_ruleset's fast paths give the same routing as the full statement:
-- per batch one INSERT with a tally (rejected rows re-routed by ctid), an
-- optimistic insert without ON CONFLICT (rerun with it on a duplicate), and
-- the switches between them from batch to batch.  The expectation is
-- computed independently, record by record, with dlake.validate().
\set SHOW_CONTEXT never
CREATE TABLE fp_sensors (sensor_id text PRIMARY KEY, site text);
INSERT INTO fp_sensors SELECT 's-' || i, 'site-' || (i % 7) FROM generate_series(0, 49) i;
SELECT dlake.create_ruleset('fp', $j${
	"required": ["sensor_id", "timestamp", "value"],
	"types": {"timestamp": "timestamptz", "value": "float8", "sensor_id": "text", "seq": "int8"},
	"checks": {"value": {"min": -50, "max": 150}, "sensor_id": {"pattern": "^s-[0-9]+$"}},
	"conditions": {"recent": "\"timestamp\" >= '2020-01-01'::timestamptz"},
	"drop_if": "record->>'type' = 'heartbeat'",
	"dedupe": ["sensor_id", "seq"],
	"enrich": {"date": "(\"timestamp\" AT TIME ZONE 'UTC')::date",
		"site": {"lookup": "public.fp_sensors", "key": "sensor_id", "column": "site", "on_missing": "reject"}}
}$j$);

-- 1200 records: clean stretches, duplicates (seq repeats every 400, within
-- and across batches), heartbeats, missing fields, values out of range or
-- not numbers, unknown sensors, non-objects and non-JSON
CREATE TABLE fp_src (id bigserial, payload jsonb);
INSERT INTO fp_src (payload)
SELECT CASE WHEN i % 97 = 0 THEN jsonb_build_object('type', 'heartbeat')
			WHEN i % 89 = 0 THEN jsonb_build_object('sensor_id', 's-1', 'value', 1)
			WHEN i % 113 = 0 THEN jsonb_build_object('sensor_id', 's-2', 'timestamp', '2024-01-01T00:00:00Z', 'value', 'n/a')
			ELSE jsonb_build_object('sensor_id', CASE WHEN i % 83 = 0 THEN 's-999' ELSE 's-' || (i % 50) END,
				'timestamp', to_char(timestamptz '2024-01-01' + i * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
				'value', CASE WHEN i % 71 = 0 THEN 500 ELSE i % 50 END, 'seq', i % 400) END
  FROM generate_series(1, 1200) i;
INSERT INTO fp_src (payload) VALUES (NULL), ('"not an object"');
INSERT INTO fp_src (payload)
SELECT jsonb_build_object('sensor_id', 's-3', 'timestamp', '2024-03-01T00:00:00Z', 'value', 1, 'seq', 10000 + i)
  FROM generate_series(1, 300) i;

SELECT * FROM dlake.apply_ruleset('fp', 'fp_src', batch_size => 120);

WITH v AS (SELECT payload, dlake.validate(payload, 'fp') AS f,
				  coalesce(payload->>'type' = 'heartbeat', false) AS drop FROM fp_src),
	 ok AS (SELECT payload FROM v WHERE NOT drop AND f = '[]')
SELECT (SELECT count(*) FROM v WHERE drop) AS filtered,
	   (SELECT count(*) FROM v WHERE NOT drop AND coalesce(f, '["x"]') <> '[]') AS rejected,
	   (SELECT count(DISTINCT (payload->>'sensor_id', payload->>'seq')) FROM ok) AS accepted,
	   (SELECT count(*) - count(DISTINCT (payload->>'sensor_id', payload->>'seq')) FROM ok) AS duplicates;

-- each key once, the first record of a key wins, quarantine reasons as validate() says
SELECT count(*) AS cleansed, count(DISTINCT (sensor_id, seq)) AS keys,
	   bool_and(_dlake_source_id = (SELECT min(s.id) FROM fp_src s
									 WHERE s.payload->>'sensor_id' = c.sensor_id AND (s.payload->>'seq')::bigint = c.seq
									   AND dlake.validate(s.payload, 'fp') = '[]')) AS first_wins,
	   count(*) FILTER (WHERE site IS NULL OR date IS NULL) AS unenriched
  FROM dlake_cleansed.fp_src c;
SELECT count(*) AS quarantined,
	   count(*) FILTER (WHERE failures IS DISTINCT FROM coalesce(dlake.validate(record, 'fp'),
		   '[{"rule": "json", "field": null, "reason": "invalid JSON"}]')) AS mismatched
  FROM dlake_quarantine.fp_src;
SELECT * FROM dlake.quarantine_summary('dlake_quarantine.fp_src');

-- a rerun finds nothing; new records (one duplicate, one reject, one new) are routed
SELECT * FROM dlake.apply_ruleset('fp', 'fp_src', batch_size => 120);
INSERT INTO fp_src (payload) VALUES
	('{"sensor_id": "s-3", "timestamp": "2024-03-01T00:00:00Z", "value": 1, "seq": 10001}'),
	('{"sensor_id": "s-3", "timestamp": "2024-03-01T00:00:00Z", "value": 999, "seq": 20000}'),
	('{"sensor_id": "s-3", "timestamp": "2024-03-01T00:00:00Z", "value": 2, "seq": 20001}');
SELECT * FROM dlake.apply_ruleset('fp', 'fp_src', batch_size => 120);
SELECT runs, accepted, rejected, filtered, duplicates FROM dlake.ruleset_progress WHERE ruleset = 'fp';

-- the dedupe index: numeric key parts first, text parts bytewise
SELECT regexp_replace(indexdef, 'INDEX \S+ ON', 'INDEX ON') FROM pg_indexes
 WHERE schemaname = 'dlake_cleansed' AND tablename = 'fp_src';
-- an existing unique index on the same columns, in another order, is used as it is
CREATE TABLE fp_own (seq bigint, sensor_id text, value double precision, "timestamp" timestamptz, date date, site text,
	record jsonb NOT NULL, _dlake_dedupe_key text, _dlake_source_id bigint, _dlake_loaded_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (sensor_id, seq));
CREATE TABLE fp_src2 (id bigserial, payload jsonb);
INSERT INTO fp_src2 (payload) SELECT payload FROM fp_src WHERE id BETWEEN 1 AND 20 OR id BETWEEN 401 AND 410;
SELECT * FROM dlake.apply_ruleset('fp', 'fp_src2', cleansed => 'fp_own');
SELECT count(*) AS indexes FROM pg_indexes WHERE tablename = 'fp_own';

-- the field casts (dlake._field_*(record, key)) agree with the value casts
-- (dlake._to_*(record->key)) on edge inputs, missing keys and non-objects
WITH r(rec) AS (VALUES ('{"k": "2024-02-29T10:00:00Z"}'::jsonb), ('{"k": "2023-02-29"}'), ('{"k": "2024-02-29 10:00"}'),
		('{"k": " 2024-02-29T10:00:00z "}'), ('{"k": "2024-02-29T10:00:00+01:00"}'), ('{"k": 1709200800}'), ('{"k": 1709200800000}'),
		('{"k": "1709200800"}'), ('{"k": "now"}'), ('{"k": 1.5}'), ('{"k": "12"}'), ('{"k": " -7 "}'), ('{"k": 1e3}'),
		('{"k": 9223372036854775808}'), ('{"k": "NaN"}'), ('{"k": "1e400"}'), ('{"k": true}'), ('{"k": "yes"}'),
		('{"k": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}'), ('{"k": null}'), ('{"k": [1]}'), ('{"k": {"a": 1}}'),
		('{"k": ""}'), ('{"other": 1}'), ('[1, 2]'), ('"k"'), ('{"k": "29/02/2024"}'))
SELECT count(*) AS records,
	   count(*) FILTER (WHERE dlake._to_timestamptz(rec->'k') IS DISTINCT FROM dlake._field_timestamptz(rec, 'k')
		   OR dlake._to_timestamptz(rec->'k', 'DD/MM/YYYY') IS DISTINCT FROM dlake._field_timestamptz(rec, 'k', 'DD/MM/YYYY')
		   OR dlake._to_date(rec->'k') IS DISTINCT FROM dlake._field_date(rec, 'k')
		   OR dlake._to_date(rec->'k', 'DD/MM/YYYY') IS DISTINCT FROM dlake._field_date(rec, 'k', 'DD/MM/YYYY')
		   OR dlake._to_numeric(rec->'k') IS DISTINCT FROM dlake._field_numeric(rec, 'k')
		   OR dlake._to_int8(rec->'k') IS DISTINCT FROM dlake._field_int8(rec, 'k')
		   OR dlake._to_float8(rec->'k') IS DISTINCT FROM dlake._field_float8(rec, 'k')
		   OR dlake._to_bool(rec->'k') IS DISTINCT FROM dlake._field_bool(rec, 'k')
		   OR dlake._to_uuid(rec->'k') IS DISTINCT FROM dlake._field_uuid(rec, 'k')) AS disagreeing,
	   count(*) FILTER (WHERE dlake._field_timestamptz(rec, 'k') IS NOT NULL) AS timestamps,
	   count(*) FILTER (WHERE dlake._field_int8(rec, 'k') IS NOT NULL) AS int8s
  FROM r;

DROP TABLE fp_src, fp_src2, fp_own, fp_sensors, dlake_cleansed.fp_src, dlake_quarantine.fp_src, dlake_quarantine.fp_src2;
SELECT dlake.drop_ruleset('fp');
