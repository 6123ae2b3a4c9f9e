-- rule kind: checks (min, max, pattern, enum, max_length, min_length)
\set SHOW_CONTEXT never
SELECT dlake.create_ruleset('ck', '{
	"types": {"value": "float8", "ts": "timestamptz", "level": "int8"},
	"checks": {
		"value": {"min": -50, "max": 150},
		"ts": {"min": "2020-01-01T00:00:00Z", "max": "2030-01-01T00:00:00Z"},
		"sensor_id": {"pattern": "^s-[0-9]+$", "max_length": 8, "min_length": 3},
		"unit": {"enum": ["C", "F"]},
		"level": {"enum": [1, 2, 3]},
		"raw": {"min": 0}
	}}');

SELECT r AS record, dlake.validate(r::jsonb, 'ck') AS failures FROM (VALUES
	('{"value": 21.5, "ts": "2024-02-29T00:00:00Z", "sensor_id": "s-1", "unit": "C", "level": 2, "raw": 3}'),
	('{}'),
	('{"value": -50, "ts": "2020-01-01T00:00:00Z"}'),
	('{"value": 150.0001}'),
	('{"value": -1e3}'),
	('{"ts": "2019-12-31T23:59:59Z"}'),
	('{"ts": "2030-01-01T00:00:01+00"}'),
	('{"sensor_id": "x-1"}'),
	('{"sensor_id": "s-123456"}'),
	('{"sensor_id": "s-"}'),
	('{"sensor_id": ""}'),
	('{"sensor_id": 12}'),
	('{"unit": "c"}'),
	('{"unit": null}'),
	('{"level": 4}'),
	('{"level": "2"}'),
	('{"raw": -0.5}'),
	('{"raw": "abc"}'),
	('{"raw": "-1"}')) v(r);

-- bad checks are refused at creation
SELECT dlake.create_ruleset('ck_bad', '{"checks": {"x": {"pattern": "(unclosed"}}}');
SELECT dlake.create_ruleset('ck_bad', '{"checks": {"x": {"maxlength": 3}}}');
SELECT dlake.create_ruleset('ck_bad', '{"checks": {"x": {"max_length": -1}}}');
SELECT dlake.create_ruleset('ck_bad', '{"checks": {"x": {"max_length": 2.5}}}');
SELECT dlake.create_ruleset('ck_bad', '{"checks": {"x": {"enum": []}}}');
SELECT dlake.create_ruleset('ck_bad', '{"checks": {"x": {"enum": [{"a": 1}]}}}');
SELECT dlake.create_ruleset('ck_bad', '{"types": {"x": "text"}, "checks": {"x": {"min": 1}}}');
SELECT dlake.create_ruleset('ck_bad', '{"types": {"x": "timestamptz"}, "checks": {"x": {"max": "yesterday-ish"}}}');
SELECT dlake.create_ruleset('ck_bad', '{"types": {"x": "int8"}, "checks": {"x": {"enum": ["one"]}}}');
SELECT dlake.create_ruleset('ck_bad', '{"checks": {"x": {"min": true}}}');
SELECT dlake.create_ruleset('ck_bad', '{"checks": {"x": 5}}');

SELECT dlake.drop_ruleset('ck');
