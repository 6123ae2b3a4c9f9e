/*
 * export_incremental.test.mjs — dlake.export_table exports every row
 * exactly once across runs: insert, export, insert more, a failure
 * injected between upload and state commit (files uploaded, nothing
 * committed, no cleanup: what a server crash leaves), rerun, a
 * late-committing concurrent transaction whose rows have lower ids than
 * rows already exported, overlapping calls (advisory lock), and a final
 * check with DuckDB over the objects themselves: count(DISTINCT id) ==
 * count(*) == rows inserted.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';

import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';

import {
	env, sql, pg, s3, createLakeServer, createBucket, uniqueName, ensureExtension,
} from '../lib/stack.mjs';

const SERVER = 'lake_export_inc';
const bucket = uniqueName('inc');
const table = `inc_${uniqueName('t').replace(/-/g, '_')}`;
const loc = `s3://${bucket}/events`;
let duck;

async function listKeys(prefix)
{
	const keys = [];
	let token;
	do
	{
		const r = await s3().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
		for (const o of r.Contents || [])
			keys.push(o.Key);
		token = r.IsTruncated ? r.NextContinuationToken : undefined;
	} while (token);
	return keys;
}

const insert = (n, c = null) => {
	const q = `INSERT INTO ${table} (day, payload) SELECT date '2024-03-01' + (g % 5), md5(g::text)
		FROM generate_series(1, ${n}) g`;
	return c ? c.query(q) : sql(q);
};

const exportTable = (extra = '', c = null) => {
	const q = `SELECT * FROM dlake.export_table('${table}', '${loc}', 'parquet', ARRAY['day'],
		server => '${SERVER}'${extra})`;
	return c ? c.query(q).then((r) => r.rows) : sql(q);
};

const exported = (rows) => rows.reduce((a, r) => a + Number(r.rows), 0);

async function lakeStats()
{
	const glob = path.join(env.DLAKE_S3_DIR, bucket, 'events', '**', '*._S3rver_object');
	const r = await duck.runAndReadAll(`SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi
		FROM read_parquet('${glob}', hive_partitioning = true)`);
	const [row] = r.getRowObjectsJson();
	return { n: Number(row.n), distinct: Number(row.d), lo: Number(row.lo), hi: Number(row.hi) };
}

before(async () =>
{
	await ensureExtension();
	await createLakeServer(null, SERVER);
	await createBucket(bucket);
	await sql(`CREATE TABLE ${table} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, day date NOT NULL, payload text)`);
	const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
	duck = await inst.connect();
});

after(async () =>
{
	await sql(`DROP TABLE IF EXISTS ${table}`);
	await sql(`DROP SERVER IF EXISTS ${SERVER} CASCADE`);
});

describe('export_table: every row exactly once', () =>
{
	let inserted = 0;

	test('first run exports everything, a second run nothing', async () =>
	{
		await insert(1000);
		inserted += 1000;
		const r1 = await exportTable();
		assert.equal(exported(r1), 1000);
		assert.equal(r1.length, 5, 'five days');
		const r2 = await exportTable();
		assert.equal(exported(r2), 0);
		const [st] = await sql(`SELECT batch, rows FROM dlake.export_state WHERE source = $1::regclass`, [table]);
		assert.equal(Number(st.rows), 1000);
	});

	test('failure between upload and state commit, then rerun', async () =>
	{
		await insert(500);
		inserted += 500;
		const before = (await listKeys('events/')).length;
		await assert.rejects(exportTable(`, options => '{"fail_after_upload": true}'`), /injected failure after upload/);
		/* the files of the failed attempt are there, unknown to the catalog */
		const during = await listKeys('events/');
		assert.ok(during.length > before, `orphans visible (${before} → ${during.length})`);
		const [cat] = await sql(`SELECT count(*)::int AS n FROM dlake.files WHERE location = $1`, [loc]);
		assert.equal(cat.n, before);

		const r = await exportTable();
		assert.equal(exported(r), 500, 'the rerun exports the 500 rows once');
		const after = await listKeys('events/');
		assert.equal(after.length, before + r.length, 'the orphans were removed');
		const s = await lakeStats();
		assert.deepEqual(s, { n: inserted, distinct: inserted, lo: 1, hi: inserted });
	});

	test('a late-committing transaction is not skipped', async () =>
	{
		const late = await pg();
		try
		{
			await late.query('BEGIN');
			await insert(100, late);				/* lower ids, not committed yet */
			await insert(200);						/* higher ids, committed */
			const r1 = await exportTable();
			assert.equal(exported(r1), 200, 'only committed rows');
			await late.query('COMMIT');
			inserted += 300;
			const r2 = await exportTable();
			assert.equal(exported(r2), 100, 'the late rows come with the next run');
		}
		finally
		{
			await late.end();
		}
		const s = await lakeStats();
		assert.equal(s.n, inserted);
		assert.equal(s.distinct, inserted);
	});

	test('overlapping calls: the second returns at once', async () =>
	{
		await insert(50);
		inserted += 50;
		const a = await pg();
		const b = await pg();
		try
		{
			await a.query('BEGIN');
			const ra = await exportTable('', a);		/* holds the lock until commit */
			assert.equal(exported(ra), 50);
			const notices = [];
			b.on('notice', (n) => notices.push(n.message));
			const t0 = Date.now();
			const rb = await exportTable('', b);
			assert.ok(Date.now() - t0 < 2000, 'did not wait for the lock');
			assert.equal(rb.length, 0);
			assert.ok(notices.some((m) => /another dlake.export_table .* is running; skipping/.test(m)), notices.join('; '));
			await a.query('COMMIT');
			const [sk] = await sql(`SELECT count(*)::int AS n FROM dlake.export_runs WHERE location = $1 AND status = 'skipped'`, [loc]);
			assert.equal(sk.n, 1);
		}
		finally
		{
			await a.end();
			await b.end();
		}
		const r = await exportTable();
		assert.equal(exported(r), 0);
	});

	test('the lake holds every row exactly once', async () =>
	{
		await insert(25);
		inserted += 25;
		await exportTable();
		const s = await lakeStats();
		const [t] = await sql(`SELECT count(*)::int AS n FROM ${table}`);
		assert.equal(t.n, inserted);
		assert.deepEqual(s, { n: inserted, distinct: inserted, lo: 1, hi: inserted });
		const [cat] = await sql(`SELECT sum(rows)::int AS n FROM dlake.files WHERE location = $1`, [loc]);
		assert.equal(cat.n, inserted);
	});

	test('argument errors', async () =>
	{
		await assert.rejects(sql(`SELECT * FROM dlake.export_table('${table}', '${loc}', mode => 'overwrite', server => '${SERVER}')`),
			/mode "overwrite" is not supported/);
		await sql(`CREATE OR REPLACE VIEW ${table}_v AS SELECT * FROM ${table}`);
		await assert.rejects(sql(`SELECT * FROM dlake.export_table('${table}_v', '${loc}', server => '${SERVER}')`),
			/is not a table/);
		await sql(`DROP VIEW ${table}_v`);
	});

	test('file:// with a watermark column recorded', async () =>
	{
		const dir = path.join(env.DLAKE_FILE_ROOT, uniqueName('inc'));
		const r = await sql(`SELECT * FROM dlake.export_table($1, $2, 'csv', watermark => 'id')`, [table, `file://${dir}`]);
		assert.equal(exported(r), inserted);
		const [st] = await sql(`SELECT watermark_value FROM dlake.export_state WHERE location = $1`, [`file://${dir}`]);
		assert.equal(Number(st.watermark_value), inserted);
		assert.equal(fs.readdirSync(dir).length, 1);
	});
});
