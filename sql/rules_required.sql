-- rule kind: required (present and not JSON null)
\set SHOW_CONTEXT never
SELECT dlake.create_ruleset('rq', '{"required": ["sensor_id", "value"]}');

SELECT r AS record, dlake.validate(r::jsonb, 'rq') AS failures FROM (VALUES
	('{"sensor_id": "a", "value": 1}'),
	('{"sensor_id": "a"}'),
	('{"sensor_id": "a", "value": null}'),
	('{"sensor_id": "", "value": 0}'),
	('{"sensor_id": "a", "value": false}'),
	('{"sensor_id": "a", "value": {}}'),
	('{"Sensor_ID": "a", "value": 1}'),
	('{}'),
	('[]'),
	('"x"'),
	('null')) v(r);

-- SQL NULL record = bytes that were not JSON
SELECT dlake.validate(NULL, 'rq');

-- a single field as a string
SELECT dlake.create_ruleset('rq_one', '{"required": "id"}');
SELECT dlake.validate('{"id": 0}', 'rq_one'), dlake.validate('{"ID": 0}', 'rq_one');

-- bad rule sets
SELECT dlake.create_ruleset('rq_bad', '{"required": [1]}');
SELECT dlake.create_ruleset('rq_bad', '{"requird": ["a"]}');
SELECT dlake.create_ruleset('rq_bad', '[]');
SELECT dlake.create_ruleset('rq', '{}');
SELECT dlake.create_ruleset('bad name!', '{}');

-- through apply_ruleset on a local table
CREATE TABLE rq_src (id bigserial, payload jsonb);
INSERT INTO rq_src (payload) VALUES
	('{"sensor_id": "a", "value": 1}'),
	('{"sensor_id": "b"}'),
	('{"sensor_id": null, "value": null}'),
	(NULL);
SELECT * FROM dlake.apply_ruleset('rq', 'rq_src');
SELECT record FROM dlake_cleansed.rq_src;
SELECT source_id, record, failures FROM dlake_quarantine.rq_src ORDER BY source_id;

-- clean up
DROP TABLE rq_src, dlake_cleansed.rq_src, dlake_quarantine.rq_src;
SELECT dlake.drop_ruleset('rq'), dlake.drop_ruleset('rq_one');
SELECT dlake.drop_ruleset('rq');
SELECT dlake.drop_ruleset('rq', if_exists => true);
