/*
 * credentials.test.mjs — the AWS credential chain of the server process.
 *
 * The test serves a fake EC2 instance metadata service (IMDSv2), a fake
 * container credentials endpoint and a fake STS (AssumeRole and
 * AssumeRoleWithWebIdentity) from this node process on 127.0.0.1, starts an
 * extra PostgreSQL cluster with a chosen environment for each provider, and
 * asks dlake.resolve_credentials() (internal, superuser-only; never returns
 * the secret) which credentials won:
 *   environment keys, shared files and profiles, web identity -> STS with the
 *   token, container credentials with the authorization token, IMDSv2 (token
 *   PUT first), role_arn -> AssumeRole on top (signature checked with AWS's
 *   own signer), caching and refresh before expiry, and clear errors.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';

import { startExtraCluster, stackRunning } from '../lib/stack.mjs';

const ENV_KEY = 'AKIAENVIRONMENT01';
const ENV_SECRET = 'env/secret+key/0001';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/dlake-top';
const WEB_ROLE_ARN = 'arn:aws:iam::123456789012:role/dlake-web';
const WEB_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.web-identity-token.signature';
const CONTAINER_TOKEN = 'container-auth-token-42';

/* ------------------------------------------------------------ fake services */

const log = [];
let stsExpiresInSec = 3600;
let stsCounter = 0;
let imdsToken = null;

