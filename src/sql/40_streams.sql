
-- ---------------------------------------------------------------------------
-- 40_streams: Kinesis ingestion.  Catalog of streams and shards (with their
-- checkpoints), error log, dead letters, the stream_status view, and the SQL
-- functions.  Staging tables live in schema dlake_staging.  See
-- docs/streaming.md.
-- ---------------------------------------------------------------------------

CREATE SCHEMA dlake_staging;
COMMENT ON SCHEMA dlake_staging IS
  'dlake: staging tables filled by the Kinesis stream workers (one per stream)';
GRANT USAGE ON SCHEMA dlake_staging TO PUBLIC;
GRANT CREATE ON SCHEMA dlake_staging TO dlake_admin;

CREATE TABLE dlake.streams (
	stream_id		serial PRIMARY KEY,
	name			text NOT NULL UNIQUE,
	kinesis_stream	text NOT NULL,
	server_name		text,
	owner			oid NOT NULL,
	start_at		text NOT NULL CHECK (start_at IN ('trim_horizon', 'latest', 'timestamp')),
	start_timestamp timestamptz,
	ruleset			text,
	batch_size		integer NOT NULL DEFAULT 10000 CHECK (batch_size BETWEEN 1 AND 10000),
	max_record_bytes integer NOT NULL DEFAULT 10485760 CHECK (max_record_bytes > 0),
	retention		interval,
	enabled			boolean NOT NULL DEFAULT true,
	staging			regclass NOT NULL,
	created_at		timestamptz NOT NULL DEFAULT now(),
	last_error		text,
	last_error_at	timestamptz,
	/* policies (dlake.set_stream_policy) */
	out_of_range	text NOT NULL DEFAULT 'keep' CHECK (out_of_range IN ('keep', 'dead_letter')),
	max_retries		integer CHECK (max_retries >= 0),
	max_record_age	interval CHECK (max_record_age > interval '0'),
	CHECK (name ~ '^[a-z_][a-z0-9_]{0,62}$')
);
COMMENT ON TABLE dlake.streams IS 'dlake: Kinesis streams consumed into staging tables';

/*
 * One row per shard: lineage, state, and the checkpoint (the last stored
 * sequence / sub-sequence number), updated in the same transaction as the
 * staging rows.  Counters are cumulative; rates are those of the last
 * batches.
 */
CREATE TABLE dlake.shards (
	stream_id		integer NOT NULL REFERENCES dlake.streams ON DELETE CASCADE,
	shard_id		text NOT NULL,
	parent_shard_id text,
	adjacent_parent_shard_id text,
	starting_hash_key numeric,
	ending_hash_key numeric,
	starting_sequence numeric,
	ending_sequence numeric,
	state			text NOT NULL DEFAULT 'waiting'
					CHECK (state IN ('waiting', 'reading', 'finished', 'skipped', 'gone')),
	start_position	text NOT NULL DEFAULT 'TRIM_HORIZON'
					CHECK (start_position IN ('TRIM_HORIZON', 'LATEST')),
	checkpoint_sequence numeric,
	checkpoint_sub_sequence integer,
	records			bigint NOT NULL DEFAULT 0,
	bytes			bigint NOT NULL DEFAULT 0,
	batches			bigint NOT NULL DEFAULT 0,
	dead_letters	bigint NOT NULL DEFAULT 0,
	throttles		bigint NOT NULL DEFAULT 0,
	expired_iterators bigint NOT NULL DEFAULT 0,
	errors			bigint NOT NULL DEFAULT 0,
	millis_behind_latest bigint,
	records_per_s	double precision,
	bytes_per_s		double precision,
	worker_pid		integer,
	discovered_at	timestamptz NOT NULL DEFAULT now(),
	last_batch_at	timestamptz,
	finished_at		timestamptz,
	last_error		text,
	last_error_at	timestamptz,
	out_of_range_records bigint NOT NULL DEFAULT 0,
	policy_dead_letters bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (stream_id, shard_id)
);
COMMENT ON TABLE dlake.shards IS 'dlake: shards of each stream, lineage and checkpoints';

