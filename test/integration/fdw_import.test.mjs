/*
 * fdw_import.test.mjs — IMPORT FOREIGN SCHEMA over an S3 tree with three
 * tables (Parquet with two partition keys and a column added later, CSV
 * with a header, gzip JSON lines), markers to ignore, LIMIT TO / EXCEPT,
 * and a type conflict reported with both file names.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { PutObjectCommand } from '@aws-sdk/client-s3';

import {
	pg, s3, createBucket, createLakeServer, ensureExtension, uniqueName,
} from '../lib/stack.mjs';

let client;
let bucket;
let root;

async function rows(q, params = [])
{
	return (await client.query(q, params)).rows;
}

async function write(query, rel, format = null, options = '{}')
{
	await client.query('SELECT dlake.write_file($1, $2, $3, $4::jsonb, $5)',
		[query, `${root}${rel}`, format, options, 'imp_lake']);
}

async function columns(table)
{
	return (await rows(`SELECT attname AS name, format_type(atttypid, atttypmod) AS type
		FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 ORDER BY attnum`, [table]))
		.map((r) => `${r.name} ${r.type}`);
}

before(async () =>
{
	client = await pg();
	await ensureExtension(client);
	await client.query("SET TIME ZONE 'UTC'");
	assert.ok(await createLakeServer(client, 'imp_lake'));
	bucket = await createBucket(uniqueName('fdwimp'));
	root = `s3://${bucket}/curated/`;

	/* Parquet, partitioned by year and region; "note" appears in 2025 */
	await write("SELECT g AS id, (g * 1.25)::numeric(10,2) AS amount FROM generate_series(1, 20) g",
		'orders/year=2024/region=eu/part-0.parquet');
	await write("SELECT g AS id, (g * 1.25)::numeric(10,2) AS amount FROM generate_series(21, 30) g",
		'orders/year=2024/region=us%2Fwest/part-0.parquet');
	await write("SELECT g AS id, (g * 1.25)::numeric(10,2) AS amount, 'n' || g AS note FROM generate_series(31, 40) g",
		'orders/year=2025/region=__HIVE_DEFAULT_PARTITION__/part-0.parquet');
	/* CSV with a header */
	await write("SELECT g AS id, 'name ' || g AS name, date '2024-01-01' + g AS born FROM generate_series(1, 15) g",
		'people/people.csv', 'csv');
	/* gzip JSON lines, one partition key */
	await write("SELECT g AS id, jsonb_build_object('k', g) AS payload FROM generate_series(1, 12) g",
		'events/dt=2024-05-01/e.jsonl.gz', 'jsonl', '{"compression": "gzip"}');
	/* markers */
	await s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'curated/_SUCCESS', Body: '' }));
	await s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'curated/orders/_SUCCESS', Body: '' }));
	await s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'curated/people/.people.csv.crc', Body: 'x' }));
	await client.query('DROP SCHEMA IF EXISTS imp_a CASCADE');
	await client.query('DROP SCHEMA IF EXISTS imp_b CASCADE');
	await client.query('CREATE SCHEMA imp_a');
	await client.query('CREATE SCHEMA imp_b');
});

after(async () =>
{
	if (client)
	{
		await client.query('DROP SCHEMA IF EXISTS imp_a CASCADE').catch(() => {});
		await client.query('DROP SCHEMA IF EXISTS imp_b CASCADE').catch(() => {});
		await client.query('DROP SERVER IF EXISTS imp_lake CASCADE').catch(() => {});
		await client.end();
	}
});

