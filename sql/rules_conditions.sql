-- rule kinds: conditions (free SQL over the record) and drop_if (filter)
\set SHOW_CONTEXT never
SELECT dlake.create_ruleset('cd', $j${
	"types": {"ts": "timestamptz", "value": "float8", "min": "float8", "max": "float8"},
	"conditions": {
		"min_le_max": "\"min\" <= \"max\"",
		"value_in_range": "value BETWEEN \"min\" AND \"max\"",
		"not_future": "ts <= '2030-01-01'::timestamptz -- a trailing comment is fine"
	},
	"drop_if": ["record->>'type' = 'heartbeat'", "record ? 'test'"]
}$j$);

-- conditions are CHECK-like: NULL (a missing field) passes
SELECT r AS record, dlake.validate(r::jsonb, 'cd') AS failures FROM (VALUES
	('{"min": 0, "max": 10, "value": 5, "ts": "2024-01-01T00:00:00Z"}'),
	('{"min": 10, "max": 0, "value": 5}'),
	('{"min": 0, "max": 10, "value": 11}'),
	('{"ts": "2031-01-01T00:00:00Z"}'),
	('{"value": 1}'),
	('{"type": "heartbeat"}')) v(r);

-- drop_if rows are counted, not quarantined, even when invalid
CREATE TABLE cd_src (id serial, payload json);
INSERT INTO cd_src (payload) VALUES
	('{"min": 0, "max": 10, "value": 5}'),
	('{"type": "heartbeat"}'),
	('{"type": "heartbeat", "min": 9, "max": 1}'),
	('{"test": true}'),
	('{"min": 10, "max": 0, "value": 5}'),
	(NULL);
SELECT * FROM dlake.apply_ruleset('cd', 'cd_src');
SELECT source_id, failures FROM dlake_quarantine.cd_src ORDER BY source_id;

-- a condition that is not a boolean, misspells a field, does not parse, or
-- tries to smuggle in more SQL is refused at creation, naming the rule
SELECT dlake.create_ruleset('cd_bad', '{"conditions": {"c1": "1 + 1"}}');
SELECT dlake.create_ruleset('cd_bad', '{"types": {"value": "float8"}, "conditions": {"c1": "valeu > 0"}}');
SELECT dlake.create_ruleset('cd_bad', '{"conditions": {"c1": "record->>''a'' = "}}');
SELECT dlake.create_ruleset('cd_bad', '{"conditions": {"c1": "true) FROM pg_class; DROP TABLE cd_src; SELECT (true"}}');
SELECT dlake.create_ruleset('cd_bad', '{"conditions": {"c1": "true), (false"}}');
SELECT dlake.create_ruleset('cd_bad', '{"drop_if": "(SELECT count(*) FROM no_such_table) > 0"}');
SELECT dlake.create_ruleset('cd_bad', '{"drop_if": 42}');
SELECT dlake.create_ruleset('cd_bad', '{"conditions": ["1/0 = 1"]}');
SELECT to_regclass('cd_src') IS NOT NULL AS cd_src_still_there;

-- a condition that raises at run time fails the whole batch with a clean
-- error; nothing is written, and the next run (after the fix) sees the rows
SELECT dlake.create_ruleset('cd_div', '{"conditions": {"ratio": "(record->>''a'')::int / (record->>''b'')::int > 1"}}');
CREATE TABLE cd_div_src (id serial, payload jsonb);
INSERT INTO cd_div_src (payload) VALUES ('{"a": 4, "b": 2}'), ('{"a": 1, "b": 0}');
SELECT * FROM dlake.apply_ruleset('cd_div', 'cd_div_src');
SELECT dlake.alter_ruleset('cd_div', '{"conditions": {"ratio": "(record->>''a'')::int / NULLIF((record->>''b'')::int, 0) > 1"}}');
SELECT * FROM dlake.apply_ruleset('cd_div', 'cd_div_src');

DROP TABLE cd_src, dlake_cleansed.cd_src, dlake_quarantine.cd_src;
DROP TABLE cd_div_src, dlake_cleansed.cd_div_src, dlake_quarantine.cd_div_src;
SELECT dlake.drop_ruleset('cd'), dlake.drop_ruleset('cd_div');
