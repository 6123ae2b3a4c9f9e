/*
 * http_wait.test.mjs — how the aws/ HTTP client waits (STYLE.md point 11):
 * a backend waiting for an answer sleeps on its latch and sockets
 * (pg_stat_activity shows wait_event_type Extension), a cancel or a
 * terminate ends the wait at once, and a latch wake-up that is not an
 * interrupt (SIGHUP from pg_reload_conf) does not disturb the request.
 *
 * Talks to a plain local HTTP server of its own (no SigV4 check needed),
 * through the internal superuser function dlake.aws_request_test.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { keys, pg, ensureExtension, waitFor } from '../lib/stack.mjs';

let client;
let server;
let base;
const held = [];

/* GET one path through dlake; resolves to {status, body} */
async function req(c, path)
{
	const r = await c.query(
		'SELECT status, body FROM dlake.aws_request_test($1, $2, $3, ' +
		"region => 'us-east-1', access_key_id => $4, secret_access_key => $5)",
		['s3', 'GET', `${base}${path}`, keys.primary.accessKeyId, keys.primary.secretAccessKey]);
	return r.rows[0];
}

/* settle a promise into a value at once, so a rejection is never unhandled */
function settle(p)
{
	const s = { at: 0, value: null, error: null };
	s.done = p.then((v) => { s.at = Date.now(); s.value = v; },
		(e) => { s.at = Date.now(); s.error = e; });
	return s;
}

/* wait until pid shows the extension wait event (it is inside the HTTP wait) */
async function waitInHttp(pid)
{
	await waitFor(async () => {
		const r = await client.query(
			'SELECT wait_event_type, wait_event FROM pg_stat_activity WHERE pid = $1', [pid]);
		return r.rows[0] && r.rows[0].wait_event_type === 'Extension' &&
			r.rows[0].wait_event === 'Extension';
	}, 5000, 50, 'backend waiting with wait_event Extension');
}

before(async () => {
	client = await pg();
	await ensureExtension(client);
	/* /hang never answers; /slow answers after 1.5 s */
	server = http.createServer((rq, rs) => {
		if (rq.url.startsWith('/hang'))
		{
			held.push(rs);
			return;
		}
		setTimeout(() => { rs.writeHead(200, { 'content-type': 'text/plain' }); rs.end('late answer'); }, 1500);
	});
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	base = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
	for (const rs of held)
		rs.destroy();
	await new Promise((r) => server.close(r));
	await client.end();
});

describe('HTTP wait', () => {
	test('a hanging request waits on the latch and a cancel ends it within 2 s', async () => {
		const victim = await pg();
		try
		{
			await victim.query("SET dlake.request_timeout = '60s'");
			await victim.query('SET dlake.max_retries = 0');
			const pid = (await victim.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
			const s = settle(req(victim, '/hang/1'));
			await waitInHttp(pid);
			assert.equal(s.at, 0, 'the request is still waiting');
			const t0 = Date.now();
			await client.query('SELECT pg_cancel_backend($1)', [pid]);
			await s.done;
			assert.ok(s.error, 'the request was cancelled');
			assert.equal(s.error.code, '57014');
			assert.ok(s.at - t0 < 2000, `cancel took ${s.at - t0} ms`);
			assert.equal((await victim.query('SELECT 1 AS one')).rows[0].one, 1);
		}
		finally
		{
			await victim.end();
		}
	});

	test('a terminate ends a hanging request within 2 s', async () => {
		const victim = await pg();
		victim.on('error', () => {});
		const pid = (await victim.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
		await victim.query("SET dlake.request_timeout = '60s'");
		const s = settle(req(victim, '/hang/2'));
		await waitInHttp(pid);
		const t0 = Date.now();
		await client.query('SELECT pg_terminate_backend($1)', [pid]);
		await s.done;
		assert.ok(s.error, 'the request failed');
		assert.ok(s.at - t0 < 2000, `terminate took ${s.at - t0} ms`);
		await waitFor(async () => (await client.query(
			'SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [pid])).rows[0].n === 0,
		5000, 50, 'terminated backend gone');
		await victim.end().catch(() => {});
	});

	test('a latch wake-up that is no interrupt leaves the request alone', async () => {
		const victim = await pg();
		try
		{
			await victim.query('SET dlake.max_retries = 0');
			const pid = (await victim.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
			const s = settle(req(victim, '/slow/1'));
			await waitInHttp(pid);
			/* SIGHUP to every backend sets its latch */
			await client.query('SELECT pg_reload_conf()');
			await s.done;
			assert.equal(s.error, null, `request failed: ${s.error && s.error.message}`);
			assert.equal(s.value.status, 200);
			assert.equal(s.value.body, 'late answer');
		}
		finally
		{
			await victim.end();
		}
	});
});
