/*
 * format_interop.test.mjs — dlake's Parquet, CSV and JSON-lines formats
 * against independent implementations, both ways, on file:// only:
 *
 *  - committed fixtures written by DuckDB (every codec, page v2) and by
 *    arrow-rs through parquet-wasm (every codec, dictionary on/off, tiny
 *    pages and row groups, page v2): dlake.read_file returns exactly what
 *    DuckDB reads from the same bytes, column by column;
 *  - files written by dlake.write_file with edge values of every type in
 *    the mapping: DuckDB, hyparquet and parquet-wasm read exactly them;
 *  - CSV / JSON lines both ways (gzip, zstd);
 *  - corrupt, truncated and hostile Parquet files raise an error naming
 *    the object (SQLSTATE XX001 data_corrupted) and the backend survives.
 *
 * Files go to and come from the server through dlake.write_bytes /
 * dlake.read_bytes, so the test needs no access to the postgres-owned
 * DLAKE_FILE_ROOT itself.  Regenerate fixtures: node fixtures/generate.mjs.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { DuckDBInstance } from '@duckdb/node-api';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { readParquet } from 'parquet-wasm';
import * as arrow from 'apache-arrow';

import { env, pg, ensureExtension, ROOT } from '../lib/stack.mjs';
import {
	DUCK_COLUMNS, PW_COLUMNS, duckRender, pgRender, canon, duckMapToObject,
} from '../fixtures/spec.mjs';

const FIX = path.join(ROOT, 'test', 'fixtures');
let client;
let duck;
let tmp;
let base;

async function upload(name, bytes)
{
	const uri = `${base}/${name}`;
	await client.query('SELECT dlake.write_bytes($1, $2)', [uri, Buffer.from(bytes)]);
	return uri;
}

async function download(uri, localName)
{
	const r = await client.query('SELECT dlake.read_bytes($1) AS b', [uri]);
	const file = path.join(tmp, localName);
	fs.writeFileSync(file, r.rows[0].b);
	return file;
}

async function duckRows(q)
{
	const r = await duck.runAndReadAll(q);
	return { json: r.getRowObjectsJson(), raw: r.getRowObjects() };
}

function sqlQuote(s)
{
	return `'${String(s).replace(/'/g, "''")}'`;
}

/* compare column by column; reports the first differing row of each */
function compareColumns(columns, pgRows, duckRes, what)
{
	assert.equal(pgRows.length, duckRes.json.length, `${what}: row count`);
	const problems = [];
	for (const c of columns)
	{
		for (let r = 0; r < pgRows.length; r++)
		{
			let p = pgRows[r][c.name];
			let d;

			if (c.kind === 'float')
				d = duckRes.raw[r][c.name];
			else if (c.kind === 'map')
				d = duckMapToObject(duckRes.json[r][c.name]);
			else
				d = duckRes.json[r][c.name];
			if (c.kind === 'float' && typeof p === 'string')
				p = Number(p);
			if (canon(p) !== canon(d))
			{
				problems.push(`${c.name} row ${pgRows[r].id}: dlake ${canon(p).slice(0, 120)} vs reference ${canon(d).slice(0, 120)}`);
				break;
			}
		}
	}
	assert.deepEqual(problems, [], `${what}: ${problems.join('; ')}`);
}

async function compareFile(localFile, uri, columns, what)
{
	const coldefs = columns.map((c) => `"${c.name}" ${c.pg}`).join(', ');
	const pgq = `SELECT id, ${columns.map((c) => `${pgRender(c)} AS "${c.name}"`).join(', ')} ` +
		`FROM dlake.read_file($1) AS t(id int, ${coldefs}) ORDER BY id`;
	const pgRows = (await client.query(pgq, [uri])).rows;
	const dq = `SELECT id, ${columns.map((c) => `${duckRender(c)} AS "${c.name}"`).join(', ')} ` +
		`FROM read_parquet(${sqlQuote(localFile)}) ORDER BY id`;
	compareColumns(columns, pgRows, await duckRows(dq), what);
}

