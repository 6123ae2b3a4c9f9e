-- streams: the SQL surface of Kinesis ingestion (offline: no request is sent)
SET client_min_messages = warning;
DROP ROLE IF EXISTS dlake_stream_user;
DROP ROLE IF EXISTS dlake_stream_admin;
CREATE ROLE dlake_stream_user;
CREATE ROLE dlake_stream_admin IN ROLE dlake_admin;
RESET client_min_messages;

-- catalog objects exist
SELECT to_regclass('dlake.streams') IS NOT NULL AS streams,
       to_regclass('dlake.shards') IS NOT NULL AS shards,
       to_regclass('dlake.dead_letters') IS NOT NULL AS dead_letters,
       to_regclass('dlake.ingest_errors') IS NOT NULL AS ingest_errors,
       to_regclass('dlake.stream_status') IS NOT NULL AS stream_status;

-- only dlake_admin members and superusers create streams
SET ROLE dlake_stream_user;
SELECT dlake.create_stream('s1', kinesis_stream => 'k1');
RESET ROLE;

-- argument checks
SELECT dlake.create_stream('Bad-Name', kinesis_stream => 'k1');
SELECT dlake.create_stream('1abc', kinesis_stream => 'k1');
SELECT dlake.create_stream('s1', kinesis_stream => '');
SELECT dlake.create_stream('s1', kinesis_stream => NULL);
SELECT dlake.create_stream('s1', kinesis_stream => 'k1', batch_size => 0);
SELECT dlake.create_stream('s1', kinesis_stream => 'k1', batch_size => 10001);
SELECT dlake.create_stream('s1', kinesis_stream => 'k1', max_record_bytes => 0);
SELECT dlake.create_stream('s1', kinesis_stream => 'k1', start_at => 'yesterday-ish');
SELECT dlake.create_stream('s1', kinesis_stream => 'k1', start_at => 'infinity');
SELECT dlake.create_stream('s1', kinesis_stream => 'k1', server => 'no_such_server');

-- a dlake_admin member creates a stream and owns its staging table
SET ROLE dlake_stream_admin;
SELECT dlake.create_stream('s1', kinesis_stream => 'k1', start_at => 'latest');
SELECT dlake.create_stream('s1', kinesis_stream => 'k2');
SELECT dlake.create_stream('s2', kinesis_stream => 'k2',
                           start_at => '2026-01-02 03:04:05+00', batch_size => 500,
                           max_record_bytes => 1024, retention => '7 days');
RESET ROLE;
SELECT name, kinesis_stream, server_name, owner::regrole, start_at, start_timestamp AT TIME ZONE 'UTC' AS start_utc,
       batch_size, max_record_bytes, retention, enabled, staging
  FROM dlake.streams ORDER BY name;
SELECT tableowner FROM pg_tables WHERE schemaname = 'dlake_staging' AND tablename = 's1';
SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull
  FROM pg_attribute WHERE attrelid = 'dlake_staging.s1'::regclass AND attnum > 0 AND NOT attisdropped
 ORDER BY attnum;
SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'dlake_staging.s1'::regclass AND indisunique ORDER BY 1;
-- the record's bytes and jsonb are compressed with lz4 (the server is built with it)
SELECT attname, attcompression FROM pg_attribute
 WHERE attrelid = 'dlake_staging.s1'::regclass AND attname IN ('data', 'payload') ORDER BY 1;

-- stream_status: one row per stream until shards are known
SELECT stream, kinesis_stream, stream_state, shard_id, state FROM dlake.stream_status ORDER BY stream;
SET ROLE dlake_stream_user;
SELECT count(*) AS visible_to_other_users FROM dlake.stream_status;
SELECT dlake.pause_stream('s1');
SELECT dlake.drop_stream('s1');
RESET ROLE;