CREATE TABLE dlake.ingest_errors (
	error_id		bigserial PRIMARY KEY,
	stream_id		integer REFERENCES dlake.streams ON DELETE CASCADE,
	shard_id		text,
	occurred_at		timestamptz NOT NULL DEFAULT now(),
	error_code		text,
	message			text NOT NULL
);
CREATE INDEX ON dlake.ingest_errors (stream_id, occurred_at);
COMMENT ON TABLE dlake.ingest_errors IS 'dlake: log of errors met by the stream workers';

CREATE TABLE dlake.dead_letters (
	dead_letter_id	bigserial PRIMARY KEY,
	stream_id		integer NOT NULL REFERENCES dlake.streams ON DELETE CASCADE,
	shard_id		text NOT NULL,
	sequence_number numeric NOT NULL,
	sub_sequence_number integer NOT NULL,
	partition_key	text,
	approximate_arrival_timestamp timestamptz,
	ingested_at		timestamptz NOT NULL DEFAULT now(),
	data_length		integer NOT NULL,
	data			bytea,
	reason			text NOT NULL,
	UNIQUE (stream_id, shard_id, sequence_number, sub_sequence_number)
);
COMMENT ON TABLE dlake.dead_letters IS
  'dlake: records that could not be stored in staging, with the reason';

REVOKE ALL ON dlake.streams, dlake.shards, dlake.ingest_errors, dlake.dead_letters FROM PUBLIC;
GRANT SELECT ON dlake.streams, dlake.shards, dlake.ingest_errors, dlake.dead_letters TO dlake_admin;

/*
 * Streams, shard checkpoints, the error log and dead letters are user
 * state: pg_dump dumps their rows (and the sequences behind the serial
 * keys, so that a restored database keeps numbering after them).
 */
