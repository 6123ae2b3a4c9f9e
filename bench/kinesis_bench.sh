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
#        BENCH_PIN=1 (the default on a machine with 2 or more CPUs) runs the
#        service (kinesalite and its signing proxy) on CPU 0 and both
#        consumers (the SDK reader's process; PostgreSQL with the workers) on
#        the other CPUs, as when Kinesis runs elsewhere: kinesalite is
#        single-threaded and costs more CPU per record than either consumer,
#        so on a shared small machine the figure measures how much CPU a
#        consumer takes away from the emulator.  BENCH_PIN=0 shares all CPUs.
#        Affinities are restored at the end.
#        BENCH_BATCH sets the stream's batch_size (GetRecords Limit and
#        records per commit; default 10000, the Kinesis maximum, which the
#        SDK reader uses too).
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
/* machine-wide busy CPU (all cores) and the emulator's processes, s */
const machine = () => {
	const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
	const idle = f[3] + f[4];
	return { busy: (f.reduce((a, b) => a + b, 0) - idle) / ticks, idle: idle / ticks };
};
const emuPids = [env.DLAKE_KINESALITE_PID, env.DLAKE_KINESIS_PROXY_PID].filter(Boolean).map(Number);
const emuCpu = () => emuPids.reduce((a, p) => a + cpu(p), 0);
const phase = () => ({ m: machine(), e: emuCpu(), self: process.cpuUsage() });
const phaseReport = (label, p0, secs) => {
	const m = machine();
	const self = process.cpuUsage(p0.self);
	const e = emuCpu() - p0.e;
	console.log(`${label} CPU: emulator+proxy ${fmt(e, 2)} s (${fmt(e / secs * 100)} % of one CPU), bench process ${fmt((self.user + self.system) / 1e6, 2)} s, machine busy ${fmt(m.busy - p0.m.busy, 2)} s, idle ${fmt(m.idle - p0.m.idle, 2)} s over ${fmt(secs, 2)} s`);
};
const fmt = (x, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/* CPU placement (see BENCH_PIN above) */
const { execFileSync } = await import('node:child_process');
const ncpu = (await import('node:os')).cpus().length;
const pin = process.env.BENCH_PIN !== undefined ? process.env.BENCH_PIN === '1' : ncpu >= 2;
const pgPids = () => {
	const pm = Number(fs.readFileSync(`${env.DLAKE_PG_DATA}/postmaster.pid`, 'utf8').split('\n')[0]);
	const kids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
		try
		{
			const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
			return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === pm;
		}
		catch (e)
		{
			return false;
		}
	}).map(Number);
	return [pm, ...kids];
};
const setAffinity = (pids, cpus) => {
	for (const p of pids)
	{
		try
		{
			execFileSync('taskset', ['-a', '-p', '-c', cpus, String(p)], { stdio: 'ignore' });
		}
		catch (e)
		{
			/* a backend that ended meanwhile */
		}
	}
};
const allCpus = `0-${ncpu - 1}`;
const consumerCpus = ncpu > 2 ? `1-${ncpu - 1}` : '1';
if (pin)
{
	setAffinity(emuPids, '0');
	setAffinity([process.pid, ...pgPids()], consumerCpus);
	console.log(`cpus     service (kinesalite + proxy) on CPU 0, consumers on CPU ${consumerCpus} (BENCH_PIN=0 to share)`);
}
else
	console.log(`cpus     all ${ncpu} CPUs shared by the service and the consumers`);
process.on('exit', () => {
	if (pin)
		setAffinity([...emuPids, process.pid, ...pgPids()], allCpus);
});

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
let p0 = phase();
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
phaseReport('sdk     ', p0, sdkSecs);

/* 3. dlake (BENCH_BUDGET=0: no client-side 2 MiB/s/shard read budget) */
await ensureExtension();
const budget = process.env.BENCH_BUDGET;
if (budget !== undefined)
{
	await sql(`ALTER SYSTEM SET dlake.kinesis_read_budget = '${budget}'`);
	await sql('SELECT pg_reload_conf()');
	await new Promise((x) => setTimeout(x, 500));
}
const [{ b: budgetText, kb: budgetKb }] = await sql(`SELECT current_setting('dlake.kinesis_read_budget') AS b,
	(SELECT setting::bigint FROM pg_settings WHERE name = 'dlake.kinesis_read_budget') AS kb`);