before(async () =>
{
	client = await pg();
	await ensureExtension(client);
	await client.query("SET TIME ZONE 'UTC'");
	await client.query("SET DateStyle = 'ISO, YMD'");
	await client.query('SET extra_float_digits = 1');
	base = `file://${env.DLAKE_FILE_ROOT}/format_interop_${process.pid}`;
	tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dlake-fmt-'));
	const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
	duck = await inst.connect();
	await duck.run("SET TimeZone = 'UTC'");
});

after(async () =>
{
	if (client)
	{
		await client.query('SELECT dlake.delete($1)', [`${base}/`]).catch(() => {});
		await client.end();
	}
	if (tmp)
		fs.rmSync(tmp, { recursive: true, force: true });
});

describe('Parquet written by others → dlake', () =>
{
	const duckFiles = fs.readdirSync(path.join(FIX, 'parquet')).filter((f) => f.startsWith('duckdb_'));
	for (const f of duckFiles)
	{
		test(`DuckDB fixture ${f}`, async () =>
		{
			const local = path.join(FIX, 'parquet', f);
			const uri = await upload(f, fs.readFileSync(local));
			await compareFile(local, uri, DUCK_COLUMNS, f);
		});
	}
	const pwFiles = fs.readdirSync(path.join(FIX, 'parquet')).filter((f) => f.startsWith('pwasm_'));
	for (const f of pwFiles)
	{
		test(`arrow-rs (parquet-wasm) fixture ${f}`, async () =>
		{
			const local = path.join(FIX, 'parquet', f);
			const uri = await upload(f, fs.readFileSync(local));
			await compareFile(local, uri, PW_COLUMNS, f);
		});
	}

	test('schema inference from a DuckDB footer', async () =>
	{
		const uri = await upload('schema.parquet', fs.readFileSync(path.join(FIX, 'parquet', 'duckdb_zstd.parquet')));
		const rows = (await client.query('SELECT column_name, data_type FROM dlake.file_schema($1)', [uri])).rows;
		const types = Object.fromEntries(rows.map((r) => [r.column_name, r.data_type]));
		assert.equal(types.i64, 'bigint');
		assert.equal(types.u64, 'numeric(20,0)');
		assert.equal(types.d38, 'numeric(38,10)');
		assert.equal(types.tstz, 'timestamp with time zone');
		assert.equal(types.ts, 'timestamp without time zone');
		assert.equal(types.u, 'uuid');
		assert.equal(types.li, 'integer[]');
		assert.equal(types.st, 'jsonb');
		assert.equal(types.mp, 'jsonb');
		assert.equal(types.en, 'text');
	});

	test('row groups, statistics and projection', async () =>
	{
		const uri = await upload('meta.parquet', fs.readFileSync(path.join(FIX, 'parquet', 'duckdb_snappy.parquet')));
		const meta = (await client.query(
			"SELECT row_group, num_values, null_count, min, max FROM dlake.parquet_metadata($1) WHERE column_name = 'id' ORDER BY 1", [uri])).rows;
		assert.ok(meta.length >= 2, 'several row groups');
		assert.equal(meta[0].min, '1');
		const d = await duckRows(`SELECT row_group_id, stats_min, stats_max FROM parquet_metadata(${sqlQuote(path.join(FIX, 'parquet', 'duckdb_snappy.parquet'))}) WHERE path_in_schema = 'id' ORDER BY 1`);
		assert.deepEqual(meta.map((m) => [m.min, m.max]), d.json.map((m) => [m.stats_min, m.stats_max]));
		/* a projection of two columns reads fewer bytes than all of them */
		const r = (await client.query('SELECT count(*)::int AS n, sum(i64 % 1000)::text AS s FROM dlake.read_file($1) AS t(id int, i64 bigint)', [uri])).rows[0];
		assert.equal(r.n, 3000);
	});
});