describe('IMPORT FOREIGN SCHEMA', () =>
{
	test('three tables with inferred columns, partitions and options', async () =>
	{
		await client.query(`IMPORT FOREIGN SCHEMA curated FROM SERVER imp_lake INTO imp_a OPTIONS (location '${root}')`);
		const tabs = await rows(`SELECT c.relname, f.ftoptions FROM pg_foreign_table f JOIN pg_class c ON c.oid = f.ftrelid
			WHERE c.relnamespace = 'imp_a'::regnamespace ORDER BY 1`);
		assert.deepEqual(tabs.map((t) => t.relname), ['events', 'orders', 'people']);
		assert.deepEqual(tabs[1].ftoptions, [`location=${root}orders/`, 'format=parquet', 'partition_by=year,region']);
		assert.deepEqual(tabs[2].ftoptions, [`location=${root}people/`, 'format=csv']);
		assert.deepEqual(tabs[0].ftoptions, [`location=${root}events/`, 'format=jsonl', 'partition_by=dt']);

		assert.deepEqual(await columns('imp_a.orders'),
			['id integer', 'amount numeric(10,2)', 'note text', 'year integer', 'region text']);
		assert.deepEqual(await columns('imp_a.people'), ['id integer', 'name text', 'born date']);
		assert.deepEqual(await columns('imp_a.events'), ['id integer', 'payload jsonb', 'dt date']);
	});

	test('the imported tables read their rows; drift reads as NULL', async () =>
	{
		assert.deepEqual(await rows(`SELECT year, region, count(*)::int AS n, count(note)::int AS notes, sum(amount)::text AS s
			FROM imp_a.orders GROUP BY 1, 2 ORDER BY 1, 2`), [
			{ year: 2024, region: 'eu', n: 20, notes: 0, s: '262.50' },
			{ year: 2024, region: 'us/west', n: 10, notes: 0, s: '318.75' },
			{ year: 2025, region: null, n: 10, notes: 10, s: '443.75' },
		]);
		assert.deepEqual(await rows("SELECT count(*)::int AS n, max(born)::text AS b FROM imp_a.people WHERE name LIKE 'name 1%'"),
			[{ n: 7, b: '2024-01-16' }]);
		assert.deepEqual(await rows("SELECT sum((payload->>'k')::int)::int AS s, min(dt)::text AS d FROM imp_a.events"),
			[{ s: 78, d: '2024-05-01' }]);
		/* partition pruning on the imported keys */
		const r = await client.query("EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM imp_a.orders WHERE region = 'us/west'");
		assert.equal(r.rows[0]['QUERY PLAN'][0].Plan['Files Read'], 1);
	});

	test('LIMIT TO and EXCEPT', async () =>
	{
		await client.query(`IMPORT FOREIGN SCHEMA curated LIMIT TO (people) FROM SERVER imp_lake INTO imp_b OPTIONS (location '${root}')`);
		await client.query(`IMPORT FOREIGN SCHEMA curated EXCEPT (people, orders) FROM SERVER imp_lake INTO imp_b OPTIONS (location '${root}')`);
		const tabs = await rows("SELECT relname FROM pg_class WHERE relnamespace = 'imp_b'::regnamespace ORDER BY 1");
		assert.deepEqual(tabs.map((t) => t.relname), ['events', 'people']);
	});

	test('conflicting types name both files; a missing location is refused', async () =>
	{
		await write("SELECT 'abc'::text AS id", 'orders/year=2026/region=eu/part-9.parquet');
		await assert.rejects(
			client.query(`IMPORT FOREIGN SCHEMA curated LIMIT TO (orders) FROM SERVER imp_lake INTO imp_b OPTIONS (location '${root}')`),
			(e) => {
				assert.match(e.message, /column "id" of table "orders" has conflicting types/);
				assert.match(e.detail, /integer in s3:\/\/.*year=2024\/region=eu\/part-0\.parquet but text in s3:\/\/.*year=2026\/region=eu\/part-9\.parquet/);
				return true;
			});
		await assert.rejects(client.query('IMPORT FOREIGN SCHEMA curated FROM SERVER imp_lake INTO imp_b'),
			/needs a location/);
		await assert.rejects(
			client.query(`IMPORT FOREIGN SCHEMA curated FROM SERVER imp_lake INTO imp_b OPTIONS (location '${root}', heade 'true')`),
			/heade/);
	});
});
