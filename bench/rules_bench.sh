#!/usr/bin/env bash
# bench/rules_bench.sh — rule sets vs the in-Postgres limit (not in CI).
#
# N JSON records (default 1,000,000; 1% heartbeats) through a rule set with
# 8 rules (required, types, two checks, a condition, drop_if, dedupe,
# enrich expressions) and 1 lookup, applied by dlake.apply_ruleset, versus a
# plain INSERT ... SELECT of the same rows with the same casts, the same
# lookup join and the same heartbeat filter (no failure tracking, no
# quarantine, no dedupe).  Prints both times and the ratio (goal <= 2).
#
# usage: DLAKE_STACK_DIR=/tmp/dlake-x bench/rules_bench.sh [N]
set -euo pipefail
N=${1:-1000000}
DIR=${DLAKE_STACK_DIR:-/tmp/dlake-stack}
# shellcheck disable=SC1091
. "$DIR/env.sh"
DB=dlake_bench
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true' EXIT

psql -X -q -v ON_ERROR_STOP=1 -d $DB -v n="$N" <<'SQL'
CREATE EXTENSION dlake;
CREATE TABLE sensors (sensor_id text PRIMARY KEY, site text);
INSERT INTO sensors SELECT 's-' || i, 'site-' || (i % 17) FROM generate_series(0, 999) i;
CREATE TABLE src (id bigserial, payload jsonb);
INSERT INTO src (payload)
SELECT CASE WHEN i % 100 = 0 THEN jsonb_build_object('type', 'heartbeat', 'sensor_id', 's-' || (i % 1000))
	ELSE jsonb_build_object('sensor_id', 's-' || (i % 1000),
		'timestamp', to_char(timestamptz '2024-01-01' + i * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		'value', round((random() * 100)::numeric, 2), 'seq', i, 'unit', 'C') END
  FROM generate_series(1, :n) i;
VACUUM ANALYZE src;

SELECT dlake.create_ruleset('bench', $j${
	"required": ["sensor_id", "timestamp", "value"],
	"types": {"timestamp": "timestamptz", "value": "float8", "sensor_id": "text", "seq": "int8"},
	"checks": {"value": {"min": -50, "max": 150}, "sensor_id": {"pattern": "^s-[0-9]+$"}},
	"conditions": {"recent": "\"timestamp\" >= '2020-01-01'::timestamptz"},
	"drop_if": "record->>'type' = 'heartbeat'",
	"dedupe": ["sensor_id", "seq"],
	"enrich": {"processed_at": "now()", "date": "(\"timestamp\" AT TIME ZONE 'UTC')::date",
		"site": {"lookup": "public.sensors", "key": "sensor_id", "column": "site", "on_missing": "reject"}}
}$j$);

CREATE TABLE plain (value float8, sensor_id text, seq bigint, "timestamp" timestamptz,
	processed_at timestamptz, date date, site text, record jsonb);
CHECKPOINT;

SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
INSERT INTO plain
SELECT (s.payload->>'value')::float8, s.payload->>'sensor_id', (s.payload->>'seq')::int8,
	(s.payload->>'timestamp')::timestamptz, now(), ((s.payload->>'timestamp')::timestamptz AT TIME ZONE 'UTC')::date,
	l.site, s.payload
  FROM src s LEFT JOIN sensors l ON l.sensor_id = s.payload->>'sensor_id'
 WHERE s.payload->>'type' IS DISTINCT FROM 'heartbeat';
SELECT extract(epoch FROM clock_timestamp()) - :t0 AS plain_s \gset
CHECKPOINT;

SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT * FROM dlake.apply_ruleset('bench', 'src');
SELECT extract(epoch FROM clock_timestamp()) - :t0 AS apply_s \gset

SELECT :n AS records, (SELECT count(*) FROM plain) AS plain_rows,
	(SELECT count(*) FROM dlake_cleansed.src) AS cleansed_rows,
	round(:plain_s::numeric, 2) AS plain_s, round(:apply_s::numeric, 2) AS apply_s,
	round((:apply_s / :plain_s)::numeric, 2) AS ratio,
	round((:n / :apply_s)::numeric) AS apply_records_per_s;
SQL
