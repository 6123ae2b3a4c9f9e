/*
 * export_partitioned.test.mjs — dlake.export to S3 (through the verifying
 * proxy) and to file://: 365 daily partitions in Parquet, CSV and JSON
 * lines read back by DuckDB with hive_partitioning (same count, sums and
 * per-partition counts as PostgreSQL), the dlake.files catalog, hostile
 * partition values that must round-trip and stay under the location,
 * mode overwrite + manifest + _SUCCESS, zones, and atomicity: a cancelled
 * and a terminated export leave no object behind and a rerun succeeds.
 *
 * DuckDB reads s3rver's own files (<DLAKE_S3_DIR>/<bucket>/<key>._S3rver_object).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';

import {
	env, sql, pg, s3, createLakeServer, createBucket, uniqueName, waitFor, ensureExtension,
} from '../lib/stack.mjs';

const SERVER = 'lake_export';
const bucket = uniqueName('exp');
let duck;

/* 1 M rows for Parquet (about 10 s here), 200 k for the text formats */
const ROWS_PARQUET = 1000000;
const ROWS_TEXT = 200000;

const genQuery = (n) => `SELECT i AS id, ((i % 1000) * 0.5)::numeric(12,2) AS amount, 'r' || (i % 7) AS region,
	(date '2024-01-01' + (i % 365)) AS date FROM generate_series(1, ${n}) i`;

async function duckRows(q)
{
	const r = await duck.runAndReadAll(q);
	return r.getRowObjectsJson();
}

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

const s3dir = (prefix) => path.join(env.DLAKE_S3_DIR, bucket, prefix);

function reader(format, glob)
{
	if (format === 'parquet')
		return `read_parquet('${glob}', hive_partitioning = true)`;
	if (format === 'csv')
		return `read_csv('${glob}', hive_partitioning = true, header = true, auto_detect = true)`;
	return `read_json('${glob}', format = 'newline_delimited', hive_partitioning = true)`;
}

/* compare totals and per-partition counts of PostgreSQL and DuckDB */
async function compareWithDuck(format, glob, n)
{
	const [pgTot] = await sql(`SELECT count(*)::bigint AS n, sum(id)::bigint AS ids, sum(amount)::numeric AS amt
		FROM (${genQuery(n)}) q`);
	const [dTot] = await duckRows(`SELECT count(*) AS n, sum(id) AS ids, sum(amount::DECIMAL(18,2)) AS amt
		FROM ${reader(format, glob)}`);
	assert.equal(Number(dTot.n), Number(pgTot.n), `${format}: count`);
	assert.equal(String(dTot.ids), String(pgTot.ids), `${format}: sum(id)`);
	assert.equal(Number(dTot.amt), Number(pgTot.amt), `${format}: sum(amount)`);

	const pgPart = await sql(`SELECT date::text AS d, count(*)::bigint AS n FROM (${genQuery(n)}) q GROUP BY 1 ORDER BY 1`);
	const dPart = await duckRows(`SELECT CAST(date AS VARCHAR) AS d, count(*) AS n FROM ${reader(format, glob)} GROUP BY 1 ORDER BY 1`);
	assert.equal(dPart.length, 365, `${format}: 365 partitions`);
	assert.deepEqual(dPart.map((r) => [r.d, Number(r.n)]), pgPart.map((r) => [r.d, Number(r.n)]),
		`${format}: per-partition counts`);
	/* the partition column is not inside the files */
	const one = glob.replace(/\*\*\/\*/, 'date=2024-01-01/*');
	const cols = await duckRows(`DESCRIBE SELECT * FROM ${reader(format, one).replace('hive_partitioning = true', 'hive_partitioning = false')}`);
	assert.ok(cols.some((c) => c.column_name === 'id'), `${format}: id inside the files`);
	assert.ok(!cols.some((c) => c.column_name === 'date'), `${format}: no date column inside the files`);
}

