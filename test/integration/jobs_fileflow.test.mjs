/*
 * jobs_fileflow.test.mjs — file flows (the Kinesis Agent counterpart),
 * against the worker of the stack's PostgreSQL:
 *   - a writer appends lines while the log is rotated by rename four
 *     times, truncated once, and PostgreSQL is restarted in the middle:
 *     the target table ends with every line exactly once;
 *   - csvtojson (header from the first line) and logtojson (Apache
 *     combined log) produce the expected JSON;
 *   - the target may be a Kinesis stream: lines arrive there (read back
 *     with GetRecords).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
	CreateStreamCommand, DescribeStreamSummaryCommand, GetShardIteratorCommand, GetRecordsCommand,
	ListShardsCommand, DeleteStreamCommand,
} from '@aws-sdk/client-kinesis';

import {
	sql, env, stackRunning, ensureExtension, hasFunction, waitFor, stackCtl, kinesis, createLakeServer, uniqueName,
} from '../lib/stack.mjs';

let skip = stackRunning ? false : 'test stack not running (scripts/stack.sh start)';
let dir;

before(async () => {
	if (skip)
		return;
	await ensureExtension();
	if (!(await hasFunction(null, 'dlake.create_file_flow')))
	{
		skip = 'dlake.create_file_flow does not exist yet';
		return;
	}
	/* the worker restarts 5 s after an error (e.g. the extension dropped under it) */
	const up = await waitFor(async () => (await sql(
		"SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'dlake file flow worker'"))[0].n === 1,
	15000, 250, 'file flow worker').catch(() => false);
	if (!up)
	{
		skip = 'the file flow worker is not running (dlake not preloaded?)';
		return;
	}
	dir = path.join(env.DLAKE_FILE_ROOT, `fileflow_${Date.now()}`);
	fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
	for (const f of ['jobs_ff_rot', 'jobs_ff_csv', 'jobs_ff_log', 'jobs_ff_kin'])
		await sql('SELECT dlake.drop_file_flow($1, if_exists => true)', [f]);
	await sql('DROP TABLE IF EXISTS public.jobs_ff_lines, public.jobs_ff_json');
	await sql('CREATE TABLE public.jobs_ff_lines (id bigserial, data text)');
	await sql('CREATE TABLE public.jobs_ff_json (id bigserial, data jsonb)');
});

