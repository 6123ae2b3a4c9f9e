/*
 * harness.test.mjs — the test stack itself: the SigV4-verifying proxies
 * reject what AWS would reject and accept what it would accept, every fault
 * mode fires, the SDK's retries get through a 50% SlowDown rate, and the
 * PostgreSQL helpers work.  If these fail, no other integration test means
 * anything.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import {
	GetObjectCommand, ListObjectsV2Command, PutObjectCommand, CreateMultipartUploadCommand,
	UploadPartCommand, AbortMultipartUploadCommand, CompleteMultipartUploadCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';

import {
	env, keys, sql, s3, kinesis, faults, proxyLog, resetProxy, rawRequest, createBucket,
	uniqueName, startExtraCluster, fastRetry, waitFor, restartPg, pg, s3ObjectPath,
} from '../lib/stack.mjs';
import fs from 'node:fs';

const bucket = uniqueName('harness');

before(async () => {
	await resetProxy();
	await createBucket(bucket);
	await s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'hello.txt', Body: 'hello, lake' }));
});

after(async () => {
	await resetProxy();
});

beforeEach(async () => {
	await faults('s3', null);
	await faults('kinesis', null);
});

describe('signature verification (S3)', () => {
	test('a correctly signed request is forwarded', async () => {
		const r = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: 'hello.txt' }));
		assert.equal(await r.Body.transformToString(), 'hello, lake');
		assert.ok(fs.existsSync(s3ObjectPath(bucket, 'hello.txt')), 'object stored where s3rver keeps it');
	});

	test('a wrong secret gives SignatureDoesNotMatch', async () => {
		const bad = s3({ credentials: { ...keys.primary, secretAccessKey: 'not-the-secret' }, maxAttempts: 1 });
		await assert.rejects(bad.send(new GetObjectCommand({ Bucket: bucket, Key: 'hello.txt' })),
			(e) => {
				assert.equal(e.name, 'SignatureDoesNotMatch');
				assert.equal(e.$metadata.httpStatusCode, 403);
				return true;
			});
	});

	test('an unknown access key gives InvalidAccessKeyId', async () => {
		const bad = s3({ credentials: { accessKeyId: 'AKIANOBODY', secretAccessKey: 'x' }, maxAttempts: 1 });
		await assert.rejects(bad.send(new ListObjectsV2Command({ Bucket: bucket })), { name: 'InvalidAccessKeyId' });
	});

	test('an unsigned request gives AccessDenied', async () => {
		const r = await rawRequest({ path: `/${bucket}/hello.txt`, sign: false });
		assert.equal(r.status, 403);
		assert.match(r.body, /<Code>AccessDenied<\/Code>/);
		assert.match(r.body, /<RequestId>[0-9A-F]+<\/RequestId>/);
	});

	test('the second key pair works, a session key needs its token', async () => {
		const r = await s3({ credentials: keys.secondary }).send(new ListObjectsV2Command({ Bucket: bucket }));
		assert.ok(r.Contents.some((o) => o.Key === 'hello.txt'));
		await s3({ credentials: keys.session }).send(new ListObjectsV2Command({ Bucket: bucket }));
		const noToken = { accessKeyId: keys.session.accessKeyId, secretAccessKey: keys.session.secretAccessKey };
		await assert.rejects(s3({ credentials: noToken, maxAttempts: 1 }).send(new ListObjectsV2Command({ Bucket: bucket })),
			{ name: 'InvalidToken' });
	});

	test('a body that does not match x-amz-content-sha256 is rejected', async () => {
		const r = await rawRequest({
			method: 'PUT', path: `/${bucket}/tampered.txt`, body: 'actual body',
			payloadHash: '0'.repeat(64),
		});
		assert.equal(r.status, 400);
		assert.match(r.body, /XAmzContentSHA256Mismatch/);
	});

	test('a request signed for another region is rejected', async () => {
		const other = s3({ region: 'eu-west-1', maxAttempts: 1 });
		await assert.rejects(other.send(new GetObjectCommand({ Bucket: bucket, Key: 'hello.txt' })),
			(e) => e.$metadata.httpStatusCode === 400);
	});

	test('presigned URLs are verified too', async () => {
		const url = await getSignedUrl(s3(), new GetObjectCommand({ Bucket: bucket, Key: 'hello.txt' }), { expiresIn: 60 });
		const ok = await fetch(url);
		assert.equal(ok.status, 200);
		assert.equal(await ok.text(), 'hello, lake');
		const tampered = await fetch(url.replace('hello.txt', 'hellO.txt'));
		assert.equal(tampered.status, 403);
		assert.match(await tampered.text(), /SignatureDoesNotMatch/);
	});

	test('reserved characters in keys are signed as sent', async () => {
		const key = 'dir one/a+b=c&d%e~f(1).txt';
		await s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'odd' }));
		const r = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
		assert.equal(await r.Body.transformToString(), 'odd');
	});
});

describe('S3 behaviour the proxy adds to s3rver', () => {
	test('suffix ranges return the last bytes', async () => {
		const r = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: 'hello.txt', Range: 'bytes=-4' }));
		assert.equal(await r.Body.transformToString(), 'lake');
		assert.equal(r.ContentRange, 'bytes 7-10/11');
	});

	test('AbortMultipartUpload: aborted uploads cannot complete and leave no object', async () => {
		const c = s3();
		const key = 'aborted/upload.bin';
		const mp = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
		const part = await c.send(new UploadPartCommand({
			Bucket: bucket, Key: key, UploadId: mp.UploadId, PartNumber: 1, Body: Buffer.alloc(5 << 20, 7),
		}));
		await c.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: mp.UploadId }));
		await assert.rejects(c.send(new CompleteMultipartUploadCommand({
			Bucket: bucket, Key: key, UploadId: mp.UploadId,
			MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
		})), { name: 'NoSuchUpload' });
		const l = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'aborted/' }));
		assert.equal(l.KeyCount, 0);
		const log = await proxyLog('s3');
		assert.ok(log.abortedUploads.includes(mp.UploadId));
	});
});

describe('signature verification (Kinesis)', () => {
	test('correct keys pass, a wrong secret gives InvalidSignatureException', async () => {
		const r = await kinesis().send(new ListStreamsCommand({}));
		assert.ok(Array.isArray(r.StreamNames));
		const bad = kinesis({ credentials: { ...keys.primary, secretAccessKey: 'wrong' }, maxAttempts: 1 });
		await assert.rejects(bad.send(new ListStreamsCommand({})), (e) => {
			assert.equal(e.name, 'InvalidSignatureException');
			assert.equal(e.$metadata.httpStatusCode, 400);
			return true;
		});
	});
});

describe('fault injection', () => {
	test('slowdown: a raw request sees 503 SlowDown', async () => {
		await faults('s3', { slowdown: 1, count: 1 });
		const r = await rawRequest({ path: `/${bucket}/hello.txt` });
		assert.equal(r.status, 503);
		assert.match(r.body, /<Code>SlowDown<\/Code>/);
		const again = await rawRequest({ path: `/${bucket}/hello.txt` });
		assert.equal(again.status, 200, 'count 1 means the next request passes');
	});

	test('drop: the connection is closed without an answer', async () => {
		await faults('s3', { drop: 1, count: 1 });
		await assert.rejects(rawRequest({ path: `/${bucket}/hello.txt` }), (e) => /socket hang up|ECONNRESET/.test(e.message + e.code));
		const log = await proxyLog('s3');
		assert.equal(log.counters.faults.drop, 1);
	});

	test('blackhole: the request is held open', async () => {
		await faults('s3', { blackhole: 1, count: 1 });
		const t0 = Date.now();
		await assert.rejects(rawRequest({ path: `/${bucket}/hello.txt`, timeoutMs: 400 }), /timeout/);
		assert.ok(Date.now() - t0 >= 350);
	});

	test('count limits the number of injected faults', async () => {
		await faults('s3', { status500: 1, count: 2 });
		const statuses = [];
		for (let i = 0; i < 4; i++)
			statuses.push((await rawRequest({ path: `/${bucket}/hello.txt` })).status);
		assert.deepEqual(statuses, [500, 500, 200, 200]);
	});

	test('match restricts faults to matching requests', async () => {
		await faults('s3', { status500: 1, match: '^PUT ' });
		assert.equal((await rawRequest({ path: `/${bucket}/hello.txt` })).status, 200);
		assert.equal((await rawRequest({ method: 'PUT', path: `/${bucket}/m.txt`, body: 'x' })).status, 500);
	});

	test('throttle on Kinesis: ProvisionedThroughputExceededException', async () => {
		await faults('kinesis', { throttle: 1, count: 1, match: 'ListStreams' });
		await assert.rejects(kinesis({ maxAttempts: 1 }).send(new ListStreamsCommand({})),
			{ name: 'ProvisionedThroughputExceededException' });
		await kinesis({ maxAttempts: 1 }).send(new ListStreamsCommand({}));
	});

	test('the request log records method, path, status and faults', async () => {
		await resetProxy('s3');
		await faults('s3', { slowdown: 1, count: 1 });
		await rawRequest({ path: `/${bucket}/hello.txt` });
		await rawRequest({ path: `/${bucket}/hello.txt` });
		const log = await proxyLog('s3');
		assert.deepEqual(log.entries.map((e) => [e.method, e.path, e.status, e.fault]), [
			['GET', `/${bucket}/hello.txt`, 503, 'slowdown'],
			['GET', `/${bucket}/hello.txt`, 200, null],
		]);
		assert.equal(log.counters.faults.slowdown, 1);
	});

	test('SDK retries get through a 50% SlowDown rate', async () => {
		await resetProxy('s3');
		await faults('s3', { slowdown: 0.5, match: '^PUT ' });
		const c = s3({ retryStrategy: fastRetry(12) });
		const n = 24;
		for (let i = 0; i < n; i++)
			await c.send(new PutObjectCommand({ Bucket: bucket, Key: `retry/${i}`, Body: `v${i}` }));
		const log = await proxyLog('s3');
		await faults('s3', null);
		const l = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'retry/' }));
		assert.equal(l.KeyCount, n);
		assert.ok(log.counters.faults.slowdown > 0, 'some requests were slowed down');
		assert.equal(log.entries.filter((e) => e.status === 200).length, n);
	});
});

describe('PostgreSQL helpers', () => {
	test('the stack cluster preloads dlake and pg_cron', async () => {
		const [r] = await sql('SHOW shared_preload_libraries');
		assert.match(r.shared_preload_libraries, /dlake/);
		assert.match(r.shared_preload_libraries, /pg_cron/);
		const [d] = await sql('SELECT current_database() AS db');
		assert.equal(d.db, env.PGDATABASE);
	});

	test('an extra cluster starts with the given settings and stops', async () => {
		const c = await startExtraCluster({ settings: { 'dlake.region': 'eu-west-1' }, env: { AWS_REGION: 'eu-west-1' } });
		try
		{
			const [r] = await c.sql('SHOW dlake.region');
			assert.equal(r['dlake.region'], 'eu-west-1');
		}
		finally
		{
			await c.destroy();
		}
	});

	test('restartPg brings the stack cluster back', async () => {
		const before = await pg();
		const [{ pid }] = (await before.query('SELECT pg_backend_pid() AS pid')).rows;
		await before.end();
		restartPg();
		const [{ pid: pid2 }] = await waitFor(() => sql('SELECT pg_backend_pid() AS pid'), 20000, 200, 'PostgreSQL after restart');
		assert.notEqual(pid, pid2);
	});
});
