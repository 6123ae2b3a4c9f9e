/*
 * storage_file.test.mjs — the same storage suite against the file://
 * backend under $DLAKE_FILE_ROOT: round trip, one-level listing, 2,500
 * files listed completely, a 200 MB streaming write read back byte-exact
 * by node, temp files never visible, a cancelled write leaving nothing.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

import { env, sql, pg, uniqueName, waitFor } from '../lib/stack.mjs';

let root;
const url = (rel) => `file://${root}/${rel}`;

function generatedSha256(bytes, seed = 1)
{
	const h = crypto.createHash('sha256');
	const chunk = 1 << 20;
	const buf = Buffer.alloc(chunk);
	let x = seed >>> 0;
	for (let done = 0; done < bytes; done += chunk)
	{
		const n = Math.min(chunk, bytes - done);
		for (let i = 0; i < n; i += 4)
		{
			x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
			buf[i] = x & 0xff;
			if (i + 1 < n) buf[i + 1] = (x >>> 8) & 0xff;
			if (i + 2 < n) buf[i + 2] = (x >>> 16) & 0xff;
			if (i + 3 < n) buf[i + 3] = (x >>> 24) & 0xff;
		}
		h.update(n === chunk ? buf : buf.subarray(0, n));
	}
	return h.digest('hex');
}

function fileSha256(p)
{
	const h = crypto.createHash('sha256');
	const fd = fs.openSync(p, 'r');
	const buf = Buffer.alloc(1 << 20);
	let n;
	while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0)
		h.update(buf.subarray(0, n));
	fs.closeSync(fd);
	return h.digest('hex');
}

/* every entry under dir, hidden ones included */
function walk(dir)
{
	const out = [];
	for (const e of fs.readdirSync(dir, { withFileTypes: true }))
	{
		const p = path.join(dir, e.name);
		if (e.isDirectory())
			out.push(...walk(p));
		else
			out.push(p);
	}
	return out;
}

before(async () => {
	await sql('CREATE EXTENSION IF NOT EXISTS dlake CASCADE');
	root = path.join(env.DLAKE_FILE_ROOT, uniqueName('storage'));
});

after(async () => {
	fs.rmSync(root, { recursive: true, force: true });
});

describe('round trip', () => {
	test('write, stat, list, read, delete', async () => {
		const [{ n }] = await sql('SELECT dlake.write_text($1, $2) AS n', [url('rt/hello.txt'), 'hello, lake']);
		assert.equal(n, 11);
		assert.equal(fs.readFileSync(path.join(root, 'rt/hello.txt'), 'utf8'), 'hello, lake');

		const [st] = await sql('SELECT * FROM dlake.stat($1)', [url('rt/hello.txt')]);
		assert.equal(st.path, url('rt/hello.txt'));
		assert.equal(st.size, 11);
		assert.ok(Math.abs(st.last_modified.getTime() - fs.statSync(path.join(root, 'rt/hello.txt')).mtimeMs) < 2000);

		const rows = await sql('SELECT * FROM dlake.list($1)', [url('rt/')]);
		assert.deepEqual(rows.map((r) => [r.path, r.size]), [[url('rt/hello.txt'), 11]]);
		const [{ t }] = await sql('SELECT dlake.read_text($1) AS t', [url('rt/hello.txt')]);
		assert.equal(t, 'hello, lake');
		const [{ b }] = await sql('SELECT dlake.read_bytes($1, NULL, 7, 4) AS b', [url('rt/hello.txt')]);
		assert.equal(b.toString(), 'lake');

		const [{ d }] = await sql('SELECT dlake.delete($1) AS d', [url('rt/hello.txt')]);
		assert.equal(d, 1);
		assert.equal(fs.existsSync(path.join(root, 'rt/hello.txt')), false);
		await assert.rejects(sql('SELECT dlake.read_text($1)', [url('rt/hello.txt')]), (e) => e.code === '42704');
	});

	test('awkward names, one-level listing, prefix delete', async () => {
		const names = ['odd/a b+c=d&e.txt', 'odd/caf\u00e9 \u00fcber.csv', 'odd/date=2026-11-27/part 0.json', 'odd/x%41y~z(1).txt'];
		for (const k of names)
			await sql('SELECT dlake.write_text($1, $2)', [url(k), `content of ${k}`]);
		const rows = await sql('SELECT path FROM dlake.list($1)', [url('odd/')]);
		assert.deepEqual(rows.map((r) => r.path), names.map(url).sort());
		const one = await sql('SELECT path, size FROM dlake.list($1, NULL, false)', [url('odd/')]);
		assert.deepEqual(one.map((r) => [r.path, r.size === null]), [
			[url('odd/a b+c=d&e.txt'), false],
			[url('odd/caf\u00e9 \u00fcber.csv'), false],
			[url('odd/date=2026-11-27/'), true],
			[url('odd/x%41y~z(1).txt'), false],
		]);
		/* a prefix that is not a directory boundary matches like an S3 prefix */
		const partial = await sql('SELECT path FROM dlake.list($1)', [url('odd/ca')]);
		assert.deepEqual(partial.map((r) => r.path), [url('odd/caf\u00e9 \u00fcber.csv')]);
		const [{ d }] = await sql('SELECT dlake.delete($1) AS d', [url('odd/')]);
		assert.equal(d, names.length);
		assert.deepEqual(walk(path.join(root, 'odd')), []);
	});

	test('binary content, empty files, copies between backends', async () => {
		const bytes = crypto.randomBytes(300000);
		await sql('SELECT dlake.write_bytes($1, $2)', [url('bin/random'), bytes]);
		assert.ok(fs.readFileSync(path.join(root, 'bin/random')).equals(bytes));
		const [{ back }] = await sql('SELECT dlake.read_bytes($1) AS back', [url('bin/random')]);
		assert.ok(back.equals(bytes));
		await sql('SELECT dlake.write_bytes($1, $2)', [url('bin/empty'), Buffer.alloc(0)]);
		const [{ e }] = await sql('SELECT dlake.read_bytes($1, NULL, 0, 10) AS e', [url('bin/empty')]);
		assert.equal(e.length, 0);
		await sql('SELECT dlake.copy_object($1, $2)', [url('bin/random'), url('bin/copy/of/random')]);
		assert.ok(fs.readFileSync(path.join(root, 'bin/copy/of/random')).equals(bytes));
	});

	test('temp files are never listed', async () => {
		fs.mkdirSync(path.join(root, 'tmpvis'), { recursive: true });
		fs.writeFileSync(path.join(root, 'tmpvis/.dlake-tmp-half.bin.1.1'), 'partial');
		fs.writeFileSync(path.join(root, 'tmpvis/done.bin'), 'done');
		execFileSync('chown', ['-R', 'postgres:postgres', root]);
		const rows = await sql('SELECT path FROM dlake.list($1)', [url('tmpvis/')]);
		assert.deepEqual(rows.map((r) => r.path), [url('tmpvis/done.bin')]);
	});
});

