/*
 * kinesis_policies.test.mjs — consumer checklist points 22 and 29:
 * KPL user records whose hash key is outside their shard's range are
 * counted and kept or dead-lettered per the stream's out_of_range policy;
 * a page whose commit keeps failing is retried forever by default and goes
 * to dlake.dead_letters (counted) under a max_retries or max_record_age
 * policy, after which the stream goes on.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import {
	CreateStreamCommand, DeleteStreamCommand, DescribeStreamSummaryCommand, PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import agg from 'aws-kinesis-agg';

import {
	sql, pg, kinesis, createLakeServer, waitFor, stackRunning, uniqueName,
} from '../lib/stack.mjs';

const skip = stackRunning ? false : 'test stack not running (scripts/stack.sh start)';
const SERVER = 'pol_lake';
const kc = stackRunning ? kinesis() : null;
const created = [];
const dlakeStreams = ['pol_keep', 'pol_dl', 'pol_retry', 'pol_age'];

async function createKinesisStream(shards)
{
	const name = uniqueName('pol');
	await kc.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
	await waitFor(async () => (await kc.send(new DescribeStreamSummaryCommand({ StreamName: name })))
		.StreamDescriptionSummary.StreamStatus === 'ACTIVE', 20000, 100, `stream ${name} ACTIVE`);
	created.push(name);
	return name;
}

function kplAggregate(userRecords)
{
	return new Promise((resolve, reject) => {
		const out = [];
		agg.aggregate(userRecords, (enc, cb) => { out.push(enc); cb(); }, () => resolve(out), reject);
	});
}

/* create a dlake stream and its policy (and extra SQL) in one transaction: the worker sees them together */
async function createStream(name, kstream, policy, extra = [])
{
	const c = await pg();
	try
	{
		await c.query('BEGIN');
		await c.query('SELECT dlake.create_stream($1, kinesis_stream => $2, server => $3)', [name, kstream, SERVER]);
		if (policy)
			await c.query('SELECT dlake.set_stream_policy($1, $2, $3, $4)',
				[name, policy.out_of_range || 'keep', policy.max_retries ?? null, policy.max_record_age ?? null]);
		for (const q of extra)
			await c.query(q);
		await c.query('COMMIT');
	}
	finally
	{
		await c.end();
	}
}

async function put(kstream, records)
{
	const r = await kc.send(new PutRecordsCommand({
		StreamName: kstream,
		Records: records.map((x) => ({ PartitionKey: x.pk, Data: x.data, ExplicitHashKey: x.ehk })),
	}));
	assert.equal(r.FailedRecordCount || 0, 0);
}

const shardRow = async (name) => (await sql(`SELECT sum(out_of_range_records)::int AS oor,
		sum(policy_dead_letters)::int AS pdl, sum(dead_letters)::int AS dl, sum(records)::int AS recs,
		sum(errors)::int AS errors
	FROM dlake.stream_status WHERE stream = $1`, [name]))[0];
const deadLetters = async (name) => sql(`SELECT d.reason, convert_from(d.data, 'UTF8') AS data
	FROM dlake.dead_letters d JOIN dlake.streams s USING (stream_id) WHERE s.name = $1
	ORDER BY d.sequence_number, d.sub_sequence_number`, [name]);

before(async () => {
	if (skip)
		return;
	await sql('CREATE EXTENSION IF NOT EXISTS dlake CASCADE');
	await createLakeServer(null, SERVER);
	for (const n of dlakeStreams)
		await sql('SELECT dlake.drop_stream(name) FROM dlake.streams WHERE name = $1', [n]);
	/*
	 * A page whose commit keeps failing: the checkpoint update of a page
	 * that stored rows fails for the streams listed in pol_refused (per-row
	 * failures of the staging insert are dead letters anyway, point 27).
	 */
	await sql('DROP TABLE IF EXISTS public.pol_refused');
	await sql('CREATE TABLE public.pol_refused (name text PRIMARY KEY)');
	await sql(`CREATE OR REPLACE FUNCTION public.pol_refuse() RETURNS trigger LANGUAGE plpgsql AS
		$$BEGIN
			IF NEW.records > OLD.records AND EXISTS (SELECT 1 FROM public.pol_refused r JOIN dlake.streams s USING (name)
													  WHERE s.stream_id = NEW.stream_id) THEN
				RAISE EXCEPTION 'pol_refuse: this batch is refused';
			END IF;
			RETURN NEW;
		END$$`);
	await sql('DROP TRIGGER IF EXISTS pol_refuse ON dlake.shards');
	await sql('CREATE TRIGGER pol_refuse BEFORE UPDATE ON dlake.shards FOR EACH ROW EXECUTE FUNCTION public.pol_refuse()');
});

