/*
 * docs_coverage.test.mjs — the manual stays in step with the code.
 *
 * Every object the installed extension exposes must be documented in
 * docs/*.md (the project rule, issue 8):
 *   - every function of schema dlake (names starting with "_" are internal
 *     and skipped; docs/reference.md states that rule),
 *   - every view and catalog table of schema dlake (same "_" rule),
 *   - every GUC reported by pg_settings under "dlake.",
 *   - every dlake_fdw option, parsed from the option table in
 *     src/fdw/options.c (the table the validator checks against).
 *
 * "Documented" means: the name appears in a heading, a fenced code block or
 * an inline code span of some docs page.  Functions and GUCs must also have
 * an example: a ```sql block mentioning them.  Every name must also appear
 * in docs/reference.md, the index.  Failures list the missing names.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { sql, closePool, ROOT } from '../lib/stack.mjs';

const DOCS = path.join(ROOT, 'docs');

/* ------------------------------------------------------------ the manual */

/*
 * Split one markdown page into the places a name counts in: fenced blocks
 * (with their language), inline code spans and headings.
 */
function parsePage(text)
{
	const fenced = [];
	const inline = [];
	const headings = [];
	const lines = text.split('\n');
	let inFence = null;

	for (const line of lines)
	{
		const fence = line.match(/^\s*(```+|~~~+)\s*([A-Za-z0-9_+-]*)/);
		if (inFence)
		{
			if (fence && fence[1][0] === inFence.marker[0] && fence[1].length >= inFence.marker.length && fence[2] === '')
			{
				fenced.push({ lang: inFence.lang, text: inFence.body.join('\n') });
				inFence = null;
			}
			else
				inFence.body.push(line);
			continue;
		}
		if (fence)
		{
			inFence = { marker: fence[1], lang: fence[2].toLowerCase(), body: [] };
			continue;
		}
		if (/^#{1,6}\s/.test(line))
			headings.push(line);
		for (const m of line.matchAll(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g))
			inline.push(m[2]);
	}
	if (inFence)
		fenced.push({ lang: inFence.lang, text: inFence.body.join('\n') });
	return { fenced, inline, headings };
}

const pages = fs.readdirSync(DOCS)
	.filter((f) => f.endsWith('.md'))
	.map((f) => ({ file: f, ...parsePage(fs.readFileSync(path.join(DOCS, f), 'utf8')) }));

function escapeRe(s)
{
	return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/* "name" as a whole identifier (dots belong to qualified names) */
function wordRe(name)
{
	return new RegExp(`(?<![A-Za-z0-9_.])${escapeRe(name)}(?![A-Za-z0-9_])`);
}

/*
 * Matchers per kind of object.  A function counts as mentioned when
 * written "dlake.name" or called "name(" — a bare word like "list" or
 * "delete" would match prose.  Tables and views count as "dlake.name" or
 * an inline code span naming them alone.  GUCs by their full name; FDW
 * options as a whole word in code (they are lower-case identifiers).
 */
function matcher(kind, name)
{
	const qualified = new RegExp(`(?<![A-Za-z0-9_])dlake\\.${escapeRe(name)}(?![A-Za-z0-9_])`);
	switch (kind)
	{
		case 'function':
		{
			const call = new RegExp(`(?<![A-Za-z0-9_.])${escapeRe(name)}\\s*\\(`);
			return {
				code: (t) => qualified.test(t) || call.test(t),
				inline: (t) => qualified.test(t) || call.test(t) || t.trim() === name,
				heading: (t) => qualified.test(t) || call.test(t) || wordRe(name).test(t),
			};
		}
		case 'relation':
			return {
				code: (t) => qualified.test(t),
				inline: (t) => qualified.test(t) || t.trim() === name,
				heading: (t) => qualified.test(t) || wordRe(name).test(t),
			};
		case 'guc':
		{
			const re = new RegExp(`(?<![A-Za-z0-9_])${escapeRe(name)}(?![A-Za-z0-9_])`);
			return { code: (t) => re.test(t), inline: (t) => re.test(t), heading: (t) => re.test(t) };
		}
		case 'option':
		default:
		{
			const re = wordRe(name);
			return { code: (t) => re.test(t), inline: (t) => re.test(t), heading: (t) => re.test(t) };
		}
	}
}

function mentionedIn(page, kind, name)
{
	const m = matcher(kind, name);
	return page.fenced.some((b) => m.code(b.text))
		|| page.inline.some((t) => m.inline(t))
		|| page.headings.some((h) => m.heading(h));
}

function documented(kind, name)
{
	return pages.some((p) => p.file !== 'reference.md' && mentionedIn(p, kind, name));
}

function inReference(kind, name)
{
	return pages.some((p) => p.file === 'reference.md' && mentionedIn(p, kind, name));
}

function hasSqlExample(kind, name)
{
	const m = matcher(kind, name);
	return pages.some((p) => p.file !== 'reference.md'
		&& p.fenced.some((b) => (b.lang === 'sql' || b.lang === 'psql') && m.code(b.text)));
}

/* ------------------------------------------------------------ the code */

/*
 * The option table of src/fdw/options.c: lines like
 *     {"region", ForeignServerRelationId, DLAKE_OPT_STRING},
 */
function fdwOptions()
{
	const src = fs.readFileSync(path.join(ROOT, 'src/fdw/options.c'), 'utf8');
	const table = src.match(/dlake_fdw_options\[\]\s*=\s*\{([\s\S]*?)\n\};/);
	assert.ok(table, 'option table dlake_fdw_options[] not found in src/fdw/options.c');
	const opts = [];
	for (const m of table[1].matchAll(/\{\s*"([A-Za-z0-9_]+)"\s*,\s*([A-Za-z]+RelationId)\s*,/g))
		opts.push({ name: m[1], catalog: m[2] });
	assert.ok(opts.length >= 10, `only ${opts.length} options parsed from src/fdw/options.c`);
	return opts;
}

async function catalog()
{
	await sql('CREATE EXTENSION IF NOT EXISTS dlake CASCADE');
	const fns = await sql(`
		SELECT DISTINCT p.proname AS name
		  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		 WHERE n.nspname = 'dlake' AND p.proname NOT LIKE '\\_%'
		 ORDER BY 1`);
	const views = await sql(`
		SELECT viewname AS name FROM pg_views
		 WHERE schemaname = 'dlake' AND viewname NOT LIKE '\\_%' ORDER BY 1`);
	const tables = await sql(`
		SELECT c.relname AS name
		  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname = 'dlake' AND c.relkind IN ('r', 'p')
		   AND c.relname NOT LIKE '\\_%' ORDER BY 1`);
	const gucs = await sql(`SELECT name FROM pg_settings WHERE name LIKE 'dlake.%' ORDER BY 1`);
	return {
		functions: fns.map((r) => r.name),
		views: views.map((r) => r.name),
		tables: tables.map((r) => r.name),
		gucs: gucs.map((r) => r.name),
		options: fdwOptions().map((o) => o.name),
	};
}

let cat;
async function objects()
{
	if (!cat)
		cat = await catalog();
	return cat;
}

after(async () => {
	await closePool();
});

/*
 * Collect the missing names of several checks, then fail once with all of
 * them: one run shows everything that is left to document.
 */
function checker()
{
	const problems = [];
	return {
		check(kind, what, names, pred)
		{
			const missing = [...new Set(names)].filter((n) => !pred(kind, n));
			if (missing.length > 0)
				problems.push(`${what} (${missing.length}): ${missing.join(', ')}`);
		},
		done()
		{
			assert.deepEqual(problems, [], `missing:\n  ${problems.join('\n  ')}`);
		},
	};
}

test('the catalog queries find the objects (sanity)', async () => {
	const c = await objects();
	assert.ok(c.functions.length > 20, `only ${c.functions.length} functions in schema dlake`);
	assert.ok(c.tables.length > 5, `only ${c.tables.length} tables in schema dlake`);
	assert.ok(c.gucs.length > 5, `only ${c.gucs.length} dlake.* settings`);
	assert.ok(c.options.includes('location') && c.options.includes('access_key_id'));
	/* the matcher itself can fail: an invented name is not documented */
	assert.equal(documented('function', 'no_such_function_xyz'), false);
	assert.equal(documented('guc', 'dlake.no_such_setting'), false);
});

test('every dlake function is documented, with a ```sql example', async () => {
	const c = await objects();
	const k = checker();
	k.check('function', 'functions not documented in docs/*.md', c.functions, documented);
	k.check('function', 'functions without a ```sql example', c.functions, hasSqlExample);
	k.done();
});

test('every dlake view and catalog table is documented', async () => {
	const c = await objects();
	const k = checker();
	k.check('relation', 'views not documented in docs/*.md', c.views, documented);
	k.check('relation', 'tables not documented in docs/*.md', c.tables, documented);
	k.done();
});

test('every dlake.* GUC is documented, with a ```sql example', async () => {
	const c = await objects();
	const k = checker();
	k.check('guc', 'GUCs not documented in docs/*.md', c.gucs, documented);
	k.check('guc', 'GUCs without a ```sql example', c.gucs, hasSqlExample);
	k.done();
});

test('every dlake_fdw option (src/fdw/options.c) is documented', async () => {
	const c = await objects();
	const k = checker();
	k.check('option', 'FDW options not documented in docs/*.md', c.options, documented);
	k.done();
});

test('docs/reference.md indexes every function, view, table, GUC and FDW option', async () => {
	const c = await objects();
	const k = checker();
	k.check('function', 'functions missing from docs/reference.md', c.functions, inReference);
	k.check('relation', 'views missing from docs/reference.md', c.views, inReference);
	k.check('relation', 'tables missing from docs/reference.md', c.tables, inReference);
	k.check('guc', 'GUCs missing from docs/reference.md', c.gucs, inReference);
	k.check('option', 'FDW options missing from docs/reference.md', c.options, inReference);
	k.done();
});

/* GitHub's heading anchors: lower case, punctuation dropped, spaces → '-' */
function anchorsOf(file)
{
	const seen = new Map();
	const out = new Set();
	let fence = false;
	for (const line of fs.readFileSync(file, 'utf8').split('\n'))
	{
		if (/^\s*```/.test(line))
		{
			fence = !fence;
			continue;
		}
		if (fence || !/^#{1,6}\s/.test(line))
			continue;
		const a = line.replace(/^#+/, '').trim().toLowerCase()
			.replace(/[^\p{L}\p{N}_\- ]/gu, '').replace(/ /g, '-');
		const n = seen.get(a) || 0;
		seen.set(a, n + 1);
		out.add(n ? `${a}-${n}` : a);
	}
	return out;
}

test('docs/README.md links every page; relative links and anchors resolve', () => {
	const files = fs.readdirSync(DOCS).filter((f) => f.endsWith('.md'));
	const readme = fs.readFileSync(path.join(DOCS, 'README.md'), 'utf8');
	const unlinked = files.filter((f) => f !== 'README.md'
		&& !readme.includes(`(${f})`) && !readme.includes(`(${f}#`));
	const broken = [];
	for (const f of files)
	{
		const text = fs.readFileSync(path.join(DOCS, f), 'utf8').replace(/```[\s\S]*?```/g, '');
		for (const m of text.matchAll(/\]\(([^)\s]+)\)/g))
		{
			const target = m[1];
			if (/^[a-z]+:/.test(target))
				continue;
			const [p, a] = target.split('#');
			const file = p ? path.resolve(DOCS, p) : path.join(DOCS, f);
			if (!fs.existsSync(file))
				broken.push(`${f}: ${target} (no such file)`);
			else if (a && file.endsWith('.md') && !anchorsOf(file).has(a))
				broken.push(`${f}: ${target} (no such heading)`);
		}
	}
	assert.deepEqual({ unlinked, broken }, { unlinked: [], broken: [] });
});
