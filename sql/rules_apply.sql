-- apply_ruleset end to end: the seed's Lambda scenario over a local table
-- shaped like a stream staging table; incremental and idempotent runs;
-- reprocessing quarantine after a fix; the stream worker's entry point
\set SHOW_CONTEXT never
CREATE TABLE ap_sensors (sensor_id text PRIMARY KEY, site text NOT NULL);
INSERT INTO ap_sensors VALUES ('s-1', 'paris'), ('s-2', 'lyon');

-- the Lambda: require timestamp and value, add processed_at, partition by date;
-- plus what it left implicit: typed fields, heartbeats, duplicates, site lookup
SELECT dlake.create_ruleset('iot', $j${
	"description": "seed Lambda: validate, filter, enrich",
	"required": ["sensor_id", "timestamp", "value"],
	"types": {"timestamp": "timestamptz", "value": "float8", "sensor_id": "text"},
	"checks": {"value": {"min": -50, "max": 150}},
	"drop_if": "record->>'type' = 'heartbeat'",
	"dedupe": ["sensor_id", "timestamp"],
	"enrich": {
		"processed_at": "now()",
		"date": "(\"timestamp\" AT TIME ZONE 'UTC')::date",
		"site": {"lookup": "ap_sensors", "key": "sensor_id", "column": "site", "on_missing": "reject"}
	}}$j$);

CREATE TABLE ap_stage (
	id bigserial PRIMARY KEY, stream text, shard_id text, sequence_number numeric,
	sub_sequence_number integer, partition_key text, data bytea, payload jsonb);
-- payload is what the worker stores: the JSON, or NULL when the bytes are not JSON
CREATE FUNCTION ap_put(shard text, seq int, bytes bytea) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO ap_stage (stream, shard_id, sequence_number, sub_sequence_number, partition_key, data, payload)
	VALUES ('iot', shard, 49590338271490256608559692538361571095921575989136588800 + seq, 0, 'k', bytes,
			CASE WHEN convert_from(bytes, 'UTF8') IS NOT NULL THEN convert_from(bytes, 'UTF8')::jsonb END);
EXCEPTION WHEN invalid_text_representation OR character_not_in_repertoire OR untranslatable_character THEN
	INSERT INTO ap_stage (stream, shard_id, sequence_number, sub_sequence_number, partition_key, data, payload)
	VALUES ('iot', shard, 49590338271490256608559692538361571095921575989136588800 + seq, 0, 'k', bytes, NULL);
END $$;
SELECT ap_put('shardId-000000000000', n, convert_to(r, 'UTF8')) FROM (VALUES
	(1, '{"sensor_id": "s-1", "timestamp": "2024-02-29T10:00:00Z", "value": 21.5}'),
	(2, '{"sensor_id": "s-2", "timestamp": "2024-02-29T10:00:01Z", "value": 19}'),
	(3, '{"sensor_id": "s-1", "timestamp": "2024-02-29T10:00:00Z", "value": 21.5}'),   -- duplicate (resent)
	(4, '{"sensor_id": "s-1", "value": 20}'),                                          -- no timestamp
	(5, '{"sensor_id": "s-2", "timestamp": "2024-02-29T10:00:02Z"}'),                  -- no value
	(6, '{"type": "heartbeat", "sensor_id": "s-1"}'),                                  -- filtered
	(7, '{"type": "heartbeat"}'),                                                      -- filtered
	(8, '{"sensor_id": "s-9", "timestamp": "2024-02-29T10:00:03Z", "value": 1}'),     -- unknown sensor
	(9, '{"sensor_id": "s-2", "timestamp": "2024-02-29T10:00:04Z", "value": 999}'),   -- out of range
	(10, '{"sensor_id": "s-1", "timestamp": 1709200805000, "value": "22.5"}'),         -- epoch millis, string number
	(11, '{"sensor_id": "s-1", "timestamp": "2024-02-29T10:00:06Z", "value": 23')      -- malformed JSON
	) v(n, r);
SELECT ap_put('shardId-000000000001', 12, '\xff00fe7b7d'::bytea);                  -- not UTF-8
SELECT count(*) AS staged, count(payload) AS json FROM ap_stage;

SELECT * FROM dlake.apply_ruleset('iot', 'ap_stage');
SELECT sensor_id, "timestamp" AT TIME ZONE 'UTC' AS ts_utc, value, date, site,
	processed_at BETWEEN now() - interval '1 minute' AND now() + interval '1 minute' AS processed_at_set,
	record->>'sensor_id' = sensor_id AND NOT record ? 'site' AS record_as_received
  FROM dlake_cleansed.ap_stage ORDER BY _dlake_source_id;
SELECT source_id, shard_id, sequence_number - 49590338271490256608559692538361571095921575989136588800 AS seq,
	encode(data, 'escape') IS NOT NULL AS has_bytes, failures
  FROM dlake_quarantine.ap_stage ORDER BY source_id;
SELECT encode(data, 'hex') AS original_bytes FROM dlake_quarantine.ap_stage WHERE shard_id = 'shardId-000000000001';
SELECT * FROM dlake.quarantine_summary('dlake_quarantine.ap_stage');

