/*
 * kinesis_crash.test.mjs — the hard properties of Kinesis ingestion:
 *
 *  - crash oracle (KCL's validator): kill -9 the stream workers at random
 *    points 12 times and the postmaster twice while 50,000 records are being
 *    produced and ingested; afterwards unique records == records put, no
 *    duplicates, per-shard order intact; pg_ctl stop -m fast < 5 s and a
 *    restart resumes from the checkpoints;
 *  - resharding while producing: split a shard, then merge its children;
 *    nothing lost, parents read to the end before their children, per-key
 *    order preserved across the lineage;
 *  - a 64-shard stream multiplexed over 2 workers (a private kinesalite with
 *    a higher shard limit, without the proxy).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import {
	CreateStreamCommand, DeleteStreamCommand, DescribeStreamSummaryCommand, ListShardsCommand,
	MergeShardsCommand, PutRecordsCommand, SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import agg from 'aws-kinesis-agg';

import {
	env, sql, kinesis, createLakeServer, ensureExtension, waitFor, stackRunning, uniqueName,
	stackCtl, ROOT, STACK_DIR,
} from '../lib/stack.mjs';

const skip = stackRunning ? false : 'test stack not running (scripts/stack.sh start)';
const SERVER = 'kin_crash';
const kc = stackRunning ? kinesis() : null;
const created = [];
const dlakeStreams = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

/* ---------------------------------------------------------------- helpers */

async function createKinesisStream(client, shards)
{
	const name = uniqueName('kin');
	await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
	await waitActive(client, name);
	created.push([client, name]);
	return name;
}

async function waitActive(client, name)
{
	await waitFor(async () => {
		const r = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
		return r.StreamDescriptionSummary.StreamStatus === 'ACTIVE';
	}, 20000, 100, `stream ${name} ACTIVE`);
}

async function produce(client, stream, records)
{
	for (let i = 0; i < records.length; i += 500)
	{
		let batch = records.slice(i, i + 500);
		for (let attempt = 0; batch.length > 0; attempt++)
		{
			assert.ok(attempt < 20, 'producer could not put its records');
			const r = await client.send(new PutRecordsCommand({
				StreamName: stream,
				Records: batch.map((x) => ({ PartitionKey: x.pk, Data: x.data })),
			}));
			batch = batch.filter((_, j) => r.Records[j].ErrorCode);
		}
	}
}

function makeRecords(run, from, n, pkCount, counters)
{
	const out = [];
	for (let i = from; i < from + n; i++)
	{
		const pk = `p${i % pkCount}`;
		counters[pk] = (counters[pk] || 0) + 1;
		out.push({ pk, data: Buffer.from(JSON.stringify({ id: `${run}-${i}`, pk, k: counters[pk] })) });
	}
	return out;
}

function kplAggregate(userRecords)
{
	return new Promise((resolve, reject) => {
		const out = [];
		agg.aggregate(userRecords, (enc, cb) => { out.push(enc); cb(); }, () => resolve(out), reject);
	});
}

/* a query that survives the server crashing and restarting under it */
async function sqlRetry(text, params = [], timeoutMs = 60000)
{
	return waitFor(async () => sql(text, params), timeoutMs, 200, `query ${text.slice(0, 40)}`);
}

async function count(name)
{
	const r = await sqlRetry(`SELECT count(*)::int AS n FROM dlake_staging.${name}`);
	return r[0].n;
}

async function waitCount(name, n, timeoutMs = 120000)
{
	await waitFor(async () => (await sql(`SELECT count(*)::int AS n FROM dlake_staging.${name}`))[0].n >= n,
		timeoutMs, 250, `${n} rows in dlake_staging.${name}`);
}

async function assertExactlyOnce(name, expected)
{
	const want = new Set(expected.map((b) => sha(b)));
	const rows = await sqlRetry(`SELECT encode(sha256(data), 'hex') AS h, count(*)::int AS n FROM dlake_staging.${name} GROUP BY 1`);
	const dup = rows.filter((r) => r.n > 1).length;
	const extra = rows.filter((r) => !want.has(r.h)).length;
	const got = new Set(rows.map((r) => r.h));
	const missing = [...want].filter((h) => !got.has(h)).length;
	assert.deepEqual({ missing, dup, extra }, { missing: 0, dup: 0, extra: 0 }, `staging ${name} vs records put`);
}