SELECT pg_catalog.pg_extension_config_dump('dlake.streams', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.streams_stream_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.shards', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.ingest_errors', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.ingest_errors_error_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.dead_letters', '');
SELECT pg_catalog.pg_extension_config_dump('dlake.dead_letters_dead_letter_id_seq', '');

/* per shard, for the stream's owner, dlake_admin members and superusers */
CREATE VIEW dlake.stream_status AS
SELECT s.name AS stream,
	   s.kinesis_stream,
	   CASE WHEN NOT s.enabled THEN 'paused' ELSE 'enabled' END AS stream_state,
	   sh.shard_id,
	   sh.parent_shard_id,
	   sh.adjacent_parent_shard_id,
	   sh.state,
	   sh.checkpoint_sequence,
	   sh.checkpoint_sub_sequence,
	   sh.millis_behind_latest,
	   sh.records_per_s,
	   sh.bytes_per_s,
	   sh.records,
	   sh.bytes,
	   sh.batches,
	   sh.throttles,
	   sh.expired_iterators,
	   sh.dead_letters,
	   sh.errors,
	   coalesce(sh.last_error, s.last_error) AS last_error,
	   CASE WHEN sh.last_error IS NOT NULL THEN sh.last_error_at ELSE s.last_error_at END AS last_error_at,
	   sh.last_batch_at,
	   sh.worker_pid,
	   s.staging,
	   sh.out_of_range_records,
	   sh.policy_dead_letters
  FROM dlake.streams s
  LEFT JOIN dlake.shards sh USING (stream_id)
 WHERE pg_catalog.pg_has_role(s.owner, 'USAGE')
	OR pg_catalog.pg_has_role('dlake_admin', 'USAGE');
GRANT SELECT ON dlake.stream_status TO PUBLIC;
COMMENT ON VIEW dlake.stream_status IS 'dlake: per-shard state of every stream';

CREATE FUNCTION dlake.create_stream(name text,
									kinesis_stream text,
									server text DEFAULT NULL,
									start_at text DEFAULT 'trim_horizon',
									ruleset text DEFAULT NULL,
									batch_size integer DEFAULT 10000,
									max_record_bytes integer DEFAULT 10485760,
									retention interval DEFAULT NULL)
RETURNS regclass
AS 'MODULE_PATHNAME', 'dlake_create_stream'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

/*
 * dlake.set_stream_policy sets the three policies of a stream at once
 * (docs/streaming.md): what to do with KPL user records whose hash key is
 * outside their shard's range, and when a page whose commit keeps failing
 * goes to the dead letters instead of being retried (NULL = never).
 * The worker picks the change up within a naptime.
 */
CREATE FUNCTION dlake.set_stream_policy(name text,
										out_of_range text DEFAULT 'keep',
										max_retries integer DEFAULT NULL,
										max_record_age interval DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
	IF out_of_range IS NULL OR out_of_range NOT IN ('keep', 'dead_letter') THEN
		RAISE EXCEPTION 'invalid out_of_range policy "%"', out_of_range
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use ''keep'' (store and count) or ''dead_letter'' (move to dlake.dead_letters and count).';
	END IF;
	IF max_retries < 0 THEN
		RAISE EXCEPTION 'max_retries must not be negative'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF max_record_age <= interval '0' THEN
		RAISE EXCEPTION 'max_record_age must be positive'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE dlake.streams s
	   SET out_of_range = set_stream_policy.out_of_range,
		   max_retries = set_stream_policy.max_retries,
		   max_record_age = set_stream_policy.max_record_age
	 WHERE s.name = set_stream_policy.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'stream "%" does not exist', set_stream_policy.name
			USING ERRCODE = 'undefined_object',
				  HINT = 'Streams are created with dlake.create_stream(); see SELECT name FROM dlake.streams.';
	END IF;
END
$fn$;
REVOKE ALL ON FUNCTION dlake.set_stream_policy(text, text, integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dlake.set_stream_policy(text, text, integer, interval) TO dlake_admin;
GRANT UPDATE (out_of_range, max_retries, max_record_age) ON dlake.streams TO dlake_admin;

CREATE FUNCTION dlake.pause_stream(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'dlake_pause_stream'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION dlake.resume_stream(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'dlake_resume_stream'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION dlake.drop_stream(name text, keep_staging boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'dlake_drop_stream'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION dlake.put_records(kinesis_stream text,
								  partition_keys text[],
								  payloads bytea[],
								  server text DEFAULT NULL,
								  explicit_hash_keys text[] DEFAULT NULL,
								  OUT ordinality integer,
								  OUT shard_id text,
								  OUT sequence_number numeric,
								  OUT attempts integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'dlake_put_records'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

CREATE FUNCTION dlake.put_records(kinesis_stream text,
								  partition_keys text[],
								  payloads text[],
								  server text DEFAULT NULL,
								  explicit_hash_keys text[] DEFAULT NULL,
								  OUT ordinality integer,
								  OUT shard_id text,
								  OUT sequence_number numeric,
								  OUT attempts integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'dlake_put_records_text'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

REVOKE ALL ON FUNCTION dlake.put_records(text, text[], bytea[], text, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION dlake.put_records(text, text[], text[], text, text[]) FROM PUBLIC;

-- the payload jsonb the staging insert stores for these bytes (NULL when
-- they are not JSON jsonb accepts); exposes the worker's one-pass builder
CREATE FUNCTION dlake.stream_payload(data bytea)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'dlake_stream_payload'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

/* user records of one KPL aggregate (one row, sub-sequence 0, if the bytes are not one) */
CREATE FUNCTION dlake.kpl_deaggregate(data bytea,
									  OUT sub_sequence_number integer,
									  OUT partition_key text,
									  OUT explicit_hash_key text,
									  OUT data bytea)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'dlake_kpl_deaggregate'
LANGUAGE C STRICT IMMUTABLE;
