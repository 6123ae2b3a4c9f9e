/*
 * fdw_scan.test.mjs — dlake_fdw scans over S3 (through the verifying proxy):
 *
 *  - a 365-day Hive-partitioned Parquet dataset written by dlake.export and
 *    the same rows written by DuckDB (COPY ... PARTITION_BY): WHERE date = x
 *    opens exactly one partition's object (EXPLAIN ANALYZE counters and the
 *    proxy's request log), a 7-day range opens 7, a stable expression
 *    (current_date - 7) prunes at execution, and a set of queries (filters,
 *    group by, join with a local table, order by/limit) equals a heap table;
 *  - row-group skipping: 20 row groups sorted by id, WHERE id = x reads 1;
 *  - CSV (gzip) and JSON-lines tables give the Parquet table's results;
 *  - markers (_SUCCESS, .crc) are skipped, a truncated Parquet file and a
 *    CSV with a wrong column count raise an error naming the object, the
 *    backend survives; dlake.max_bytes_scanned stops a scan;
 *  - cancel during a slow scan stops within 2 s.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';

import {
	pg, s3, createBucket, createLakeServer, ensureExtension, uniqueName,
	proxyLog, resetProxy, faults,
} from '../lib/stack.mjs';

let client;
let bucket;
let tmp;
let duck;

const DAYS = 365;
const PER_DAY = 8;

/* the Foreign Scan node of an EXPLAIN (ANALYZE, FORMAT JSON) */
async function scanNode(q, params = [])
{
	const r = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${q}`, params);
	const find = (n) => {
		if (n['Node Type'] === 'Foreign Scan')
			return n;
		for (const c of n.Plans || [])
		{
			const f = find(c);
			if (f)
				return f;
		}
		return null;
	};
	return find(r.rows[0]['QUERY PLAN'][0].Plan);
}

async function rows(q, params = [])
{
	return (await client.query(q, params)).rows;
}

/* object GETs and LISTs the proxy saw under a key prefix since a reset */
async function requestsUnder(prefix)
{
	const log = await proxyLog('s3');
	const mine = log.entries.filter((e) => e.path.startsWith(`/${bucket}`));
	const lists = mine.filter((e) => e.method === 'GET' && /list-type|prefix=/.test(e.query || ''));
	const gets = mine.filter((e) => e.method === 'GET' && !lists.includes(e) &&
		decodeURIComponent(e.path).startsWith(`/${bucket}/${prefix}`));
	return { lists, gets };
}

async function put(key, body)
{
	await s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

before(async () =>
{
	client = await pg();
	await ensureExtension(client);
	await client.query("SET TIME ZONE 'UTC'");
	assert.ok(await createLakeServer(client, 'fdw_lake'));
	bucket = await createBucket(uniqueName('fdw'));
	tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dlake-fdw-'));

	await client.query('DROP TABLE IF EXISTS fdw_sales, fdw_regions');
	await client.query(`CREATE TABLE fdw_sales AS
		SELECT i AS order_id,
		       ((i * 37) % 10000 / 100.0)::numeric(12,2) AS amount,
		       (current_date - (i % ${DAYS}))::timestamp AT TIME ZONE 'UTC' + make_interval(secs => i) AS ts,
		       (ARRAY['eu','us','ap'])[i % 3 + 1] AS region,
		       current_date - (i % ${DAYS}) AS date
		FROM generate_series(1, ${DAYS * PER_DAY}) i`);
	await client.query(`CREATE TABLE fdw_regions (code text PRIMARY KEY, name text)`);
	await client.query(`INSERT INTO fdw_regions VALUES ('eu','Europe'),('us','Americas')`);

	/* dlake's own writer: one Parquet file per day */
	await client.query(`SELECT count(*) FROM dlake.export('SELECT * FROM fdw_sales',
		's3://${bucket}/dl/sales/', 'parquet', ARRAY['date'], server => 'fdw_lake')`);

	/* DuckDB's hive partitioning of the same rows */
	const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
	duck = await inst.connect();
	await duck.run("SET TimeZone = 'UTC'");
	const csv = path.join(tmp, 'sales.csv');
	const all = await rows("SELECT order_id, amount::text, to_char(ts, 'YYYY-MM-DD HH24:MI:SS') || '+00' AS ts, region, date::text FROM fdw_sales ORDER BY order_id");
	fs.writeFileSync(csv, 'order_id,amount,ts,region,date\n' +
		all.map((r) => `${r.order_id},${r.amount},${r.ts},${r.region},${r.date}`).join('\n') + '\n');
	await duck.run(`CREATE TABLE s AS SELECT * FROM read_csv('${csv}', header = true,
		columns = {'order_id': 'BIGINT', 'amount': 'DECIMAL(12,2)', 'ts': 'TIMESTAMPTZ', 'region': 'VARCHAR', 'date': 'DATE'})`);
	const out = path.join(tmp, 'duck');
	await duck.run(`COPY s TO '${out}' (FORMAT parquet, PARTITION_BY (date))`);
	const files = [];
	const walk = (d) => {
		for (const e of fs.readdirSync(d, { withFileTypes: true }))
			e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name));
	};
	walk(out);
	assert.equal(files.length, DAYS);
	for (let i = 0; i < files.length; i += 16)
		await Promise.all(files.slice(i, i + 16).map((f) =>
			put(`duck/sales/${path.relative(out, f)}`, fs.readFileSync(f))));
	await put('duck/sales/_SUCCESS', '');

	const cols = 'order_id bigint, amount numeric(12,2), ts timestamptz, region text, date date';
	await client.query(`DROP FOREIGN TABLE IF EXISTS fdw_dl, fdw_duck`);
	await client.query(`CREATE FOREIGN TABLE fdw_dl (${cols}, _path text, _size bigint) SERVER fdw_lake
		OPTIONS (location 's3://${bucket}/dl/sales/', format 'parquet', partition_by 'date')`);
	await client.query(`CREATE FOREIGN TABLE fdw_duck (${cols}) SERVER fdw_lake
		OPTIONS (location 's3://${bucket}/duck/sales/', partition_by 'date')`);
});

after(async () =>
{
	if (client)
	{
		await faults('s3', null).catch(() => {});
		await client.query('DROP FOREIGN TABLE IF EXISTS fdw_dl, fdw_duck, fdw_rg, fdw_csv, fdw_json, fdw_bad, fdw_badcsv').catch(() => {});
		await client.query('DROP TABLE IF EXISTS fdw_sales, fdw_regions').catch(() => {});
		await client.query('DROP SERVER IF EXISTS fdw_lake CASCADE').catch(() => {});
		await client.end();
	}
	if (tmp)
		fs.rmSync(tmp, { recursive: true, force: true });
});

const QUERIES = [
	'SELECT count(*), sum(amount) FROM $T WHERE date = current_date - 100',
	"SELECT region, count(*), sum(amount), min(ts), max(ts) FROM $T WHERE date BETWEEN current_date - 40 AND current_date - 34 GROUP BY region ORDER BY region",
	'SELECT date, count(*) FROM $T WHERE date >= current_date - 7 GROUP BY date ORDER BY date',
	'SELECT r.name, count(*), sum(t.amount) FROM $T t JOIN fdw_regions r ON r.code = t.region WHERE t.date < current_date - 300 GROUP BY r.name ORDER BY r.name',
	'SELECT order_id, amount, region FROM $T WHERE date > current_date - 60 ORDER BY amount DESC, order_id LIMIT 7',
	'SELECT count(*), sum(amount) FROM $T WHERE date IN (current_date - 1, current_date - 200) AND amount > 50',
	"SELECT count(*) FROM $T WHERE region = 'ap' AND order_id BETWEEN 100 AND 900 AND date > current_date - 30",
	'SELECT count(*), count(DISTINCT date), sum(amount) FROM $T',
];

describe('partitioned Parquet over S3', () =>
{
	for (const t of ['fdw_dl', 'fdw_duck'])
	{
		test(`${t}: queries equal the heap table`, async () =>
		{
			for (const q of QUERIES)
			{
				const exp = await rows(q.replaceAll('$T', 'fdw_sales'));
				const got = await rows(q.replaceAll('$T', t));
				assert.deepEqual(got, exp, q);
			}
		});

		test(`${t}: one day opens one partition's objects, listed once`, async () =>
		{
			const day = (await rows("SELECT (current_date - 123)::text AS d"))[0].d;
			const prefix = t === 'fdw_dl' ? 'dl/sales/' : 'duck/sales/';
			await resetProxy('s3');
			const n = await scanNode(`SELECT sum(amount) FROM ${t} WHERE date = '${day}'`);
			assert.equal(n['Files Matched'], 1);
			assert.equal(n['Files Pruned'], DAYS - 1);
			assert.equal(n['Files Read'], 1);
			assert.equal(n['Actual Rows'], PER_DAY);
			const { lists, gets } = await requestsUnder(prefix);
			assert.ok(gets.length >= 1, 'some GET');
			for (const g of gets)
				assert.ok(decodeURIComponent(g.path).includes(`date=${day}/`), `GET outside the partition: ${g.path}`);
			/* dlake's export is in the dlake.files catalog: no LIST at all */
			assert.equal(n['Files From'], t === 'fdw_dl' ? 'dlake.files' : 'listing');
			assert.equal(lists.length, t === 'fdw_dl' ? 0 : 1, 'one LIST per statement, none with the catalog');
			/* bytes scanned is a small share of the dataset */
			const plain = await client.query(`EXPLAIN (FORMAT JSON) SELECT * FROM ${t}`);
			const total = plain.rows[0]['QUERY PLAN'][0].Plan['Bytes Matched'];
			assert.equal(plain.rows[0]['QUERY PLAN'][0].Plan['Files Matched'], DAYS);
			assert.ok(n['Bytes Scanned'] < total / 100, `${n['Bytes Scanned']} of ${total}`);
		});

		test(`${t}: a 7-day range opens 7 partitions; stable expressions prune at run time`, async () =>
		{
			let n = await scanNode(`SELECT count(*) FROM ${t} WHERE date BETWEEN current_date - 20 AND current_date - 14`);
			assert.equal(n['Files Read'], 7);
			assert.equal(n['Actual Rows'], 7 * PER_DAY);
			n = await scanNode(`SELECT count(*) FROM ${t} WHERE date > current_date - 7`);
			assert.equal(n['Files Read'], 7);
			n = await scanNode(`SELECT count(*) FROM ${t} WHERE date IS NULL`);
			assert.equal(n['Files Read'], 0);
			/* a generic plan: the parameter is known only at execution */
			await client.query('SET plan_cache_mode = force_generic_plan');
			try
			{
				await client.query(`PREPARE fdw_p_${t}(date) AS SELECT count(*) FROM ${t} WHERE date = $1`);
				const r = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE fdw_p_${t}(current_date - 3)`);
				const scan = r.rows[0]['QUERY PLAN'][0].Plan.Plans[0];
				assert.equal(scan['Files Read'], 1);
				await client.query(`DEALLOCATE fdw_p_${t}`);
			}
			finally
			{
				await client.query('RESET plan_cache_mode');
			}
		});
	}

	test('parallel scan hands files to workers; results equal the heap table', async () =>
	{
		await client.query('SET parallel_setup_cost = 0');
		await client.query('SET parallel_tuple_cost = 0');
		await client.query('SET min_parallel_table_scan_size = 0');
		await client.query('SET max_parallel_workers_per_gather = 2');
		try
		{
			for (const t of ['fdw_dl', 'fdw_duck'])
			{
				const r = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*), sum(amount) FROM ${t} WHERE date > current_date - 40`);
				const text = JSON.stringify(r.rows[0]['QUERY PLAN']);
				assert.match(text, /"Parallel Aware":true/);
				const find = (n) => (n['Node Type'] === 'Foreign Scan' ? n : (n.Plans || []).map(find).find(Boolean));
				const scan = find(r.rows[0]['QUERY PLAN'][0].Plan);
				assert.equal(scan['Files Read'], 40, 'every file read once over all processes');
				const q = 'SELECT count(*), sum(amount), count(DISTINCT date) FROM $T WHERE date > current_date - 40';
				assert.deepEqual(await rows(q.replace('$T', t)), await rows(q.replace('$T', 'fdw_sales')));
			}
		}
		finally
		{
			for (const g of ['parallel_setup_cost', 'parallel_tuple_cost', 'min_parallel_table_scan_size', 'max_parallel_workers_per_gather'])
				await client.query(`RESET ${g}`);
		}
	});

	test('ANALYZE samples rows; estimates follow', async () =>
	{
		await client.query('ANALYZE fdw_duck');
		const st = await rows("SELECT attname, n_distinct FROM pg_stats WHERE tablename = 'fdw_duck' AND attname IN ('region', 'date') ORDER BY 1");
		assert.equal(st.length, 2);
		assert.equal(st[1].n_distinct, 3, 'three regions');
		const rt = (await rows("SELECT reltuples FROM pg_class WHERE relname = 'fdw_duck'"))[0].reltuples;
		assert.ok(Math.abs(rt - DAYS * PER_DAY) < DAYS * PER_DAY * 0.2, `reltuples ${rt}`);
		const r = await client.query("EXPLAIN (FORMAT JSON) SELECT * FROM fdw_dl WHERE date = current_date - 1");
		const est = r.rows[0]['QUERY PLAN'][0].Plan['Plan Rows'];
		assert.equal(est, PER_DAY, 'catalog row counts of the one matched file');
	});

	test('dlake.fdw_listing_ttl reuses a listing across statements until invalidated', async () =>
	{
		const lists = async () => (await requestsUnder('duck/sales/')).lists.length;
		const q = 'SELECT count(*)::int AS n FROM fdw_duck WHERE date = current_date - 2';
		await client.query('SET dlake.fdw_listing_ttl = 60');
		try
		{
			await resetProxy('s3');
			for (let i = 0; i < 3; i++)
				assert.equal((await rows(q))[0].n, PER_DAY);
			assert.equal(await lists(), 1, 'one LIST for three statements');
			await client.query('SELECT dlake.fdw_invalidate($1)', ['fdw_duck']);
			assert.equal((await rows(q))[0].n, PER_DAY);
			assert.equal(await lists(), 2, 'listed again after dlake.fdw_invalidate');
			await client.query('SELECT dlake.fdw_invalidate()');
			assert.equal((await rows(q))[0].n, PER_DAY);
			assert.equal(await lists(), 3, 'listed again after dlake.fdw_invalidate()');
		}
		finally
		{
			await client.query('RESET dlake.fdw_listing_ttl');
		}
		await resetProxy('s3');
		await rows(q);
		await rows(q);
		assert.equal(await lists(), 2, 'without a TTL every statement lists');
	});

	test('pseudo-columns _path and _size', async () =>
	{
		const r = await rows(`SELECT _path, _size, count(*) AS n FROM fdw_dl WHERE date = current_date - 5 GROUP BY 1, 2`);
		assert.equal(r.length, 1);
		assert.match(r[0]._path, new RegExp(`^s3://${bucket}/dl/sales/date=\\d{4}-\\d\\d-\\d\\d/.+\\.parquet$`));
		assert.ok(r[0]._size > 100);
		assert.equal(r[0].n, PER_DAY);
	});
});

