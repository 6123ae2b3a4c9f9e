/*
 * docs_quickstart.test.mjs — docs/quickstart.md stays true: every ```sql
 * block is run in order by psql (ON_ERROR_STOP) with the page's psql
 * variables (s3_endpoint, kinesis_endpoint, key_id, secret) set from the
 * stack; every ```bash block is run by bash with the stack's environment
 * (```sh blocks are shown only: installing, starting the demo).  Then the
 * state the page promises is checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';

import { DeleteStreamCommand, DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';

import { sql, s3, kinesis, env, stackRunning, waitFor, ROOT } from '../lib/stack.mjs';

/* ... and without the Kinesis stream of an earlier run */
async function dropStream(name)
{
	const k = kinesis();
	await sql('SELECT dlake.drop_stream(name) FROM dlake.streams WHERE name = $1', ['qs_events']).catch(() => {});
	try
	{
		await k.send(new DeleteStreamCommand({ StreamName: name }));
	}
	catch (e)
	{
		if (e.name === 'ResourceNotFoundException')
			return;
		throw e;
	}
	await waitFor(async () => {
		try
		{
			await k.send(new DescribeStreamSummaryCommand({ StreamName: name }));
			return false;
		}
		catch (e)
		{
			return e.name === 'ResourceNotFoundException';
		}
	}, 20000, 100, 'Kinesis stream deleted');
}

/* the page starts from a fresh stack: remove the bucket an earlier run made */
async function dropBucket(bucket)
{
	const c = s3();
	try
	{
		for (;;)
		{
			const l = await c.send(new ListObjectsV2Command({ Bucket: bucket }));
			if (!l.Contents || l.Contents.length === 0)
				break;
			await c.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: l.Contents.map((o) => ({ Key: o.Key })) } }));
		}
		await c.send(new DeleteBucketCommand({ Bucket: bucket }));
	}
	catch (e)
	{
		if (e.name !== 'NoSuchBucket')
			throw e;
	}
}

/* the fenced blocks of a markdown file, in order: [{lang, text, line}] */
function blocks(file)
{
	const out = [];
	const lines = fs.readFileSync(file, 'utf8').split('\n');
	let cur = null;
	lines.forEach((l, i) => {
		const m = /^```(\w*)\s*$/.exec(l);
		if (m && !cur)
			cur = { lang: m[1], text: [], line: i + 1 };
		else if (l.startsWith('```') && cur)
		{
			out.push({ lang: cur.lang, text: cur.text.join('\n') + '\n', line: cur.line });
			cur = null;
		}
		else if (cur)
			cur.text.push(l);
	});
	assert.equal(cur, null, 'unterminated code block');
	return out;
}

test('every SQL example of docs/quickstart.md runs, in order, and does what the page says', async (t) => {
	if (!stackRunning)
		return t.skip('test stack not running (scripts/stack.sh start)');
	const all = blocks(path.join(ROOT, 'docs/quickstart.md'));
	const runnable = all.filter((b) => b.lang === 'sql' || b.lang === 'bash');
	assert.ok(runnable.filter((b) => b.lang === 'sql').length >= 8, 'the quickstart has its SQL examples');

	await dropBucket('quickstart');
	await dropStream('quickstart-events');
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dlake-qs-'));
	const childEnv = { ...process.env };
	for (const [k, v] of Object.entries(JSON.parse(fs.readFileSync(path.join(process.env.DLAKE_STACK_DIR || '/tmp/dlake-stack', 'env.json'), 'utf8'))))
		childEnv[k] = String(v);
	try
	{
		for (const b of runnable)
		{
			const file = path.join(tmp, `block-${b.line}.${b.lang}`);
			fs.writeFileSync(file, b.text);
			const r = b.lang === 'sql'
				? spawnSync(path.join(env.DLAKE_PG_BIN, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1',
					'-v', `s3_endpoint=${env.DLAKE_S3_ENDPOINT}`, '-v', `kinesis_endpoint=${env.DLAKE_KINESIS_ENDPOINT}`,
					'-v', `key_id=${env.DLAKE_TEST_ACCESS_KEY_ID}`, '-v', `secret=${env.DLAKE_TEST_SECRET_ACCESS_KEY}`,
					'-f', file], { env: childEnv, encoding: 'utf8', timeout: 120000 })
				: spawnSync('bash', ['-e', file], { env: childEnv, encoding: 'utf8', timeout: 120000 });
			assert.equal(r.status, 0,
				`docs/quickstart.md block at line ${b.line} (${b.lang}) failed:\n${r.stderr}\n${r.stdout}`);
		}
	}
	finally
	{
		fs.rmSync(tmp, { recursive: true, force: true });
	}

	/* section 3 + 4: 2 good CSV lines loaded (1 rejected), 300 inserted */
	assert.equal((await sql('SELECT count(*)::int AS n FROM orders'))[0].n, 302);
	/* section 5: the partition filter opened one file */
	const plan = (await sql(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
		SELECT count(*) FROM orders_lake WHERE day = '2026-01-12'`)).map((r) => r['QUERY PLAN']).join('\n');
	assert.match(plan, /Files: 1 matched, \d+ pruned/);
	/* section 6: 1 cleansed, 1 duplicate, 2 quarantined */
	assert.equal((await sql('SELECT count(*)::int AS n FROM dlake_cleansed.readings'))[0].n, 1);
	assert.equal((await sql('SELECT count(*)::int AS n FROM dlake_quarantine.readings'))[0].n, 2);
	/* section 7: the good record cleansed, the bad one quarantined */
	await waitFor(async () => (await sql('SELECT count(*)::int AS n FROM dlake_cleansed.qs_events'))[0].n === 1,
		30000, 250, 'the stream record in cleansed');
	assert.equal((await sql('SELECT count(*)::int AS n FROM dlake_quarantine.qs_events'))[0].n, 1);
	/* section 8: the run by hand is recorded; the schedule is gone */
	assert.equal((await sql("SELECT count(*)::int AS n FROM dlake.job_runs WHERE job = 'qs_orders_export' AND status = 'succeeded'"))[0].n >= 1, true);
	assert.equal((await sql("SELECT count(*)::int AS n FROM dlake.jobs WHERE job = 'qs_orders_export'"))[0].n, 0);

	await sql('SELECT dlake.drop_stream($1)', ['qs_events']).catch(() => {});
});
