/*
 * test/lib/stack.mjs — helpers for integration tests against the dlake test
 * stack started by scripts/stack.sh (PostgreSQL with dlake preloaded, s3rver
 * and kinesalite behind SigV4-verifying proxies).
 *
 * The stack is found through $DLAKE_STACK_DIR/env.json (default
 * /tmp/dlake-stack).  Every helper uses 127.0.0.1 only.
 *
 *   import { env, pg, sql, s3, kinesis, faults, proxyLog, resetProxy,
 *            createLakeServer, ensureExtension, startExtraCluster, waitFor }
 *     from '../lib/stack.mjs';
 */
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

import pgLib from 'pg';
import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { Hash } from '@smithy/hash-node';

/* The SDK warns about Node 20 on every client; the warning is noise here. */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/* bigint (int8) as JS string would surprise; return numbers when safe */
pgLib.types.setTypeParser(20, (v) => {
	const n = Number(v);
	return Number.isSafeInteger(n) ? n : BigInt(v);
});

export const STACK_DIR = process.env.DLAKE_STACK_DIR || '/tmp/dlake-stack';
export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

function loadEnv()
{
	const file = path.join(STACK_DIR, 'env.json');
	if (!fs.existsSync(file))
		return null;
	return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/*
 * The stack's environment (see docs/testing.md).  Throws a clear error on
 * first use when no stack runs, so that a missing stack is not mistaken for
 * a test failure's cause.
 */
const loaded = loadEnv();
export const stackRunning = loaded !== null;
export const env = new Proxy(loaded || {}, {
	get(target, prop)
	{
		if (typeof prop === 'string' && prop.startsWith('DLAKE_') || ['PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE'].includes(prop))
		{
			if (!loaded)
				throw new Error(`no dlake test stack in ${STACK_DIR}: run "DLAKE_STACK_DIR=${STACK_DIR} scripts/stack.sh start"`);
		}
		return target[prop];
	},
});

/* the three key pairs the proxies accept */
export const keys = loaded ? {
	primary: { accessKeyId: loaded.DLAKE_TEST_ACCESS_KEY_ID, secretAccessKey: loaded.DLAKE_TEST_SECRET_ACCESS_KEY },
	secondary: { accessKeyId: loaded.DLAKE_TEST2_ACCESS_KEY_ID, secretAccessKey: loaded.DLAKE_TEST2_SECRET_ACCESS_KEY },
	session: {
		accessKeyId: loaded.DLAKE_TEST_SESSION_ACCESS_KEY_ID,
		secretAccessKey: loaded.DLAKE_TEST_SESSION_SECRET_ACCESS_KEY,
		sessionToken: loaded.DLAKE_TEST_SESSION_TOKEN,
	},
} : {};

/* ---------------------------------------------------------------- PostgreSQL */

/* A connected pg.Client on the stack's test database (or opts.database). */
export async function pg(opts = {})
{
	const client = new pgLib.Client({
		host: env.PGHOST, port: Number(env.PGPORT), user: env.PGUSER,
		database: env.PGDATABASE, application_name: 'dlake-test', ...opts,
	});
	await client.connect();
	/* a server-side error on an idle client must not crash the test process */
	client.on('error', () => {});
	return client;
}

let pool = null;

/* Run one statement on a shared pool; returns the rows. */
export async function sql(text, params = [])
{
	if (!pool)
	{
		pool = new pgLib.Pool({
			host: env.PGHOST, port: Number(env.PGPORT), user: env.PGUSER,
			database: env.PGDATABASE, max: 4, idleTimeoutMillis: 1000,
			allowExitOnIdle: true, application_name: 'dlake-test',
		});
		pool.on('error', () => {});
	}
	const r = await pool.query(text, params);
	return r.rows;
}

/* Close the shared pool (optional: it never keeps the process alive). */
export async function closePool()
{
	if (pool)
	{
		const p = pool;
		pool = null;
		await p.end();
	}
}

/* CREATE EXTENSION IF NOT EXISTS dlake (CASCADE) on the given client. */
export async function ensureExtension(client)
{
	if (client)
		await client.query('CREATE EXTENSION IF NOT EXISTS dlake CASCADE');
	else
		await sql('CREATE EXTENSION IF NOT EXISTS dlake CASCADE');
}

/* Does a function exist?  name may be schema-qualified ('dlake.write_text'). */
export async function hasFunction(client, name)
{
	const q = 'SELECT count(*) AS n FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace ' +
		'WHERE p.proname = $1 AND ($2::text IS NULL OR n.nspname = $2)';
	const [schema, fn] = name.includes('.') ? name.split('.') : [null, name];
	const rows = client ? (await client.query(q, [fn, schema])).rows : await sql(q, [fn, schema]);
	return Number(rows[0].n) > 0;
}

function quoteLiteral(s)
{
	return `'${String(s).replace(/'/g, "''")}'`;
}

function quoteIdent(s)
{
	return `"${String(s).replace(/"/g, '""')}"`;
}

/*
 * Create (or re-create) a dlake foreign server pointing at the stack's
 * proxies, plus a user mapping for CURRENT_USER with the test keys.
 * Returns false (and does nothing) when dlake_fdw does not exist yet.
 *
 * opts: { credentials: {accessKeyId, secretAccessKey, sessionToken},
 *         serverOptions: {name: value}, mappingOptions: {name: value},
 *         user: 'CURRENT_USER' | role name }
 */
export async function createLakeServer(client, name = 'lake', opts = {})
{
	const run = (q) => (client ? client.query(q) : sql(q));
	const res = client
		? (await client.query("SELECT 1 FROM pg_foreign_data_wrapper WHERE fdwname = 'dlake_fdw'")).rows
		: await sql("SELECT 1 FROM pg_foreign_data_wrapper WHERE fdwname = 'dlake_fdw'");
	if (res.length === 0)
		return false;
	const creds = opts.credentials || keys.primary;
	const serverOptions = {
		endpoint: env.DLAKE_S3_ENDPOINT,
		region: env.DLAKE_REGION,
		path_style: 'true',
		kinesis_endpoint: env.DLAKE_KINESIS_ENDPOINT,
		...(opts.serverOptions || {}),
	};
	const mappingOptions = {
		access_key_id: creds.accessKeyId,
		secret_access_key: creds.secretAccessKey,
		...(creds.sessionToken ? { session_token: creds.sessionToken } : {}),
		...(opts.mappingOptions || {}),
	};
	const fmt = (o) => Object.entries(o).filter(([, v]) => v !== undefined && v !== null)
		.map(([k, v]) => `${k} ${quoteLiteral(v)}`).join(', ');
	const user = opts.user || 'CURRENT_USER';
	const userSql = user === 'CURRENT_USER' || user === 'PUBLIC' ? user : quoteIdent(user);
	await run(`DROP SERVER IF EXISTS ${quoteIdent(name)} CASCADE`);
	await run(`CREATE SERVER ${quoteIdent(name)} FOREIGN DATA WRAPPER dlake_fdw OPTIONS (${fmt(serverOptions)})`);
	await run(`CREATE USER MAPPING FOR ${userSql} SERVER ${quoteIdent(name)} OPTIONS (${fmt(mappingOptions)})`);
	return true;
}

/* ---------------------------------------------------------------- AWS clients */

/*
 * An S3 client through the verifying proxy (path style, test keys).
 * Checksums only when required: s3rver knows nothing of the flexible
 * checksum trailers newer SDKs add by default.
 */
export function s3(opts = {})
{
	return new S3Client({
		endpoint: env.DLAKE_S3_ENDPOINT,
		region: env.DLAKE_REGION,
		forcePathStyle: true,
		credentials: keys.primary,
		requestChecksumCalculation: 'WHEN_REQUIRED',
		responseChecksumValidation: 'WHEN_REQUIRED',
		...opts,
	});
}

/* A Kinesis client through the verifying proxy (HTTP/1.1 handler). */
export function kinesis(opts = {})
{
	return new KinesisClient({
		endpoint: env.DLAKE_KINESIS_ENDPOINT,
		region: env.DLAKE_REGION,
		credentials: keys.primary,
		requestHandler: new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 30000 }),
		...opts,
	});
}

