#!/usr/bin/env node
/*
 * sigv4-proxy.mjs — a reverse proxy that verifies AWS Signature Version 4 on
 * every request before forwarding it to an emulator that does not (s3rver,
 * kinesalite), plus runtime fault injection and a request log.
 *
 * Verification rebuilds the canonical request from exactly the headers named
 * in SignedHeaders and re-signs it with AWS's own signer (@smithy/signature-v4)
 * using the secret we know for the access key and the request's own
 * x-amz-date; any difference is answered as AWS would (S3: 403 XML
 * SignatureDoesNotMatch, Kinesis: 400 JSON InvalidSignatureException).
 *
 * S3 specifics: the path is signed as sent (no double encoding, no
 * normalisation), the payload hash comes from x-amz-content-sha256 and is
 * checked against the body, aws-chunked bodies are verified chunk by chunk
 * and decoded, AbortMultipartUpload (which s3rver lacks) is answered here,
 * and suffix ranges (bytes=-N, which s3rver mishandles) are rewritten into
 * absolute ranges.
 *
 * Admin API (no auth, loopback only) under /__dlake/ — a prefix no bucket
 * can use because bucket names cannot contain underscores:
 *   GET  /__dlake/health            {ok, service, port, upstream}
 *   POST /__dlake/faults            set the fault spec (JSON, see below)
 *   GET  /__dlake/faults            current spec and remaining count
 *   DELETE /__dlake/faults          clear faults
 *   GET  /__dlake/log[?since=id]    {entries: [...], counters: {...}}
 *                                   (Kinesis GetShardIterator entries carry
 *                                   iteratorType)
 *   POST /__dlake/reset             clear log, counters, faults
 *   POST /__dlake/keys              add a key {accessKeyId, secretAccessKey, sessionToken?}
 *   DELETE /__dlake/keys?accessKeyId=...  remove a key
 *
 * Fault spec: {"slowdown": rate, "status500": rate, "drop": rate,
 *   "blackhole": rate, "throttle": rate, "delayMs": ms, "match": "regex",
 *   "count": n}.  Rates are probabilities in [0,1]; "match" is tested against
 *   "METHOD /path?query" and against X-Amz-Target; "count" caps the number of
 *   injected faults (delays do not count).
 *   Kinesis only: "expiredIterator": rate answers ExpiredIteratorException;
 *   "putFail": rate fails each PutRecords entry with that probability — the
 *   failed entries are removed from the forwarded request and answered as
 *   ProvisionedThroughputExceededException in their slots (the log entry
 *   gets putFailed); one PutRecords request counts as one fault.  Every
 *   PutRecords log entry has putEntries (the number of entries sent).
 *
 * usage: node sigv4-proxy.mjs --service s3|kinesis --port N --upstream URL
 *        --keys keys.json [--region us-east-1] [--ready file]
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { SignatureV4, getCanonicalHeaders } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const MAX_LOG = 20000;
const MAX_SKEW_MS = 15 * 60 * 1000;
const FAULT_MODES = ['drop', 'blackhole', 'status500', 'slowdown', 'throttle', 'expiredIterator'];

/* ---------- arguments ---------- */

function parseArgs(argv)
{
	const out = {};
	for (let i = 0; i < argv.length; i++)
	{
		const m = /^--([a-z-]+)$/.exec(argv[i]);
		if (!m)
			throw new Error(`unexpected argument ${argv[i]}`);
		out[m[1]] = argv[++i];
	}
	return out;
}

const args = parseArgs(process.argv.slice(2));
const SERVICE = args.service || 's3';
const REGION = args.region || 'us-east-1';
const UPSTREAM = new URL(args.upstream || 'http://127.0.0.1:4568');
const IS_S3 = SERVICE === 's3';

/* access key id -> {accessKeyId, secretAccessKey, sessionToken} */
const keys = new Map();
if (args.keys)
{
	for (const k of Object.values(JSON.parse(fs.readFileSync(args.keys, 'utf8'))))
		keys.set(k.accessKeyId, k);
}

const sha256Ctor = Hash.bind(null, 'sha256');
const upstreamAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/* ---------- state: log, counters, faults, aborted uploads ---------- */

let log = [];
let nextId = 1;
let counters = newCounters();
let faults = null;
const blackholed = new Set();
const abortedUploads = new Set();

function newCounters()
{
	return {
		requests: 0, forwarded: 0, bytesIn: 0, bytesOut: 0,
		byStatus: {}, faults: {}, authErrors: {},
	};
}

