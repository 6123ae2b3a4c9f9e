/*
 * http_retry.test.mjs — the aws/ HTTP layer against the SigV4-verifying S3
 * proxy: signed requests get through injected 503 SlowDown answers and
 * dropped connections by retrying; an endpoint that is down gives a clear
 * connection ERROR after the configured retries; a blackholed endpoint is
 * bounded by dlake.request_timeout; a cancel stops a hanging request
 * promptly; auth errors are not retried.
 *
 * Uses the internal superuser function dlake.aws_request_test (see
 * docs/http.md), so it does not depend on the storage functions.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import {
	env, keys, pg, faults, proxyLog, resetProxy, createBucket, uniqueName, ensureExtension,
} from '../lib/stack.mjs';

const bucket = uniqueName('httpretry');
let client;

/* one signed S3 request through dlake; resolves to {status, body} */
async function req(c, method, path, { body = null, secret = keys.primary.secretAccessKey, base = env.DLAKE_S3_ENDPOINT } = {})
{
	const r = await c.query(
		'SELECT status, body FROM dlake.aws_request_test($1, $2, $3, request_body => $4, ' +
		"region => 'us-east-1', access_key_id => $5, secret_access_key => $6)",
		['s3', method, `${base}${path}`, body, keys.primary.accessKeyId, secret]);
	return r.rows[0];
}

async function stats(c)
{
	return (await c.query('SELECT * FROM dlake.aws_request_stats()')).rows[0];
}