describe('row groups', () =>
{
	test('20 row groups sorted by id: WHERE id = x reads one', async () =>
	{
		await client.query(`SELECT dlake.write_file('SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 4000) g ORDER BY g',
			's3://${bucket}/rg/data.parquet', 'parquet', '{"row_group_rows": 200}', 'fdw_lake')`);
		await client.query(`DROP FOREIGN TABLE IF EXISTS fdw_rg`);
		await client.query(`CREATE FOREIGN TABLE fdw_rg (id int, h text) SERVER fdw_lake
			OPTIONS (location 's3://${bucket}/rg/data.parquet')`);
		let n = await scanNode('SELECT * FROM fdw_rg WHERE id = 2345');
		assert.equal(n['Row Groups Read'], 1);
		assert.equal(n['Row Groups Skipped'], 19);
		assert.equal(n['Actual Rows'], 1);
		n = await scanNode('SELECT * FROM fdw_rg WHERE id > 3800 OR id < 10');
		assert.equal(n['Row Groups Read'], 2);
		n = await scanNode('SELECT * FROM fdw_rg WHERE id IS NULL');
		assert.equal(n['Row Groups Read'], 0);
		n = await scanNode('SELECT id FROM fdw_rg');
		const all = await scanNode('SELECT id, h FROM fdw_rg');
		assert.ok(n['Bytes Scanned'] < all['Bytes Scanned'] / 2, 'projection reads fewer bytes');
		assert.deepEqual(await rows('SELECT h FROM fdw_rg WHERE id = 2345'), await rows("SELECT md5('2345') AS h"));
	});

	test('dlake.max_bytes_scanned cancels a scan reading more, with the numbers', async () =>
	{
		await client.query(`SELECT dlake.write_file('SELECT g AS id, md5(g::text) || md5((g+1)::text) AS h FROM generate_series(1, 40000) g',
			's3://${bucket}/big/data.csv', 'csv', '{}', 'fdw_lake')`);
		await client.query(`CREATE FOREIGN TABLE fdw_big (id int, h text) SERVER fdw_lake
			OPTIONS (location 's3://${bucket}/big/', format 'csv')`);
		await client.query('SET dlake.max_bytes_scanned = 1');
		try
		{
			await assert.rejects(client.query('SELECT count(*) FROM fdw_big'), (e) => {
				assert.equal(e.code, '54000');
				assert.match(e.message, /exceeded dlake.max_bytes_scanned/);
				assert.match(e.detail, /limit is 1048576 bytes/);
				assert.match(e.hint, /dlake.max_bytes_scanned/);
				return true;
			});
			/* a small partition still fits */
			assert.equal((await rows('SELECT count(*)::int AS n FROM fdw_dl WHERE date = current_date - 9'))[0].n, PER_DAY);
		}
		finally
		{
			await client.query('RESET dlake.max_bytes_scanned');
			await client.query('DROP FOREIGN TABLE fdw_big');
		}
	});
});

