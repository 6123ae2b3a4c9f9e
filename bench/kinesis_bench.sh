#!/usr/bin/env bash
# bench/kinesis_bench.sh — Kinesis ingestion throughput and CPU, compared in
# one run against the same kinesalite (not part of CI):
#
#   1. puts N records of ~1 KB JSON into a 4-shard stream (AWS SDK v3);
#   2. an AWS SDK v3 reader reads the backlog from TRIM_HORIZON on all shards
#      in parallel: records/s;
#   3. dlake reads the same backlog into a staging table: records/s, and CPU
#      time of the stream workers per record;
#   4. baseline: COPY FROM of the same rows into a table of the same shape
#      (same indexes): CPU time of the backend per record.
#
# Prints the figures and the ratios (goals: dlake >= SDK reader; worker CPU
# per record <= 1.5 x COPY's).
#
# usage: DLAKE_STACK_DIR=/tmp/dlake-stack bench/kinesis_bench.sh [records]
#        (default 100000; needs scripts/stack.sh start)
#        BENCH_BUDGET=0 lifts the 2 MiB/s/shard client-side read budget
#        (dlake.kinesis_read_budget) for the run: kinesalite does not enforce
#        the Kinesis read limit, the SDK reader ignores it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export DLAKE_STACK_DIR=${DLAKE_STACK_DIR:-/tmp/dlake-stack}
export BENCH_RECORDS=${1:-${BENCH_RECORDS:-100000}}
export DLAKE_ROOT=$ROOT
[ -f "$DLAKE_STACK_DIR/env.sh" ] || { echo "kinesis_bench: no stack in $DLAKE_STACK_DIR (scripts/stack.sh start)" >&2; exit 2; }

script=$(mktemp /tmp/kinesis_bench.XXXXXX.mjs)
trap 'rm -f "$script"' EXIT
cat >"$script" <<'EOF'
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';

const root = process.env.DLAKE_ROOT;
const require = createRequire(`${root}/test/package.json`);
const K = require('@aws-sdk/client-kinesis');
const { kinesis, sql, pg, createLakeServer, ensureExtension, env, waitFor, uniqueName, closePool } =
	await import(`${root}/test/lib/stack.mjs`);