/* a loopback port with nothing listening */
function closedPort()
{
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

before(async () => {
	await resetProxy('s3');
	client = await pg();
	await ensureExtension(client);
	await createBucket(bucket);
	await client.query("SET dlake.retry_base_delay = '10ms'");
	await client.query("SET dlake.retry_max_delay = '200ms'");
	await client.query('SET dlake.max_retries = 10');
});

after(async () => {
	await faults('s3', null);
	if (client)
		await client.end();
});

beforeEach(async () => {
	await faults('s3', null);
});

describe('retries through fault injection', () => {
	test('503 SlowDown at 50%: every signed request succeeds, retries are counted', async () => {
		const before = await stats(client);
		const logStart = (await proxyLog('s3')).entries.at(-1)?.id ?? 0;
		await faults('s3', { slowdown: 0.5, match: `/${bucket}/` });
		for (let i = 0; i < 12; i++)
		{
			const put = await req(client, 'PUT', `/${bucket}/slow/${i}.txt`, { body: `object ${i}` });
			assert.equal(put.status, 200);
			const get = await req(client, 'GET', `/${bucket}/slow/${i}.txt`);
			assert.equal(get.body, `object ${i}`);
		}
		const after = await stats(client);
		const log = await proxyLog('s3', logStart);
		const injected = log.entries.filter((e) => e.fault === 'slowdown').length;
		assert.ok(injected > 0, 'the proxy injected SlowDown answers');
		assert.equal(after.requests - before.requests, 24);
		assert.equal(after.retries - before.retries, injected, 'one retry per injected fault');
		assert.equal(after.throttles - before.throttles, injected, 'SlowDown counted as throttling');
	});

	test('dropped connections: idempotent requests succeed after retries', async () => {
		await req(client, 'PUT', `/${bucket}/drop.txt`, { body: 'survives resets' });

		/* at 40%, every GET still succeeds */
		let logStart = (await proxyLog('s3')).entries.at(-1)?.id ?? 0;
		await faults('s3', { drop: 0.4, match: `/${bucket}/drop` });
		for (let i = 0; i < 10; i++)
			assert.equal((await req(client, 'GET', `/${bucket}/drop.txt`)).body, 'survives resets');
		const dropped = (await proxyLog('s3', logStart)).entries.filter((e) => e.fault === 'drop').length;
		assert.ok(dropped > 0, 'connections were dropped');

		/*
		 * Three drops in a row: libcurl itself resends once when a reused
		 * connection dies before answering, so at least one of the drops
		 * must be absorbed by dlake's own retry.
		 */
		const before = await stats(client);
		logStart = (await proxyLog('s3')).entries.at(-1)?.id ?? 0;
		await faults('s3', { drop: 1, count: 3, match: `/${bucket}/drop` });
		assert.equal((await req(client, 'GET', `/${bucket}/drop.txt`)).body, 'survives resets');
		const after = await stats(client);
		assert.equal((await proxyLog('s3', logStart)).entries.filter((e) => e.fault === 'drop').length, 3);
		assert.ok(after.retries - before.retries >= 1, 'dlake retried after a connection reset');
	});

	test('with retries exhausted the SlowDown error is reported as throttling', async () => {
		await client.query('SET dlake.max_retries = 2');
		try
		{
			await faults('s3', { slowdown: 1, match: `/${bucket}/` });
			await assert.rejects(req(client, 'GET', `/${bucket}/slow/0.txt`), (e) => {
				assert.equal(e.code, '53400');
				assert.match(e.message, /S3 request failed: request throttled/);
				assert.match(e.detail, /AWS error code: SlowDown.*HTTP status: 503, attempts: 3/);
				assert.match(e.where, new RegExp(`S3 request: GET .*/${bucket}/slow/0.txt`));
				return true;
			});
		}
		finally
		{
			await client.query('SET dlake.max_retries = 10');
		}
	});
});

describe('failures that must not hang or be retried', () => {
	test('upstream down: a clear connection ERROR after the retries', async () => {
		const port = await closedPort();
		await client.query('SET dlake.max_retries = 3');
		try
		{
			const t0 = Date.now();
			await assert.rejects(req(client, 'GET', `/${bucket}/x`, { base: `http://127.0.0.1:${port}` }), (e) => {
				assert.equal(e.code, 'HV00N');
				assert.match(e.message, /S3 request failed: could not connect/);
				assert.match(e.detail, /attempts: 4/);
				assert.match(e.hint, /reachable/);
				return true;
			});
			assert.ok(Date.now() - t0 < 5000);
		}
		finally
		{
			await client.query('SET dlake.max_retries = 10');
		}
	});

	test('blackholed endpoint: each attempt is bounded by dlake.request_timeout', async () => {
		await client.query("SET dlake.request_timeout = '400ms'");
		await client.query('SET dlake.max_retries = 1');
		try
		{
			await faults('s3', { blackhole: 1, match: `/${bucket}/` });
			const t0 = Date.now();
			await assert.rejects(req(client, 'GET', `/${bucket}/slow/0.txt`), (e) => {
				assert.equal(e.code, '08006');
				assert.match(e.message, /S3 request failed: timed out/);
				assert.match(e.detail, /attempts: 2/);
				return true;
			});
			const ms = Date.now() - t0;
			assert.ok(ms >= 750 && ms < 3000, `two attempts of 400 ms took ${ms} ms`);
		}
		finally
		{
			await client.query('RESET dlake.request_timeout');
			await client.query('SET dlake.max_retries = 10');
		}
	});

	test('a cancel stops a hanging request within 2 s', async () => {
		const victim = await pg();
		try
		{
			await victim.query("SET dlake.request_timeout = '60s'");
			const pid = (await victim.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
			await faults('s3', { blackhole: 1, match: `/${bucket}/` });
			/* settle into a value at once so the rejection is never "unhandled" */
			let settledAt = 0;
			const pending = req(victim, 'GET', `/${bucket}/slow/1.txt`).then(
				() => { settledAt = Date.now(); return null; },
				(e) => { settledAt = Date.now(); return e; });
			await new Promise((r) => setTimeout(r, 500));
			assert.equal(settledAt, 0, 'the request hangs on the blackholed endpoint');
			const t0 = Date.now();
			await client.query('SELECT pg_cancel_backend($1)', [pid]);
			const err = await pending;
			assert.ok(err, 'the request was cancelled');
			assert.equal(err.code, '57014');
			assert.match(err.message, /canceling statement due to user request/);
			assert.ok(settledAt - t0 < 2000, `cancel took ${settledAt - t0} ms`);
			/* the session is usable afterwards */
			await faults('s3', null);
			assert.equal((await victim.query('SELECT 1 AS one')).rows[0].one, 1);
		}
		finally
		{
			await victim.end();
		}
	});

	test('a wrong secret is reported once, never retried', async () => {
		const before = await stats(client);
		await assert.rejects(req(client, 'GET', `/${bucket}/slow/0.txt`, { secret: 'not-the-secret' }), (e) => {
			assert.equal(e.code, '42501');
			assert.match(e.message, /S3 request failed: signature does not match/);
			assert.match(e.detail, /AWS error code: SignatureDoesNotMatch.*attempts: 1\./);
			assert.match(e.hint, /secret_access_key/);
			return true;
		});
		const after = await stats(client);
		assert.equal(after.retries, before.retries);
	});

	test('missing key and bucket map to undefined_object', async () => {
		await assert.rejects(req(client, 'GET', `/${bucket}/does/not/exist`), (e) => {
			assert.equal(e.code, '42704');
			assert.match(e.message, /object does not exist/);
			return true;
		});
		await assert.rejects(req(client, 'GET', `/${uniqueName('nobucket')}/k`), (e) => {
			assert.equal(e.code, '42704');
			assert.match(e.message, /bucket does not exist/);
			return true;
		});
	});

	test('Kinesis JSON errors: __type and message parsed, throttling retried', async () => {
		const kin = (target, body, secret = keys.primary.secretAccessKey) => client.query(
			"SELECT status, body FROM dlake.aws_request_test('kinesis', 'POST', $1, request_body => $2, " +
			"region => 'us-east-1', headers => ARRAY['X-Amz-Target:Kinesis_20131202.' || $3, " +
			"'Content-Type:application/x-amz-json-1.1'], access_key_id => $4, secret_access_key => $5)",
			[`${env.DLAKE_KINESIS_ENDPOINT}/`, body, target, keys.primary.accessKeyId, secret]);
		await assert.rejects(kin('DescribeStreamSummary', '{"StreamName":"no-such-stream"}'), (e) => {
			assert.equal(e.code, '42704');
			assert.match(e.message, /^Kinesis request failed: resource not found$/);
			assert.match(e.detail, /AWS error code: ResourceNotFoundException, message: Stream no-such-stream .*not found\., request id: [0-9a-f-]{8,}, HTTP status: 400, attempts: 1\./);
			return true;
		});
		await assert.rejects(kin('ListStreams', '{}', 'wrong-secret'), (e) => {
			assert.equal(e.code, '42501');
			assert.match(e.message, /signature does not match/);
			return true;
		});
		const before = await stats(client);
		await faults('kinesis', { throttle: 1, count: 2, match: 'ListStreams' });
		try
		{
			const r = await kin('ListStreams', '{}');
			assert.equal(r.rows[0].status, 200);
			assert.ok(JSON.parse(r.rows[0].body).StreamNames);
		}
		finally
		{
			await faults('kinesis', null);
		}
		const after = await stats(client);
		assert.equal(after.retries - before.retries, 2);
		assert.equal(after.throttles - before.throttles, 2, 'ProvisionedThroughputExceededException is throttling');
	});

	test('TLS: verified by default, a private CA through dlake.ca_file', async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dlake-tls-'));
		fs.chmodSync(dir, 0o755);
		const key = path.join(dir, 'key.pem');
		const cert = path.join(dir, 'cert.pem');
		execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
			'-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
			'-keyout', key, '-out', cert], { stdio: 'ignore' });
		fs.chmodSync(cert, 0o644);
		const server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) },
			(rq, rs) => {
				rs.writeHead(200, { 'content-type': 'text/plain' });
				rs.end(`tls ok ${rq.method} ${rq.url}`);
			});
		await new Promise((r) => server.listen(0, '127.0.0.1', r));
		const base = `https://127.0.0.1:${server.address().port}`;
		try
		{
			await client.query('SET dlake.max_retries = 0');
			await assert.rejects(req(client, 'GET', '/b/k', { base }), (e) => {
				assert.equal(e.code, 'HV00N');
				assert.match(e.message, /S3 request failed: TLS error/);
				assert.match(e.hint, /ca_file/);
				return true;
			});
			await client.query(`SET dlake.ca_file = '${cert}'`);
			assert.equal((await req(client, 'GET', '/b/k', { base })).body, 'tls ok GET /b/k');
		}
		finally
		{
			await client.query('RESET dlake.ca_file');
			await client.query('SET dlake.max_retries = 10');
			server.close();
			server.closeAllConnections?.();
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});

	test('plain users cannot call the internal request function', async () => {
		const role = uniqueName('plain');
		await client.query(`CREATE ROLE "${role}"`);
		try
		{
			await client.query(`SET ROLE "${role}"`);
			await assert.rejects(req(client, 'GET', `/${bucket}/x`), (e) => e.code === '42501');
		}
		finally
		{
			await client.query('RESET ROLE');
			await client.query(`DROP ROLE "${role}"`);
		}
	});
});