after(async () => {
	if (skip)
		return;
	for (const f of ['jobs_ff_rot', 'jobs_ff_csv', 'jobs_ff_log', 'jobs_ff_kin'])
		await sql('SELECT dlake.drop_file_flow($1, if_exists => true)', [f]).catch(() => {});
	await sql('DROP TABLE IF EXISTS public.jobs_ff_lines, public.jobs_ff_json').catch(() => {});
	fs.rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('rotation by rename and by truncation while writing, and a restart: every line exactly once', async (t) => {
	if (skip)
		return t.skip(skip);
	const log = path.join(dir, 'app.log');
	fs.writeFileSync(log, '');
	await sql(`SELECT dlake.create_file_flow('jobs_ff_rot', $1, 'public.jobs_ff_lines')`, [`${dir}/app.log*`]);

	const written = [];
	let seq = 0;
	/* append n lines in small bursts, like a logging application reopening its file */
	const write = async (n) => {
		for (let i = 0; i < n; i += 10)
		{
			const lines = [];
			for (let k = 0; k < 10 && i + k < n; k++)
				lines.push(`line ${++seq} ${'x'.repeat(seq % 50)}`);
			fs.appendFileSync(log, lines.join('\n') + '\n');
			written.push(...lines);
			await sleep(5);
		}
	};
	const shipped = async () => (await sql('SELECT count(*)::int AS n FROM public.jobs_ff_lines'))[0].n;

	await write(300);
	for (let r = 1; r <= 4; r++)
	{
		fs.renameSync(log, `${log}.${r}`);		/* logrotate "create": the writer goes on in a new file */
		await write(250);
		if (r === 2)
		{
			/* the database restarts while lines keep coming */
			stackCtl('restart-pg');
			await write(100);
		}
	}
	await waitFor(async () => (await shipped()) === written.length, 30000, 200, 'all lines before the truncation');

	/* truncation in place ("copytruncate" after everything was shipped), then more lines */
	fs.truncateSync(log, 0);
	await sleep(1500);
	await write(120);
	await waitFor(async () => (await shipped()) >= written.length, 30000, 200, 'all lines after the truncation');
	await sleep(1500);		/* nothing more may arrive */

	const rows = await sql('SELECT data FROM public.jobs_ff_lines ORDER BY id');
	assert.equal(rows.length, written.length, 'no line twice');
	assert.deepEqual(new Set(rows.map((r) => r.data)), new Set(written), 'no line lost');
	/* lines of one file arrive in order */
	const nums = rows.map((r) => Number(r.data.split(' ')[1]));
	const inversions = nums.filter((n, i) => i > 0 && n < nums[i - 1]).length;
	assert.ok(inversions <= 6, `lines mostly in order (${inversions} file switches)`);
	const [f] = await sql("SELECT lines::int, last_error FROM dlake.file_flows WHERE name = 'jobs_ff_rot'");
	assert.deepEqual(f, { lines: written.length, last_error: null });
});

test('csvtojson and logtojson', async (t) => {
	if (skip)
		return t.skip(skip);
	fs.writeFileSync(path.join(dir, 'sales.csv'), 'id,region,amount\n1,eu,"1,5"\n2,"us ""east""",7\n');
	fs.writeFileSync(path.join(dir, 'access.log'),
		'10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "http://x/" "Mozilla/4.08"\n' +
		'10.0.0.2 - - [10/Oct/2000:13:55:37 -0700] "POST /b HTTP/1.1" 404 -\n' +
		'not a log line\n');
	await sql(`SELECT dlake.create_file_flow('jobs_ff_csv', $1, 'public.jobs_ff_json', 'csvtojson')`, [`${dir}/*.csv`]);
	await sql(`SELECT dlake.create_file_flow('jobs_ff_log', $1, 'public.jobs_ff_json', 'logtojson')`, [`${dir}/access.log`]);
	await waitFor(async () => (await sql('SELECT count(*)::int AS n FROM public.jobs_ff_json'))[0].n === 5, 15000, 200, 'json lines');
	const rows = (await sql('SELECT data FROM public.jobs_ff_json ORDER BY id')).map((r) => r.data);
	const csv = rows.filter((r) => 'region' in r);
	const logs = rows.filter((r) => !('region' in r));
	assert.deepEqual(csv, [{ id: '1', region: 'eu', amount: '1,5' }, { id: '2', region: 'us "east"', amount: '7' }]);
	assert.deepEqual(logs, [
		{ host: '10.0.0.1', ident: '-', authuser: 'frank', datetime: '10/Oct/2000:13:55:36 -0700', request: 'GET /a.gif HTTP/1.0',
			response: '200', bytes: '2326', referer: 'http://x/', agent: 'Mozilla/4.08' },
		{ host: '10.0.0.2', ident: '-', authuser: '-', datetime: '10/Oct/2000:13:55:37 -0700', request: 'POST /b HTTP/1.1',
			response: '404', bytes: '-' },
		{ line: 'not a log line' },
	]);
});

test('a Kinesis stream as target', async (t) => {
	if (skip)
		return t.skip(skip);
	if (!(await createLakeServer(null, 'jobs_ff_srv')))
		return t.skip('no dlake_fdw server');
	const kc = kinesis();
	const name = uniqueName('ff');
	await kc.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
	try
	{
		await waitFor(async () => (await kc.send(new DescribeStreamSummaryCommand({ StreamName: name })))
			.StreamDescriptionSummary.StreamStatus === 'ACTIVE', 20000, 100, 'stream ACTIVE');
		fs.writeFileSync(path.join(dir, 'kin.log'), 'k1\nk2\nk3\n');
		await sql(`SELECT dlake.create_file_flow('jobs_ff_kin', $1, $2, server => 'jobs_ff_srv')`, [`${dir}/kin.log`, name]);
		await waitFor(async () => (await sql("SELECT lines::int AS n FROM dlake.file_flows WHERE name = 'jobs_ff_kin'"))[0].n === 3,
			15000, 200, 'lines shipped');
		const shards = await kc.send(new ListShardsCommand({ StreamName: name }));
		const it = await kc.send(new GetShardIteratorCommand({
			StreamName: name, ShardId: shards.Shards[0].ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
		const recs = await kc.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
		assert.deepEqual(recs.Records.map((r) => Buffer.from(r.Data).toString()), ['k1', 'k2', 'k3']);
	}
	finally
	{
		await kc.send(new DeleteStreamCommand({ StreamName: name })).catch(() => {});
		await sql('DROP SERVER IF EXISTS jobs_ff_srv CASCADE').catch(() => {});
	}
});