/* every type of the mapping with edge values, as dlake writes them */
const EDGE_QUERY = `
SELECT g AS id,
  CASE g % 3 WHEN 0 THEN NULL WHEN 1 THEN true ELSE false END AS b,
  (ARRAY[-32768, 32767, 0, NULL]::int2[])[g % 4 + 1] AS i16,
  (ARRAY[-2147483648, 2147483647, 0, NULL]::int4[])[g % 4 + 1] AS i32,
  (ARRAY[-9223372036854775808, 9223372036854775807, 0, NULL]::int8[])[g % 4 + 1] AS i64,
  (ARRAY['NaN', 'Infinity', '-Infinity', '-0', '3.4028235e38', '1.4e-45', NULL]::float4[])[g % 7 + 1] AS f32,
  (ARRAY['NaN', 'Infinity', '-Infinity', '-0', '1.7976931348623157e308', '5e-324', '0.1', NULL]::float8[])[g % 8 + 1] AS f64,
  (ARRAY[-9999999.99, 9999999.99, 0, 0.01, NULL]::numeric(9,2)[])[g % 5 + 1] AS n9,
  (ARRAY[-999999999999999.999, 999999999999999.999, 0, NULL]::numeric(18,3)[])[g % 4 + 1] AS n18,
  (ARRAY['-99999999999999999999999999999999999999', '99999999999999999999999999999999999999', '0', NULL]::numeric(38,0)[])[g % 4 + 1] AS n38,
  (ARRAY['12345678901234567890123456789.123456789', '-0.000000001', '0', NULL]::numeric[])[g % 4 + 1] AS nn,
  (ARRAY['', 'ünï©ødé ✓ 𝄞 中文', 'a,b"c' || E'\\n' || 'd', NULL]::text[])[g % 4 + 1] AS t,
  CASE WHEN g = 5 THEN repeat('x', 1048576) END AS big,
  (ARRAY['abc', 'x', NULL]::varchar(5)[])[g % 3 + 1] AS vc,
  (ARRAY['\\x', '\\x00ff10', NULL]::bytea[])[g % 3 + 1] AS by,
  (ARRAY['1000-01-01', '1969-12-31', '1970-01-01', '2100-06-15', '9999-12-31', NULL]::date[])[g % 6 + 1] AS d,
  (ARRAY['1000-01-01 00:00:00', '1969-12-31 23:59:59.999999', '2262-04-11 23:47:16.854775', '2024-02-29 12:34:56.789012', NULL]::timestamp[])[g % 5 + 1] AS ts,
  (ARRAY['1900-01-01 00:00:00+00', '1970-01-01 00:00:00.000001+00', '2150-12-31 23:59:59.999999+00', NULL]::timestamptz[])[g % 4 + 1] AS tstz,
  (ARRAY['00:00:00', '23:59:59.999999', '12:34:56.000001', NULL]::time[])[g % 4 + 1] AS tm,
  (ARRAY['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', NULL]::uuid[])[g % 4 + 1] AS u,
  (ARRAY['{"a": [1, 2, {"b": null}]}', '[]', '"s"', NULL]::jsonb[])[g % 4 + 1] AS jb,
  (ARRAY['{"x": 1}', '[1, 2]', NULL]::json[])[g % 3 + 1] AS js,
  CASE g % 4 WHEN 0 THEN NULL WHEN 1 THEN ARRAY[]::int[] WHEN 2 THEN ARRAY[1, NULL, -2147483648] ELSE ARRAY[g] END AS ai,
  CASE g % 3 WHEN 0 THEN NULL WHEN 1 THEN ARRAY['a', NULL, 'ü'] ELSE ARRAY[]::text[] END AS at,
  NULL::int AS nul
FROM generate_series(1, 200) g`;