before(async () =>
{
	await ensureExtension();
	await createLakeServer(null, SERVER);
	await createBucket(bucket);
	const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
	duck = await inst.connect();
});

after(async () =>
{
	await sql(`DROP SERVER IF EXISTS ${SERVER} CASCADE`);
});

describe('365 daily partitions read back by DuckDB', () =>
{
	for (const format of ['parquet', 'csv', 'jsonl'])
	{
		test(`S3, ${format}`, async () =>
		{
			const n = format === 'parquet' ? ROWS_PARQUET : ROWS_TEXT;
			const prefix = `daily-${format}`;
			const res = await sql(`SELECT * FROM dlake.export($1, $2, $3, ARRAY['date'], server => $4)`,
				[genQuery(n), `s3://${bucket}/${prefix}`, format, SERVER]);
			assert.equal(res.length, 365, 'one file per partition');
			assert.equal(res.reduce((a, r) => a + Number(r.rows), 0), n);
			for (const r of res)
				assert.match(r.path, new RegExp(`^s3://${bucket}/${prefix}/date=2024-\\d\\d-\\d\\d/part-\\d+-\\d+\\.(parquet|csv|jsonl)$`));

			/* the catalog knows every file with its partition and size */
			const [cat] = await sql(`SELECT count(*)::int AS files, sum(rows)::bigint AS rows,
				count(DISTINCT partition->>'date')::int AS parts,
				bool_and(bytes > 0) AS sized FROM dlake.files WHERE location = $1`, [`s3://${bucket}/${prefix}`]);
			assert.deepEqual(cat, { files: 365, rows: n, parts: 365, sized: true });
			if (format === 'parquet')
			{
				const [st] = await sql(`SELECT column_stats FROM dlake.files WHERE location = $1
					AND partition->>'date' = '2024-01-01'`, [`s3://${bucket}/${prefix}`]);
				assert.ok(st.column_stats.id && st.column_stats.id.min !== undefined, 'Parquet min/max in dlake.files');
			}
			const [run] = await sql(`SELECT status, rows, files FROM dlake.export_runs WHERE location = $1`,
				[`s3://${bucket}/${prefix}`]);
			assert.deepEqual(run, { status: 'succeeded', rows: n, files: 365 });

			await compareWithDuck(format, `${s3dir(prefix)}/**/*._S3rver_object`, n);
		});
	}

	test('file://, Parquet', async () =>
	{
		const dir = path.join(env.DLAKE_FILE_ROOT, uniqueName('daily'));
		const res = await sql(`SELECT * FROM dlake.export($1, $2, 'parquet', ARRAY['date'])`,
			[genQuery(ROWS_PARQUET), `file://${dir}`]);
		assert.equal(res.length, 365);
		/* no temp file left anywhere */
		const all = fs.readdirSync(dir, { recursive: true }).filter((f) => !fs.statSync(path.join(dir, f)).isDirectory());
		assert.equal(all.length, 365);
		assert.ok(all.every((f) => /^date=2024-\d\d-\d\d\/part-\d+-\d+\.parquet$/.test(f)), all.find((f) => !f.endsWith('.parquet')));
		await compareWithDuck('parquet', `${dir}/**/*.parquet`, ROWS_PARQUET);
	});
});