describe('CSV and JSON lines', () =>
{
	test('CSV (gzip) and JSONL (zstd) tables equal the Parquet table', async () =>
	{
		const src = 'SELECT * FROM fdw_sales WHERE date >= current_date - 29';
		await client.query(`SELECT count(*) FROM dlake.export($1, 's3://${bucket}/csv/sales/', 'csv', ARRAY['date'],
			compression => 'gzip', server => 'fdw_lake')`, [src]);
		await client.query(`SELECT count(*) FROM dlake.export($1, 's3://${bucket}/json/sales/', 'jsonl', ARRAY['date'],
			compression => 'zstd', server => 'fdw_lake')`, [src]);
		const names = await rows(`SELECT DISTINCT regexp_replace(path, '.*\\.', '') AS ext FROM dlake.files
			WHERE path LIKE 's3://${bucket}/csv/%' OR path LIKE 's3://${bucket}/json/%' ORDER BY 1`);
		assert.deepEqual(names.map((r) => r.ext), ['gz', 'zst']);
		const cols = 'order_id bigint, amount numeric(12,2), ts timestamptz, region text, date date';
		await client.query(`CREATE FOREIGN TABLE fdw_csv (${cols}) SERVER fdw_lake
			OPTIONS (location 's3://${bucket}/csv/sales/', format 'csv', header 'true', partition_by 'date')`);
		await client.query(`CREATE FOREIGN TABLE fdw_json (${cols}) SERVER fdw_lake
			OPTIONS (location 's3://${bucket}/json/sales/', format 'jsonl', partition_by 'date')`);
		for (const q of [
			'SELECT count(*), sum(amount) FROM $T WHERE date = current_date - 10',
			'SELECT region, count(*), sum(amount), min(ts), max(ts) FROM $T WHERE date BETWEEN current_date - 20 AND current_date - 14 GROUP BY region ORDER BY region',
			'SELECT date, count(*) FROM $T WHERE date >= current_date - 7 GROUP BY date ORDER BY date',
			'SELECT order_id, amount, ts, region, date FROM $T WHERE date >= current_date - 29 ORDER BY order_id',
		])
		{
			const exp = await rows(q.replaceAll('$T', 'fdw_dl'));
			assert.deepEqual(await rows(q.replaceAll('$T', 'fdw_csv')), exp, `csv: ${q}`);
			assert.deepEqual(await rows(q.replaceAll('$T', 'fdw_json')), exp, `jsonl: ${q}`);
		}
		const n = await scanNode("SELECT count(*) FROM fdw_csv WHERE date = current_date - 3");
		assert.equal(n['Files Read'], 1);
	});
});

