/*
 * format_s3.test.mjs — the format layer over S3 (s3rver behind the
 * SigV4-verifying proxy): Parquet reads fetch only the footer and the
 * column chunks of the projected columns of the selected row groups, and
 * CSV/JSONL stream through range GETs of read_ahead_bytes each.  Proven
 * with the proxy's request log (bytes actually sent back).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { pg, ensureExtension, createLakeServer, uniqueName, proxyLog } from '../lib/stack.mjs';

const SERVER = 'lake_format_s3';
const bucket = uniqueName('fmt');
const url = (key) => `s3://${bucket}/${key}`;
let client;
let ready = false;

async function lastLogId()
{
	const log = await proxyLog('s3');
	return log.entries.reduce((m, e) => Math.max(m, e.id), 0);
}

/* GETs of one object since a log id: {count, bytes} */
async function getsOf(key, since)
{
	const log = await proxyLog('s3', since);
	const gets = log.entries.filter((e) => e.method === 'GET' && e.path === `/${bucket}/${key}` && e.status < 300);
	return { count: gets.length, bytes: gets.reduce((s, e) => s + (e.respBytes || 0), 0) };
}

before(async () =>
{
	client = await pg();
	await ensureExtension(client);
	ready = await createLakeServer(client, SERVER);
	if (ready)
		await client.query('SELECT dlake.create_bucket($1, $2)', [bucket, SERVER]);
});

after(async () =>
{
	if (client)
	{
		if (ready)
			await client.query('SELECT dlake.delete($1, $2)', [url(''), SERVER]).catch(() => {});
		await client.query(`DROP SERVER IF EXISTS ${SERVER} CASCADE`).catch(() => {});
		await client.end();
	}
});

describe('formats over S3', () =>
{
	test('a Parquet projection fetches only the projected column chunks', async (t) =>
	{
		if (!ready)
			return t.skip('dlake_fdw not available');
		const key = 'wide.parquet';
		const q = `SELECT g AS id, md5(g::text) || md5((g + 1)::text) AS a, md5((g * 7)::text) || md5((g * 3)::text) AS b,
			repeat(md5((g * 11)::text), 3) AS c, g * 0.5 AS f FROM generate_series(1, 100000) g`;
		const n = (await client.query('SELECT dlake.write_file($1, $2, NULL, $3, $4) AS n',
			[q, url(key), '{"row_group_rows": 25000, "compression": "none", "dictionary": false}', SERVER])).rows[0].n;
		assert.equal(Number(n), 100000);
		const size = Number((await client.query('SELECT size FROM dlake.stat($1, $2)', [url(key), SERVER])).rows[0].size);

		let since = await lastLogId();
		const r = (await client.query(
			'SELECT count(*)::int AS n, sum(id)::text AS s FROM dlake.read_file($1, NULL, NULL, $2) AS t(id int)', [url(key), SERVER])).rows[0];
		assert.equal(r.n, 100000);
		assert.equal(r.s, '5000050000');
		const one = await getsOf(key, since);
		t.diagnostic(`object ${size} bytes; reading column id fetched ${one.bytes} bytes in ${one.count} GETs`);
		assert.ok(one.bytes < size * 0.05, `projection of a 4-byte column read ${one.bytes} of ${size} bytes`);

		since = await lastLogId();
		const all = (await client.query(
			'SELECT count(*)::int AS n, sum(length(c))::int8 AS l FROM dlake.read_file($1, NULL, NULL, $2) AS t(id int, a text, b text, c text, f numeric)', [url(key), SERVER])).rows[0];
		assert.equal(all.n, 100000);
		const every = await getsOf(key, since);
		assert.ok(every.bytes > size * 0.9, `reading every column fetched ${every.bytes} of ${size} bytes`);
	});

	test('CSV and JSON lines stream in read_ahead_bytes ranges', async (t) =>
	{
		if (!ready)
			return t.skip('dlake_fdw not available');
		for (const key of ['stream.csv', 'stream.jsonl.gz'])
		{
			await client.query('SELECT dlake.write_file($1, $2, NULL, NULL, $3)',
				['SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 50000) g', url(key), SERVER]);
			const size = Number((await client.query('SELECT size FROM dlake.stat($1, $2)', [url(key), SERVER])).rows[0].size);
			const since = await lastLogId();
			const r = (await client.query(
				'SELECT count(*)::int AS n, sum(id)::text AS s, count(DISTINCT h)::int AS d FROM dlake.read_file($1, NULL, $2, $3) AS t(id int, h text)',
				[url(key), '{"read_ahead_bytes": "64kB", "sample_rows": 10}', SERVER])).rows[0];
			assert.deepEqual(r, { n: 50000, s: '1250025000', d: 50000 });
			const g = await getsOf(key, since);
			t.diagnostic(`${key}: ${size} bytes in ${g.count} GETs (${g.bytes} bytes)`);
			assert.ok(g.count >= Math.floor(size / 65536), `${key}: ranged GETs (${g.count})`);
			/* every byte once, plus the sample and magic reads at the start */
			assert.ok(g.bytes <= size + 3 * 65536 + 16, `${key}: fetched ${g.bytes} for ${size}`);
		}
	});
});