describe('hostile partition values', () =>
{
	const values = ['a/b', '..', '.', 'x=y', '%', '%2F', 'héllo wörld ✓', null, 'a:b#c?d*', '../../etc', "q'\"\\", 'tab\there'];
	const q = `SELECT i, v FROM unnest($1::text[]) WITH ORDINALITY AS t(v, i)`;

	for (const where of ['s3', 'file'])
	{
		test(`round trip and containment on ${where}`, async () =>
		{
			const name = uniqueName('hostile');
			const loc = where === 's3' ? `s3://${bucket}/${name}` : `file://${path.join(env.DLAKE_FILE_ROOT, name)}`;
			const lit = `ARRAY[${values.map((v) => (v === null ? 'NULL' : `'${v.replace(/'/g, "''")}'`)).join(',')}]::text[]`;
			const res = await sql(`SELECT * FROM dlake.export($1, $2, 'csv', ARRAY['v'], server => $3)`,
				[q.replace('$1::text[]', lit), loc, SERVER]);
			assert.equal(res.length, values.length);
			for (const r of res)
			{
				assert.ok(r.path.startsWith(`${loc}/v=`), r.path);
				const rest = r.path.slice(loc.length + 1);
				assert.equal(rest.split('/').length, 2, `one folder level: ${rest}`);
				assert.ok(!rest.split('/').some((s) => s === '..' || s === '.'), rest);
			}
			/* every object is under the location */
			let glob;
			if (where === 's3')
			{
				const all = await listKeys('');
				const mine = all.filter((k) => !k.startsWith('daily-') && !k.startsWith('hostile-') && !k.startsWith('ow-') && !k.startsWith('cancel-') && !k.startsWith('zones/'));
				assert.deepEqual(mine, [], 'no object outside the prefixes of this suite');
				assert.equal((await listKeys(`${name}/`)).length, values.length);
				glob = `${s3dir(name)}/**/*._S3rver_object`;
			}
			else
			{
				const dir = path.join(env.DLAKE_FILE_ROOT, name);
				assert.equal(fs.readdirSync(dir).length, values.length);
				glob = `${dir}/**/*.csv`;
			}
			/* DuckDB decodes the folders back to the original values */
			const rows = await duckRows(`SELECT i, v FROM read_csv('${glob}', hive_partitioning = true,
				hive_types = {'v': VARCHAR}) ORDER BY i`);
			assert.deepEqual(rows.map((r) => r.v), values);
			/* and so does the catalog */
			const cat = await sql(`SELECT partition->>'v' AS v FROM dlake.files WHERE location = $1
				ORDER BY path`, [loc]);
			assert.deepEqual(cat.map((r) => r.v).sort(), [...values].sort());
		});
	}

	test('dlake._hive_escape / _hive_unescape', async () =>
	{
		const rows = await sql(`SELECT v, dlake._hive_escape(v) AS e, dlake._hive_unescape(dlake._hive_escape(v)) AS back
			FROM unnest($1::text[]) v`, [values]);
		for (const r of rows)
		{
			assert.ok(!r.e.includes('/') && r.e !== '..' && r.e !== '.', r.e);
			assert.equal(r.back, r.v);
		}
	});
});