describe('bad files', () =>
{
	test('markers are skipped; a truncated Parquet file is an error naming it', async () =>
	{
		await client.query(`SELECT dlake.write_file('SELECT g AS id FROM generate_series(1, 10) g',
			's3://${bucket}/bad/part-0.parquet', 'parquet', '{}', 'fdw_lake')`);
		await put('bad/_SUCCESS', '');
		await put('bad/.part-0.parquet.crc', 'crc');
		await put('bad/part-0.parquet.crc', 'crc');
		await client.query(`CREATE FOREIGN TABLE fdw_bad (id int) SERVER fdw_lake
			OPTIONS (location 's3://${bucket}/bad/', format 'parquet')`);
		assert.equal((await rows('SELECT sum(id)::int AS s FROM fdw_bad'))[0].s, 55);

		await put('bad/part-1.parquet', Buffer.from('PAR1\x00\x01\x02truncated'));
		await assert.rejects(client.query('SELECT sum(id) FROM fdw_bad'), (e) => {
			assert.match(`${e.message} ${e.where}`, /part-1\.parquet/);
			return true;
		});
		/* the backend survives */
		assert.equal((await rows('SELECT 1 AS one'))[0].one, 1);
	});

	test('a CSV file with a wrong column count is an error naming it', async () =>
	{
		await put('badcsv/a.csv', 'id,name\n1,x\n2,y\n');
		await put('badcsv/b.csv', 'id,name\n3,z\n4,w,extra\n');
		await client.query(`CREATE FOREIGN TABLE fdw_badcsv (id int, name text) SERVER fdw_lake
			OPTIONS (location 's3://${bucket}/badcsv/', format 'csv')`);
		await assert.rejects(client.query('SELECT * FROM fdw_badcsv'), (e) => {
			assert.match(`${e.message} ${e.where}`, /b\.csv/);
			return true;
		});
		assert.equal((await rows('SELECT 1 AS one'))[0].one, 1);
	});
});

