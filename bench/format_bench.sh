#!/usr/bin/env bash
# bench/format_bench.sh — Parquet write/read throughput of dlake vs DuckDB
# (one thread), file sizes, and the backend's peak memory at 1 M vs 10 M
# rows.  Not run in CI (CPU heavy).  Needs a running test stack:
#
#   DLAKE_STACK_DIR=/tmp/dlake-<you> scripts/stack.sh start
#   DLAKE_STACK_DIR=/tmp/dlake-<you> bench/format_bench.sh [rows...]
#
# Rows default to "1000000 10000000".  Columns: int8, float8, text of ~20
# chars with 1000 distinct values, timestamptz, numeric(12,2).  For each
# size and codec (snappy, zstd): dlake.write_file, then a read back with
# sum/count of every column through dlake.read_file, each in a fresh
# backend whose VmHWM (peak RSS) is reported; DuckDB does the same with
# threads=1 in the same run.  BENCH_CODECS (default "snappy zstd") and
# BENCH_OPTS (extra writer options as JSON members) narrow or tune a run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${DLAKE_STACK_DIR:-/tmp/dlake-stack}
. "$DIR/env.sh"
SIZES=${*:-"1000000 10000000"}
CODECS=${BENCH_CODECS:-"snappy zstd"}
# extra writer options, e.g. BENCH_OPTS='"row_group_bytes": "32MB"'
EXTRA=${BENCH_OPTS:+, $BENCH_OPTS}
OUT="$DLAKE_FILE_ROOT/format_bench"
LOCAL=$(mktemp -d /tmp/dlake-format-bench.XXXXXX)
trap 'rm -rf "$LOCAL"' EXIT

query() {	# query N: the benchmark rows, as PostgreSQL SQL
	echo "SELECT g::int8 AS id, g * 0.25::float8 AS f, 'customer_name_' || lpad((g % 1000)::text, 6, '0') AS s, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' AS ts, ((g % 100000) * 1.01)::numeric(12,2) AS n FROM generate_series(1, $1) g"
}

# run SQL in a fresh backend; prints "seconds peak_kB"
pg_run() {
	psql -X -q -At -v ON_ERROR_STOP=1 <<SQL | tail -1
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
$1
SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3) || ' ' ||
       (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\s+(\d+)'))[1];
SQL
}

node_duck() {	# node_duck N CODEC FILE: prints "write_s read_s"
	(cd "$ROOT/test" && node --input-type=module -e "
import { DuckDBInstance } from '@duckdb/node-api';
const [n, codec, file] = process.argv.slice(1);
const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await inst.connect();
await con.run(\"SET TimeZone = 'UTC'\");
let t = performance.now();
await con.run(\`COPY (SELECT i::BIGINT AS id, i * 0.25 AS f, 'customer_name_' || lpad((i % 1000)::VARCHAR, 6, '0') AS s, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i) AS ts, ((i % 100000) * 1.01)::DECIMAL(12,2) AS n FROM range(1, \${Number(n) + 1}) r(i)) TO '\${file}' (FORMAT parquet, COMPRESSION \${codec})\`);
const w = (performance.now() - t) / 1000;
t = performance.now();
await con.runAndReadAll(\`SELECT count(*), sum(id), sum(f), count(s), max(ts), sum(n) FROM read_parquet('\${file}')\`);
const r = (performance.now() - t) / 1000;
console.log(w.toFixed(3), r.toFixed(3));
" "$@")
}

psql -X -q -At -c "SELECT dlake.delete('file://$OUT/') >= 0" >/dev/null
printf '%-9s %-6s %-7s %12s %12s %10s %10s %12s %12s %8s %10s %10s\n' \
	rows codec engine write_rows/s read_rows/s write_s read_s file_bytes size_vs_duck ratio_w peak_w_MB peak_r_MB
for n in $SIZES; do
	for codec in $CODECS; do
		f="file://$OUT/bench_${n}_${codec}.parquet"
		read -r ws wpeak < <(pg_run "SELECT dlake.write_file(\$q\$$(query "$n")\$q\$, '$f', 'parquet', '{\"compression\": \"$codec\"$EXTRA}') \\g /dev/null")
		read -r rs rpeak < <(pg_run "SELECT count(*), sum(id), sum(f), count(s), max(ts), sum(n) FROM dlake.read_file('$f') AS t(id int8, f float8, s text, ts timestamptz, n numeric(12,2)) \\g /dev/null")
		size=$(psql -X -At -c "SELECT size FROM dlake.stat('$f')")
		read -r dws drs < <(node_duck "$n" "$codec" "$LOCAL/duck_${n}_${codec}.parquet")
		dsize=$(stat -c %s "$LOCAL/duck_${n}_${codec}.parquet")
		awk -v n="$n" -v c="$codec" -v ws="$ws" -v rs="$rs" -v s="$size" -v dws="$dws" -v drs="$drs" -v ds="$dsize" \
			-v wp="$wpeak" -v rp="$rpeak" 'BEGIN {
			printf "%-9s %-6s %-7s %12.0f %12.0f %10.2f %10.2f %12d %12.2f %8.2f %10.1f %10.1f\n", n, c, "dlake", n/ws, n/rs, ws, rs, s, s/ds, ws/dws, wp/1024, rp/1024;
			printf "%-9s %-6s %-7s %12.0f %12.0f %10.2f %10.2f %12d %12s %8s %10s %10s\n", n, c, "duckdb", n/dws, n/drs, dws, drs, ds, "1.00", "1.00", "-", "-";
		}'
		psql -X -q -At -c "SELECT dlake.delete('$f')" >/dev/null
	done
done
psql -X -q -At -c "SELECT dlake.delete('file://$OUT/') >= 0" >/dev/null
