/*
 * load_files.test.mjs — dlake.load from S3 (through the verifying proxy)
 * and file://: CSV with header + gzip, JSON lines, Parquet written by
 * DuckDB, markers skipped, defaults for missing columns; bad rows with
 * max_errors 5 → loaded + 3 rejects with reasons, with max_errors 2 →
 * ERROR and the table unchanged; the load history skips files already
 * loaded and a new file alone is loaded next; glob patterns, manifests,
 * CSV by position, and an export → load round trip.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';

import {
	env, sql, pg, s3, createLakeServer, createBucket, uniqueName, ensureExtension,
} from '../lib/stack.mjs';

const SERVER = 'lake_load';
const bucket = uniqueName('load');
const table = `sales_${uniqueName('t').replace(/-/g, '_')}`;
let duck;

const put = (key, body) => s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
const ts = (i) => new Date(Date.UTC(2024, 0, 1) + i * 60000).toISOString();
const amount = (i) => ((i * 7) % 1000) / 4;

function csv(from, to, header = true)
{
	const lines = header ? ['id,ts,amount,region'] : [];
	for (let i = from; i <= to; i++)
		lines.push(`${i},${ts(i)},${amount(i)},r${i % 3}`);
	return `${lines.join('\n')}\n`;
}

function jsonl(from, to)
{
	const lines = [];
	for (let i = from; i <= to; i++)
		lines.push(JSON.stringify({ id: i, ts: ts(i), amount: amount(i), region: `r${i % 3}` }));
	return `${lines.join('\n')}\n`;
}

function expectedSum(ranges)
{
	let n = 0;
	let ids = 0;
	let amt = 0;
	for (const [a, b] of ranges)
		for (let i = a; i <= b; i++)
		{
			n++;
			ids += i;
			amt += amount(i);
		}
	return { n, ids, amt };
}

async function tableStats(t = table)
{
	const [r] = await sql(`SELECT count(*)::int AS n, coalesce(sum(id), 0)::bigint AS ids,
		coalesce(sum(amount), 0)::float8 AS amt FROM ${t}`);
	return { n: r.n, ids: Number(r.ids), amt: r.amt };
}

const load = (loc, extra = '') => sql(`SELECT * FROM dlake.load('${table}', '${loc}', server => '${SERVER}'${extra})`);

before(async () =>
{
	await ensureExtension();
	await createLakeServer(null, SERVER);
	await createBucket(bucket);
	await sql(`CREATE TABLE ${table} (id int PRIMARY KEY, ts timestamptz NOT NULL, amount numeric(10,2),
		region text, note text DEFAULT 'none', loaded_at timestamptz DEFAULT now())`);
	const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
	duck = await inst.connect();

	await put('raw/2024/a.csv.gz', zlib.gzipSync(csv(1, 1000)));
	await put('raw/2024/b.jsonl', jsonl(1001, 1500));
	const tmp = path.join(os.tmpdir(), `${uniqueName('duck')}.parquet`);
	await duck.run(`COPY (SELECT i::INTEGER AS id, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_minutes(i) AS ts,
		((i * 7) % 1000) / 4 AS amount, 'r' || (i % 3) AS region
		FROM range(1501, 1801) t(i)) TO '${tmp}' (FORMAT parquet)`);
	await put('raw/2024/c.parquet', fs.readFileSync(tmp));
	fs.unlinkSync(tmp);
	await put('raw/_SUCCESS', '');
	await put('raw/2024/.hidden.crc', 'x');
});

after(async () =>
{
	await sql(`DROP TABLE IF EXISTS ${table}`);
	await sql(`DROP SERVER IF EXISTS ${SERVER} CASCADE`);
});

describe('dlake.load', () =>
{
	test('CSV+gzip, JSON lines and DuckDB Parquet under one prefix', async () =>
	{
		const res = await load(`s3://${bucket}/raw/`);
		assert.deepEqual(res.map((r) => [r.path.split('/').pop(), Number(r.rows), Number(r.rejected)]),
			[['a.csv.gz', 1000, 0], ['b.jsonl', 500, 0], ['c.parquet', 300, 0]]);
		assert.deepEqual(await tableStats(), expectedSum([[1, 1800]]));
		const [d] = await sql(`SELECT count(*)::int AS n FROM ${table} WHERE note = 'none' AND loaded_at IS NOT NULL`);
		assert.equal(d.n, 1800, 'defaults filled for columns the files lack');
		const [t] = await sql(`SELECT ts = '2024-01-01 00:07:00+00' AS ok FROM ${table} WHERE id = 7`);
		assert.ok(t.ok);
		const [h] = await sql(`SELECT count(*)::int AS n FROM dlake.loaded_files WHERE target = $1::regclass`, [table]);
		assert.equal(h.n, 3);
	});

	test('a second call skips loaded files; a new file alone is loaded', async () =>
	{
		const c = await pg();
		const notices = [];
		c.on('notice', (n) => notices.push(n.message));
		try
		{
			const again = (await c.query(`SELECT * FROM dlake.load('${table}', 's3://${bucket}/raw/', server => '${SERVER}')`)).rows;
			assert.equal(again.length, 0);
			assert.ok(notices.some((m) => /skipped 3 files already loaded/.test(m)), notices.join('; '));
		}
		finally
		{
			await c.end();
		}

		await put('raw/2024/d.csv', csv(1801, 1850));
		const res = await load(`s3://${bucket}/raw/`);
		assert.deepEqual(res.map((r) => [r.path.split('/').pop(), Number(r.rows)]), [['d.csv', 50]]);
		assert.deepEqual(await tableStats(), expectedSum([[1, 1850]]));
	});

	test('max_errors: 3 bad rows', async () =>
	{
		const lines = ['id,ts,amount,region'];
		for (let i = 2001; i <= 2010; i++)
			lines.push(`${i},${ts(i)},${amount(i)},r1`);
		lines[3] = 'abc,2024-01-01T00:00:00Z,1,r1';						/* not an integer */
		lines[5] = '2005,2024-01-01T00:00:00Z,1';						/* a column short */
		lines[8] = '2008,not a time,1,r1';								/* bad timestamp */
		await put('bad/bad.csv', `${lines.join('\n')}\n`);
		const before = await tableStats();
		const [errsBefore] = await sql(`SELECT count(*)::int AS n FROM dlake.load_errors`);

		await assert.rejects(load(`s3://${bucket}/bad/`, ', max_errors => 2'), /too many bad rows: more than 2/);
		assert.deepEqual(await tableStats(), before, 'table unchanged');
		const [errsAfter] = await sql(`SELECT count(*)::int AS n FROM dlake.load_errors`);
		assert.equal(errsAfter.n, errsBefore.n, 'no reject rows kept either');

		const res = await load(`s3://${bucket}/bad/`, ', max_errors => 5');
		assert.deepEqual(res.map((r) => [Number(r.rows), Number(r.rejected)]), [[7, 3]]);
		const rej = await sql(`SELECT e.line, e.column_name, e.error, e.raw_line FROM dlake.load_errors e
			JOIN dlake.loaded_files f ON f.run_id = e.run_id WHERE f.location = $1 ORDER BY e.line`, [`s3://${bucket}/bad/bad.csv`]);
		assert.equal(rej.length, 3);
		assert.deepEqual(rej.map((r) => Number(r.line)), [4, 6, 9]);
		assert.match(rej[0].error, /integer/i);
		assert.equal(rej[0].column_name, 'id');
		assert.match(rej[1].error, /fields|column/i);
		assert.match(rej[2].error, /timestamp|time/i);
		assert.ok(rej.every((r) => r.raw_line && r.raw_line.length > 0), 'raw lines kept');
		assert.equal((await tableStats()).n, before.n + 7);
	});

	test('glob pattern, CSV by position, manifest', async () =>
	{
		await put('mixed/x.csv.gz', zlib.gzipSync(csv(3001, 3010)));
		await put('mixed/y.csv', csv(3011, 3020));
		const res = await load(`s3://${bucket}/mixed/`, `, pattern => '*.csv.gz'`);
		assert.deepEqual(res.map((r) => r.path.split('/').pop()), ['x.csv.gz']);

		await put('nohdr/z.csv', csv(3101, 3105, false));
		const r2 = await load(`s3://${bucket}/nohdr/`, `, options => '{"header": false}'`);
		assert.equal(Number(r2[0].rows), 5);

		await put('man/p1.jsonl', jsonl(3201, 3210));
		await put('man/p2.jsonl', jsonl(3211, 3230));
		await put('man/ignored.jsonl', jsonl(3231, 3240));
		await put('man/load.manifest', JSON.stringify({
			entries: [{ url: `s3://${bucket}/man/p1.jsonl`, mandatory: true }, { url: `s3://${bucket}/man/p2.jsonl`, mandatory: true }],
		}));
		const r3 = await load(`s3://${bucket}/man/load.manifest`);
		assert.deepEqual(r3.map((r) => [r.path.split('/').pop(), Number(r.rows)]), [['p1.jsonl', 10], ['p2.jsonl', 20]]);
		const [n] = await sql(`SELECT count(*)::int AS n FROM ${table} WHERE id BETWEEN 3231 AND 3240`);
		assert.equal(n.n, 0);
	});

	test('export → load round trip on file://, force reloads', async () =>
	{
		const dir = path.join(env.DLAKE_FILE_ROOT, uniqueName('rt'));
		const copy = `${table}_copy`;
		await sql(`CREATE TABLE ${copy} (LIKE ${table})`);
		try
		{
			for (const fmt of ['csv', 'jsonl', 'parquet'])
			{
				await sql(`SELECT * FROM dlake.export($1, $2, $3, ARRAY['region'])`,
					[`SELECT id, ts, amount, region, note, loaded_at FROM ${table}`, `file://${dir}/${fmt}`, fmt]);
				await sql(`TRUNCATE ${copy}`);
				await sql(`SELECT * FROM dlake.load($1, $2)`, [copy, `file://${dir}/${fmt}/`]);
				const [c] = await sql(`SELECT count(*)::int AS n, sum(id)::bigint AS ids FROM ${copy}`);
				const t = await tableStats();
				assert.equal(c.n, t.n, `${fmt}: rows`);
				assert.equal(Number(c.ids), t.ids, `${fmt}: ids`);
			}
			const again = await sql(`SELECT * FROM dlake.load($1, $2)`, [copy, `file://${dir}/csv/`]);
			assert.equal(again.length, 0);
			await sql(`TRUNCATE ${copy}`);
			const forced = await sql(`SELECT * FROM dlake.load($1, $2, force => true)`, [copy, `file://${dir}/csv/`]);
			assert.equal(forced.length, 3);
		}
		finally
		{
			await sql(`DROP TABLE IF EXISTS ${copy}`);
		}
	});
});