const N = Number(process.env.BENCH_RECORDS);
const SHARDS = 4;
const kc = kinesis();
const ticks = 100;	/* USER_HZ */
const cpu = (pid) => {
	const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
	const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
	return (Number(parts[11]) + Number(parts[12])) / ticks;	/* utime + stime, s */
};
const fmt = (x, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

const stream = uniqueName('bench');
await kc.send(new K.CreateStreamCommand({ StreamName: stream, ShardCount: SHARDS }));
await waitFor(async () => (await kc.send(new K.DescribeStreamSummaryCommand({ StreamName: stream })))
	.StreamDescriptionSummary.StreamStatus === 'ACTIVE', 30000);

/* 1. produce */
const pad = 'x'.repeat(900);
let t = Date.now();
for (let i = 0; i < N; i += 500)
{
	let batch = [];
	for (let j = i; j < Math.min(N, i + 500); j++)
		batch.push({ PartitionKey: `k${j % 1000}`, Data: Buffer.from(JSON.stringify({ id: j, ts: Date.now(), device: `d${j % 97}`, v: Math.random(), pad })) });
	while (batch.length)
	{
		const r = await kc.send(new K.PutRecordsCommand({ StreamName: stream, Records: batch }));
		batch = batch.filter((_, x) => r.Records[x].ErrorCode);
	}
}
const putSecs = (Date.now() - t) / 1000;
console.log(`put      ${fmt(N)} records in ${fmt(putSecs, 1)} s (${fmt(N / putSecs)} rec/s)`);

/* 2. SDK v3 reader */
const shards = (await kc.send(new K.ListShardsCommand({ StreamName: stream }))).Shards;
let read = 0;
t = Date.now();
await Promise.all(shards.map(async (s) => {
	let it = (await kc.send(new K.GetShardIteratorCommand({ StreamName: stream, ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
	while (read < N && it)
	{
		const r = await kc.send(new K.GetRecordsCommand({ ShardIterator: it, Limit: 10000 }));
		read += r.Records.length;
		it = r.NextShardIterator;
		if (r.Records.length === 0)
			await new Promise((x) => setTimeout(x, 200));
	}
}));
const sdkSecs = (Date.now() - t) / 1000;
const sdkRate = N / sdkSecs;
console.log(`sdk      read ${fmt(read)} records in ${fmt(sdkSecs, 2)} s: ${fmt(sdkRate)} rec/s`);

/* 3. dlake (BENCH_BUDGET=0: no client-side 2 MiB/s/shard read budget) */
await ensureExtension();
const budget = process.env.BENCH_BUDGET;
if (budget !== undefined)
{
	await sql(`ALTER SYSTEM SET dlake.kinesis_read_budget = '${budget}'`);
	await sql('SELECT pg_reload_conf()');
	await new Promise((x) => setTimeout(x, 500));
}
console.log(`dlake    dlake.kinesis_read_budget = ${(await sql("SELECT current_setting('dlake.kinesis_read_budget') AS b"))[0].b} per shard`);
await createLakeServer(null, 'bench_lake');
const name = `bench_${crypto.randomBytes(3).toString('hex')}`;
const workers = (await sql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'dlake stream worker'")).map((r) => r.pid);
const cpu0 = workers.map(cpu);
t = Date.now();
await sql(`SELECT dlake.create_stream('${name}', kinesis_stream => '${stream}', server => 'bench_lake')`);
let first = null;
await waitFor(async () => {
	const [{ n }] = await sql(`SELECT count(*)::int AS n FROM dlake_staging.${name}`);
	if (n > 0 && first === null)
		first = Date.now();
	return n >= N;
}, 600000, 100);
const end = Date.now();
let workers2 = (await sql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'dlake stream worker'")).map((r) => r.pid);
const workerCpu = workers2.reduce((a, pid) => {
	const i = workers.indexOf(pid);
	return a + cpu(pid) - (i >= 0 ? cpu0[i] : 0);
}, 0);
const dlakeSecs = (end - first) / 1000;
const dlakeRate = N / dlakeSecs;
console.log(`dlake    ${fmt(N)} records committed in ${fmt(dlakeSecs, 2)} s after the first row (${fmt((end - t) / 1000, 2)} s after create_stream): ${fmt(dlakeRate)} rec/s`);
console.log(`dlake    worker CPU ${fmt(workerCpu, 2)} s = ${fmt(workerCpu / N * 1e6, 1)} us/record`);

/* 4. COPY baseline: same rows, same table shape */
const file = `${env.DLAKE_FILE_ROOT}/kinesis_bench_${name}.copy`;
await sql(`COPY (SELECT stream, shard_id, sequence_number, sub_sequence_number, partition_key,
	approximate_arrival_timestamp, data, convert_from(data, 'UTF8') FROM dlake_staging.${name}) TO '${file}'`);
await sql(`CREATE TABLE public.${name}_copy (LIKE dlake_staging.${name} INCLUDING ALL)`);
const c = await pg();
const [{ pid }] = (await c.query('SELECT pg_backend_pid() AS pid')).rows;
const c0 = cpu(pid);
t = Date.now();
await c.query(`COPY public.${name}_copy (stream, shard_id, sequence_number, sub_sequence_number, partition_key,
	approximate_arrival_timestamp, data, payload) FROM '${file}'`);
const copySecs = (Date.now() - t) / 1000;
const copyCpu = cpu(pid) - c0;
await c.end();
console.log(`copy     ${fmt(N)} rows in ${fmt(copySecs, 2)} s, backend CPU ${fmt(copyCpu, 2)} s = ${fmt(copyCpu / N * 1e6, 1)} us/record`);

console.log('');
console.log(`ratio    dlake / SDK reader records/s        = ${fmt(dlakeRate / sdkRate, 2)}  (goal >= 1)`);
console.log(`ratio    dlake worker CPU / COPY CPU per row = ${fmt(workerCpu / copyCpu, 2)}  (goal <= 1.5)`);

if (budget !== undefined)
{
	await sql('ALTER SYSTEM RESET dlake.kinesis_read_budget');
	await sql('SELECT pg_reload_conf()');
}
await sql(`DROP TABLE public.${name}_copy`);
await sql(`SELECT dlake.drop_stream('${name}')`);
fs.rmSync(file, { force: true });
await kc.send(new K.DeleteStreamCommand({ StreamName: stream }));
await closePool();
EOF
node "$script"
