/*
 * jobs_cron.test.mjs — dlake jobs with the real pg_cron (preloaded by the
 * stack, cron.database_name = the test database):
 *   - dlake.schedule('* * * * *') runs once within ~70 s: a succeeded run and
 *     a failed run are recorded in dlake.job_runs, and pg_cron's own
 *     cron.job_run_details shows the failure too (the error is re-raised);
 *     dlake.jobs lists both; dlake.unschedule removes them, history stays;
 *   - by hand (dlake.run_job): an overlapping run is skipped at once, a
 *     cancelled run is recorded as failed, an export job records its rows,
 *     bytes and files and shows up in dlake.lake_summary.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { sql, pg, ensureExtension, hasFunction, waitFor, stackRunning, env } from '../lib/stack.mjs';

let skip = stackRunning ? false : 'test stack not running (scripts/stack.sh start)';

before(async () => {
	if (skip)
		return;
	await ensureExtension();
	await sql('CREATE EXTENSION IF NOT EXISTS pg_cron');
	await sql("DELETE FROM dlake.job_runs WHERE job LIKE 'jobs\\_it\\_%'");
	for (const j of ['jobs_it_ok', 'jobs_it_fail'])
		await sql('SELECT dlake.unschedule($1)', [j]).catch(() => {});
	await sql('DROP TABLE IF EXISTS public.jobs_it_t');
	await sql('CREATE TABLE public.jobs_it_t (at timestamptz DEFAULT now())');
});

after(async () => {
	if (skip)
		return;
	for (const j of ['jobs_it_ok', 'jobs_it_fail'])
		await sql('SELECT dlake.unschedule($1)', [j]).catch(() => {});
	await sql('DROP TABLE IF EXISTS public.jobs_it_t').catch(() => {});
});

test('pg_cron runs scheduled jobs; succeeded and failed runs are recorded', async (t) => {
	if (skip)
		return t.skip(skip);
	const [ok] = await sql("SELECT dlake.schedule('jobs_it_ok', '* * * * *', 'INSERT INTO public.jobs_it_t DEFAULT VALUES') AS id");
	const [bad] = await sql("SELECT dlake.schedule('jobs_it_fail', '* * * * *', 'SELECT 1/0') AS id");
	assert.ok(Number(ok.id) > 0 && Number(bad.id) > 0);

	/* scheduling again under the same name replaces the job */
	const [again] = await sql("SELECT dlake.schedule('jobs_it_ok', '* * * * *', 'INSERT INTO public.jobs_it_t DEFAULT VALUES') AS id");
	assert.equal(Number(again.id), Number(ok.id));

	const jobs = await sql("SELECT job, schedule, active, command FROM dlake.jobs WHERE job LIKE 'jobs_it_%' ORDER BY job");
	assert.deepEqual(jobs.map((j) => j.job), ['jobs_it_fail', 'jobs_it_ok']);
	assert.match(jobs[1].command, /^SELECT dlake\.run_job\('jobs_it_ok', /);

	/* pg_cron has minute granularity: the next minute boundary is at most 60 s away */
	await waitFor(async () => {
		const [r] = await sql("SELECT count(DISTINCT job)::int AS n FROM dlake.job_runs WHERE job IN ('jobs_it_ok', 'jobs_it_fail')");
		return r.n === 2;
	}, 75000, 500, 'a run of both scheduled jobs');

	const [okRun] = await sql("SELECT status, rows, error FROM dlake.job_runs WHERE job = 'jobs_it_ok' ORDER BY id LIMIT 1");
	assert.deepEqual(okRun, { status: 'succeeded', rows: 1, error: null });
	const [{ n }] = await sql('SELECT count(*)::int AS n FROM public.jobs_it_t');
	assert.ok(n >= 1, 'the command ran');

	const [failRun] = await sql("SELECT status, error, sqlstate FROM dlake.job_runs WHERE job = 'jobs_it_fail' ORDER BY id LIMIT 1");
	assert.deepEqual(failRun, { status: 'failed', error: 'division by zero', sqlstate: '22012' });

	/* pg_cron saw the failure as well */
	const details = await waitFor(async () => {
		const rows = await sql(`SELECT d.status, d.return_message FROM cron.job_run_details d
			WHERE d.jobid = $1 AND d.status IN ('failed', 'succeeded')`, [bad.id]);
		return rows.length ? rows : null;
	}, 10000, 200, 'pg_cron run details');
	assert.equal(details[0].status, 'failed');
	assert.match(details[0].return_message, /division by zero/);

	const [j] = await sql("SELECT last_status, runs >= 1 AS ran, failed >= 1 AS f FROM dlake.jobs WHERE job = 'jobs_it_fail'");
	assert.deepEqual(j, { last_status: 'failed', ran: true, f: true });

	assert.equal((await sql("SELECT dlake.unschedule('jobs_it_ok') AS r"))[0].r, true);
	assert.equal((await sql("SELECT dlake.unschedule('jobs_it_fail') AS r"))[0].r, true);
	assert.equal((await sql("SELECT count(*)::int AS n FROM dlake.jobs WHERE job LIKE 'jobs_it_%'"))[0].n, 0);
	assert.ok((await sql("SELECT count(*)::int AS n FROM dlake.job_runs WHERE job LIKE 'jobs_it_%'"))[0].n >= 2,
		'history stays after unschedule');
	await assert.rejects(sql("SELECT dlake.unschedule('jobs_it_ok')"), /could not find valid entry/);
});