function requestId()
{
	return crypto.randomBytes(8).toString('hex').toUpperCase();
}

/* ---------- small helpers ---------- */

function sha256Hex(buf)
{
	return crypto.createHash('sha256').update(buf).digest('hex');
}

function xmlEscape(s)
{
	return String(s).replace(/[<>&'"]/g, (c) => ({
		'<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;',
	}[c]));
}

/* Split a raw query string into decoded key -> value (or array of values). */
function parseQuery(raw)
{
	const query = {};
	if (!raw)
		return query;
	for (const part of raw.split('&'))
	{
		if (part === '')
			continue;
		const eq = part.indexOf('=');
		const rk = eq < 0 ? part : part.slice(0, eq);
		const rv = eq < 0 ? '' : part.slice(eq + 1);
		let k, v;
		try
		{
			k = decodeURIComponent(rk);
			v = decodeURIComponent(rv);
		}
		catch
		{
			k = rk;
			v = rv;
		}
		if (k in query)
			query[k] = [].concat(query[k], v);
		else
			query[k] = v;
	}
	return query;
}

function readBody(req)
{
	return new Promise((resolve, reject) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => resolve(Buffer.concat(chunks)));
		req.on('error', reject);
		req.on('aborted', () => reject(new Error('client aborted')));
	});
}

/* An error to be answered in the service's own wire format. */
class AwsError extends Error
{
	constructor(status, code, message, extra = {})
	{
		super(message);
		this.status = status;
		this.code = code;
		this.extra = extra;
	}
}

function sendError(res, entry, err)
{
	const rid = requestId();
	entry.status = err.status;
	entry.error = err.code;
	if (res.headersSent || res.destroyed)
		return;
	let body;
	if (IS_S3)
	{
		let extra = '';
		for (const [k, v] of Object.entries(err.extra))
			extra += `<${k}>${xmlEscape(v)}</${k}>`;
		body = '<?xml version="1.0" encoding="UTF-8"?>\n' +
			`<Error><Code>${xmlEscape(err.code)}</Code>` +
			`<Message>${xmlEscape(err.message)}</Message>` +
			`<Resource>${xmlEscape(entry.path)}</Resource>` +
			`${extra}<RequestId>${rid}</RequestId></Error>`;
		res.writeHead(err.status, {
			'content-type': 'application/xml',
			'content-length': Buffer.byteLength(body),
			'x-amz-request-id': rid,
		});
	}
	else
	{
		body = JSON.stringify({ __type: err.code, message: err.message });
		res.writeHead(err.status, {
			'content-type': 'application/x-amz-json-1.1',
			'content-length': Buffer.byteLength(body),
			'x-amzn-requestid': rid,
		});
	}
	entry.respBytes = Buffer.byteLength(body);
	res.end(entry.method === 'HEAD' ? undefined : body);
}

/* ---------- signature verification ---------- */