-- rerun: nothing new
SELECT * FROM dlake.apply_ruleset('iot', 'ap_stage');
-- new rows only
SELECT ap_put('shardId-000000000000', 13, convert_to('{"sensor_id": "s-2", "timestamp": "2024-02-29T10:00:07Z", "value": 18}', 'UTF8'));
SELECT ap_put('shardId-000000000000', 14, convert_to('{"sensor_id": "s-2", "timestamp": "2024-02-29T10:00:01Z", "value": 19}', 'UTF8'));
SELECT * FROM dlake.apply_ruleset('iot', 'ap_stage');
SELECT * FROM dlake.apply_ruleset('iot', 'ap_stage');
-- a rolled-back run leaves no trace: the next run does the same work again
SELECT ap_put('shardId-000000000000', 16, convert_to('{"sensor_id": "s-1", "timestamp": "2024-02-29T10:00:09Z", "value": 2}', 'UTF8'));
BEGIN;
SELECT * FROM dlake.apply_ruleset('iot', 'ap_stage');
ROLLBACK;
SELECT * FROM dlake.apply_ruleset('iot', 'ap_stage');
SELECT count(*) AS cleansed FROM dlake_cleansed.ap_stage;
SELECT runs, accepted, rejected, filtered, duplicates FROM dlake.ruleset_progress WHERE ruleset = 'iot';

-- fix the reference data and the rule set, then reprocess quarantine: the
-- records that now pass move to cleansed exactly once
INSERT INTO ap_sensors VALUES ('s-9', 'nice');
SELECT dlake.alter_ruleset('iot', $j${
	"required": ["sensor_id", "timestamp", "value"],
	"types": {"timestamp": "timestamptz", "value": "float8", "sensor_id": "text"},
	"checks": {"value": {"min": -50, "max": 1000}},
	"drop_if": "record->>'type' = 'heartbeat'",
	"dedupe": ["sensor_id", "timestamp"],
	"enrich": {
		"processed_at": "now()",
		"date": "(\"timestamp\" AT TIME ZONE 'UTC')::date",
		"site": {"lookup": "ap_sensors", "key": "sensor_id", "column": "site", "on_missing": "reject"},
		"unit": "'C'"
	}}$j$);
SELECT version FROM dlake.rulesets WHERE name = 'iot';
SELECT * FROM dlake.reprocess_quarantine('ap_stage', 'iot');
SELECT * FROM dlake.reprocess_quarantine('ap_stage', 'iot');
SELECT sensor_id, value, site, unit FROM dlake_cleansed.ap_stage WHERE sensor_id IN ('s-9') OR value = 999 ORDER BY value;
SELECT source_id, failures->0->>'reason' AS reason FROM dlake_quarantine.ap_stage ORDER BY source_id;

-- the stream worker's entry point: a staging id range, in the caller's transaction
SELECT ap_put('shardId-000000000002', 17, convert_to('{"sensor_id": "s-2", "timestamp": "2024-02-29T10:00:10Z", "value": 3}', 'UTF8'));
SELECT ap_put('shardId-000000000002', 18, convert_to('{"type": "heartbeat"}', 'UTF8'));
SELECT ap_put('shardId-000000000002', 19, convert_to('nope', 'UTF8'));
SELECT min(id) AS first_id, max(id) AS last_id FROM ap_stage WHERE shard_id = 'shardId-000000000002' \gset
SELECT * FROM dlake._apply_range('iot', 'ap_stage', 'dlake_cleansed.ap_stage_w', NULL, :first_id, :last_id);
SELECT * FROM dlake._apply_range('iot', 'ap_stage', 'dlake_cleansed.ap_stage_w', NULL, :first_id, :last_id);
SELECT source_id - :first_id AS offset_in_batch, failures FROM dlake_quarantine.ap_stage WHERE shard_id = 'shardId-000000000002';
SELECT * FROM dlake._apply_range('no_such_ruleset', 'ap_stage', NULL, NULL, 1, 2);

-- dropping the lookup table: a clean error, records stay unprocessed
SELECT ap_put('shardId-000000000000', 20, convert_to('{"sensor_id": "s-1", "timestamp": "2024-02-29T10:00:11Z", "value": 2}', 'UTF8'));
DROP TABLE ap_sensors;
SELECT * FROM dlake.apply_ruleset('iot', 'ap_stage');
CREATE TABLE ap_sensors (sensor_id text PRIMARY KEY, site text NOT NULL);
INSERT INTO ap_sensors VALUES ('s-1', 'paris');
SELECT * FROM dlake.apply_ruleset('iot', 'ap_stage');

-- whole-row sources (no jsonb column) and argument checks
CREATE TABLE ap_rows (sensor_id text, "timestamp" text, value numeric);
INSERT INTO ap_rows VALUES ('s-1', '2024-02-29T12:00:00Z', 5), ('s-1', NULL, 5);
SELECT * FROM dlake.apply_ruleset('iot', 'ap_rows', cleansed => 'dlake_cleansed.ap_stage');
SELECT * FROM dlake.apply_ruleset('iot', 'ap_rows', batch_size => 0);
SELECT * FROM dlake.apply_ruleset('iot', 'ap_rows', record_column => 'value');
SELECT * FROM dlake.apply_ruleset('nope', 'ap_rows');

DROP TABLE ap_stage, ap_rows, ap_sensors, dlake_cleansed.ap_stage, dlake_cleansed.ap_stage_w,
	dlake_quarantine.ap_stage, dlake_quarantine.ap_rows;
DROP FUNCTION ap_put(text, int, bytea);
SELECT dlake.drop_ruleset('iot');
SELECT count(*) AS progress_rows_left FROM dlake.ruleset_progress WHERE ruleset = 'iot';