test('an overlapping run of the same job is skipped at once', async (t) => {
	if (skip)
		return t.skip(skip);
	const a = await pg();
	const b = await pg();
	try
	{
		const first = a.query("SELECT status FROM dlake.run_job('jobs_it_overlap', 'SELECT pg_sleep(3)')");
		await waitFor(async () => (await sql(`SELECT count(*)::int AS n FROM pg_stat_activity
			WHERE query LIKE '%jobs_it_overlap%' AND wait_event = 'PgSleep'`))[0].n === 1, 5000, 50, 'first run sleeping');
		const t0 = Date.now();
		const second = await b.query("SELECT status, error FROM dlake.run_job('jobs_it_overlap', 'SELECT 1')");
		assert.ok(Date.now() - t0 < 1500, 'skipped without waiting');
		assert.deepEqual(second.rows[0], { status: 'skipped', error: 'another run of this job was in progress' });
		/* another job name is not blocked */
		assert.equal((await b.query("SELECT status FROM dlake.run_job('jobs_it_other', 'SELECT 1')")).rows[0].status, 'succeeded');
		assert.equal((await first).rows[0].status, 'succeeded');
		/* once finished, the job runs again */
		assert.equal((await b.query("SELECT status FROM dlake.run_job('jobs_it_overlap', 'SELECT 1')")).rows[0].status, 'succeeded');
		const runs = await sql("SELECT status FROM dlake.job_runs WHERE job = 'jobs_it_overlap' ORDER BY started, id");
		assert.deepEqual(runs.map((r) => r.status).sort(), ['skipped', 'succeeded', 'succeeded']);
	}
	finally
	{
		await a.end();
		await b.end();
	}
});

test('a cancelled run (statement_timeout) is recorded as failed', async (t) => {
	if (skip)
		return t.skip(skip);
	const c = await pg();
	try
	{
		await c.query("SET statement_timeout = '300ms'");
		await assert.rejects(c.query("SELECT dlake.run_job('jobs_it_timeout', 'SELECT pg_sleep(5)')"), /statement timeout/);
	}
	finally
	{
		await c.end();
	}
	const [r] = await sql("SELECT status, sqlstate, finished - started < interval '3 s' AS quick FROM dlake.job_runs WHERE job = 'jobs_it_timeout'");
	assert.deepEqual(r, { status: 'failed', sqlstate: '57014', quick: true });
});

test('an export job records rows, bytes and files; lake_summary shows them', async (t) => {
	if (skip)
		return t.skip(skip);
	if (!(await hasFunction(null, 'dlake.export')))
		return t.skip('dlake.export does not exist yet');
	const loc = `file://${env.DLAKE_FILE_ROOT}/jobs_it/export_${Date.now()}`;
	const cmd = `SELECT * FROM dlake.export('SELECT g AS id, g % 3 AS k FROM generate_series(1, 300) g', '${loc}', 'csv', partition_by => '{k}')`;
	const [r] = await sql('SELECT status, rows, files, bytes > 0 AS b FROM dlake.run_job($1, $2)', ['jobs_it_export', cmd]);
	assert.deepEqual(r, { status: 'succeeded', rows: 300, files: 3, b: true });
	const parts = await sql(`SELECT partition->>'k' AS k, files::int, rows::int FROM dlake.lake_summary
		WHERE location LIKE $1 ORDER BY 1`, [`${loc}%`]);
	assert.deepEqual(parts, [{ k: '0', files: 1, rows: 100 }, { k: '1', files: 1, rows: 100 }, { k: '2', files: 1, rows: 100 }]);
});