after(async () => {
	if (skip)
		return;
	for (const n of dlakeStreams)
		await sql('SELECT dlake.drop_stream(name) FROM dlake.streams WHERE name = $1', [n]).catch(() => {});
	await sql('DROP FUNCTION IF EXISTS public.pol_refuse() CASCADE').catch(() => {});
	await sql('DROP TABLE IF EXISTS public.pol_refused').catch(() => {});
	await sql(`DROP SERVER IF EXISTS ${SERVER} CASCADE`).catch(() => {});
	for (const s of created)
		await kc.send(new DeleteStreamCommand({ StreamName: s })).catch(() => {});
});

test('set_stream_policy validates its arguments', { skip }, async () => {
	await assert.rejects(sql("SELECT dlake.set_stream_policy('no_such_stream')"), /stream "no_such_stream" does not exist/);
	await assert.rejects(sql("SELECT dlake.set_stream_policy('x', 'drop')"), /invalid out_of_range policy/);
	await assert.rejects(sql("SELECT dlake.set_stream_policy('x', 'keep', -1)"), /max_retries must not be negative/);
	await assert.rejects(sql("SELECT dlake.set_stream_policy('x', 'keep', NULL, '0 s')"), /max_record_age must be positive/);
});

test('KPL user records outside the shard hash key range are counted, kept or dead-lettered', { skip, timeout: 60000 }, async () => {
	const kstream = await createKinesisStream(2);
	await createStream('pol_keep', kstream, null);
	await createStream('pol_dl', kstream, { out_of_range: 'dead_letter' });
	let range;
	await waitFor(async () => {
		[range] = await sql(`SELECT ending_hash_key::text AS hi FROM dlake.shards h JOIN dlake.streams s USING (stream_id)
			WHERE s.name = 'pol_keep' AND starting_hash_key = 0`);
		return range !== undefined;
	}, 20000, 200, 'shards of pol_keep listed');
	const hi = BigInt(range.hi);
	/* a partition key whose MD5 lands in the other shard (no explicit hash key) */
	let pk = null;
	for (let i = 0; pk === null; i++)
	{
		const h = BigInt('0x' + crypto.createHash('md5').update(`k${i}`).digest('hex'));
		if (h > hi)
			pk = `k${i}`;
	}
	const users = [
		{ partitionKey: 'a', explicitHashKey: '1', data: Buffer.from('{"u":1,"in":true}') },
		{ partitionKey: 'a', explicitHashKey: '2', data: Buffer.from('{"u":2,"in":true}') },
		{ partitionKey: 'a', explicitHashKey: (hi + 1n).toString(), data: Buffer.from('{"u":3,"in":false}') },
		{ partitionKey: 'a', explicitHashKey: '1', data: Buffer.from('{"u":4,"in":true}') },
		{ partitionKey: pk, data: Buffer.from('{"u":5,"in":false}') },
	];
	const enc = await kplAggregate(users);
	assert.equal(enc.length, 1);
	/* the aggregate itself goes to shard 0 */
	await put(kstream, [{ pk: enc[0].partitionKey, data: Buffer.from(enc[0].data), ehk: '0' }]);

	await waitFor(async () => (await sql('SELECT count(*)::int AS n FROM dlake_staging.pol_keep'))[0].n >= 5,
		30000, 200, '5 rows in pol_keep');
	await waitFor(async () => (await shardRow('pol_dl')).dl >= 2, 30000, 200, '2 dead letters in pol_dl');

	/* keep: every record stored, the two outside counted */
	assert.equal((await sql('SELECT count(*)::int AS n FROM dlake_staging.pol_keep'))[0].n, 5);
	const k = await shardRow('pol_keep');
	assert.equal(k.oor, 2);
	assert.equal(k.dl, 0);

	/* dead_letter: the two outside in dlake.dead_letters with the reason, the rest stored */
	const staged = await sql("SELECT convert_from(data, 'UTF8') AS d FROM dlake_staging.pol_dl ORDER BY sub_sequence_number");
	assert.deepEqual(staged.map((r) => JSON.parse(r.d).u), [1, 2, 4]);
	const d = await shardRow('pol_dl');
	assert.equal(d.oor, 2);
	assert.equal(d.dl, 2);
	const dls = await deadLetters('pol_dl');
	assert.deepEqual(dls.map((r) => JSON.parse(r.data).u), [3, 5]);
	assert.ok(dls.every((r) => /outside the hash key range 0\.\.\d+ of shard/.test(r.reason)), dls[0].reason);
});

