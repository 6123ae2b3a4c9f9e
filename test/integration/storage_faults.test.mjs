/*
 * storage_faults.test.mjs — dlake's S3 storage under failure, through the
 * fault-injecting proxy: 30% SlowDown plus dropped connections (retries get
 * every write and read through), every connection dropped (bounded retries,
 * then a clear ERROR), and the S3 server killed in the middle of a
 * multipart upload.
 */
import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';

import {
	sql, pg, s3, createLakeServer, uniqueName, proxyLog, resetProxy, faults, stackCtl, waitFor,
} from '../lib/stack.mjs';

const SERVER = 'lake_storage_faults';
const bucket = uniqueName('sf');
const url = (key) => `s3://${bucket}/${key}`;

/* a session with quick retries, so that the tests stay short */
async function session(retries = 8)
{
	const c = await pg();
	await c.query(`SET dlake.max_retries = ${retries}`);
	await c.query("SET dlake.retry_base_delay = '10ms'");
	await c.query("SET dlake.retry_max_delay = '200ms'");
	await c.query("SET dlake.multipart_part_size = '5MB'");
	await c.query("SET dlake.request_timeout = '10s'");
	return c;
}

async function exists(key)
{
	try
	{
		await s3().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
		return true;
	}
	catch (e)
	{
		if (e.$metadata?.httpStatusCode === 404)
			return false;
		throw e;
	}
}

before(async () => {
	await sql('CREATE EXTENSION IF NOT EXISTS dlake CASCADE');
	await resetProxy('s3');
	assert.ok(await createLakeServer(null, SERVER), 'dlake_fdw exists');
	await sql('SELECT dlake.create_bucket($1, $2)', [bucket, SERVER]);
});

afterEach(async () => {
	await faults('s3', null);
});

after(async () => {
	await faults('s3', null);
	await sql(`DROP SERVER IF EXISTS ${SERVER} CASCADE`);
});

describe('transient faults are retried', () => {
	test('30% SlowDown and 10% dropped connections: writes and reads succeed', async () => {
		const c = await session(12);
		try
		{
			await resetProxy('s3');
			/*
			 * The first write meets two dropped connections for sure (so the
			 * assertion on drops below cannot depend on chance); the rest run
			 * under random SlowDown answers and drops.
			 */
			await faults('s3', { drop: 1, count: 2 });
			const texts = [];
			for (let i = 0; i < 15; i++)
			{
				if (i === 1)
					await faults('s3', { slowdown: 0.3, drop: 0.1 });
				const body = `object ${i} ${crypto.randomBytes(8).toString('hex')}`;
				texts.push(body);
				await c.query('SELECT dlake.write_text($1, $2, $3)', [url(`flaky/o${i}.txt`), body, SERVER]);
			}
			const size = 12 * 1024 * 1024;
			await c.query('SELECT dlake.write_generated($1, $2, $3, 5)', [url('flaky/multi.bin'), size, SERVER]);

			const { rows } = await c.query('SELECT path, size FROM dlake.list($1, $2)', [url('flaky/'), SERVER]);
			assert.equal(rows.length, 16);
			for (let i = 0; i < 15; i++)
			{
				const { rows: [{ t }] } = await c.query('SELECT dlake.read_text($1, $2) AS t', [url(`flaky/o${i}.txt`), SERVER]);
				assert.equal(t, texts[i]);
			}
			const { rows: [{ h }] } = await c.query(
				"SELECT encode(sha256(dlake.read_bytes($1, $2)), 'hex') AS h", [url('flaky/multi.bin'), SERVER]);
			await faults('s3', null);
			const r = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: 'flaky/multi.bin' }));
			const sdk = crypto.createHash('sha256').update(Buffer.from(await r.Body.transformToByteArray())).digest('hex');
			assert.equal(h, sdk);

			const log = await proxyLog('s3');
			assert.ok(log.counters.faults.slowdown > 0, 'SlowDown answers were injected');
			assert.ok((log.counters.faults.drop || 0) > 0, 'connections were dropped');
			const { rows: [{ n }] } = await c.query('SELECT dlake.delete($1, $2) AS n', [url('flaky/'), SERVER]);
			assert.equal(n, 16);
		}
		finally
		{
			await c.end();
		}
	});
});

describe('persistent faults end in a clear ERROR', () => {
	test('every connection dropped: bounded retries, then a network error', async () => {
		const c = await session(3);
		try
		{
			await resetProxy('s3');
			await faults('s3', { drop: 1 });
			const t0 = Date.now();
			await assert.rejects(c.query('SELECT dlake.write_text($1, $2, $3)', [url('down/x.txt'), 'x', SERVER]), (e) => {
				assert.match(e.code, /^08/, `connection error class, got ${e.code}: ${e.message}`);
				assert.match(e.message, /S3 request failed/);
				assert.match(e.detail || '', /attempts: 4/);
				assert.match(e.where || '', /S3 request: PUT s3:\/\//);
				return true;
			});
			assert.ok(Date.now() - t0 < 10000);
			const log = await proxyLog('s3');
			assert.equal(log.counters.faults.drop, 4, 'one try and three retries');
			await faults('s3', null);
			assert.equal(await exists('down/x.txt'), false);
		}
		finally
		{
			await c.end();
		}
	});

	test('the S3 server killed mid-upload: retries, then a clear ERROR, and nothing visible', async () => {
		const c = await session(3);
		let restarted = false;
		try
		{
			await resetProxy('s3');
			const running = c.query('SELECT dlake.write_generated($1, $2, $3)', [url('killed/big.bin'), 2 * 1024 ** 3, SERVER])
				.then(() => null, (e) => e);
			await waitFor(async () => (await proxyLog('s3')).entries.some((e) => /partNumber=3/.test(e.query || '')),
				30000, 50, 'the third part');
			stackCtl('stop-svc', 's3rver');
			const err = await running;
			stackCtl('start-svc', 's3rver');
			restarted = true;
			assert.ok(err, 'the write failed');
			assert.match(err.message, /S3 request failed/);
			assert.match(err.where || '', /S3 request: PUT s3:\/\/.*part/);
			assert.match(err.detail || '', /attempts: 4/);
			await waitFor(async () => {
				try
				{
					return (await sql('SELECT count(*)::int AS n FROM dlake.list($1, $2)', [url('killed/'), SERVER]))[0].n === 0;
				}
				catch
				{
					return false;
				}
			}, 20000, 200, 's3rver back');
			assert.equal(await exists('killed/big.bin'), false);
		}
		finally
		{
			if (!restarted)
				stackCtl('start-svc', 's3rver');
			await c.end();
		}
	});
});
