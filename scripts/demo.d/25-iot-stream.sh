# title: 9. Live data: temperature sensors -> Kinesis -> staging -> rule set -> cleansed / quarantine
# requires: dlake.create_stream dlake.create_ruleset dlake.put_records
#
# The seed's live source (IoT temperature sensors) and its Lambda ETL: a
# Kinesis stream (kinesalite behind the SigV4 proxy), a dlake stream that
# consumes it into a staging table and applies the rule set "iot" on arrival
# (validate, filter heartbeats, dedupe, enrich with the site of each sensor).
# The simulated sensors send two days of readings plus invalid events.
set -euo pipefail
PSQL=("$DLAKE_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1)
note() { printf '    %s\n' "$*"; }
aws_k() {
	AWS_ACCESS_KEY_ID=$DLAKE_TEST_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$DLAKE_TEST_SECRET_ACCESS_KEY \
	AWS_DEFAULT_REGION=$DLAKE_REGION AWS_EC2_METADATA_DISABLED=true \
	/usr/bin/aws --endpoint-url "$DLAKE_KINESIS_ENDPOINT" kinesis "$@"
}

KSTREAM="iot-events-$(date +%s)"
note "creating Kinesis stream $KSTREAM (2 shards) with the AWS CLI"
aws_k create-stream --stream-name "$KSTREAM" --shard-count 2
for _ in $(seq 1 100); do
	[ "$(aws_k describe-stream-summary --stream-name "$KSTREAM" --query StreamDescriptionSummary.StreamStatus --output text)" = ACTIVE ] && break
	sleep 0.2
done

"${PSQL[@]}" -e -v kstream="$KSTREAM" -v server="$DEMO_SERVER" <<'SQL'
\pset footer off
-- a re-run starts over
SELECT dlake.drop_stream('iot') FROM dlake.streams WHERE name = 'iot';
DROP TABLE IF EXISTS dlake_cleansed.iot, dlake_quarantine.iot;
SELECT dlake.drop_ruleset('iot', if_exists => true);

-- reference data for the enrichment: where each sensor is
DROP TABLE IF EXISTS public.sensors;
CREATE TABLE public.sensors (sensor_id text PRIMARY KEY, site text NOT NULL, region text NOT NULL);
INSERT INTO public.sensors
SELECT format('s-%s', lpad(i::text, 2, '0')),
       (ARRAY['paris-1', 'paris-2', 'lyon-1', 'berlin-1'])[(i - 1) % 4 + 1],
       (ARRAY['eu-west', 'eu-west', 'eu-west', 'eu-central'])[(i - 1) % 4 + 1]
  FROM generate_series(1, 12) i;

-- the seed's Lambda function, as a rule set
SELECT dlake.create_ruleset('iot', $j${
  "required": ["sensor_id", "timestamp", "value"],
  "types":    {"sensor_id": "text", "timestamp": "timestamptz", "value": "float8"},
  "checks":   {"value": {"min": -50, "max": 150}},
  "drop_if":  "record->>'type' = 'heartbeat'",
  "dedupe":   ["sensor_id", "timestamp"],
  "enrich": {
    "processed_at": "now()",
    "date": "(\"timestamp\" AT TIME ZONE 'UTC')::date",
    "site": {"lookup": "public.sensors", "key": "sensor_id", "column": "site", "on_missing": "reject"}
  }
}$j$);

-- the stream: Kinesis -> dlake_staging.iot, rule set applied on arrival
SELECT dlake.create_stream('iot', kinesis_stream => :'kstream', server => :'server', ruleset => 'iot');
SQL

note "the simulated sensors send readings (every 15 min, 12 sensors, 2 days) and bad events"
"${PSQL[@]}" -v kstream="$KSTREAM" -v server="$DEMO_SERVER" <<'SQL'
\pset footer off
DROP TABLE IF EXISTS public.iot_events_sent;
CREATE TABLE public.iot_events_sent AS
WITH good AS (
  SELECT s.sensor_id, t,
         jsonb_build_object('sensor_id', s.sensor_id, 'timestamp', to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                            'value', round((18 + 6 * sin(extract(epoch FROM t) / 13750.0) + (hashtext(s.sensor_id || t) % 100) / 50.0)::numeric, 2))::text AS payload
    FROM public.sensors s,
         generate_series((current_date - 2)::timestamp, current_date::timestamp - interval '15 min', interval '15 min') t
)
SELECT sensor_id AS pkey, payload, 'valid' AS kind FROM good
UNION ALL SELECT 's-01', format('{"sensor_id": "s-%s", "timestamp": "%s"}', lpad((i % 12 + 1)::text, 2, '0'), to_char(current_date - 1 - i * interval '7 min', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')), 'no value'
  FROM generate_series(1, 15) i
UNION ALL SELECT 's-02', format('{"sensor_id": "s-02", "timestamp": "%s", "value": 999}', to_char(current_date - 1 - i * interval '3 min', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')), 'out of range'
  FROM generate_series(1, 10) i
UNION ALL SELECT 's-99', format('{"sensor_id": "s-99", "timestamp": "%s", "value": 20}', to_char(current_date - 2 + i * interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')), 'unknown sensor'
  FROM generate_series(1, 10) i
UNION ALL SELECT 's-03', '{"sensor_id": "s-03", "timestamp": ', 'malformed JSON' FROM generate_series(1, 10) i
UNION ALL SELECT 's-04', '{"type": "heartbeat", "sensor_id": "s-04"}', 'heartbeat' FROM generate_series(1, 15) i
UNION ALL (SELECT sensor_id, payload, 'duplicate' FROM good ORDER BY t, sensor_id LIMIT 20);

SELECT kind, count(*) AS events FROM public.iot_events_sent GROUP BY kind ORDER BY count(*) DESC;

-- PutRecords in batches of 500 (shuffled: sensors do not send in order)
SELECT count(*) AS records_acknowledged_by_kinesis
  FROM (SELECT array_agg(pkey ORDER BY r) AS keys, array_agg(payload ORDER BY r) AS payloads
          FROM (SELECT pkey, payload, random() AS r FROM public.iot_events_sent) e) a,
       LATERAL dlake.put_records(:'kstream', a.keys, a.payloads, server => :'server');
SQL
SENT=$("${PSQL[@]}" -At -c "SELECT count(*) FROM public.iot_events_sent")

note "waiting until the stream workers have staged all $SENT records"
staged=0
for i in $(seq 1 240); do
	staged=$("${PSQL[@]}" -At -c "SELECT count(*) FROM dlake_staging.iot")
	[ "$staged" -ge "$SENT" ] && break
	[ $((i % 8)) -eq 0 ] && note "... $staged / $SENT staged"
	sleep 0.5
done
note "$staged / $SENT staged"

"${PSQL[@]}" -e <<'SQL'
\pset footer off
-- raw staging keeps every record as received; the rule set split them
SELECT (SELECT count(*) FROM dlake_staging.iot)     AS staged,
       (SELECT count(*) FROM dlake_cleansed.iot)    AS cleansed,
       (SELECT count(*) FROM dlake_quarantine.iot)  AS quarantined,
       (SELECT count(*) FROM dlake_staging.iot) - (SELECT count(*) FROM dlake_cleansed.iot)
         - (SELECT count(*) FROM dlake_quarantine.iot) AS dropped_heartbeats_and_duplicates;

SELECT rule, field, reason, records FROM dlake.quarantine_summary WHERE quarantine = 'dlake_quarantine.iot'::regclass
 ORDER BY records DESC, rule, field;

SELECT sensor_id, "timestamp", value, site, date FROM dlake_cleansed.iot ORDER BY "timestamp", sensor_id LIMIT 3;

SELECT shard_id, state, records, batches, dead_letters, errors, millis_behind_latest FROM dlake.stream_status
 WHERE stream = 'iot' ORDER BY shard_id;
SQL