/*
 * The SDK's own retry strategy with a short linear backoff (delayMs *
 * attempt) instead of the standard exponential one (500 ms base for
 * throttling), so that fault-injection tests stay fast:
 *   s3({ retryStrategy: fastRetry(10) })
 */
export function fastRetry(maxAttempts = 10, delayMs = 20)
{
	return new ConfiguredRetryStrategy(maxAttempts, (attempt) => delayMs * attempt);
}

/* Create a bucket; an existing bucket is fine. */
export async function createBucket(name, client = s3())
{
	try
	{
		await client.send(new CreateBucketCommand({ Bucket: name }));
	}
	catch (e)
	{
		if (e.name !== 'BucketAlreadyOwnedByYou' && e.name !== 'BucketAlreadyExists')
			throw e;
	}
	return name;
}

/* A fresh lower-case name for a bucket, stream, table or prefix. */
export function uniqueName(prefix = 't')
{
	return `${prefix}-${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}`.toLowerCase();
}

/* Where s3rver keeps an object on disk. */
export function s3ObjectPath(bucket, key)
{
	return path.join(env.DLAKE_S3_DIR, bucket, `${key}._S3rver_object`);
}

/*
 * One raw HTTP request, SigV4-signed with AWS's signer unless sign is false:
 * for tests that need to see exact status codes and bodies, or to send what
 * an SDK would not (wrong payload hash, missing headers, ...).
 *
 * opts: {service: 's3'|'kinesis', method, path (already URI-encoded),
 *        query: {k: v}, headers, body (string|Buffer), credentials,
 *        endpoint, payloadHash (overrides x-amz-content-sha256 for s3),
 *        sign: true, signingDate: Date, timeoutMs}
 * Resolves {status, headers, body (string)}; rejects on socket errors.
 */