test('max_retries and max_record_age move a page that keeps failing to the dead letters', { skip, timeout: 90000 }, async () => {
	const kstream = await createKinesisStream(1);
	const refuse = (n) => `INSERT INTO public.pol_refused VALUES ('${n}')`;
	await createStream('pol_retry', kstream, { max_retries: 1 }, [refuse('pol_retry')]);
	await createStream('pol_age', kstream, { max_record_age: '3 seconds' }, [refuse('pol_age')]);
	await put(kstream, [1, 2, 3].map((i) => ({ pk: `p${i}`, data: Buffer.from(JSON.stringify({ i })) })));

	await waitFor(async () => (await shardRow('pol_retry')).pdl >= 3 && (await shardRow('pol_age')).pdl >= 3,
		60000, 250, 'policy dead letters in both streams');
	for (const [name, re] of [['pol_retry', /^max_retries \(1\) exceeded: storing the page failed 2 times; last error: .*pol_refuse/],
		['pol_age', /^max_record_age \(3000 ms\) exceeded: .*pol_refuse/]])
	{
		const dls = await deadLetters(name);
		assert.deepEqual(dls.map((r) => JSON.parse(r.data).i), [1, 2, 3], name);
		assert.ok(dls.every((r) => re.test(r.reason)), `${name}: ${dls[0].reason}`);
		const s = await shardRow(name);
		assert.equal(s.pdl, 3);
		assert.equal(s.dl, 3);
		assert.equal((await sql(`SELECT count(*)::int AS n FROM dlake_staging.${name}`))[0].n, 0);
		const [e] = await sql(`SELECT count(*)::int AS n FROM dlake.ingest_errors i JOIN dlake.streams s USING (stream_id)
			WHERE s.name = $1 AND i.message LIKE '%pol_refuse%'`, [name]);
		assert.ok(e.n >= 1, `${name}: the failures are in dlake.ingest_errors`);
	}
	/* one attempt and one retry failed; the third attempt gave up */
	assert.equal((await shardRow('pol_retry')).errors, 2);

	/* the stream goes on after the policy: without the trigger, new records are stored */
	await sql("DELETE FROM public.pol_refused WHERE name = 'pol_retry'");
	/* pol_age back to the defaults (retry forever) before record 9: see the next test */
	await sql("SELECT dlake.set_stream_policy('pol_age')");
	await new Promise((r) => setTimeout(r, 2500));	/* > dlake.worker_naptime: the worker re-reads the policy */
	await put(kstream, [{ pk: 'p9', data: Buffer.from('{"i":9}') }]);
	await waitFor(async () => (await sql('SELECT count(*)::int AS n FROM dlake_staging.pol_retry'))[0].n === 1,
		30000, 200, 'record 9 stored');
	assert.equal((await shardRow('pol_retry')).pdl, 3);
});

test('without a policy a failing page is retried, never dropped', { skip, timeout: 30000 }, async () => {
	/* pol_age still refuses record 9, now without a policy: older than 3 s, it is retried, not given up */
	const e0 = (await shardRow('pol_age')).errors;
	await new Promise((r) => setTimeout(r, 6000));
	const s = await shardRow('pol_age');
	assert.equal(s.pdl, 3, 'nothing more given up');
	assert.equal(s.dl, 3);
	assert.equal((await sql('SELECT count(*)::int AS n FROM dlake_staging.pol_age'))[0].n, 0);
	assert.ok(s.errors > e0, `still failing and retried (${e0} -> ${s.errors})`);
});