async function assertOrder(name)
{
	const [s] = await sqlRetry(`SELECT count(*)::int AS bad FROM (
		SELECT sequence_number, sub_sequence_number,
		       lag(sequence_number) OVER w AS ps, lag(sub_sequence_number) OVER w AS pss
		  FROM dlake_staging.${name} WINDOW w AS (PARTITION BY shard_id ORDER BY id)) x
		WHERE (sequence_number, sub_sequence_number) <= (ps, pss)`);
	assert.equal(s.bad, 0, 'per-shard order');
	const [k] = await sqlRetry(`SELECT count(*)::int AS bad FROM (
		SELECT (payload->>'k')::int AS k, lag((payload->>'k')::int) OVER (PARTITION BY payload->>'pk' ORDER BY id) AS prev
		  FROM dlake_staging.${name}) x WHERE k <= prev`);
	assert.equal(k.bad, 0, 'per-partition-key order');
}

async function workerPids()
{
	const r = await sql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'dlake stream worker'");
	return r.map((x) => x.pid);
}

function postmasterPid()
{
	return Number(fs.readFileSync(path.join(env.DLAKE_PG_DATA, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

function alive(pid)
{
	try
	{
		process.kill(pid, 0);
		return true;
	}
	catch
	{
		return false;
	}
}

/* kill -9 the postmaster, wait for its children to go, start it again */
async function killPostmaster()
{
	const pm = postmasterPid();
	process.kill(pm, 'SIGKILL');
	await waitFor(() => !alive(pm), 10000, 50, 'postmaster gone');
	await waitFor(() => {
		try
		{
			stackCtl('start-pg');
			return true;
		}
		catch
		{
			return false;	/* orphaned children still hold shared memory */
		}
	}, 60000, 500, 'PostgreSQL restarted');
}

/* ---------------------------------------------------------------- setup */

before(async () => {
	if (skip)
		return;
	await ensureExtension();
	await createLakeServer(null, SERVER);
});

after(async () => {
	if (skip)
		return;
	for (const n of dlakeStreams)
		await sqlRetry(`SELECT dlake.drop_stream(name) FROM dlake.streams WHERE name = $1`, [n], 10000).catch(() => {});
	for (const [client, s] of created)
		await client.send(new DeleteStreamCommand({ StreamName: s })).catch(() => {});
});

/* ---------------------------------------------------------------- tests */

/* the 50,000 records by default; DLAKE_KINESIS_CRASH_RECORDS overrides */
const N_CRASH = Number(process.env.DLAKE_KINESIS_CRASH_RECORDS || 50000);

test('crash oracle: kill -9 workers 12 times and the postmaster twice during ingestion', { skip, timeout: 420000 }, async () => {
	const kstream = await createKinesisStream(kc, 4);
	const run = crypto.randomBytes(3).toString('hex');
	const name = `k_crash_${run}`;
	dlakeStreams.push(name);
	await sql(`SELECT dlake.create_stream('${name}', kinesis_stream => '${kstream}', server => '${SERVER}', batch_size => 700)`);
	const counters = {};
	const all = makeRecords(run, 0, N_CRASH - 500, 200, counters);
	const expected = all.map((r) => r.data);
	/* 20 KPL aggregates of 25 user records, spread over the stream */
	for (let a = 0; a < 20; a++)
	{
		const users = Array.from({ length: 25 }, (_, j) => ({
			partitionKey: `agg${a % 4}`, data: Buffer.from(JSON.stringify({ id: `${run}-agg-${a}-${j}` })),
		}));
		expected.push(...users.map((u) => u.data));
		const enc = await kplAggregate(users);
		all.splice(a * 975 + 1, 0, ...enc.map((e) => ({ pk: e.partitionKey, data: Buffer.from(e.data) })));
	}
	assert.equal(expected.length, N_CRASH);

	/* produce slowly in the background so that crashes hit ingestion */
	let producing = true;
	const producer = (async () => {
		for (let i = 0; i < all.length; i += 500)
		{
			await produce(kc, kstream, all.slice(i, i + 500));
			await sleep(250);
		}
		producing = false;
	})();

	let kills = 0, pmKills = 0;
	let lastCount = 0;
	for (let round = 0; kills < 12 || pmKills < 2; round++)
	{
		/* wait until the workers run and make progress, then strike at a random point */
		await waitFor(async () => (await workerPids()).length > 0, 30000, 50, 'stream workers running');
		await waitFor(async () => (await count(name)) > lastCount || (!producing && (await count(name)) >= expected.length),
			60000, 50, 'progress');
		await sleep(Math.floor(Math.random() * 600));
		if (round % 7 === 3 && pmKills < 2)
		{
			await killPostmaster();
			pmKills++;
		}
		else if (kills < 12)
		{
			const pids = await workerPids().catch(() => []);
			if (pids.length === 0)
				continue;
			process.kill(pids[Math.floor(Math.random() * pids.length)], 'SIGKILL');
			kills++;
		}
		lastCount = await count(name);
	}
	await producer;
	assert.ok(kills >= 10 && pmKills >= 2, `crashes: ${kills} worker kills, ${pmKills} postmaster kills`);

	/*
	 * A fast shutdown is prompt even with workers busy or waiting on the
	 * network.  Measured on a running system (a shutdown requested while
	 * the server itself is still in crash recovery is PostgreSQL's business).
	 */
	await waitFor(async () => (await workerPids()).length > 0, 30000, 50, 'stream workers running');
	await sleep(300);
	const t0 = Date.now();
	stackCtl('stop-pg');
	const stopMs = Date.now() - t0;
	stackCtl('start-pg');
	assert.ok(stopMs < 5000, `pg_ctl stop -m fast took ${stopMs} ms`);

	await waitCount(name, expected.length, 300000);
	await sleep(1500);
	assert.equal(await count(name), expected.length, 'unique records == records put');
	await assertExactlyOnce(name, expected);
	await assertOrder(name);
	const [cp] = await sqlRetry(`SELECT count(*)::int AS bad FROM dlake.shards sh JOIN dlake.streams s USING (stream_id)
		WHERE s.name = $1 AND sh.checkpoint_sequence IS DISTINCT FROM
		  (SELECT max(sequence_number) FROM dlake_staging.${name} t WHERE t.shard_id = sh.shard_id)`, [name]);
	assert.equal(cp.bad, 0, 'checkpoints match the stored rows');
	await sqlRetry(`SELECT dlake.drop_stream('${name}')`);
});

test('split and merge while producing: no loss, parents before children', { skip, timeout: 180000 }, async () => {
	const kstream = await createKinesisStream(kc, 2);
	const run = crypto.randomBytes(3).toString('hex');
	const name = `k_reshard_${run}`;
	dlakeStreams.push(name);
	await sql(`SELECT dlake.create_stream('${name}', kinesis_stream => '${kstream}', server => '${SERVER}')`);
	const counters = {};
	const all = [];
	const round = async (i) => {
		const part = makeRecords(run, i * 1500, 1500, 40, counters);
		all.push(...part);
		await produce(kc, kstream, part);
	};

	await round(0);
	const shards = (await kc.send(new ListShardsCommand({ StreamName: kstream }))).Shards;
	const s0 = shards.find((s) => s.ShardId === 'shardId-000000000000');
	const mid = (BigInt(s0.HashKeyRange.StartingHashKey) + BigInt(s0.HashKeyRange.EndingHashKey)) / 2n;
	await kc.send(new SplitShardCommand({ StreamName: kstream, ShardToSplit: s0.ShardId, NewStartingHashKey: mid.toString() }));
	await waitActive(kc, kstream);
	await round(1);
	await kc.send(new MergeShardsCommand({ StreamName: kstream, ShardToMerge: 'shardId-000000000002', AdjacentShardToMerge: 'shardId-000000000003' }));
	await waitActive(kc, kstream);
	await round(2);

	await waitCount(name, all.length, 90000);
	await sleep(1500);
	assert.equal(await count(name), all.length);
	await assertExactlyOnce(name, all.map((r) => r.data));
	await assertOrder(name);

	/* lineage: closed parents finished; every child row after every parent row */
	const st = await sql(`SELECT shard_id, parent_shard_id, adjacent_parent_shard_id, state
		FROM dlake.shards sh JOIN dlake.streams s USING (stream_id) WHERE s.name = $1 ORDER BY shard_id`, [name]);
	const byId = Object.fromEntries(st.map((r) => [r.shard_id, r]));
	assert.equal(st.length, 5, 'shards 0..4 known');
	for (const id of ['shardId-000000000000', 'shardId-000000000002', 'shardId-000000000003'])
		assert.equal(byId[id].state, 'finished', `${id} finished`);
	assert.equal(byId['shardId-000000000004'].adjacent_parent_shard_id !== null, true, 'merge child has two parents');
	const [bad] = await sql(`SELECT count(*)::int AS n FROM dlake.shards c JOIN dlake.streams s USING (stream_id)
		JOIN dlake.shards p ON p.stream_id = c.stream_id AND p.shard_id IN (c.parent_shard_id, c.adjacent_parent_shard_id)
		WHERE s.name = $1 AND
		  (SELECT min(id) FROM dlake_staging.${name} WHERE shard_id = c.shard_id) <
		  (SELECT max(id) FROM dlake_staging.${name} WHERE shard_id = p.shard_id)`, [name]);
	assert.equal(bad.n, 0, 'no child row before the last row of a parent');
	await sql(`SELECT dlake.drop_stream('${name}')`);
});

test('a 64-shard stream is read by 2 workers', { skip, timeout: 180000 }, async () => {
	/* a private kinesalite: the shared one allows 50 open shards */
	const dir = path.join(STACK_DIR, 'extra', uniqueName('kl'));
	fs.mkdirSync(dir, { recursive: true });
	const ready = path.join(dir, 'ready.json');
	const child = spawn(process.execPath, [path.join(ROOT, 'test/harness/kinesalite.mjs'), '--port', '0',
		'--shard-limit', '200', '--ready', ready], { stdio: 'ignore' });
	try
	{
		await waitFor(() => fs.existsSync(ready), 20000, 50, 'private kinesalite');
		const { port } = JSON.parse(fs.readFileSync(ready, 'utf8'));
		const endpoint = `http://127.0.0.1:${port}`;
		const kd = kinesis({ endpoint });
		await createLakeServer(null, 'kin_direct', { serverOptions: { kinesis_endpoint: endpoint } });
		const kstream = uniqueName('kin64');
		await kd.send(new CreateStreamCommand({ StreamName: kstream, ShardCount: 64 }));
		await waitActive(kd, kstream);
		const run = crypto.randomBytes(3).toString('hex');
		const name = `k_wide_${run}`;
		dlakeStreams.push(name);
		await sql(`SELECT dlake.create_stream('${name}', kinesis_stream => '${kstream}', server => 'kin_direct')`);
		const all = makeRecords(run, 0, 6400, 640, {});
		await produce(kd, kstream, all);
		await waitCount(name, all.length, 120000);
		await sleep(1000);
		await assertExactlyOnce(name, all.map((r) => r.data));
		await assertOrder(name);
		const [s] = await sql(`SELECT count(*)::int AS shards, count(DISTINCT shard_id) FILTER (WHERE records > 0)::int AS with_rows,
			count(*) FILTER (WHERE state = 'reading')::int AS reading FROM dlake.stream_status WHERE stream = $1`, [name]);
		assert.deepEqual(s, { shards: 64, with_rows: 64, reading: 64 });
		const pids = await sql(`SELECT DISTINCT worker_pid FROM dlake.stream_status WHERE stream = $1`, [name]);
		const [{ max }] = await sql("SELECT current_setting('dlake.max_workers')::int AS max");
		assert.ok(pids.length <= max, `${pids.length} worker pids for 64 shards (dlake.max_workers = ${max})`);
		const [{ n }] = await sql("SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'dlake stream worker'");
		assert.ok(n <= max);
		await sql(`SELECT dlake.drop_stream('${name}')`);
		await sql('DROP SERVER kin_direct CASCADE');
	}
	finally
	{
		child.kill('SIGTERM');
	}
});