function authError(kind, message, extra)
{
	/* kind: missing | unknownKey | badToken | mismatch | malformed | skew | expired */
	if (IS_S3)
	{
		switch (kind)
		{
			case 'missing':
				return new AwsError(403, 'AccessDenied', message || 'Access Denied');
			case 'unknownKey':
				return new AwsError(403, 'InvalidAccessKeyId',
					'The AWS Access Key Id you provided does not exist in our records.', extra);
			case 'badToken':
				return new AwsError(400, 'InvalidToken',
					'The provided token is malformed or otherwise invalid.', extra);
			case 'mismatch':
				return new AwsError(403, 'SignatureDoesNotMatch',
					'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
					extra);
			case 'skew':
				return new AwsError(403, 'RequestTimeTooSkewed',
					'The difference between the request time and the current time is too large.', extra);
			case 'expired':
				return new AwsError(403, 'AccessDenied', 'Request has expired', extra);
			case 'unsigned':
				return new AwsError(403, 'AccessDenied', message, extra);
			case 'region':
				return new AwsError(400, 'AuthorizationHeaderMalformed', message, extra);
			default:
				return new AwsError(400, 'AuthorizationHeaderMalformed', message, extra);
		}
	}
	switch (kind)
	{
		case 'missing':
			return new AwsError(400, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
		case 'unknownKey':
		case 'badToken':
			return new AwsError(400, 'UnrecognizedClientException',
				'The security token included in the request is invalid.');
		case 'mismatch':
			return new AwsError(400, 'InvalidSignatureException',
				'The request signature we calculated does not match the signature you provided. ' +
				'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.' +
				(extra ? `\n\nThe Canonical String for this request should have been\n'${extra.CanonicalRequest}'\n\n` +
					`The String-to-Sign should have been\n'${extra.StringToSign}'\n` : ''));
		case 'skew':
			return new AwsError(400, 'InvalidSignatureException', `Signature expired: ${message}`);
		case 'expired':
			return new AwsError(403, 'InvalidSignatureException', 'Signature expired');
		default:
			return new AwsError(400, 'IncompleteSignatureException', message);
	}
}

function parseAmzDate(s)
{
	const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
	if (!m)
		return null;
	return new Date(Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

/*
 * Extract the signature parameters from the Authorization header or from
 * presigned-URL query parameters.  Returns null when the request carries no
 * authentication at all.
 */
function extractAuth(req, query)
{
	const h = req.headers.authorization;
	const presigned = 'X-Amz-Algorithm' in query || 'X-Amz-Signature' in query;
	if (h && presigned)
		throw authError('malformed', 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified');
	if (h)
	{
		const m = /^(\S+)\s+(.*)$/s.exec(h);
		if (!m || m[1] !== 'AWS4-HMAC-SHA256')
			throw authError('malformed', `Unsupported authorization type: ${h.split(' ')[0]}`);
		const params = {};
		for (const part of m[2].split(','))
		{
			const eq = part.indexOf('=');
			if (eq > 0)
				params[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
		}
		if (!params.Credential || !params.SignedHeaders || !params.Signature)
			throw authError('malformed', `The authorization header is malformed: ${h}`);
		return {
			presigned: false,
			credential: params.Credential,
			signedHeaders: params.SignedHeaders,
			signature: params.Signature,
			amzDate: req.headers['x-amz-date'],
			token: req.headers['x-amz-security-token'],
		};
	}
	if (presigned)
	{
		for (const p of ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Signature'])
			if (typeof query[p] !== 'string')
				throw authError('malformed', `Query-string authentication requires the ${p} parameter`);
		if (query['X-Amz-Algorithm'] !== 'AWS4-HMAC-SHA256')
			throw authError('malformed', `X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`);
		return {
			presigned: true,
			credential: query['X-Amz-Credential'],
			signedHeaders: query['X-Amz-SignedHeaders'],
			signature: query['X-Amz-Signature'],
			amzDate: query['X-Amz-Date'],
			expires: query['X-Amz-Expires'],
			token: query['X-Amz-Security-Token'],
		};
	}
	return null;
}

/*
 * Decode an aws-chunked body; when the seed signature is given (STREAMING-
 * AWS4-HMAC-SHA256-PAYLOAD*), verify each chunk's signature chain.
 */
function decodeAwsChunked(body, signing)
{
	const out = [];
	let pos = 0;
	let prev = signing ? signing.seed : null;
	for (;;)
	{
		const eol = body.indexOf('\r\n', pos);
		if (eol < 0)
			throw new AwsError(400, 'IncompleteBody', 'The request body terminated unexpectedly');
		const header = body.subarray(pos, eol).toString('latin1');
		const [sizeHex, ...exts] = header.split(';');
		const size = parseInt(sizeHex, 16);
		if (!Number.isFinite(size) || size < 0)
			throw new AwsError(400, 'InvalidChunkSizeError', `Invalid chunk header: ${header}`);
		const data = body.subarray(eol + 2, eol + 2 + size);
		if (data.length !== size)
			throw new AwsError(400, 'IncompleteBody', 'The request body terminated unexpectedly');
		if (signing)
		{
			const ext = exts.find((e) => e.startsWith('chunk-signature='));
			const given = ext ? ext.slice('chunk-signature='.length) : '';
			const sts = ['AWS4-HMAC-SHA256-PAYLOAD', signing.longDate, signing.scope, prev,
				EMPTY_SHA256, sha256Hex(data)].join('\n');
			const expected = crypto.createHmac('sha256', signing.key).update(sts).digest('hex');
			if (given !== expected)
				throw authError('mismatch', null, { StringToSign: sts, SignatureProvided: given });
			prev = expected;
		}
		out.push(data);
		pos = eol + 2 + size;
		if (size === 0)
			break;				/* trailers, if any, follow; s3rver needs none */
		if (body.subarray(pos, pos + 2).toString('latin1') !== '\r\n')
			throw new AwsError(400, 'IncompleteBody', 'Chunk data is not followed by CRLF');
		pos += 2;
	}
	return Buffer.concat(out);
}

/*
 * Verify the request's signature.  Returns {key, body} where body is the
 * payload to forward (decoded when aws-chunked); throws AwsError otherwise.
 */
async function verify(req, rawPath, query, body, entry)
{
	const auth = extractAuth(req, query);
	if (!auth)
		throw authError('missing');

	const cred = auth.credential.split('/');
	if (cred.length !== 5 || cred[4] !== 'aws4_request')
		throw authError('malformed', `Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request". (${auth.credential})`);
	const [akid, shortDate, region, service] = cred;
	entry.akid = akid;

	const key = keys.get(akid);
	if (!key)
		throw authError('unknownKey', null, { AWSAccessKeyId: akid });
	if (key.sessionToken !== undefined && auth.token !== key.sessionToken)
		throw authError('badToken', null, { AWSAccessKeyId: akid });
	if (key.sessionToken === undefined && auth.token !== undefined)
		throw authError('badToken', null, { AWSAccessKeyId: akid });

	if (region !== REGION)
		throw authError('region', `The authorization header is malformed; the region '${region}' is wrong; expecting '${REGION}'`,
			{ Region: REGION });
	if (service !== SERVICE)
		throw authError('malformed', `The authorization header is malformed; incorrect service '${service}'. This endpoint belongs to '${SERVICE}'.`);

	const when = parseAmzDate(auth.amzDate);
	if (!when)
		throw authError('malformed', 'AWS authentication requires a valid Date or x-amz-date header');
	if (auth.amzDate.slice(0, 8) !== shortDate)
		throw authError('malformed', `The authorization header is malformed; Invalid credential date "${shortDate}". This date is not the same as X-Amz-Date: "${auth.amzDate.slice(0, 8)}".`);
	const now = Date.now();
	if (auth.presigned)
	{
		const expires = Number(auth.expires);
		if (!Number.isInteger(expires) || expires < 1 || expires > 604800)
			throw authError('malformed', 'X-Amz-Expires must be between 1 and 604800 seconds');
		if (now > when.getTime() + expires * 1000)
			throw authError('expired', null, { Expires: new Date(when.getTime() + expires * 1000).toISOString(), ServerTime: new Date(now).toISOString() });
		if (when.getTime() - now > MAX_SKEW_MS)
			throw authError('skew', auth.amzDate, { RequestTime: auth.amzDate, ServerTime: new Date(now).toISOString() });
	}
	else if (Math.abs(now - when.getTime()) > MAX_SKEW_MS)
		throw authError('skew', `${auth.amzDate} is more than 15 minutes away from the server time`,
			{ RequestTime: auth.amzDate, ServerTime: new Date(now).toISOString() });

	/* the headers that were signed, exactly as received */
	const signedNames = auth.signedHeaders.split(';');
	if (!signedNames.includes('host'))
		throw authError('malformed', 'The host header must be signed');
	const headers = {};
	for (const name of signedNames)
	{
		const v = req.headers[name];
		if (v === undefined)
			throw authError('malformed', `The request is signed with header '${name}' which is not present in the request`);
		headers[name] = Array.isArray(v) ? v.join(',') : v;
	}
	if (IS_S3 && !auth.presigned)
	{
		const unsigned = Object.keys(req.headers).filter((h) => h.startsWith('x-amz-') && !signedNames.includes(h));
		if (unsigned.length)
			throw authError('unsigned', `There were headers present in the request which were not signed: ${unsigned.join(', ')}`,
				{ HeadersNotSigned: unsigned.join(', ') });
	}

	/* payload hash */
	let payloadHash;
	const declared = req.headers['x-amz-content-sha256'];
	if (IS_S3 && !auth.presigned)
	{
		if (declared === undefined)
			throw new AwsError(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
		payloadHash = declared;
	}
	else if (IS_S3)
		payloadHash = query['X-Amz-Content-Sha256'] || declared || 'UNSIGNED-PAYLOAD';
	else
		payloadHash = declared || sha256Hex(body);

	const creds = {
		accessKeyId: key.accessKeyId,
		secretAccessKey: key.secretAccessKey,
		sessionToken: key.sessionToken,
	};
	const signer = new SignatureV4({
		service, region, credentials: creds, sha256: sha256Ctor,
		uriEscapePath: !IS_S3, applyChecksum: false,
	});
	const request = { method: req.method, path: rawPath, query, headers };
	const canonicalHeaders = getCanonicalHeaders(request, undefined, new Set(signedNames));
	const canonicalRequest = signer.createCanonicalRequest(request, canonicalHeaders, payloadHash);
	const scope = `${shortDate}/${region}/${service}/aws4_request`;
	const keyPromise = signer.getSigningKey(creds, region, shortDate, service);
	const expected = await signer.getSignature(auth.amzDate, scope, keyPromise, canonicalRequest);
	if (expected !== auth.signature)
	{
		const stringToSign = await signer.createStringToSign(auth.amzDate, scope, canonicalRequest, 'AWS4-HMAC-SHA256');
		throw authError('mismatch', null, {
			AWSAccessKeyId: akid,
			StringToSign: stringToSign,
			SignatureProvided: auth.signature,
			CanonicalRequest: canonicalRequest,
		});
	}

	/* the payload must be what was signed */
	let forwardBody = body;
	if (/^[0-9a-f]{64}$/.test(payloadHash))
	{
		if (sha256Hex(body) !== payloadHash)
			throw new AwsError(400, IS_S3 ? 'XAmzContentSHA256Mismatch' : 'InvalidSignatureException',
				"The provided 'x-amz-content-sha256' header does not match what was computed.",
				{ ClientComputedContentSHA256: payloadHash, S3ComputedContentSHA256: sha256Hex(body) });
	}
	else if (payloadHash === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' ||
			 payloadHash === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER')
	{
		forwardBody = decodeAwsChunked(body, {
			seed: auth.signature, longDate: auth.amzDate, scope,
			key: Buffer.from(await keyPromise),
		});
	}
	else if (payloadHash === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER')
		forwardBody = decodeAwsChunked(body, null);
	else if (payloadHash !== 'UNSIGNED-PAYLOAD')
		throw new AwsError(400, 'InvalidArgument', `x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-..., or a valid sha256 value (got '${payloadHash}')`);

	return { key, body: forwardBody, chunked: forwardBody !== body };
}

/* ---------- faults ---------- */

function setFaults(spec)
{
	if (!spec || Object.keys(spec).length === 0)
	{
		faults = null;
		return;
	}
	const f = { spec, re: spec.match ? new RegExp(spec.match) : null,
		remaining: spec.count === undefined || spec.count === null ? Infinity : Number(spec.count),
		injected: 0 };
	for (const m of FAULT_MODES)
	{
		const r = spec[m];
		if (r !== undefined && !(typeof r === 'number' && r >= 0 && r <= 1))
			throw new Error(`fault rate "${m}" must be a number between 0 and 1`);
	}
	faults = f;
}

function faultsMatch(entry)
{
	if (!faults)
		return false;
	if (!faults.re)
		return true;
	return faults.re.test(`${entry.method} ${entry.path}${entry.query ? '?' + entry.query : ''}`) ||
		(entry.target ? faults.re.test(entry.target) : false);
}

/* Decide which fault (if any) hits this request. */
function pickFault(entry)
{
	if (!faultsMatch(entry) || faults.remaining <= 0)
		return null;
	for (const m of FAULT_MODES)
	{
		const r = faults.spec[m];
		if (r && Math.random() < r)
		{
			faults.remaining--;
			faults.injected++;
			counters.faults[m] = (counters.faults[m] || 0) + 1;
			return m;
		}
	}
	return null;
}

function injectFault(mode, req, res, entry)
{
	entry.fault = mode;
	switch (mode)
	{
		case 'drop':
			entry.status = 0;
			req.socket.destroy();
			return;
		case 'blackhole':
			entry.status = 0;
			blackholed.add(req.socket);
			req.socket.once('close', () => blackholed.delete(req.socket));
			return;
		case 'status500':
			return sendError(res, entry, IS_S3
				? new AwsError(500, 'InternalError', 'We encountered an internal error. Please try again.')
				: new AwsError(500, 'InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.'));
		case 'slowdown':
			return sendError(res, entry, IS_S3
				? new AwsError(503, 'SlowDown', 'Please reduce your request rate.')
				: new AwsError(503, 'ServiceUnavailable', 'The service is unavailable. Please try again later.'));
		case 'throttle':
			return sendError(res, entry, IS_S3
				? new AwsError(503, 'SlowDown', 'Please reduce your request rate.')
				: new AwsError(400, 'ProvisionedThroughputExceededException',
					'Rate exceeded for shard shardId-000000000000 in stream under account 000000000000.'));
		case 'expiredIterator':
			return sendError(res, entry, new AwsError(400, 'ExpiredIteratorException',
				'Iterator expired. The iterator was created at time X while right now it is Y which is further in the future than the tolerated delay of 300000 milliseconds.'));
	}
}

/*
 * PutRecords with per-entry failures (fault "putFail"): forward only the
 * entries that do not fail, then answer with the upstream results and a
 * ProvisionedThroughputExceededException in each failed slot.  Returns
 * false when the request is not a candidate.
 */
function putRecordsPartial(req, res, entry, headers, body)
{
	if (IS_S3 || entry.target !== 'Kinesis_20131202.PutRecords')
		return false;
	let input;
	try
	{
		input = JSON.parse(body.toString('utf8'));
	}
	catch
	{
		return false;
	}
	const records = input.Records || [];
	entry.putEntries = records.length;
	const rate = faults && faults.spec.putFail;
	if (!rate || !faultsMatch(entry) || faults.remaining <= 0)
		return false;
	const failed = records.map(() => Math.random() < rate);
	if (!failed.some(Boolean))
		return false;
	faults.remaining--;
	faults.injected++;
	counters.faults.putFail = (counters.faults.putFail || 0) + 1;
	entry.fault = 'putFail';
	entry.putFailed = failed.map((f, i) => (f ? i : -1)).filter((i) => i >= 0);
	const fail = { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard (injected by the proxy).' };
	const answer = (upResults) => {
		let k = 0;
		const out = failed.map((f) => (f ? fail : upResults[k++]));
		const obj = { FailedRecordCount: out.filter((r) => r.ErrorCode).length, Records: out };
		const text = JSON.stringify(obj);
		entry.status = 200;
		res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(text) });
		res.end(text);
	};
	const kept = records.filter((r, i) => !failed[i]);
	if (kept.length === 0)
	{
		answer([]);
		return true;
	}
	const fwd = Buffer.from(JSON.stringify({ ...input, Records: kept }));
	upstreamRequest('POST', req.url, { ...headers, 'content-length': String(fwd.length) }, fwd)
		.then((upRes) => {
			const chunks = [];
			upRes.on('data', (c) => chunks.push(c));
			upRes.on('end', () => {
				const text = Buffer.concat(chunks).toString('utf8');
				if (upRes.statusCode !== 200)
				{
					entry.status = upRes.statusCode;
					res.writeHead(upRes.statusCode, { 'content-type': 'application/x-amz-json-1.1' });
					res.end(text);
					return;
				}
				answer(JSON.parse(text).Records || []);
			});
		})
		.catch((e) => sendError(res, entry, new AwsError(503, 'ServiceUnavailable', `proxy: upstream unavailable (${e.code || e.message})`)));
	return true;
}

/* ---------- S3 operations answered or adjusted here ---------- */

function upstreamRequest(method, path, headers, body)
{
	return new Promise((resolve, reject) => {
		const r = http.request({
			host: UPSTREAM.hostname, port: UPSTREAM.port, method, path, headers, agent: upstreamAgent,
		}, resolve);
		r.on('error', reject);
		r.end(body);
	});
}

/*
 * Ranges as real S3 answers them, using a HEAD on the upstream:
 * bytes=-N → bytes=(size-N)-(size-1) (s3rver mishandles suffix ranges), and
 * a range starting at or past the end of the object (any range on an empty
 * object) → 416 InvalidRange (s3rver answers 206 and never sends the body).
 */
async function fixSuffixRange(req, headers)
{
	const m = /^bytes=-(\d+)$/.exec(headers.range || '');
	const a = /^bytes=(\d+)-(\d*)$/.exec(headers.range || '');
	if ((!m && !a) || req.method !== 'GET')
		return null;
	const h = { ...headers };
	delete h.range;
	const head = await upstreamRequest('HEAD', req.url, h);
	head.resume();
	if (head.statusCode !== 200)
	{
		/* let the upstream produce its own error for the GET */
		return null;
	}
	const size = Number(head.headers['content-length']);
	if (a)
	{
		if (Number(a[1]) >= size)
			return new AwsError(416, 'InvalidRange', 'The requested range is not satisfiable', { RangeRequested: headers.range, ActualObjectSize: size });
		return null;
	}
	const n = Number(m[1]);
	if (n === 0)
		return new AwsError(416, 'InvalidRange', 'The requested range is not satisfiable', { RangeRequested: headers.range, ActualObjectSize: size });
	if (size === 0)
		delete headers.range;
	else
		headers.range = `bytes=${Math.max(0, size - n)}-${size - 1}`;
	return null;
}

/* ---------- request handling ---------- */

function logEntry(entry)
{
	log.push(entry);
	if (log.length > MAX_LOG)
		log.splice(0, log.length - MAX_LOG);
}

function finish(entry)
{
	entry.ms = Date.now() - entry.start;
	delete entry.start;
	counters.byStatus[entry.status] = (counters.byStatus[entry.status] || 0) + 1;
	if (entry.error && entry.status >= 400 && entry.status < 500 && entry.status !== 404 && entry.status !== 416 && entry.status !== 409)
		counters.authErrors[entry.error] = (counters.authErrors[entry.error] || 0) + 1;
	counters.bytesOut += entry.respBytes || 0;
}

async function handle(req, res)
{
	const qpos = req.url.indexOf('?');
	const rawPath = qpos < 0 ? req.url : req.url.slice(0, qpos);
	const rawQuery = qpos < 0 ? '' : req.url.slice(qpos + 1);
	if (rawPath.startsWith('/__dlake/') || rawPath === '/__dlake')
		return admin(req, res, rawPath, parseQuery(rawQuery));

	const entry = {
		id: nextId++, time: new Date().toISOString(), start: Date.now(),
		method: req.method, path: rawPath, query: rawQuery,
		target: req.headers['x-amz-target'] || null, akid: null,
		bytes: 0, respBytes: 0, status: null, error: null, fault: null,
	};
	logEntry(entry);
	counters.requests++;
	res.on('close', () => finish(entry));

	let body;
	try
	{
		body = await readBody(req);
	}
	catch
	{
		entry.status = 0;
		entry.error = 'ClientAborted';
		return;
	}
	entry.bytes = body.length;
	counters.bytesIn += body.length;
	if (entry.target === 'Kinesis_20131202.GetShardIterator')
	{
		try
		{
			entry.iteratorType = JSON.parse(body.toString('utf8')).ShardIteratorType || null;
		}
		catch
		{
			entry.iteratorType = null;
		}
	}

	const query = parseQuery(rawQuery);
	let verified;
	try
	{
		verified = await verify(req, rawPath, query, body, entry);
	}
	catch (e)
	{
		if (!(e instanceof AwsError))
			e = new AwsError(500, IS_S3 ? 'InternalError' : 'InternalFailure', `proxy: ${e.message}`);
		return sendError(res, entry, e);
	}

	if (faults && faultsMatch(entry) && faults.spec.delayMs)
		await new Promise((r) => setTimeout(r, Number(faults.spec.delayMs)));
	const fault = pickFault(entry);
	if (fault)
		return injectFault(fault, req, res, entry);

	const headers = { ...req.headers };
	for (const h of ['connection', 'keep-alive', 'expect', 'transfer-encoding', 'te', 'upgrade'])
		delete headers[h];
	if (verified.chunked)
	{
		const enc = (headers['content-encoding'] || '').split(',').map((s) => s.trim())
			.filter((s) => s && s !== 'aws-chunked');
		if (enc.length)
			headers['content-encoding'] = enc.join(',');
		else
			delete headers['content-encoding'];
		delete headers['x-amz-decoded-content-length'];
		delete headers['x-amz-trailer'];
		headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
	}
	if (verified.body.length > 0 || 'content-length' in req.headers)
		headers['content-length'] = String(verified.body.length);
	if (putRecordsPartial(req, res, entry, headers, verified.body))
		return;

	if (IS_S3)
	{
		const uploadId = typeof query.uploadId === 'string' ? query.uploadId : null;
		if (uploadId && req.method === 'DELETE')
		{
			/* AbortMultipartUpload: s3rver has no such operation */
			abortedUploads.add(uploadId);
			entry.status = 204;
			res.writeHead(204, { 'x-amz-request-id': requestId() });
			res.end();
			return;
		}
		if (uploadId && abortedUploads.has(uploadId))
			return sendError(res, entry, new AwsError(404, 'NoSuchUpload',
				'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
				{ UploadId: uploadId }));
		try
		{
			const rangeErr = await fixSuffixRange(req, headers);
			if (rangeErr)
				return sendError(res, entry, rangeErr);
		}
		catch (e)
		{
			return sendError(res, entry, new AwsError(503, 'ServiceUnavailable', `proxy: upstream unavailable (${e.code || e.message})`));
		}
	}

	const up = http.request({
		host: UPSTREAM.hostname, port: UPSTREAM.port, method: req.method,
		path: req.url, headers, agent: upstreamAgent,
	}, (upRes) => {
		entry.status = upRes.statusCode;
		const h = { ...upRes.headers };
		for (const n of ['connection', 'keep-alive', 'transfer-encoding'])
			delete h[n];
		res.writeHead(upRes.statusCode, upRes.statusMessage, h);
		upRes.on('data', (c) => { entry.respBytes += c.length; });
		upRes.pipe(res);
		res.on('close', () => upRes.destroy());
	});
	up.on('error', (e) => {
		if (res.headersSent)
		{
			res.destroy();
			return;
		}
		sendError(res, entry, IS_S3
			? new AwsError(503, 'ServiceUnavailable', `proxy: upstream unavailable (${e.code || e.message})`)
			: new AwsError(503, 'ServiceUnavailable', `proxy: upstream unavailable (${e.code || e.message})`));
	});
	counters.forwarded++;
	up.end(verified.body);
}

/* ---------- admin API ---------- */

function sendJson(res, status, obj)
{
	const body = JSON.stringify(obj);
	res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
	res.end(body);
}

async function admin(req, res, path, query)
{
	let input = {};
	try
	{
		const raw = await readBody(req);
		if (raw.length)
			input = JSON.parse(raw.toString('utf8'));
	}
	catch (e)
	{
		return sendJson(res, 400, { error: `bad JSON: ${e.message}` });
	}
	const route = `${req.method} ${path.replace(/\/+$/, '')}`;
	try
	{
		switch (route)
		{
			case 'GET /__dlake/health':
				return sendJson(res, 200, { ok: true, service: SERVICE, region: REGION, port: server.address().port,
					upstream: UPSTREAM.href, pid: process.pid });
			case 'POST /__dlake/faults':
			case 'PUT /__dlake/faults':
				setFaults(input);
				return sendJson(res, 200, { faults: faults ? { ...faults.spec, remaining: faults.remaining } : null });
			case 'DELETE /__dlake/faults':
				setFaults(null);
				return sendJson(res, 200, { faults: null });
			case 'GET /__dlake/faults':
				return sendJson(res, 200, { faults: faults ? { ...faults.spec, remaining: faults.remaining, injected: faults.injected } : null });
			case 'GET /__dlake/log':
			{
				const since = Number(query.since || 0);
				return sendJson(res, 200, {
					entries: log.filter((e) => e.id > since),
					counters,
					faults: faults ? { ...faults.spec, remaining: faults.remaining, injected: faults.injected } : null,
					abortedUploads: [...abortedUploads],
				});
			}
			case 'POST /__dlake/reset':
				log = [];
				counters = newCounters();
				setFaults(null);
				for (const s of blackholed)
					s.destroy();
				blackholed.clear();
				return sendJson(res, 200, { ok: true, lastId: nextId - 1 });
			case 'POST /__dlake/keys':
				if (!input.accessKeyId || !input.secretAccessKey)
					return sendJson(res, 400, { error: 'accessKeyId and secretAccessKey are required' });
				keys.set(input.accessKeyId, {
					accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey,
					sessionToken: input.sessionToken === null ? undefined : input.sessionToken,
				});
				return sendJson(res, 200, { ok: true, keys: [...keys.keys()] });
			case 'DELETE /__dlake/keys':
				keys.delete(query.accessKeyId || input.accessKeyId);
				return sendJson(res, 200, { ok: true, keys: [...keys.keys()] });
			case 'GET /__dlake/keys':
				return sendJson(res, 200, { keys: [...keys.keys()] });
			default:
				return sendJson(res, 404, { error: `no admin route ${route}` });
		}
	}
	catch (e)
	{
		return sendJson(res, 400, { error: e.message });
	}
}

/* ---------- server ---------- */

const server = http.createServer({ keepAliveTimeout: 30000, requestTimeout: 0 }, (req, res) => {
	handle(req, res).catch((e) => {
		process.stderr.write(`sigv4-proxy: ${e.stack}\n`);
		if (!res.headersSent)
			sendJson(res, 500, { error: e.message });
		else
			res.destroy();
	});
});
server.headersTimeout = 60000;

server.listen(Number(args.port || 0), '127.0.0.1', () => {
	const port = server.address().port;
	if (args.ready)
	{
		fs.writeFileSync(args.ready + '.tmp', JSON.stringify({ port, pid: process.pid }));
		fs.renameSync(args.ready + '.tmp', args.ready);
	}
	process.stdout.write(`sigv4-proxy (${SERVICE}) listening on 127.0.0.1:${port} -> ${UPSTREAM.href}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT'])
	process.on(sig, () => {
		for (const s of blackholed)
			s.destroy();
		server.close();
		process.exit(0);
	});