/* how each edge column is compared: DuckDB expression, PG expression */
const EDGE_COLUMNS = [
	{ name: 'b', pg: 'boolean', kind: 'bool' },
	{ name: 'i16', pg: 'smallint', kind: 'text' },
	{ name: 'i32', pg: 'integer', kind: 'text' },
	{ name: 'i64', pg: 'bigint', kind: 'text' },
	{ name: 'f32', pg: 'real', kind: 'float' },
	{ name: 'f64', pg: 'double precision', kind: 'float' },
	{ name: 'n9', pg: 'numeric(9,2)', kind: 'text' },
	{ name: 'n18', pg: 'numeric(18,3)', kind: 'text' },
	{ name: 'n38', pg: 'numeric(38,0)', kind: 'text' },
	{ name: 'nn', pg: 'numeric(38,9)', kind: 'text' },
	{ name: 't', pg: 'text', kind: 'text' },
	{ name: 'big', pg: 'text', kind: 'text' },
	{ name: 'vc', pg: 'text', kind: 'text' },
	{ name: 'by', pg: 'bytea', kind: 'blob' },
	{ name: 'd', pg: 'date', kind: 'text' },
	{ name: 'ts', pg: 'timestamp', kind: 'epoch' },
	{ name: 'tstz', pg: 'timestamptz', kind: 'epoch' },
	{ name: 'tm', pg: 'time', kind: 'text' },
	{ name: 'u', pg: 'uuid', kind: 'text' },
	{ name: 'jb', pg: 'jsonb', kind: 'jsontext' },
	{ name: 'js', pg: 'jsonb', kind: 'jsontext' },
	{ name: 'ai', pg: 'integer[]', kind: 'json' },
	{ name: 'at', pg: 'text[]', kind: 'json' },
	{ name: 'nul', pg: 'integer', kind: 'text' },
];

function edgeDuckRender(c)
{
	if (c.kind === 'jsontext')
		return `"${c.name}"::VARCHAR`;
	return duckRender(c);
}