describe('overwrite, manifest, zones, file splitting', () =>
{
	test('mode overwrite replaces only the written partitions, after the new files exist', async () =>
	{
		const loc = `s3://${bucket}/ow-${uniqueName('t')}`;
		const q1 = `SELECT i, d FROM generate_series(1, 300) i, LATERAL (SELECT date '2024-01-01' + (i % 3) AS d) x`;
		await sql(`SELECT * FROM dlake.export($1, $2, 'jsonl', ARRAY['d'], server => $3)`, [q1, loc, SERVER]);
		/* rewrite only day 2024-01-02 */
		const q2 = `SELECT i, date '2024-01-02' AS d FROM generate_series(1000, 1009) i`;
		const res = await sql(`SELECT * FROM dlake.export($1, $2, 'jsonl', ARRAY['d'], mode => 'overwrite',
			manifest => true, options => '{"success_marker": true}', server => $3)`, [q2, loc, SERVER]);
		assert.equal(res.length, 1);
		const key = loc.slice(`s3://${bucket}/`.length);
		const keys = await listKeys(`${key}/`);
		const byPart = (p) => keys.filter((k) => k.includes(`/d=${p}/`)).length;
		assert.equal(byPart('2024-01-01'), 1);
		assert.equal(byPart('2024-01-02'), 1);
		assert.equal(byPart('2024-01-03'), 1);
		assert.ok(keys.some((k) => k.endsWith('/_SUCCESS')));
		const manifestKey = keys.find((k) => /\/_manifest-\d+\.json$/.test(k));
		assert.ok(manifestKey, 'manifest written');
		const m = JSON.parse(fs.readFileSync(`${s3dir(manifestKey)}._S3rver_object`, 'utf8'));
		assert.equal(m.rows, 10);
		assert.equal(m.entries.length, 1);
		assert.equal(m.entries[0].meta.record_count, 10);
		const [cat] = await sql(`SELECT count(*)::int AS n, sum(rows)::int AS rows FROM dlake.files WHERE location = $1`, [loc]);
		assert.deepEqual(cat, { n: 3, rows: 210 }, 'catalog forgot the replaced file');
		const d = await duckRows(`SELECT count(*) AS n FROM read_json('${s3dir(key)}/d=*/*._S3rver_object', format = 'newline_delimited')`);
		assert.equal(Number(d[0].n), 210);
	});

	test('zones and relative paths; max_file_size splits files', async () =>
	{
		const zroot = path.join(env.DLAKE_FILE_ROOT, uniqueName('zone'));
		await sql(`SELECT dlake.create_zone('exp_cleansed', $1)`, [`file://${zroot}`]);
		await sql(`SELECT dlake.create_zone('exp_s3', $1, $2)`, [`s3://${bucket}/zones`, SERVER]);
		const res = await sql(`SELECT * FROM dlake.export($1, 'sales/v1', 'csv', max_file_size => 20000, zone => 'exp_cleansed')`,
			[`SELECT i, md5(i::text) AS h FROM generate_series(1, 5000) i`]);
		assert.ok(res.length > 5, `split into ${res.length} files`);
		assert.ok(res.every((r) => r.path.startsWith(`file://${zroot}/sales/v1/part-`)));
		assert.ok(res.every((r) => Number(r.bytes) < 20000 + 200), 'files near the limit');
		assert.equal(res.reduce((a, r) => a + Number(r.rows), 0), 5000);
		const s = await sql(`SELECT * FROM dlake.export('SELECT 1 AS x', 'one', 'jsonl', zone => 'exp_s3')`);
		assert.ok(s[0].path.startsWith(`s3://${bucket}/zones/one/part-`));
		await assert.rejects(sql(`SELECT * FROM dlake.export('SELECT 1 AS x', '../up', 'csv', zone => 'exp_cleansed')`),
			/invalid relative path/);
		await assert.rejects(sql(`SELECT * FROM dlake.export('SELECT 1 AS x', 'x', 'csv', zone => 'no_such_zone')`),
			/zone "no_such_zone" does not exist/);
	});

	test('unsorted rows with more partitions than max_open_files still give one file per partition', async () =>
	{
		const dir = path.join(env.DLAKE_FILE_ROOT, uniqueName('lru'));
		const res = await sql(`SELECT * FROM dlake.export($1, $2, 'csv', ARRAY['k'], max_open_files => 4)`,
			[`SELECT i, i % 50 AS k FROM generate_series(1, 5000) i`, `file://${dir}`]);
		assert.equal(res.length, 50);
		/* with the sort fallback off, the LRU of 4 files serves 5 partitions;
		 * the row pool hands each partition's rows over in one run, so the
		 * round-robin input still gives one file per partition here (not a
		 * file per row, as a row-at-a-time LRU would) */
		const res2 = await sql(`SELECT * FROM dlake.export($1, $2, 'csv', ARRAY['k'], max_open_files => 4,
			options => '{"sort": false}')`, [`SELECT i, i % 5 AS k FROM generate_series(1, 50) i`, `file://${dir}-nosort`]);
		assert.equal(res2.length, 5, 'one file per partition despite LRU of 4 over 5 round-robin partitions');
		assert.equal(new Set(res2.map((r) => r.partition)).size, 5);
		assert.ok(res2.every((r) => Number(r.rows) === 10));
	});
});