test('export_stream: staged records to raw, cleansed rows to cleansed (by date), exactly once', async (t) => {
	if (skip)
		return t.skip(skip);
	for (const f of ['dlake.export_stream', 'dlake.create_stream', 'dlake.create_ruleset'])
		if (!(await hasFunction(null, f)))
			return t.skip(`${f} does not exist yet`);
	const root = `file://${env.DLAKE_FILE_ROOT}/jobs_it/es_${Date.now()}`;
	await sql(`SELECT dlake.create_zone('jobs_it_raw', '${root}/raw'), dlake.create_zone('jobs_it_cleansed', '${root}/cleansed')`);
	await sql("SELECT dlake.drop_stream(name) FROM dlake.streams WHERE name = 'jobs_it_es'");
	await sql('DROP TABLE IF EXISTS dlake_cleansed.jobs_it_es, dlake_quarantine.jobs_it_es');
	await sql("SELECT dlake.drop_ruleset('jobs_it_rs', if_exists => true)");
	await sql(`SELECT dlake.create_ruleset('jobs_it_rs', '{"required": ["id", "ts"], "types": {"id": "int8", "ts": "timestamptz"},
		"enrich": {"date": "(ts AT TIME ZONE ''UTC'')::date"}}')`);
	/* a registered, paused stream: rows are staged by hand, the rule set applied like a job would */
	await sql("SELECT dlake.create_stream('jobs_it_es', kinesis_stream => 'jobs-it-none', ruleset => 'jobs_it_rs')");
	await sql("SELECT dlake.pause_stream('jobs_it_es')");
	const stage = async (from, to) => {
		await sql(`INSERT INTO dlake_staging.jobs_it_es (stream, shard_id, sequence_number, partition_key, data, payload)
			SELECT 'jobs_it_es', 'shardId-0', i, 'k', convert_to(p::text, 'UTF8'), p
			  FROM generate_series($1::int, $2::int) i,
			       LATERAL (SELECT jsonb_build_object('id', i, 'ts', '2026-01-0' || (1 + i % 3) || 'T10:00:00Z') AS p) x`, [from, to]);
		await sql("SELECT * FROM dlake.apply_ruleset('jobs_it_rs', 'dlake_staging.jobs_it_es')");
	};
	const run = async () => sql(`SELECT zone, partition, rows FROM dlake.export_stream('jobs_it_es', raw_zone => 'jobs_it_raw',
		cleansed_zone => 'jobs_it_cleansed') ORDER BY zone, partition`);
	try
	{
		await stage(1, 30);
		assert.deepEqual(await run(), [
			{ zone: 'jobs_it_cleansed', partition: 'date=2026-01-01', rows: 10 },
			{ zone: 'jobs_it_cleansed', partition: 'date=2026-01-02', rows: 10 },
			{ zone: 'jobs_it_cleansed', partition: 'date=2026-01-03', rows: 10 },
			{ zone: 'jobs_it_raw', partition: '', rows: 30 },
		]);
		assert.deepEqual(await run(), [], 'nothing new, nothing written');
		await stage(31, 33);
		const again = await run();
		assert.equal(again.filter((r) => r.zone === 'jobs_it_raw').reduce((a, r) => a + r.rows, 0), 3);
		assert.equal(again.filter((r) => r.zone === 'jobs_it_cleansed').reduce((a, r) => a + r.rows, 0), 3);
		/* what the lake holds equals what was staged */
		const [c] = await sql(`SELECT sum(rows)::int AS n FROM dlake.files WHERE location = '${root}/cleansed/jobs_it_es'`);
		const [r] = await sql(`SELECT sum(rows)::int AS n FROM dlake.files WHERE location = '${root}/raw/jobs_it_es'`);
		assert.deepEqual([c.n, r.n], [33, 33]);
	}
	finally
	{
		await sql("SELECT dlake.drop_stream('jobs_it_es')").catch(() => {});
		await sql('DROP TABLE IF EXISTS dlake_cleansed.jobs_it_es, dlake_quarantine.jobs_it_es').catch(() => {});
		await sql("SELECT dlake.drop_ruleset('jobs_it_rs', if_exists => true)").catch(() => {});
		await sql("DELETE FROM dlake.zones WHERE name IN ('jobs_it_raw', 'jobs_it_cleansed')").catch(() => {});
	}
});
