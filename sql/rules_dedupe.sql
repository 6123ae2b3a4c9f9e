-- rule kind: dedupe (key fields, optional window); duplicates of accepted
-- records are dropped and counted, within a batch and across runs
\set SHOW_CONTEXT never
SELECT dlake.create_ruleset('dd', '{"types": {"ts": "timestamptz"}, "dedupe": ["sensor_id", "ts"]}');

CREATE TABLE dd_src (id bigserial, payload jsonb);
INSERT INTO dd_src (payload) VALUES
	('{"sensor_id": "a", "ts": "2024-02-29T10:00:00Z", "v": 1}'),
	('{"sensor_id": "a", "ts": "2024-02-29T10:00:00Z", "v": 2}'),    -- same key, same batch
	('{"sensor_id": "a", "ts": 1709200800}'),                         -- same instant as epoch
	('{"sensor_id": "a", "ts": "2024-02-29T11:00:00+01:00"}'),        -- same instant, other zone
	('{"sensor_id": "b", "ts": "2024-02-29T10:00:00Z"}'),
	('{"sensor_id": "a"}'),                                           -- key incomplete: never a duplicate
	('{"sensor_id": "a"}'),
	('{"sensor_id": "a", "ts": "bad"}');                              -- invalid: quarantined, not a duplicate
SELECT * FROM dlake.apply_ruleset('dd', 'dd_src', batch_size => 2);
SELECT record->>'v' AS v, _dlake_dedupe_key FROM dlake_cleansed.dd_src ORDER BY _dlake_source_id;

-- a later batch with an old key is a duplicate; a new one is accepted
INSERT INTO dd_src (payload) VALUES
	('{"sensor_id": "b", "ts": "2024-02-29T10:00:00.000Z"}'),
	('{"sensor_id": "c", "ts": "2024-02-29T10:00:00Z"}');
SELECT * FROM dlake.apply_ruleset('dd', 'dd_src');
SELECT count(*) AS cleansed FROM dlake_cleansed.dd_src;
SELECT runs, accepted, rejected, filtered, duplicates FROM dlake.ruleset_progress WHERE ruleset = 'dd';

-- untyped key fields compare as JSON values
SELECT dlake.create_ruleset('dd_raw', '{"dedupe": {"keys": ["id"]}}');
CREATE TABLE dd_raw_src (payload jsonb);
INSERT INTO dd_raw_src VALUES ('{"id": 1}'), ('{"id": 1.0}'), ('{"id": "1"}'), ('{"id": 1}'), ('{"id": null}'), ('{"id": null}');
SELECT * FROM dlake.apply_ruleset('dd_raw', 'dd_raw_src');

-- with a window: a key seen among records accepted within the window is a duplicate
SELECT dlake.create_ruleset('dd_win', '{"dedupe": {"keys": ["id"], "window": "1 hour"}}');
CREATE TABLE dd_win_src (payload jsonb);
INSERT INTO dd_win_src VALUES ('{"id": 1}'), ('{"id": 1}'), ('{"id": 2}');
SELECT * FROM dlake.apply_ruleset('dd_win', 'dd_win_src');
INSERT INTO dd_win_src VALUES ('{"id": 1}');
SELECT * FROM dlake.apply_ruleset('dd_win', 'dd_win_src');
-- pretend the first records were accepted two hours ago: id 1 is new again
UPDATE dlake_cleansed.dd_win_src SET _dlake_loaded_at = _dlake_loaded_at - interval '2 hours';
INSERT INTO dd_win_src VALUES ('{"id": 1}');
SELECT * FROM dlake.apply_ruleset('dd_win', 'dd_win_src');

-- bad dedupe specs
SELECT dlake.create_ruleset('dd_bad', '{"dedupe": []}');
SELECT dlake.create_ruleset('dd_bad', '{"dedupe": {"key": ["a"]}}');
SELECT dlake.create_ruleset('dd_bad', '{"dedupe": {"keys": ["a"], "window": "a while"}}');

DROP TABLE dd_src, dlake_cleansed.dd_src, dlake_quarantine.dd_src;
DROP TABLE dd_raw_src, dlake_cleansed.dd_raw_src, dlake_quarantine.dd_raw_src;
DROP TABLE dd_win_src, dlake_cleansed.dd_win_src, dlake_quarantine.dd_win_src;
SELECT dlake.drop_ruleset('dd'), dlake.drop_ruleset('dd_raw'), dlake.drop_ruleset('dd_win');