describe('Parquet written by dlake → DuckDB, hyparquet, parquet-wasm', () =>
{
	const variants = [
		{ file: 'edge_snappy.parquet', opts: {} },
		{ file: 'edge_zstd_small.parquet', opts: { compression: 'zstd', row_group_rows: 37, page_bytes: 1024 } },
		{ file: 'edge_gzip_nodict.parquet', opts: { compression: 'gzip', dictionary: false } },
		{ file: 'edge_none.parquet', opts: { compression: 'none' } },
	];
	let expected;

	before(async () =>
	{
		/* what PostgreSQL itself says the values are */
		const cols = EDGE_COLUMNS.map((c) => (c.kind === 'jsontext' ? `${c.name}::jsonb::text AS ${c.name}`
			: c.pg.startsWith('numeric') ? `${c.name}::${c.pg}::text AS ${c.name}` : `${pgRender(c)} AS ${c.name}`));
		expected = (await client.query(`SELECT id, ${cols.join(', ')} FROM (${EDGE_QUERY}) s ORDER BY id`)).rows;
	});

	for (const v of variants)
	{
		test(`DuckDB reads ${v.file} exactly`, async () =>
		{
			const uri = `${base}/${v.file}`;
			const n = (await client.query('SELECT dlake.write_file($1, $2, NULL, $3) AS n', [EDGE_QUERY, uri, JSON.stringify(v.opts)])).rows[0].n;
			assert.equal(Number(n), 200);
			const local = await download(uri, v.file);
			const dq = `SELECT id, ${EDGE_COLUMNS.map((c) => `${edgeDuckRender(c)} AS "${c.name}"`).join(', ')} FROM read_parquet(${sqlQuote(local)}) ORDER BY id`;
			const d = await duckRows(dq);
			/* JSON columns: DuckDB returns the JSON text; compare parsed */
			for (const row of d.json)
				for (const c of EDGE_COLUMNS.filter((x) => x.kind === 'jsontext'))
					row[c.name] = row[c.name] === null ? null : canon(JSON.parse(row[c.name]));
			const exp = expected.map((r) =>
			{
				const o = { ...r };
				for (const c of EDGE_COLUMNS.filter((x) => x.kind === 'jsontext'))
					o[c.name] = o[c.name] === null ? null : canon(JSON.parse(o[c.name]));
				return o;
			});
			compareColumns(EDGE_COLUMNS, exp, d, `${v.file} via DuckDB`);
			/* and dlake reads its own file back the same way */
			const again = (await client.query(
				`SELECT id, ${EDGE_COLUMNS.map((c) => (c.kind === 'jsontext' ? `${c.name}::text AS ${c.name}` : `${pgRender(c)} AS ${c.name}`)).join(', ')} ` +
				`FROM dlake.read_file($1) AS t(id int, ${EDGE_COLUMNS.map((c) => `${c.name} ${c.pg}`).join(', ')}) ORDER BY id`, [uri])).rows;
			for (const row of again)
				for (const c of EDGE_COLUMNS.filter((x) => x.kind === 'jsontext'))
					row[c.name] = row[c.name] === null ? null : canon(JSON.parse(row[c.name]));
			assert.deepEqual(again.map(canon), exp.map(canon));
		});
	}

	test('hyparquet and parquet-wasm read dlake files exactly', async () =>
	{
		const uri = `${base}/edge_snappy.parquet`;
		const local = await download(uri, 'edge_hy.parquet');
		const buf = fs.readFileSync(local);
		const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
		const rows = await parquetReadObjects({ file: ab, compressors, utf8: false });
		const pgRows = (await client.query(
			`SELECT id, i64::text, f64, t, big, d::text, (extract(epoch FROM tstz) * 1000000)::bigint::text AS tstz, u::text, n38::text, ai, encode(by, 'hex') AS by FROM (${EDGE_QUERY}) s ORDER BY id`)).rows;
		assert.equal(rows.length, 200);
		for (let i = 0; i < rows.length; i++)
		{
			const h = rows[i];
			const p = pgRows[i];
			const ctx = `hyparquet row ${p.id}`;
			assert.equal(h.id, p.id, ctx);
			assert.equal(h.i64 === null ? null : h.i64.toString(), p.i64, `${ctx} i64`);
			assert.equal(canon(h.f64), canon(p.f64), `${ctx} f64`);
			assert.equal(h.t, p.t, `${ctx} t`);
			assert.equal(h.big, p.big, `${ctx} big`);
			assert.equal(h.d === null ? null : h.d.toISOString().slice(0, 10), p.d, `${ctx} d`);
			if (h.tstz === null)
				assert.equal(p.tstz, null, `${ctx} tstz`);
			else
				assert.equal(String(BigInt(h.tstz.getTime()) * 1000n + BigInt(p.tstz) % 1000n), p.tstz, `${ctx} tstz (ms)`);
			/* hyparquet turns DECIMAL into a JS number: compare as numbers */
			assert.equal(h.n38 === null ? null : Number(h.n38), p.n38 === null ? null : Number(p.n38), `${ctx} n38`);
			assert.equal(canon(h.ai), canon(p.ai), `${ctx} ai`);
			assert.equal(h.by === null ? null : Buffer.from(h.by).toString('hex'), p.by, `${ctx} by`);
		}

		/* arrow-rs */
		const t = arrow.tableFromIPC(readParquet(new Uint8Array(buf)).intoIPCStream());
		assert.equal(t.numRows, 200);
		const ids = t.getChild('id').toArray();
		const i64 = t.getChild('i64');
		const s = t.getChild('t');
		const u = t.getChild('u');
		for (let i = 0; i < 200; i++)
		{
			const p = pgRows[i];
			assert.equal(Number(ids[i]), p.id);
			const v = i64.get(i);
			assert.equal(v === null ? null : v.toString(), p.i64, `arrow-rs row ${p.id} i64`);
			assert.equal(s.get(i), p.t, `arrow-rs row ${p.id} t`);
			const uv = u.get(i);
			assert.equal(uv === null ? null : Buffer.from(uv).toString('hex'), p.u === null ? null : p.u.replace(/-/g, ''), `arrow-rs row ${p.id} uuid`);
		}
		const schema = t.schema.fields.map((f) => `${f.name}:${f.type}`).join(' ');
		assert.match(schema, /tstz:Timestamp<MICROSECOND, UTC>/);
		assert.match(schema, /ts:Timestamp<MICROSECOND>/);
	});

	test('numeric overflow and infinite values are clear errors', async () =>
	{
		await assert.rejects(client.query('SELECT dlake.write_file($1, $2)', [
			"SELECT '1e40'::numeric AS n", `${base}/overflow.parquet`]), (e) => e.code === '22003' && /DECIMAL\(38,9\)/.test(e.message));
		await assert.rejects(client.query('SELECT dlake.write_file($1, $2)', [
			"SELECT 'NaN'::numeric AS n", `${base}/nan.parquet`]), (e) => e.code === '22003');
		await assert.rejects(client.query('SELECT dlake.write_file($1, $2)', [
			"SELECT 'infinity'::timestamptz AS t", `${base}/inf.parquet`]), (e) => e.code === '22008');
		const ls = (await client.query("SELECT count(*)::int AS n FROM dlake.list($1) WHERE path LIKE '%overflow%' OR path LIKE '%nan.parquet' OR path LIKE '%inf.parquet'", [`${base}/`])).rows[0].n;
		assert.equal(ls, 0, 'failed writes leave no object');
	});
});

