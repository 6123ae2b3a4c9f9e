#!/usr/bin/env bash
# bench/read_bench.sh — read throughput of the format readers (not in CI).
#
# One run over the same N rows (default 2,000,000) of the format benchmark
# columns (id int8, f float8, s text of ~20 chars with 1000 distinct
# values, ts timestamptz, n numeric(12,2)), each query best of BENCH_RUNS (5):
#   heap        SELECT ... FROM a heap table holding the rows
#   pq_fdw      a dlake_fdw Parquet (snappy) foreign table over the same rows
#   read_file   dlake.read_file on that Parquet file (materialises into a
#               tuplestore, like every set-returning function)
#   csv_fdw     a dlake_fdw CSV foreign table
#   file_fdw    file_fdw over the same CSV
#   duckdb      DuckDB, one thread, on the same Parquet file
# Queries: "2 cols" = SELECT sum(id), count(*); "5 cols" = count(*) and an
# aggregate of every column.  PostgreSQL figures are the backend's CPU time
# (/proc/self/schedstat), DuckDB's the node process CPU time, so that load
# from other work on a shared machine distorts the ratios less (it still
# does: CPU time grows when the other core is busy; compare runs); wall
# times are printed too.  Parallel query is off.
#
# usage: DLAKE_STACK_DIR=/tmp/dlake-x bench/read_bench.sh [N]
set -euo pipefail
N=${1:-2000000}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${DLAKE_STACK_DIR:-/tmp/dlake-stack}
# shellcheck disable=SC1091
. "$DIR/env.sh"
DB=dlake_bench_read
BASE="$DLAKE_FILE_ROOT/read_bench"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
cleanup()
{
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
	runuser -u postgres -- rm -rf "$BASE" 2>/dev/null || rm -rf "$BASE"
}
trap cleanup EXIT

psql -X -q -v ON_ERROR_STOP=1 -d $DB -v n="$N" -v base="$BASE" <<'SQL' >/dev/null
CREATE EXTENSION dlake;
CREATE EXTENSION file_fdw;
CREATE SERVER files FOREIGN DATA WRAPPER dlake_fdw;
CREATE SERVER csvfiles FOREIGN DATA WRAPPER file_fdw;
CREATE TABLE heap AS
  SELECT g::int8 AS id, g * 0.25::float8 AS f,
         'customer_name_' || lpad((g % 1000)::text, 6, '0') AS s,
         timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' AS ts,
         ((g % 100000) * 1.01)::numeric(12,2) AS n
  FROM generate_series(1, :n) g;
VACUUM ANALYZE heap;
SELECT dlake.write_file('SELECT * FROM heap', 'file://' || :'base' || '/pq/data.parquet',
                        'parquet', '{"compression": "snappy"}');
SELECT dlake.write_file('SELECT * FROM heap', 'file://' || :'base' || '/csv/data.csv', 'csv');
\set tpq 'file://' :base '/pq/'
\set tcsv 'file://' :base '/csv/'
\set csvfile :base '/csv/data.csv'
CREATE FOREIGN TABLE pq (id int8, f float8, s text, ts timestamptz, n numeric(12,2))
  SERVER files OPTIONS (location :'tpq', format 'parquet');
CREATE FOREIGN TABLE dcsv (id int8, f float8, s text, ts timestamptz, n numeric(12,2))
  SERVER files OPTIONS (location :'tcsv', format 'csv');
CREATE FOREIGN TABLE fcsv (id int8, f float8, s text, ts timestamptz, n numeric(12,2))
  SERVER csvfiles OPTIONS (filename :'csvfile', format 'csv', header 'true');
SQL

# measure SQL: prints "cpu_ms wall_ms", each the best of BENCH_RUNS (5)
measure()
{
	local one
	one="SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::int8 AS c0,
       extract(epoch FROM clock_timestamp()) AS w0 \\gset
$1 \\g /dev/null
INSERT INTO _m SELECT (split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::int8 - :c0) / 1e6,
                      (extract(epoch FROM clock_timestamp()) - :w0) * 1000;"
	{
		echo "SET max_parallel_workers_per_gather = 0;"
		echo "CREATE TEMP TABLE _m (cpu float8, wall float8);"
		for _ in $(seq "${BENCH_RUNS:-5}"); do
			echo "$one"
		done
		echo "SELECT round(min(cpu)::numeric, 1) || ' ' || round(min(wall)::numeric, 1) FROM _m;"
	} | psql -X -q -At -v ON_ERROR_STOP=1 -d $DB | tail -1
}