export async function rawRequest(opts = {})
{
	const service = opts.service || 's3';
	const endpoint = new URL(opts.endpoint || (service === 's3' ? env.DLAKE_S3_ENDPOINT : env.DLAKE_KINESIS_ENDPOINT));
	const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
	let request = {
		method: opts.method || 'GET',
		protocol: endpoint.protocol,
		hostname: endpoint.hostname,
		port: Number(endpoint.port),
		path: opts.path || '/',
		query: opts.query || {},
		headers: { host: endpoint.host, ...(opts.headers || {}) },
		body,
	};
	if (service === 's3' && !('x-amz-content-sha256' in request.headers))
		request.headers['x-amz-content-sha256'] = opts.payloadHash ||
			crypto.createHash('sha256').update(body || Buffer.alloc(0)).digest('hex');
	if (body)
		request.headers['content-length'] = String(body.length);
	if (opts.sign !== false)
	{
		const signer = new SignatureV4({
			service, region: env.DLAKE_REGION, credentials: opts.credentials || keys.primary,
			sha256: Hash.bind(null, 'sha256'), uriEscapePath: service !== 's3', applyChecksum: false,
		});
		request = await signer.sign(request, { signingDate: opts.signingDate || new Date() });
	}
	const esc = (x) => encodeURIComponent(x).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
	const qs = Object.entries(request.query).map(([k, v]) => `${esc(k)}=${esc(v)}`).join('&');
	return new Promise((resolve, reject) => {
		const req = http.request({
			host: endpoint.hostname, port: endpoint.port, method: request.method,
			path: request.path + (qs ? `?${qs}` : ''), headers: request.headers, agent: false,
		}, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
			res.on('error', reject);
		});
		req.on('error', reject);
		if (opts.timeoutMs)
			req.setTimeout(opts.timeoutMs, () => req.destroy(new Error(`timeout after ${opts.timeoutMs} ms`)));
		req.end(body);
	});
}