describe('INSERT', () =>
{
	test('INSERT appends partitioned files to S3; rollback deletes them', async () =>
	{
		await client.query(`CREATE FOREIGN TABLE fdw_ins (id int, amount numeric(10,2), day date) SERVER fdw_lake
			OPTIONS (location 's3://${bucket}/ins/', format 'parquet', partition_by 'day')`);
		try
		{
			await client.query("INSERT INTO fdw_ins SELECT g, g * 1.5, date '2024-05-01' + g % 4 FROM generate_series(1, 200) g");
			const keys = async () => (await rows(`SELECT path FROM dlake.list('s3://${bucket}/ins/', 'fdw_lake') ORDER BY 1`)).map((r) => r.path);
			const before = await keys();
			assert.equal(before.length, 4);
			assert.ok(before.every((k) => /ins\/day=2024-05-0[1-4]\/part-.*\.parquet$/.test(k)), before.join(' '));
			assert.deepEqual(await rows('SELECT count(*)::int AS n, sum(amount)::text AS s FROM fdw_ins'),
				[{ n: 200, s: '30150.00' }]);
			await client.query('BEGIN');
			await client.query("INSERT INTO fdw_ins VALUES (999, 1, '2024-05-09')");
			assert.equal((await keys()).length, 5);
			await client.query('ROLLBACK');
			assert.deepEqual(await keys(), before);
			const n = await scanNode("SELECT * FROM fdw_ins WHERE day = '2024-05-02'");
			assert.equal(n['Files Read'], 1);
			assert.equal(n['Actual Rows'], 50);
		}
		finally
		{
			await client.query('DROP FOREIGN TABLE fdw_ins');
		}
	});
});

describe('cancel', () =>
{
	test('cancel during a slow scan stops within 2 s', async () =>
	{
		const other = await pg();
		try
		{
			const pid = (await other.query('SELECT pg_backend_pid() AS p')).rows[0].p;
			await faults('s3', { delayMs: 300, match: `GET /${bucket}/duck/` });
			const started = Date.now();
			const p = other.query('SELECT count(*) FROM fdw_duck').then(() => null, (e) => e);
			await new Promise((r) => setTimeout(r, 1500));
			const cancelAt = Date.now();
			await client.query('SELECT pg_cancel_backend($1)', [pid]);
			const err = await p;
			const stopped = Date.now();
			assert.ok(err, `the scan finished in ${stopped - started} ms instead of being cancelled`);
			assert.equal(err.code, '57014');
			assert.ok(stopped - cancelAt < 2000, `stopped ${stopped - cancelAt} ms after cancel`);
		}
		finally
		{
			await faults('s3', null);
			await other.end();
		}
	});
});