describe('many files', () => {
	test('2,500 files are listed completely and deleted', async () => {
		const dir = path.join(root, 'many');
		fs.mkdirSync(dir, { recursive: true });
		const all = [];
		for (let i = 0; i < 2500; i++)
		{
			const rel = `many/d${i % 10}/k${String(i).padStart(5, '0')}.txt`;
			fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
			fs.writeFileSync(path.join(root, rel), 'x');
			all.push(rel);
		}
		execFileSync('chown', ['-R', 'postgres:postgres', root]);
		const rows = await sql('SELECT path FROM dlake.list($1)', [url('many/')]);
		assert.equal(rows.length, 2500);
		assert.deepEqual(rows.map((r) => r.path), all.map(url).sort());
		const [{ d }] = await sql('SELECT dlake.delete($1) AS d', [url('many/')]);
		assert.equal(d, 2500);
		assert.deepEqual(walk(dir), []);
	});
});

describe('streaming writes', () => {
	test('a 200 MB streaming write is byte-exact and atomic', async () => {
		const size = 200 * 1024 * 1024;
		const [{ n }] = await sql('SELECT dlake.write_generated($1, $2, NULL, 42) AS n', [url('big/200mb.bin'), size]);
		assert.equal(n, size);
		const p = path.join(root, 'big/200mb.bin');
		assert.equal(fs.statSync(p).size, size);
		assert.equal(fileSha256(p), generatedSha256(size, 42));
		assert.deepEqual(walk(path.join(root, 'big')), [p], 'no temp file left');
		fs.rmSync(p);
	});

	test('a cancelled write stops within 2 s and leaves nothing', async () => {
		const c = await pg();
		try
		{
			const { rows: [{ pid }] } = await c.query('SELECT pg_backend_pid() AS pid');
			const running = c.query('SELECT dlake.write_generated($1, $2)', [url('cancel/huge.bin'), 20 * 1024 ** 3])
				.then(() => null, (e) => e);
			/* wait until the temp file is growing */
			await waitFor(() => fs.existsSync(path.join(root, 'cancel')) &&
				fs.readdirSync(path.join(root, 'cancel')).some((f) => f.startsWith('.dlake-tmp-')), 20000, 20, 'the temp file');
			const t0 = Date.now();
			await sql('SELECT pg_cancel_backend($1)', [pid]);
			const err = await running;
			const elapsed = Date.now() - t0;
			assert.ok(err, 'the write failed');
			assert.equal(err.code, '57014', err.message);
			assert.ok(elapsed < 2000, `stopped after ${elapsed} ms`);
			assert.deepEqual(fs.readdirSync(path.join(root, 'cancel')), [], 'no object and no temp file');
		}
		finally
		{
			await c.end();
		}
	});
});
