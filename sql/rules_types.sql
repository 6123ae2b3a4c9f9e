-- rule kind: types (safe casts; a value that does not convert is a failure)
\set SHOW_CONTEXT never
SELECT dlake.create_ruleset('ty', '{"types": {
	"ts": "timestamptz", "d": "date", "n": "numeric", "i": "int8", "f": "float8",
	"b": "bool", "t": "text", "u": "uuid", "j": "jsonb",
	"dmy": {"type": "timestamptz", "format": "DD/MM/YYYY HH24:MI"}}}');

-- timestamps: ISO 8601 with and without zone (no zone = UTC, whatever TimeZone
-- says), other offsets, epoch seconds and milliseconds, declared format
SET timezone = 'UTC';
SELECT r AS ts, (dlake.enrich(jsonb_build_object('ts', r), 'ty'))->>'ts' AS normalised,
	dlake.validate(jsonb_build_object('ts', r), 'ty') AS failures
FROM (VALUES ('"2024-02-29T10:00:00Z"'::jsonb), ('"2024-02-29T10:00:00"'), ('"2024-02-29 10:00:00+02"'),
	('"2024-02-29T10:00:00.123456-05:30"'), ('"2024-02-29T10:00:00 Europe/Paris"'),
	('1709200800'), ('1709200800000'), ('1709200800.5'), ('"1709200800"'), ('-1'),
	('"2023-02-29T10:00:00Z"'), ('"2024-13-01"'), ('"now"'), ('"infinity"'), ('""'), ('"garbage"'),
	('true'), ('{}'), ('1e20'), ('null')) v(r);
SET timezone = 'America/New_York';
SELECT dlake._to_timestamptz('"2024-02-29T10:00:00"') = '2024-02-29 10:00:00+00' AS zoneless_is_utc;
RESET timezone;
SELECT r AS dmy, dlake._to_timestamptz(r, 'DD/MM/YYYY HH24:MI') AT TIME ZONE 'UTC' AS utc,
	dlake.validate(jsonb_build_object('dmy', r), 'ty') AS failures
FROM (VALUES ('"29/02/2024 10:30"'::jsonb), ('"29/02/2023 10:30"'), ('"2024-02-29 10:30"'), ('"31/12/1999 23:59"')) v(r);

-- dates (leap days)
SELECT r AS d, dlake._to_date(r) AS date, dlake.validate(jsonb_build_object('d', r), 'ty') AS failures
FROM (VALUES ('"2024-02-29"'::jsonb), ('"2023-02-29"'), ('"2000-02-29"'), ('"1900-02-29"'),
	('"2024-02-29T23:30:00Z"'), ('1709200800'), ('"12"'), ('""')) v(r);

-- numbers: huge, tiny, strings, out of range
SELECT r AS value, dlake._to_numeric(r) AS numeric, dlake._to_int8(r) AS int8, dlake._to_float8(r) AS float8
FROM (VALUES ('0'::jsonb), ('-0'), ('42'), ('"42"'), ('" 42 "'), ('1.5'), ('"1.5"'), ('1e3'),
	('9223372036854775807'), ('9223372036854775808'), ('-9223372036854775808'), ('-9223372036854775809'),
	('123456789012345678901234567890.123456789'),
	('"NaN"'), ('"Infinity"'), ('""'), ('"12abc"'), ('true'), ('[1]')) v(r);
SELECT dlake.validate('{"n": "1e400000", "i": 1.5, "f": "1e999"}', 'ty') AS failures;
SELECT dlake._to_float8('1e308') AS max_ok, dlake._to_float8('1e309') IS NULL AS overflow,
	dlake._to_float8('1e-400') IS NULL AS underflow, length(dlake._to_numeric('1e308')::text) AS digits;

-- booleans, uuids, text, jsonb
SELECT r AS value, dlake._to_bool(r) AS bool FROM (VALUES ('true'::jsonb), ('false'), ('"yes"'), ('"off"'),
	('"t"'), ('"1"'), ('1'), ('""'), ('"maybe"')) v(r);
SELECT r AS value, dlake._to_uuid(r) AS uuid FROM (VALUES ('"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"'::jsonb),
	('"A0EEBC999C0B4EF8BB6D6BB9BD380A11"'), ('"{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"'),
	('"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"'), ('""'), ('42')) v(r);
SELECT dlake.enrich('{"t": 42, "j": {"a": [1, null]}, "b": "yes", "i": "7", "n": 1.50}', 'ty');
SELECT dlake.validate('{"t": "", "j": null, "u": "nope", "b": 1}', 'ty');

-- typed columns of the cleansed table
CREATE TABLE ty_src (id bigserial, payload jsonb);
INSERT INTO ty_src (payload) VALUES
	('{"ts": "2024-02-29T10:00:00Z", "d": "2024-02-29", "n": 1e30, "i": 9223372036854775807, "f": -1.5,
	   "b": false, "t": "x", "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "j": [1], "dmy": "01/03/2024 00:00"}'),
	('{"ts": 0, "i": "-1"}'),
	('{"i": 1.5}');
SELECT * FROM dlake.apply_ruleset('ty', 'ty_src');
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'dlake_cleansed.ty_src'::regclass AND attnum > 0 ORDER BY attnum;
SELECT ts AT TIME ZONE 'UTC' AS ts_utc, d, n, i, f, b, t, u, j, dmy AT TIME ZONE 'UTC' AS dmy_utc
  FROM dlake_cleansed.ty_src ORDER BY _dlake_source_id;
SELECT source_id, failures FROM dlake_quarantine.ty_src;

-- bad type declarations
SELECT dlake.create_ruleset('ty_bad', '{"types": {"x": "timestamp_tz"}}');
SELECT dlake.create_ruleset('ty_bad', '{"types": {"x": "varchar"}}');
SELECT dlake.create_ruleset('ty_bad', '{"types": {"x": 5}}');
SELECT dlake.create_ruleset('ty_bad', '{"types": {"x": {"type": "int8", "format": "YYYY"}}}');
SELECT dlake.create_ruleset('ty_bad', '{"types": {"x": {"type": "date", "fmt": "YYYY"}}}');
SELECT dlake.create_ruleset('ty_bad', '{"types": {"record": "text"}}');
SELECT dlake.create_ruleset('ty_bad', '{"types": ["a"]}');
-- aliases
SELECT dlake.create_ruleset('ty_alias', '{"types": {"a": "bigint", "b": "double precision", "c": "boolean", "d": "string"}}');
SELECT dlake.enrich('{"a": "1", "b": "2.5", "c": "no", "d": 4}', 'ty_alias');

DROP TABLE ty_src, dlake_cleansed.ty_src, dlake_quarantine.ty_src;
SELECT dlake.drop_ruleset('ty'), dlake.drop_ruleset('ty_alias');