describe('CSV and JSON lines interop', () =>
{
	const TEXT_COLS = 'id int, b boolean, i32 int, i64 bigint, f64 float8, d18 numeric(18,4), s text, dt date, tstz timestamptz, u uuid';

	for (const f of ['duckdb.csv', 'duckdb.csv.gz', 'duckdb.jsonl'])
	{
		test(`dlake reads DuckDB's ${f}`, async () =>
		{
			const local = path.join(FIX, 'text', f);
			const uri = await upload(f, fs.readFileSync(local));
			const pgRows = (await client.query(
				`SELECT id, b::text, i32::text, i64::text, f64, d18::text, nullif(s, '') AS s, dt::text, (extract(epoch FROM tstz) * 1000000)::bigint::text AS tstz, u::text ` +
				`FROM dlake.read_file($1) AS t(${TEXT_COLS}) ORDER BY id`, [uri])).rows;
			const reader = f.endsWith('.jsonl') ? 'read_json' : 'read_csv';
			const d = await duckRows(
				`SELECT id, b::VARCHAR AS b, i32::VARCHAR AS i32, i64::VARCHAR AS i64, f64, d18::DECIMAL(18,4)::VARCHAR AS d18, nullif(s, '') AS s, dt::VARCHAR AS dt, epoch_us(tstz::TIMESTAMPTZ)::VARCHAR AS tstz, u::VARCHAR AS u ` +
				`FROM ${reader}(${sqlQuote(local)}) ORDER BY id`);
			const cols = ['b', 'i32', 'i64', 'd18', 's', 'dt', 'tstz', 'u'].map((name) => ({ name, kind: 'text' }))
				.concat([{ name: 'f64', kind: 'float' }]);
			compareColumns(cols, pgRows, d, f);
		});
	}

	for (const f of ['round.csv.gz', 'round.csv.zst', 'round.jsonl.zst', 'round.jsonl.gz'])
	{
		test(`DuckDB reads dlake's ${f}`, async () =>
		{
			const q = `SELECT g AS id, g % 2 = 0 AS b, g * 1000003::bigint AS i64, g / 7.0::float8 AS f64,
				CASE WHEN g % 5 = 0 THEN NULL WHEN g % 5 = 1 THEN '' ELSE 'v,"' || g || E'"\\nü' END AS s,
				date '1950-01-01' + g * 17 AS dt, timestamptz '2024-01-01 00:00:00.123456+00' + g * interval '1 second' AS tstz
				FROM generate_series(1, 1000) g`;
			const uri = `${base}/${f}`;
			await client.query('SELECT dlake.write_file($1, $2)', [q, uri]);
			const local = await download(uri, f);
			const reader = f.includes('.jsonl') ? `read_json(${sqlQuote(local)}, format = 'newline_delimited')` : `read_csv(${sqlQuote(local)}, header = true)`;
			const d = await duckRows(
				`SELECT id, b::VARCHAR AS b, i64::VARCHAR AS i64, f64, nullif(s, '') AS s, dt::VARCHAR AS dt, epoch_us(tstz::TIMESTAMPTZ)::VARCHAR AS tstz FROM ${reader} ORDER BY id`);
			const exp = (await client.query(
				`SELECT id, b::text, i64::text, f64, nullif(s, '') AS s, dt::text, (extract(epoch FROM tstz) * 1000000)::bigint::text AS tstz FROM (${q}) x ORDER BY id`)).rows;
			const cols = ['b', 'i64', 's', 'dt', 'tstz'].map((name) => ({ name, kind: 'text' }))
				.concat([{ name: 'f64', kind: 'float' }]);
			compareColumns(cols, exp, d, f);
		});
	}
});

