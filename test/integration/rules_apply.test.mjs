/*
 * rules_apply.test.mjs — dlake.apply_ruleset with two connections:
 *  - a transaction that started (and wrote) before a run but commits after
 *    it is not skipped by the next run (progress is a snapshot, not an id or
 *    xid watermark), and nothing is processed twice;
 *  - a second concurrent call on the same (rule set, source) returns at once
 *    with a NOTICE and zero counts, and does nothing.
 * Offline: needs only PostgreSQL from the test stack.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { pg, sql, ensureExtension, stackRunning, uniqueName } from '../lib/stack.mjs';

const skip = stackRunning ? false : 'test stack not running (scripts/stack.sh start)';
const RS = uniqueName('rs_late').replace(/\W/g, '_');
const SRC = uniqueName('rules_src').replace(/\W/g, '_').toLowerCase();

before(async () => {
	if (skip)
		return;
	await ensureExtension();
	await sql(`SELECT dlake.create_ruleset('${RS}', '{"required": ["k"], "types": {"k": "int8"}, "dedupe": ["k"]}')`);
	await sql(`CREATE TABLE public.${SRC} (id bigserial, payload jsonb)`);
});

after(async () => {
	if (skip)
		return;
	await sql(`DROP TABLE IF EXISTS public.${SRC}, dlake_cleansed.${SRC}, dlake_quarantine.${SRC}`);
	await sql(`SELECT dlake.drop_ruleset('${RS}', if_exists => true)`);
});

async function apply(client)
{
	const notices = [];
	const onNotice = (n) => notices.push(n.message);
	client.on('notice', onNotice);
	try
	{
		const r = await client.query(`SELECT * FROM dlake.apply_ruleset('${RS}', 'public.${SRC}')`);
		return { ...r.rows[0], notices };
	}
	finally
	{
		client.removeListener('notice', onNotice);
	}
}

test('a late-committing transaction is processed by the next run, once', { skip }, async () => {
	const late = await pg();
	const runner = await pg();
	try
	{
		/* the late writer takes its xid (and its id) first ... */
		await late.query('BEGIN');
		await late.query(`INSERT INTO public.${SRC} (payload) VALUES ('{"k": 1}')`);
		/* ... others commit after it ... */
		await runner.query(`INSERT INTO public.${SRC} (payload) VALUES ('{"k": 2}'), ('{"k": 3}')`);
		/* ... and a run happens while it is still open */
		let r = await apply(runner);
		assert.deepEqual([r.accepted, r.rejected, r.filtered, r.duplicates], [2, 0, 0, 0]);

		await late.query('COMMIT');
		r = await apply(runner);
		assert.deepEqual([r.accepted, r.rejected, r.filtered, r.duplicates], [1, 0, 0, 0], 'late row picked up');

		r = await apply(runner);
		assert.deepEqual([r.accepted, r.rejected, r.filtered, r.duplicates], [0, 0, 0, 0], 'rerun does nothing');

		const rows = await sql(`SELECT k FROM dlake_cleansed.${SRC} ORDER BY k`);
		assert.deepEqual(rows.map((x) => Number(x.k)), [1, 2, 3]);
	}
	finally
	{
		await late.end();
		await runner.end();
	}
});

test('an overlapping call returns at once with a NOTICE', { skip }, async () => {
	const a = await pg();
	const b = await pg();
	try
	{
		await sql(`INSERT INTO public.${SRC} (payload) VALUES ('{"k": 4}'), ('{"k": "x"}')`);
		await a.query('BEGIN');
		let r = await apply(a);
		assert.deepEqual([r.accepted, r.rejected], [1, 1]);

		/* a still holds its transaction (and the advisory lock) */
		const t0 = Date.now();
		r = await apply(b);
		assert.ok(Date.now() - t0 < 5000, 'second call did not wait');
		assert.deepEqual([r.accepted, r.rejected, r.filtered, r.duplicates], [0, 0, 0, 0]);
		assert.equal(r.notices.length, 1);
		assert.match(r.notices[0], /already running/);

		await a.query('COMMIT');
		r = await apply(b);
		assert.deepEqual([r.accepted, r.rejected, r.filtered, r.duplicates], [0, 0, 0, 0], 'a did the work');
		const [q] = await sql(`SELECT count(*)::int AS n FROM dlake_quarantine.${SRC}`);
		assert.equal(q.n, 1);
	}
	finally
	{
		await a.end();
		await b.end();
	}
});