/* ---------------------------------------------------------------- proxies */

function adminBase(proxy)
{
	if (proxy === 's3')
		return env.DLAKE_S3_PROXY_ADMIN;
	if (proxy === 'kinesis')
		return env.DLAKE_KINESIS_PROXY_ADMIN;
	throw new Error(`unknown proxy "${proxy}" (use "s3" or "kinesis")`);
}

async function admin(proxy, method, route, body)
{
	const r = await fetch(`${adminBase(proxy)}/${route}`, {
		method,
		headers: body ? { 'content-type': 'application/json' } : {},
		body: body ? JSON.stringify(body) : undefined,
	});
	const out = await r.json();
	if (!r.ok)
		throw new Error(`proxy admin ${method} ${route}: ${out.error || r.status}`);
	return out;
}

/*
 * Set the fault spec of a proxy ('s3' or 'kinesis'):
 * {slowdown, status500, drop, blackhole, throttle: rate 0..1,
 *  delayMs, match: regex on "METHOD /path?query" or X-Amz-Target, count}.
 * An empty spec or null clears faults.
 */
export async function faults(proxy, spec)
{
	if (!spec || Object.keys(spec).length === 0)
		return admin(proxy, 'DELETE', 'faults');
	return admin(proxy, 'POST', 'faults', spec);
}

/* The proxy's request log and counters; since = last seen entry id. */
export async function proxyLog(proxy, since = 0)
{
	return admin(proxy, 'GET', `log?since=${since}`);
}

/* Clear log, counters and faults of one proxy, or of both. */
export async function resetProxy(proxy)
{
	if (proxy)
		return admin(proxy, 'POST', 'reset');
	await admin('s3', 'POST', 'reset');
	await admin('kinesis', 'POST', 'reset');
	return null;
}

/* Teach both proxies a new key (e.g. temporary credentials from a fake STS). */
export async function addProxyKey(key)
{
	await admin('s3', 'POST', 'keys', key);
	await admin('kinesis', 'POST', 'keys', key);
}

export async function removeProxyKey(accessKeyId)
{
	await admin('s3', 'DELETE', `keys?accessKeyId=${encodeURIComponent(accessKeyId)}`);
	await admin('kinesis', 'DELETE', `keys?accessKeyId=${encodeURIComponent(accessKeyId)}`);
}

/* ---------------------------------------------------------------- stack control */

/* Run scripts/stack.sh with this stack's directory, e.g. stackCtl('restart-pg'). */
export function stackCtl(...args)
{
	const r = spawnSync('bash', [path.join(ROOT, 'scripts/stack.sh'), ...args], {
		env: { ...process.env, DLAKE_STACK_DIR: STACK_DIR },
		encoding: 'utf8',
	});
	if (r.status !== 0)
		throw new Error(`scripts/stack.sh ${args.join(' ')} failed: ${r.stderr}`);
	return r.stdout;
}

/* Restart the stack's PostgreSQL (e.g. after a test killed it). */
export function restartPg()
{
	stackCtl('restart-pg');
}

/* Poll fn until it returns a truthy value; that value is returned. */
export async function waitFor(fn, timeoutMs = 10000, intervalMs = 100, what = 'condition')
{
	const deadline = Date.now() + timeoutMs;
	let last;
	for (;;)
	{
		try
		{
			const v = await fn();
			if (v)
				return v;
		}
		catch (e)
		{
			last = e;
		}
		if (Date.now() > deadline)
			throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
		await new Promise((r) => setTimeout(r, intervalMs));
	}
}