describe('corrupt and hostile Parquet files', () =>
{
	let good;

	before(() =>
	{
		good = fs.readFileSync(path.join(FIX, 'parquet', 'duckdb_snappy.parquet'));
	});

	const cases = {
		'empty.parquet': () => Buffer.alloc(0),
		'tiny.parquet': () => Buffer.from('PAR1PAR1'),
		'bad_magic.parquet': () => Buffer.concat([good.subarray(0, good.length - 4), Buffer.from('PARX')]),
		'truncated_half.parquet': () => good.subarray(0, good.length >> 1),
		'truncated_tail.parquet': () => good.subarray(0, good.length - 1),
		'footer_len_past_start.parquet': () =>
		{
			const b = Buffer.from(good);
			b.writeUInt32LE(0x7ffffff0, b.length - 8);
			return b;
		},
		'garbage_footer.parquet': () =>
		{
			const b = Buffer.from(good);
			const len = b.readUInt32LE(b.length - 8);
			for (let i = b.length - 8 - len; i < b.length - 8; i += 3)
				b[i] = (i * 131) & 0xff;
			return b;
		},
		'garbage_pages.parquet': () =>
		{
			const b = Buffer.from(good);
			for (let i = 4; i < 20000; i += 7)
				b[i] = (i * 97) & 0xff;
			return b;
		},
		'random.parquet': () =>
		{
			const b = Buffer.alloc(4096);
			for (let i = 0; i < b.length; i++)
				b[i] = (i * 2654435761 >>> 13) & 0xff;
			b.write('PAR1', 0);
			b.write('PAR1', b.length - 4);
			b.writeUInt32LE(2000, b.length - 8);
			return b;
		},
	};

	for (const [name, make] of Object.entries(cases))
	{
		test(`${name} → clear error naming the object`, async () =>
		{
			const uri = await upload(name, make());
			await assert.rejects(
				client.query('SELECT count(*) FROM dlake.read_file($1) AS t(id int, s text, li int[], mp jsonb)', [uri]),
				(e) =>
				{
					assert.ok(['XX001', '0A000', '22P04', '22003', '22021', '22P02'].includes(e.code) || e.code.startsWith('XX'),
						`SQLSTATE ${e.code}: ${e.message}`);
					assert.notEqual(e.code, 'XX000', `internal error: ${e.message}`);
					assert.ok(`${e.message} ${e.detail || ''} ${e.where || ''}`.includes(name), `names the object: ${e.message}`);
					return true;
				});
			const ok = (await client.query('SELECT 1 AS one')).rows[0].one;
			assert.equal(ok, 1, 'backend survives');
		});
	}
});