function iso(ms)
{
	return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function stsAnswer(res, action)
{
	stsCounter++;
	const key = `ASIASTS${action === 'AssumeRole' ? 'ROLE' : 'WEB'}${String(stsCounter).padStart(4, '0')}`;
	const body = `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">` +
		`<${action}Result><Credentials><AccessKeyId>${key}</AccessKeyId>` +
		`<SecretAccessKey>sts/secret/${stsCounter}</SecretAccessKey>` +
		`<SessionToken>sts-session-token-${stsCounter}&amp;more</SessionToken>` +
		`<Expiration>${iso(Date.now() + stsExpiresInSec * 1000)}</Expiration></Credentials>` +
		`<AssumedRoleUser><AssumedRoleId>AROA:dlake</AssumedRoleId><Arn>x</Arn></AssumedRoleUser>` +
		`</${action}Result><ResponseMetadata><RequestId>req-${stsCounter}</RequestId></ResponseMetadata>` +
		`</${action}Response>`;
	res.writeHead(200, { 'content-type': 'text/xml' });
	res.end(body);
}

function handle(req, res, body)
{
	const entry = { method: req.method, url: req.url, headers: req.headers, body, at: Date.now() };
	log.push(entry);
	const json = (status, obj) => {
		res.writeHead(status, { 'content-type': 'application/json' });
		res.end(JSON.stringify(obj));
	};

	/* IMDSv2 */
	if (req.method === 'PUT' && req.url === '/latest/api/token')
	{
		if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds'])
			return json(400, { error: 'missing ttl' });
		imdsToken = crypto.randomBytes(8).toString('hex');
		res.writeHead(200, { 'content-type': 'text/plain' });
		return res.end(imdsToken);
	}
	if (req.url.startsWith('/latest/meta-data/iam/security-credentials/'))
	{
		if (!imdsToken || req.headers['x-aws-ec2-metadata-token'] !== imdsToken)
		{
			res.writeHead(401);
			return res.end();
		}
		const role = req.url.slice('/latest/meta-data/iam/security-credentials/'.length);
		if (role === '')
		{
			res.writeHead(200, { 'content-type': 'text/plain' });
			return res.end('dlake-instance-role\n');
		}
		if (role !== 'dlake-instance-role')
			return json(404, {});
		return json(200, {
			Code: 'Success', LastUpdated: iso(Date.now()), Type: 'AWS-HMAC',
			AccessKeyId: 'ASIAIMDS0001', SecretAccessKey: 'imds/secret', Token: 'imds-token-value',
			Expiration: iso(Date.now() + 6 * 3600 * 1000),
		});
	}

	/* container credentials */
	if (req.method === 'GET' && req.url === '/container/creds')
	{
		if (req.headers.authorization !== CONTAINER_TOKEN)
			return json(401, { code: 'Unauthorized', message: 'bad token' });
		return json(200, {
			AccessKeyId: 'ASIACONTAINER01', SecretAccessKey: 'container/secret', Token: 'container-session',
			Expiration: iso(Date.now() + 3600 * 1000), RoleArn: 'arn:aws:iam::123456789012:role/task',
		});
	}

	/* STS Query API */
	if (req.method === 'POST' && req.url === '/')
	{
		const form = new URLSearchParams(body);
		entry.form = Object.fromEntries(form);
		const action = form.get('Action');
		if (action === 'AssumeRole' && form.get('RoleArn').endsWith('/denied'))
		{
			res.writeHead(403, { 'content-type': 'text/xml' });
			return res.end('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>' +
				'<Type>Sender</Type><Code>AccessDenied</Code><Message>not allowed to assume the role</Message>' +
				'</Error><RequestId>req-denied</RequestId></ErrorResponse>');
		}
		if (action === 'AssumeRole' || action === 'AssumeRoleWithWebIdentity')
			return stsAnswer(res, action);
	}
	return json(404, { error: 'unknown route' });
}

const server = http.createServer((req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
});
let base;

/* ---------------------------------------------------------------- cluster */

let cluster;
let home;

const settingsFor = (extra = {}) => ({
	'dlake.sts_endpoint': base,
	'dlake.imds_endpoint': 'off',
	'dlake.region': 'us-east-1',
	...extra,
});

async function withEnv(env, settings = settingsFor())
{
	await cluster.restart({ env, settings });
	const c = await cluster.client();
	await c.query('CREATE EXTENSION IF NOT EXISTS dlake CASCADE');
	return c;
}

async function resolve(c, args = '')
{
	return (await c.query(`SELECT * FROM dlake.resolve_credentials(${args})`)).rows[0];
}

function since(t0)
{
	return log.filter((e) => e.at >= t0);
}

before(async () => {
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	base = `http://127.0.0.1:${server.address().port}`;
	if (!stackRunning)
		return;
	cluster = await startExtraCluster({ env: {}, settings: settingsFor() });
	home = cluster.home;
});

after(async () => {
	if (cluster)
		await cluster.destroy();
	server.close();
	server.closeAllConnections?.();
});

/* files readable by the postgres OS user */
function writeFile(p, text)
{
	fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
	fs.writeFileSync(p, text, { mode: 0o644 });
}

describe('credential chain of the server process', () => {
	test('nothing configured: a clear error naming what was tried', async () => {
		const c = await withEnv({});
		try
		{
			await assert.rejects(resolve(c), (e) => {
				assert.equal(e.message, 'could not resolve AWS credentials');
				assert.match(e.detail, /^No AWS credentials found \(tried environment, profile "default" in the shared files, web identity, container, instance metadata \(IMDS\) is disabled\)\.$/);
				return true;
			});
		}
		finally
		{
			await c.end();
		}
	});

	test('environment keys, then AssumeRole on top signed with them', async () => {
		const c = await withEnv({ AWS_ACCESS_KEY_ID: ENV_KEY, AWS_SECRET_ACCESS_KEY: ENV_SECRET });
		try
		{
			const r = await resolve(c);
			assert.deepEqual(r, { access_key_id: ENV_KEY, source: 'environment', expires: null, has_session_token: false });

			const t0 = Date.now();
			stsExpiresInSec = 3600;
			const a = await resolve(c, `role_arn => '${ROLE_ARN}', external_id => 'ext-123'`);
			assert.equal(a.source, 'assume role');
			assert.match(a.access_key_id, /^ASIASTSROLE/);
			assert.equal(a.has_session_token, true);
			assert.ok(Math.abs(a.expires.getTime() - (Date.now() + 3600e3)) < 60e3);

			const calls = since(t0).filter((e) => e.form?.Action === 'AssumeRole');
			assert.equal(calls.length, 1);
			const call = calls[0];
			assert.equal(call.form.RoleArn, ROLE_ARN);
			assert.equal(call.form.ExternalId, 'ext-123');
			assert.equal(call.form.Version, '2011-06-15');
			assert.match(call.form.RoleSessionName, /^[\w+=,.@-]{2,64}$/);

			/* verify dlake's signature with AWS's own signer */
			const auth = call.headers.authorization;
			const m = auth.match(/^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/sts\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/);
			assert.ok(m, `authorization header: ${auth}`);
			assert.equal(m[1], ENV_KEY);
			assert.equal(m[3], 'us-east-1');
			const signed = m[4].split(';');
			assert.ok(signed.includes('host') && signed.includes('x-amz-date') && signed.includes('content-type'));
			const headers = Object.fromEntries(signed.map((h) => [h, call.headers[h]]));
			const signer = new SignatureV4({
				credentials: { accessKeyId: ENV_KEY, secretAccessKey: ENV_SECRET },
				region: 'us-east-1', service: 'sts', sha256: Sha256, applyChecksum: false,
			});
			const amzDate = call.headers['x-amz-date'];
			const when = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
			const expected = await signer.sign({
				method: 'POST', protocol: 'http:', hostname: '127.0.0.1', path: '/', query: {},
				headers, body: call.body,
			}, { signingDate: when });
			assert.equal(m[5], expected.headers.authorization.match(/Signature=([0-9a-f]{64})/)[1]);

			/* a role the base credentials may not assume: STS's error in the message */
			await assert.rejects(resolve(c, "role_arn => 'arn:aws:iam::123456789012:role/denied'"), (e) => {
				assert.match(e.detail, /STS AssumeRole .* failed: AccessDenied: not allowed to assume the role \(HTTP status 403, request id req-denied\)/);
				return true;
			});
		}
		finally
		{
			await c.end();
		}
	});

	test('temporary credentials are cached, and refreshed 5 minutes before expiry', async () => {
		const c = await withEnv({ AWS_ACCESS_KEY_ID: ENV_KEY, AWS_SECRET_ACCESS_KEY: ENV_SECRET });
		try
		{
			const count = (t0) => since(t0).filter((e) => e.form?.Action === 'AssumeRole').length;

			stsExpiresInSec = 3600;
			let t0 = Date.now();
			const a1 = await resolve(c, `role_arn => '${ROLE_ARN}'`);
			const a2 = await resolve(c, `role_arn => '${ROLE_ARN}'`);
			assert.equal(count(t0), 1, 'one hour left: the second call uses the cache');
			assert.equal(a2.access_key_id, a1.access_key_id);

			/* STS hands out credentials that expire in 4 minutes: inside the window */
			await c.query('SELECT dlake.aws_credentials_reset()');
			stsExpiresInSec = 240;
			t0 = Date.now();
			const b1 = await resolve(c, `role_arn => '${ROLE_ARN}'`);
			const b2 = await resolve(c, `role_arn => '${ROLE_ARN}'`);
			assert.equal(count(t0), 2, 'less than 5 minutes left: the next call refreshes');
			assert.notEqual(b2.access_key_id, b1.access_key_id);

			/* 6 minutes left: cached now, refreshed once the window is reached */
			await c.query('SELECT dlake.aws_credentials_reset()');
			stsExpiresInSec = 360;
			t0 = Date.now();
			await resolve(c, `role_arn => '${ROLE_ARN}'`);
			await resolve(c, `role_arn => '${ROLE_ARN}'`);
			assert.equal(count(t0), 1, 'more than 5 minutes left: cached');
		}
		finally
		{
			stsExpiresInSec = 3600;
			await c.end();
		}
	});

	test('environment with a session token', async () => {
		const c = await withEnv({ AWS_ACCESS_KEY_ID: 'ASIAENVTEMP', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 'tok' });
		try
		{
			const r = await resolve(c);
			assert.equal(r.access_key_id, 'ASIAENVTEMP');
			assert.equal(r.has_session_token, true);
		}
		finally
		{
			await c.end();
		}
	});

	test('shared credentials and config files, profiles', async () => {
		writeFile(path.join(home, '.aws/credentials'), [
			'# comment', '[default]', 'aws_access_key_id = AKIAFILEDEFAULT', 'aws_secret_access_key = file/default',
			'', '[analytics]', 'aws_access_key_id=AKIAFILEANALYTICS', 'aws_secret_access_key=file/analytics ; inline comment',
			'aws_session_token = file-token',
			'[procprofile]', 'credential_process = /bin/false',
		].join('\n'));
		writeFile(path.join(home, '.aws/config'), [
			'[default]', 'region = eu-west-3',
			'[profile cfgonly]', 'aws_access_key_id = AKIACONFIGONLY', 'aws_secret_access_key = cfg/only',
			'[cfgonly]', 'aws_access_key_id = AKIANOTAPROFILE', 'aws_secret_access_key = no',
			'[profile chained]', `role_arn = ${ROLE_ARN}`, 'source_profile = analytics', 'external_id = chained-ext',
		].join('\n'));
		const c = await withEnv({});
		try
		{
			assert.deepEqual(await resolve(c), { access_key_id: 'AKIAFILEDEFAULT', source: 'profile', expires: null, has_session_token: false });
			const a = await resolve(c, "profile => 'analytics'");
			assert.equal(a.access_key_id, 'AKIAFILEANALYTICS');
			assert.equal(a.has_session_token, true);
			assert.equal((await resolve(c, "profile => 'cfgonly'")).access_key_id, 'AKIACONFIGONLY',
				'[profile x] in config is a profile, [x] in config is not');

			const t0 = Date.now();
			const ch = await resolve(c, "profile => 'chained'");
			assert.equal(ch.source, 'assume role');
			const call = since(t0).find((e) => e.form?.Action === 'AssumeRole');
			assert.equal(call.form.ExternalId, 'chained-ext');
			assert.match(call.headers.authorization, /Credential=AKIAFILEANALYTICS\//, 'source_profile keys sign the AssumeRole call');

			await assert.rejects(resolve(c, "profile => 'nosuch'"), (e) => {
				assert.match(e.detail, /^Profile "nosuch" not found/);
				return true;
			});
			await assert.rejects(resolve(c, "profile => 'procprofile'"), (e) => {
				assert.match(e.detail, /credential_process, which dlake does not support/);
				return true;
			});
		}
		finally
		{
			await c.end();
		}

		/* AWS_PROFILE picks the profile; environment keys win over files */
		const c2 = await withEnv({ AWS_PROFILE: 'analytics' });
		try
		{
			assert.equal((await resolve(c2)).access_key_id, 'AKIAFILEANALYTICS');
		}
		finally
		{
			await c2.end();
		}
		const c3 = await withEnv({ AWS_ACCESS_KEY_ID: ENV_KEY, AWS_SECRET_ACCESS_KEY: ENV_SECRET });
		try
		{
			assert.equal((await resolve(c3)).source, 'environment');
			/* an explicitly named profile skips the environment, as the SDKs do */
			assert.equal((await resolve(c3, "profile => 'analytics'")).access_key_id, 'AKIAFILEANALYTICS');
		}
		finally
		{
			await c3.end();
		}

		/* AWS_SHARED_CREDENTIALS_FILE points elsewhere */
		const alt = path.join(home, 'alt-credentials');
		writeFile(alt, '[default]\naws_access_key_id = AKIAALTFILE\naws_secret_access_key = alt\n');
		const c4 = await withEnv({ AWS_SHARED_CREDENTIALS_FILE: alt, AWS_CONFIG_FILE: path.join(home, 'none') });
		try
		{
			assert.equal((await resolve(c4)).access_key_id, 'AKIAALTFILE');
		}
		finally
		{
			await c4.end();
			fs.rmSync(path.join(home, '.aws'), { recursive: true, force: true });
		}
	});

	test('web identity token file -> STS AssumeRoleWithWebIdentity (unsigned, token sent)', async () => {
		const tokenFile = path.join(home, 'web-token');
		writeFile(tokenFile, `${WEB_TOKEN}\n`);
		const c = await withEnv({ AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: WEB_ROLE_ARN, AWS_ROLE_SESSION_NAME: 'web-session' });
		try
		{
			const t0 = Date.now();
			const r = await resolve(c);
			assert.equal(r.source, 'web identity');
			assert.match(r.access_key_id, /^ASIASTSWEB/);
			assert.equal(r.has_session_token, true);
			const call = since(t0).find((e) => e.form?.Action === 'AssumeRoleWithWebIdentity');
			assert.ok(call, 'STS was called');
			assert.equal(call.form.WebIdentityToken, WEB_TOKEN);
			assert.equal(call.form.RoleArn, WEB_ROLE_ARN);
			assert.equal(call.form.RoleSessionName, 'web-session');
			assert.equal(call.headers.authorization, undefined, 'AssumeRoleWithWebIdentity is not signed');
		}
		finally
		{
			await c.end();
		}
	});

	test('container credentials with an authorization token', async () => {
		const c = await withEnv({
			AWS_CONTAINER_CREDENTIALS_FULL_URI: `${base}/container/creds`,
			AWS_CONTAINER_AUTHORIZATION_TOKEN: CONTAINER_TOKEN,
		});
		try
		{
			const r = await resolve(c);
			assert.equal(r.source, 'container');
			assert.equal(r.access_key_id, 'ASIACONTAINER01');
			assert.equal(r.has_session_token, true);
		}
		finally
		{
			await c.end();
		}
		const c2 = await withEnv({ AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://192.0.2.1/creds' });
		try
		{
			await assert.rejects(resolve(c2), (e) => {
				assert.match(e.detail, /must use https or a loopback or container metadata address/);
				return true;
			});
		}
		finally
		{
			await c2.end();
		}
	});

	test('IMDSv2: token PUT first, then the role and its credentials', async () => {
		const c = await withEnv({}, settingsFor({ 'dlake.imds_endpoint': base }));
		try
		{
			const t0 = Date.now();
			const r = await resolve(c);
			assert.equal(r.source, 'imds');
			assert.equal(r.access_key_id, 'ASIAIMDS0001');
			const calls = since(t0).filter((e) => e.url.startsWith('/latest/'));
			assert.deepEqual(calls.map((e) => `${e.method} ${e.url}`), [
				'PUT /latest/api/token',
				'GET /latest/meta-data/iam/security-credentials/',
				'GET /latest/meta-data/iam/security-credentials/dlake-instance-role',
			]);
			assert.equal(calls[0].headers['x-aws-ec2-metadata-token-ttl-seconds'], '21600');
			assert.equal(calls[1].headers['x-aws-ec2-metadata-token'], imdsToken);

			/* role_arn on top of the instance role */
			const t1 = Date.now();
			const a = await resolve(c, `role_arn => '${ROLE_ARN}'`);
			assert.equal(a.source, 'assume role');
			assert.match(since(t1).find((e) => e.form?.Action === 'AssumeRole').headers.authorization, /Credential=ASIAIMDS0001\//);
			assert.equal(since(t1).find((e) => e.form?.Action === 'AssumeRole').headers['x-amz-security-token'], 'imds-token-value');
		}
		finally
		{
			await c.end();
		}
	});

	test('an unreachable IMDS gives up within its short timeout', async () => {
		/* 192.0.2.1 (TEST-NET-1) is never routed: the connect hangs */
		const c = await withEnv({}, settingsFor({ 'dlake.imds_endpoint': 'http://192.0.2.1' }));
		try
		{
			const t0 = Date.now();
			await assert.rejects(resolve(c), (e) => {
				assert.match(e.detail, /^No AWS credentials found .*instance metadata at http:\/\/192\.0\.2\.1/);
				return true;
			});
			assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
		}
		finally
		{
			await c.end();
		}
	});
});