Q2='SELECT sum(id), count(*) FROM'
Q5='SELECT count(*), sum(id), sum(f), count(s), max(ts), sum(n) FROM'
COLS='AS t(id int8, f float8, s text, ts timestamptz, n numeric(12,2))'
RF="dlake.read_file('file://$BASE/pq/data.parquet') $COLS"

declare -A CPU WALL
run()
{
	local key=$1 sql=$2
	read -r "CPU[$key]" "WALL[$key]" < <(measure "$sql")
	printf '%-16s %10.1f ms cpu %10.1f ms wall\n' "$key" "${CPU[$key]}" "${WALL[$key]}"
}

echo "rows: $N"
run heap_2 "$Q2 heap"
run pq_fdw_2 "$Q2 pq"
run csv_fdw_2 "$Q2 dcsv"
run file_fdw_2 "$Q2 fcsv"
run heap_5 "$Q5 heap"
run pq_fdw_5 "$Q5 pq"
run read_file_5 "$Q5 $RF"
run csv_fdw_5 "$Q5 dcsv"

# DuckDB, one thread, same file: best of 3 process CPU and wall times
if [ -d "$ROOT/test/node_modules/@duckdb/node-api" ]; then
	read -r d2c d2w d5c d5w < <(cd "$ROOT/test" && node --input-type=module -e "
import { DuckDBInstance } from '@duckdb/node-api';
const file = process.argv[1];
const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await inst.connect();
async function best(sql) {
  let bc = Infinity, bw = Infinity;
  for (let i = 0; i < Number(process.argv[2]); i++) {
    const c0 = process.cpuUsage(), w0 = performance.now();
    await con.runAndReadAll(sql);
    const c = process.cpuUsage(c0), w = performance.now() - w0;
    bc = Math.min(bc, (c.user + c.system) / 1000); bw = Math.min(bw, w);
  }
  return bc.toFixed(1) + ' ' + bw.toFixed(1);
}
const a = await best(\`SELECT sum(id), count(*) FROM read_parquet('\${file}')\`);
const b = await best(\`SELECT count(*), sum(id), sum(f), count(s), max(ts), sum(n) FROM read_parquet('\${file}')\`);
console.log(a + ' ' + b);
" "$BASE/pq/data.parquet" "${BENCH_RUNS:-5}")
	CPU[duckdb_2]=$d2c; WALL[duckdb_2]=$d2w; CPU[duckdb_5]=$d5c; WALL[duckdb_5]=$d5w
	printf '%-16s %10.1f ms cpu %10.1f ms wall\n' duckdb_2 "$d2c" "$d2w"
	printf '%-16s %10.1f ms cpu %10.1f ms wall\n' duckdb_5 "$d5c" "$d5w"
fi

ratio()
{
	awk -v a="${CPU[$2]}" -v b="${CPU[$3]}" -v l="$1" 'BEGIN { printf "%-40s %8.2f\n", l, a / b }'
}
echo "ratios (CPU time):"
ratio "pq_fdw / heap, 2 cols (goal <= 1)" pq_fdw_2 heap_2
ratio "file_fdw / pq_fdw, 2 cols (goal >= 5)" file_fdw_2 pq_fdw_2
ratio "file_fdw / csv_fdw, 2 cols" file_fdw_2 csv_fdw_2
ratio "pq_fdw / heap, 5 cols" pq_fdw_5 heap_5
if [ -n "${CPU[duckdb_5]:-}" ]; then
	ratio "pq_fdw / duckdb, 2 cols" pq_fdw_2 duckdb_2
	ratio "pq_fdw / duckdb, 5 cols" pq_fdw_5 duckdb_5
	ratio "read_file / duckdb, 5 cols" read_file_5 duckdb_5
fi
