-- rule kind: enrich (SQL expressions and lookups)
\set SHOW_CONTEXT never
CREATE TABLE en_sensors (sensor_id text PRIMARY KEY, site text, floor int);
INSERT INTO en_sensors VALUES ('s-1', 'paris', 2), ('s-2', 'lyon', NULL);
CREATE TABLE en_codes (code int, label text);          -- no unique key: one row per code is used
INSERT INTO en_codes VALUES (1, 'one'), (2, 'two'), (2, 'two');

SELECT dlake.create_ruleset('en', $j${
	"types": {"timestamp": "timestamptz", "value": "float8"},
	"enrich": {
		"date": "(\"timestamp\" AT TIME ZONE 'UTC')::date",
		"value_f": "value * 9 / 5 + 32",
		"source": "'kinesis'",
		"site": {"lookup": "en_sensors", "key": "sensor_id", "column": "site"},
		"floor": {"lookup": "public.en_sensors", "key": "sensor_id", "column": "floor", "on_missing": "reject"},
		"label": {"lookup": "en_codes", "key": "code", "column": "label", "field": "code"}
	}}$j$);

SELECT dlake.enrich('{"sensor_id": "s-1", "timestamp": "2024-02-29T23:30:00-05:00", "value": 100, "code": 2}', 'en');
SELECT dlake.enrich('{"sensor_id": "s-9", "code": "x"}', 'en');
SELECT dlake.validate('{"sensor_id": "s-9"}', 'en') AS unknown_sensor,
	dlake.validate('{"sensor_id": "s-2"}', 'en') AS null_column_is_a_match,
	dlake.validate('{}', 'en') AS no_key_no_lookup;

-- the cleansed table gets typed columns for the enrich fields too
CREATE TABLE en_src (id bigserial, payload jsonb);
INSERT INTO en_src (payload) VALUES
	('{"sensor_id": "s-1", "timestamp": "2024-02-29T10:00:00Z", "value": 20, "code": 1}'),
	('{"sensor_id": "s-2", "timestamp": "2024-03-01T00:00:00Z", "value": 0, "code": 7}'),
	('{"sensor_id": "s-3", "timestamp": "2024-03-01T00:00:00Z", "value": 0}');
SELECT * FROM dlake.apply_ruleset('en', 'en_src');
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'dlake_cleansed.en_src'::regclass AND attnum > 0 AND attname NOT LIKE '\_dlake%' ORDER BY attnum;
SELECT date, value_f, source, site, floor, label FROM dlake_cleansed.en_src ORDER BY _dlake_source_id;
SELECT source_id, failures FROM dlake_quarantine.en_src;

-- a dropped lookup table: apply fails cleanly, nothing is lost; restored: it works
INSERT INTO en_src (payload) VALUES ('{"sensor_id": "s-1", "timestamp": "2024-03-02T00:00:00Z", "value": 1}');
ALTER TABLE en_sensors RENAME TO en_sensors_away;
SELECT * FROM dlake.apply_ruleset('en', 'en_src');
SELECT dlake.validate('{"sensor_id": "s-1"}', 'en');
ALTER TABLE en_sensors_away RENAME TO en_sensors;
SELECT * FROM dlake.apply_ruleset('en', 'en_src');

-- bad lookups are refused at creation
SELECT dlake.create_ruleset('en_bad', '{"enrich": {"s": {"lookup": "no_such_table", "key": "k", "column": "c"}}}');
SELECT dlake.create_ruleset('en_bad', '{"enrich": {"s": {"lookup": "en_sensors", "key": "sensorid", "column": "site"}}}');
SELECT dlake.create_ruleset('en_bad', '{"enrich": {"s": {"lookup": "en_sensors", "key": "sensor_id", "column": "sites"}}}');
SELECT dlake.create_ruleset('en_bad', '{"enrich": {"s": {"lookup": "en_sensors", "key": "sensor_id", "column": "site", "on_missing": "drop"}}}');
SELECT dlake.create_ruleset('en_bad', '{"enrich": {"s": {"lookup": "en_sensors", "key": "sensor_id"}}}');
SELECT dlake.create_ruleset('en_bad', '{"enrich": {"s": {"lookup": "en_sensors", "key": "sensor_id", "column": "site", "on_mising": "null"}}}');
SELECT dlake.create_ruleset('en_bad', '{"enrich": {"s": "no_such_column + 1"}}');
SELECT dlake.create_ruleset('en_bad', '{"types": {"a": "text"}, "enrich": {"a": "1"}}');
SELECT dlake.create_ruleset('en_bad', '{"enrich": {"a": 1}}');

DROP TABLE en_src, dlake_cleansed.en_src, dlake_quarantine.en_src, en_sensors, en_codes;
SELECT dlake.drop_ruleset('en');