function freePort()
{
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

/*
 * Start a throwaway PostgreSQL 15 cluster (as the postgres OS user, dlake
 * preloaded, free port) with exactly the given server environment and
 * settings.  For tests of the credential chain from the server's environment
 * and of restarts.
 *
 *   const c = await startExtraCluster({ env: {AWS_ACCESS_KEY_ID: ...},
 *                                      settings: {'dlake.region': 'eu-west-1'} });
 *   const client = await c.client();  ...  await c.stop();
 *
 * Returns {port, dataDir, logFile, home, client(opts), sql(text, params),
 *          restart({env, settings}), stop()}.  HOME of the server is a
 * private postgres-owned directory (c.home) for ~/.aws tests.
 */
export async function startExtraCluster({ env: serverEnv = {}, settings = {}, name, preload = 'dlake' } = {})
{
	const PGBIN = '/usr/lib/postgresql/15/bin';
	const id = name || uniqueName('pg');
	const base = path.join(STACK_DIR, 'extra', id);
	const dataDir = path.join(base, 'pgdata');
	const home = path.join(base, 'home');
	const logFile = path.join(base, 'postgresql.log');
	const port = await freePort();

	const asPg = (cmd, cmdArgs, extraEnv, opts = {}) => {
		const envWords = Object.entries({
			PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', TZ: 'UTC', HOME: home, ...extraEnv,
		}).map(([k, v]) => `${k}=${v}`);
		return execFileSync('runuser', ['-u', 'postgres', '--', 'env', '-i', ...envWords, cmd, ...cmdArgs],
			{ encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
	};

	fs.mkdirSync(base, { recursive: true });
	fs.mkdirSync(home, { recursive: true });
	execFileSync('chown', ['-R', 'postgres:postgres', base]);
	asPg(path.join(PGBIN, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8'], {});

	const writeConf = (extraSettings) => {
		const all = {
			listen_addresses: '127.0.0.1', port, unix_socket_directories: base,
			shared_preload_libraries: preload, fsync: 'off', synchronous_commit: 'off',
			full_page_writes: 'off', max_worker_processes: 16, shared_buffers: '32MB',
			timezone: 'UTC', lc_messages: 'C', ...extraSettings,
		};
		const lines = Object.entries(all).map(([k, v]) => `${k} = ${quoteLiteral(v)}`);
		fs.writeFileSync(path.join(dataDir, 'dlake_test_extra.conf'), lines.join('\n') + '\n');
		execFileSync('chown', ['postgres:postgres', path.join(dataDir, 'dlake_test_extra.conf')]);
	};
	fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), "\ninclude = 'dlake_test_extra.conf'\n");
	writeConf(settings);

	let currentEnv = serverEnv;
	const start = () => {
		try
		{
			asPg(path.join(PGBIN, 'pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-t', '60', 'start'], currentEnv);
		}
		catch (e)
		{
			const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
			throw new Error(`extra cluster did not start: ${e.message}\n${log}`);
		}
	};
	const stop = () => {
		if (!fs.existsSync(path.join(dataDir, 'postmaster.pid')))
			return;
		try
		{
			asPg(path.join(PGBIN, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop'], {});
		}
		catch
		{
			/* already gone */
		}
	};
	start();

	const cluster = {
		port, dataDir, logFile, home,
		client: (opts = {}) => pg({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', ...opts }),
		async sql(text, params = [])
		{
			const c = await cluster.client();
			try
			{
				return (await c.query(text, params)).rows;
			}
			finally
			{
				await c.end();
			}
		},
		async restart({ env: newEnv, settings: newSettings } = {})
		{
			stop();
			if (newEnv)
				currentEnv = newEnv;
			if (newSettings)
				writeConf(newSettings);
			start();
		},
		async stop()
		{
			stop();
		},
		/* stop and delete the cluster's files */
		async destroy()
		{
			stop();
			fs.rmSync(base, { recursive: true, force: true });
		},
	};
	return cluster;
}