-- pause / resume / drop
SELECT dlake.pause_stream('s1');
SELECT stream, stream_state FROM dlake.stream_status ORDER BY stream;
SELECT dlake.resume_stream('s1');
SELECT stream, stream_state FROM dlake.stream_status ORDER BY stream;
SELECT dlake.pause_stream('nope');
SELECT dlake.drop_stream('nope');
SELECT dlake.drop_stream('s2', keep_staging => true);
SELECT to_regclass('dlake_staging.s2') IS NOT NULL AS s2_staging_kept;
DROP TABLE dlake_staging.s2;
SELECT dlake.drop_stream('s1');
SELECT to_regclass('dlake_staging.s1') IS NOT NULL AS s1_staging_exists, count(*) AS streams FROM dlake.streams;

-- put_records: arguments are checked before any request
SELECT * FROM dlake.put_records('k1', ARRAY['a', 'b'], ARRAY['x']::text[]);
SELECT * FROM dlake.put_records('k1', ARRAY['a', NULL], ARRAY['x', 'y']::text[]);
SELECT * FROM dlake.put_records('k1', ARRAY[''], ARRAY['x']::text[]);
SELECT * FROM dlake.put_records('k1', ARRAY['a'], ARRAY[NULL]::bytea[]);
SELECT * FROM dlake.put_records('k1', ARRAY[]::text[], ARRAY[]::bytea[]);
SET ROLE dlake_stream_user;
SELECT * FROM dlake.put_records('k1', ARRAY['a'], ARRAY['x']::text[]);
RESET ROLE;

-- KPL de-aggregation (vector made with the npm aws-kinesis-agg aggregator)
SELECT sub_sequence_number, partition_key, explicit_hash_key, data
  FROM dlake.kpl_deaggregate('\xf3899ac20a01610a0162120234321a0b08001a077b226e223a317d1a0808011a04000102ff1a0b080010001a0574686972644b5cb82ca43d983a68d3ffa1f1f01ed5');
-- a wrong checksum: the bytes are one plain record
SELECT sub_sequence_number, partition_key, length(data)
  FROM dlake.kpl_deaggregate('\xf3899ac20a01610a0162120234321a0b08001a077b226e223a317d1a0808011a04000102ff1a0b080010001a0574686972644b5cb82ca43d983a68d3ffa1f1f01ed6');
-- a truncated protobuf with a matching MD5 is also a plain record
SELECT count(*), min(length(data))
  FROM dlake.kpl_deaggregate('\xf3899ac2'::bytea || '\x0a05'::bytea || decode(md5('\x0a05'::bytea), 'hex'));
-- a valid aggregate with an out-of-range key index is a plain record too
SELECT count(*)
  FROM dlake.kpl_deaggregate('\xf3899ac2'::bytea || '\x0a01611a0508011a0161'::bytea || decode(md5('\x0a01611a0508011a0161'::bytea), 'hex'));
SELECT count(*)
  FROM dlake.kpl_deaggregate('\xf3899ac2'::bytea || '\x0a01611a0508001a0161'::bytea || decode(md5('\x0a01611a0508001a0161'::bytea), 'hex'));
SELECT count(*), min(length(data)) FROM dlake.kpl_deaggregate('\x0102');

DROP ROLE dlake_stream_user;
DROP ROLE dlake_stream_admin;

-- payload jsonb built in one pass by the worker = jsonb_in's result, NULL when not JSON
SELECT t, dlake.stream_payload(convert_to(t, 'UTF8')) AS payload,
       dlake.stream_payload(convert_to(t, 'UTF8'))::text IS NOT DISTINCT FROM
         (CASE WHEN ok THEN t::jsonb END)::text AS same_as_jsonb_in
FROM (VALUES ('{"b": 1, "a": [true, null, -1.50, "x\"y"], "a": 2}', true),
             (' [1e3, 0.25E-2, {}] ', true), ('"s\\t\n"', true), ('42', true),
             (E'"caf\u00e9 \\u00e9"', true), ('01', false), ('1.', false),
             ('truex', false), ('[1,]', false), ('{"a" 1}', false), ('', false),
             ('[1] x', false), (E'"tab\there"', false), ('"\\u0000"', true),
             (E'"\\u0000"', false)) AS c(t, ok);
SELECT dlake.stream_payload('\xff00'::bytea) IS NULL AS binary_is_null;
