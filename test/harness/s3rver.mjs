#!/usr/bin/env node
/*
 * s3rver.mjs — start s3rver 3.7.1 on 127.0.0.1 for the dlake test stack.
 *
 * Run with `node --openssl-legacy-provider` (s3rver's paginated
 * ListObjectsV2 uses a hash OpenSSL 3 disables by default).  s3rver does not
 * verify SigV4 signatures (the sigv4-proxy in front of it does), but it does
 * reject access key ids it does not know; since the proxy is the gatekeeper
 * and may learn keys at runtime, every key id maps to s3rver's one account.
 *
 * usage: node --openssl-legacy-provider s3rver.mjs --port N --dir DIR [--ready FILE]
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver');
const AWSAccount = require('s3rver/lib/models/account');

const args = {};
for (let i = 2; i < process.argv.length; i += 2)
	args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];

/* every access key id belongs to the single dummy account */
const registryGet = AWSAccount.registry.get.bind(AWSAccount.registry);
AWSAccount.registry.get = (id) => registryGet(id) || AWSAccount.DUMMY_ACCOUNT;

fs.mkdirSync(args.dir, { recursive: true });
const server = new S3rver({
	address: '127.0.0.1',
	port: Number(args.port || 0),
	directory: args.dir,
	silent: args.verbose !== 'true',
	vhostBuckets: false,
	allowMismatchedSignatures: true,
});

const addr = await server.run();
if (args.ready)
{
	fs.writeFileSync(args.ready + '.tmp', JSON.stringify({ port: addr.port, pid: process.pid }));
	fs.renameSync(args.ready + '.tmp', args.ready);
}
process.stdout.write(`s3rver listening on 127.0.0.1:${addr.port}, data in ${args.dir}\n`);

for (const sig of ['SIGTERM', 'SIGINT'])
	process.on(sig, () => process.exit(0));
