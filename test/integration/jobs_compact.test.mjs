/*
 * jobs_compact.test.mjs — dlake.compact on a file:// location written by
 * many small dlake.export calls: every partition ends with one file, the
 * rows of the catalogued files (read back with dlake.read_file) are exactly
 * the same, the old files stay on disk until a later call with
 * an elapsed grace period deletes them, and a second call has nothing to do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { sql, env, stackRunning, ensureExtension, hasFunction } from '../lib/stack.mjs';

test('compact rewrites small files per partition, same rows, old files retired then deleted', async (t) => {
	if (!stackRunning)
		return t.skip('test stack not running (scripts/stack.sh start)');
	await ensureExtension();
	if (!(await hasFunction(null, 'dlake.compact')) || !(await hasFunction(null, 'dlake.export')))
		return t.skip('dlake.compact / dlake.export do not exist yet');
	const root = `file://${env.DLAKE_FILE_ROOT}/jobs_compact_${Date.now()}`;
	await sql('DROP TABLE IF EXISTS public.jobs_compact_src');
	await sql(`CREATE TABLE public.jobs_compact_src AS
		SELECT g AS id, 'r' || (g % 2) AS region, DATE '2026-01-01' + (g % 3) AS day, g * 0.5 AS amount
		  FROM generate_series(1, 1200) g`);
	/* 7 exports (7 is coprime with the 2 × 3 partitions): 7 small files in each */
	for (let i = 0; i < 7; i++)
		await sql(`SELECT count(*) FROM dlake.export('SELECT * FROM public.jobs_compact_src WHERE id % 7 = ${i}',
			'${root}', 'parquet', '{day,region}')`);
	const catalog = async () => sql(`SELECT partition->>'day' AS day, partition->>'region' AS region, count(*)::int AS files,
		sum(rows)::int AS rows FROM dlake.files WHERE location = $1 GROUP BY 1, 2 ORDER BY 1, 2`, [root]);
	const before = await catalog();
	assert.equal(before.length, 6);
	assert.ok(before.every((p) => p.files === 7 && p.rows === 200));

	/* what a reader planning from the catalog sees: every catalogued file, read back */
	const q = `SELECT f.partition->>'day' AS day, f.partition->>'region' AS region, sum(x.n)::int AS n,
			sum(x.s)::bigint AS s, sum(x.a)::text AS a
		FROM dlake.files f,
		     LATERAL (SELECT count(*) AS n, sum(id) AS s, sum(amount) AS a
		                FROM dlake.read_file(f.path) AS t(id int, amount numeric)) x
		WHERE f.location = $1 GROUP BY 1, 2 ORDER BY 1, 2`;
	const rowsBefore = await sql(q, [root]);
	assert.equal(rowsBefore.reduce((a, r) => a + r.n, 0), 1200);

	const res = await sql(`SELECT partition->>'day' AS day, files_before, files_after, rows::int FROM dlake.compact($1)
		ORDER BY partition::text`, [root]);
	assert.equal(res.length, 6);
	assert.ok(res.every((r) => r.files_before === 7 && r.files_after === 1 && r.rows === 200), JSON.stringify(res));

	const after = await catalog();
	assert.deepEqual(after.map((p) => [p.day, p.region, p.files, p.rows]),
		before.map((p) => [p.day, p.region, 1, 200]));
	assert.deepEqual(await sql(q, [root]), rowsBefore, 'the same rows');

	/* the 42 old files are retired, still on disk (grace period), then deleted */
	const objects = async () => (await sql('SELECT count(*)::int AS n FROM dlake.list($1)', [`${root}/`]))[0].n;
	assert.equal(await objects(), 42 + 6);
	assert.deepEqual(await sql('SELECT * FROM dlake.compact($1)', [root]), [], 'nothing left to compact');
	assert.equal(await objects(), 42 + 6, 'grace period not over');
	await sql("SELECT * FROM dlake.compact($1, grace => '0')", [root]);
	assert.equal(await objects(), 6);
	assert.equal((await sql('SELECT count(*)::int AS n FROM dlake.retired_files WHERE location = $1', [root]))[0].n, 0);

	await sql('DROP TABLE public.jobs_compact_src');
});