console.log(`dlake    dlake.kinesis_read_budget = ${budgetText} per shard`);
await createLakeServer(null, 'bench_lake');
const name = `bench_${crypto.randomBytes(3).toString('hex')}`;
const workers = (await sql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'dlake stream worker'")).map((r) => r.pid);
const cpu0 = workers.map(cpu);
const proxyLog = async (since) => (await (await fetch(`${env.DLAKE_KINESIS_PROXY_ADMIN}/log?since=${since}`)).json()).entries;
const logMark = (await proxyLog(0)).reduce((a, e) => Math.max(a, e.id), 0);
t = Date.now();
const batch = Number(process.env.BENCH_BATCH || 10000);	/* GetRecords Limit = records per commit */
await sql(`SELECT dlake.create_stream('${name}', kinesis_stream => '${stream}', server => 'bench_lake', batch_size => ${batch})`);
let first = null;
let atFirst = 0;
/*
 * Progress is polled from the shard counters (committed with the rows), not
 * by counting the staging table: a count(*) of a growing 100 MB table every
 * 100 ms would take a core away from the workers being measured.
 */
await waitFor(async () => {
	const [{ n }] = await sql(`SELECT coalesce(sum(h.records), 0)::int AS n FROM dlake.shards h
		JOIN dlake.streams s USING (stream_id) WHERE s.name = '${name}'`);
	if (n > 0 && first === null)
	{
		first = Date.now();
		atFirst = n;
		p0 = phase();	/* CPU figures: from the first commit */
	}
	return n >= N;
}, 600000, 100);
const end = Date.now();
const [{ stored, avg_bytes: avgBytesText }] = await sql(`SELECT count(*)::int AS stored, avg(octet_length(data)) AS avg_bytes
	FROM dlake_staging.${name}`);
const avgBytes = Number(avgBytesText);
if (stored !== N)
	throw new Error(`staging holds ${stored} rows, expected ${N}`);
let workers2 = (await sql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'dlake stream worker'")).map((r) => r.pid);
const workerCpu = workers2.reduce((a, pid) => {
	const i = workers.indexOf(pid);
	return a + cpu(pid) - (i >= 0 ? cpu0[i] : 0);
}, 0);
/*
 * Like the SDK reader's, dlake's time runs from its first GetRecords (as
 * logged by the Kinesis proxy) to the last commit: the pick-up of a new
 * stream (up to dlake.worker_naptime, then ListShards and the catalog) is
 * left out, and printed separately.  The rate after the first commit is
 * printed too.
 */
const firstGet = Math.min(...(await proxyLog(logMark))
	.filter((e) => e.target === 'Kinesis_20131202.GetRecords').map((e) => Date.parse(e.time)));
const dlakeSecs = (end - firstGet) / 1000;
const dlakeRate = N / dlakeSecs;
console.log(`dlake    ${fmt(N)} records committed ${fmt(dlakeSecs, 2)} s after the first GetRecords: ${fmt(dlakeRate)} rec/s`);
console.log(`dlake    (first GetRecords ${fmt((firstGet - t) / 1000, 2)} s after create_stream; ${fmt(N - atFirst)} records in the ${fmt((end - first) / 1000, 2)} s after the first commit: ${fmt((N - atFirst) / ((end - first) / 1000))} rec/s)`);
console.log(`dlake    shards per worker: ${(await sql(`SELECT string_agg(n::text, ' + ' ORDER BY n DESC) AS a FROM
	(SELECT count(*) AS n FROM dlake.shards h JOIN dlake.streams s USING (stream_id)
	 WHERE s.name = '${name}' GROUP BY worker_pid) x`))[0].a}`);
console.log(`dlake    worker CPU ${fmt(workerCpu, 2)} s = ${fmt(workerCpu / N * 1e6, 1)} us/record`);
phaseReport('dlake   ', p0, (end - first) / 1000);

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
if (Number(budgetKb) > 0)
{
	/* with a read budget the ceiling is the budget: how close dlake gets */
	const capRate = SHARDS * Number(budgetKb) * 1024 / avgBytes;
	console.log(`ratio    dlake / read budget ceiling         = ${fmt(dlakeRate / capRate, 2)}  (${SHARDS} shards x ${budgetText}/s / ${fmt(avgBytes)} B per record = ${fmt(capRate)} rec/s)`);
}

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