describe('atomic for readers', () =>
{
	/* sorted input and one open file: partitions complete one by one,
	 * at least 50 ms apart (pg_sleep once per partition) */
	const slowQuery = `SELECT i AS id, (date '2024-01-01' + (i / 2740)) AS date,
		CASE WHEN i % 2740 = 0 THEN length(pg_sleep(0.05)::text) END AS pause
		FROM generate_series(0, 999999) i`;

	for (const how of ['cancel', 'terminate'])
	{
		test(`${how} mid-export leaves no object; rerun succeeds`, async () =>
		{
			const prefix = `cancel-${how}-${uniqueName('x')}`;
			const loc = `s3://${bucket}/${prefix}`;
			const c = await pg();
			const [{ pid }] = (await c.query('SELECT pg_backend_pid() AS pid')).rows;
			const running = c.query(`SELECT * FROM dlake.export($1, $2, 'csv', ARRAY['date'], max_open_files => 1,
				server => $3)`, [slowQuery, loc, SERVER]).then(() => 'finished', (e) => e);
			/* wait until some complete files are visible */
			await waitFor(async () => (await listKeys(`${prefix}/`)).length >= 5, 60000, 50, 'first files');
			await sql(`SELECT ${how === 'cancel' ? 'pg_cancel_backend' : 'pg_terminate_backend'}($1)`, [pid]);
			const outcome = await running;
			assert.ok(outcome instanceof Error, `export ${how}ed (got ${outcome})`);
			await c.end().catch(() => {});
			/* the files of the run are deleted by the abort callback */
			await waitFor(async () => (await listKeys(`${prefix}/`)).length === 0, 10000, 100, 'no objects');
			const leftovers = fs.existsSync(s3dir(prefix))
				? fs.readdirSync(s3dir(prefix), { recursive: true }).filter((f) => f.endsWith('._S3rver_object'))
				: [];
			assert.deepEqual(leftovers, []);
			const runs = await sql(`SELECT count(*)::int AS n FROM dlake.export_runs WHERE location = $1`, [loc]);
			assert.equal(runs[0].n, 0, 'the aborted run left no catalog row');

			const res = await sql(`SELECT * FROM dlake.export($1, $2, 'csv', ARRAY['date'], server => $3)`,
				[`SELECT i AS id, (date '2024-01-01' + (i % 10)) AS date FROM generate_series(1, 1000) i`, loc, SERVER]);
			assert.equal(res.length, 10);
			assert.equal((await listKeys(`${prefix}/`)).length, 10);
		});
	}

	test('an export inside a rolled-back transaction or subtransaction leaves nothing', async () =>
	{
		const dir = path.join(env.DLAKE_FILE_ROOT, uniqueName('rb'));
		const c = await pg();
		try
		{
			await c.query('BEGIN');
			await c.query(`SELECT * FROM dlake.export('SELECT 1 AS x', $1, 'csv')`, [`file://${dir}/a`]);
			assert.equal(fs.readdirSync(path.join(dir, 'a')).length, 1);
			await c.query('ROLLBACK');
			assert.equal(fs.readdirSync(path.join(dir, 'a')).length, 0);

			await c.query('BEGIN');
			await c.query('SAVEPOINT s');
			await c.query(`SELECT * FROM dlake.export('SELECT 1 AS x', $1, 'csv')`, [`file://${dir}/b`]);
			await c.query('ROLLBACK TO SAVEPOINT s');
			await c.query(`SELECT * FROM dlake.export('SELECT 2 AS x', $1, 'csv')`, [`file://${dir}/c`]);
			await c.query('COMMIT');
			assert.equal(fs.readdirSync(path.join(dir, 'b')).length, 0);
			assert.equal(fs.readdirSync(path.join(dir, 'c')).length, 1);
		}
		finally
		{
			await c.end();
		}
	});
});
