#!/usr/bin/env bash
# bench/export_bench.sh — dlake.export / dlake.load against PostgreSQL's own
# COPY on the same rows, in one run (not in CI).
#
# N rows (default 10,000,000) of (id, amount numeric(12,2), region, ts, date
# over 365 days, not sorted by date) in a heap table, then, each in a fresh
# session so that its peak RSS (VmHWM) is its own:
#   1. COPY (SELECT * FROM src) TO file CSV             (baseline)
#   2. dlake.export to file:// as Parquet (snappy)      goal: <= 1.0 x (1)
#   3. dlake.export to file:// as CSV
#   4. dlake.export Parquet partitioned by date (365)   goal: <= 1.3 x (2)
#   5. COPY dst FROM the CSV of (1)                     (baseline)
#   6. dlake.load of the same CSV                       goal: <= 1.5 x (5)
# Prints seconds, ratios and each backend's peak RSS (goal < 256 MB).
#
# usage: DLAKE_STACK_DIR=/tmp/dlake-x bench/export_bench.sh [N]
#        BENCH_STEPS=partitioned ... runs only steps 2 and 4 (the
#        partitioned / unpartitioned ratio) on a shared machine.
set -euo pipefail
N=${1:-10000000}
STEPS=${BENCH_STEPS:-all}
DIR=${DLAKE_STACK_DIR:-/tmp/dlake-stack}
# shellcheck disable=SC1091
. "$DIR/env.sh"
DB=dlake_export_bench
OUT=$DLAKE_FILE_ROOT/export_bench
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
cleanup()
{
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
	rm -rf "$OUT"
}
trap cleanup EXIT
rm -rf "$OUT"
runuser -u postgres -- mkdir -p "$OUT"

psql -X -q -v ON_ERROR_STOP=1 -d $DB -v n="$N" <<'SQL'
CREATE EXTENSION dlake CASCADE;
CREATE TABLE src AS
SELECT i AS id, ((i * 37) % 100000 / 100.0)::numeric(12,2) AS amount, 'region-' || (i % 13) AS region,
       timestamptz '2024-01-01' + (i % 365) * interval '1 day' + (i % 86400) * interval '1 second' AS ts,
       date '2024-01-01' + (i % 365) AS date
  FROM generate_series(1, :n) i;
VACUUM ANALYZE src;
CREATE TABLE dst (LIKE src);
CREATE TABLE dst2 (LIKE src);
CHECKPOINT;
SQL

# run one statement in a fresh session; prints "seconds peak_rss_kb"
measure()
{
	local sql=$1
	psql -X -q -At -v ON_ERROR_STOP=1 -d $DB <<SQL
SET dlake.progress_interval = 0;
SELECT pg_backend_pid() AS pid \gset
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
$sql
SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 2) AS secs \gset
\setenv BPID :pid
\setenv BSECS :secs
\! printf '%s %s\n' "\$BSECS" "\$(awk '/VmHWM/ {print \$2}' /proc/\$BPID/status)"
SQL
}

res()
{
	# last line of measure's output
	tail -n 1
}

echo "rows: $N"
PQ365="SELECT count(*) FROM dlake.export('SELECT * FROM src', 'file://$OUT/pq365', 'parquet', ARRAY['date']) \\g /dev/null"
PQ="SELECT count(*) FROM dlake.export('SELECT * FROM src', 'file://$OUT/pq', 'parquet', compression => 'snappy') \\g /dev/null"

secs() { echo "$1" | cut -d' ' -f1; }
rss() { echo "$1" | cut -d' ' -f2; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

if [ "$STEPS" = partitioned ]; then
	pq=$(measure "$PQ" | res)
	pq365=$(measure "$PQ365" | res)
	printf '%-44s %8s %10s\n' "step" "seconds" "peak RSS"
	printf '%-44s %8s %7d MB\n' "dlake.export Parquet snappy (file://)" "$(secs "$pq")" $(( $(rss "$pq") / 1024 ))
	printf '%-44s %8s %7d MB\n' "dlake.export Parquet, 365 partitions" "$(secs "$pq365")" $(( $(rss "$pq365") / 1024 ))
	echo
	echo "365 partitions / unpartitioned Parquet: $(ratio "$(secs "$pq365")" "$(secs "$pq")")  (goal <= 1.3)"
	psql -X -q -At -d $DB -c "SELECT 'files: ' || count(*) || ', rows: ' || sum(rows) FROM dlake.files WHERE location LIKE '%/pq365'"
	exit 0
fi

copy_to=$(measure "COPY (SELECT * FROM src) TO '$OUT/copy.csv' CSV HEADER;" | res)
pq=$(measure "$PQ" | res)
csv=$(measure "SELECT count(*) FROM dlake.export('SELECT * FROM src', 'file://$OUT/csv', 'csv') \\g /dev/null" | res)
pq365=$(measure "$PQ365" | res)
copy_from=$(measure "COPY dst FROM '$OUT/copy.csv' CSV HEADER;" | res)
load=$(measure "SELECT count(*) FROM dlake.load('dst2', 'file://$OUT/copy.csv') \\g /dev/null" | res)

printf '%-44s %8s %10s\n' "step" "seconds" "peak RSS"
printf '%-44s %8s %7d MB\n' "COPY (query) TO file CSV" "$(secs "$copy_to")" $(( $(rss "$copy_to") / 1024 ))
printf '%-44s %8s %7d MB\n' "dlake.export Parquet snappy (file://)" "$(secs "$pq")" $(( $(rss "$pq") / 1024 ))
printf '%-44s %8s %7d MB\n' "dlake.export CSV (file://)" "$(secs "$csv")" $(( $(rss "$csv") / 1024 ))
printf '%-44s %8s %7d MB\n' "dlake.export Parquet, 365 partitions" "$(secs "$pq365")" $(( $(rss "$pq365") / 1024 ))
printf '%-44s %8s %7d MB\n' "COPY FROM file CSV" "$(secs "$copy_from")" $(( $(rss "$copy_from") / 1024 ))
printf '%-44s %8s %7d MB\n' "dlake.load CSV (file://)" "$(secs "$load")" $(( $(rss "$load") / 1024 ))
echo
echo "Parquet export / COPY TO CSV:          $(ratio "$(secs "$pq")" "$(secs "$copy_to")")  (goal <= 1.0)"
echo "365 partitions / unpartitioned Parquet: $(ratio "$(secs "$pq365")" "$(secs "$pq")")  (goal <= 1.3)"
echo "dlake.load / COPY FROM:                 $(ratio "$(secs "$load")" "$(secs "$copy_from")")  (goal <= 1.5)"
psql -X -q -At -d $DB -c "SELECT 'rows loaded: ' || (SELECT count(*) FROM dst) || ' / ' || (SELECT count(*) FROM dst2)"
