#!/usr/bin/env node
/*
 * kinesalite.mjs — start kinesalite 3.3.3 bound to 127.0.0.1 only (its CLI
 * listens on every interface), with short stream state transitions so tests
 * do not wait for CREATING/DELETING/UPDATING.
 *
 * usage: node kinesalite.mjs --port N [--dir DIR (LevelDB; in memory if absent)]
 *        [--state-ms 50] [--shard-limit 50] [--ready FILE]
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const kinesalite = require('kinesalite');

const args = {};
for (let i = 2; i < process.argv.length; i += 2)
	args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];

const stateMs = Number(args['state-ms'] || 50);
const options = {
	createStreamMs: stateMs,
	deleteStreamMs: stateMs,
	updateStreamMs: stateMs,
	shardLimit: Number(args['shard-limit'] || 50),
};
if (args.dir)
{
	fs.mkdirSync(args.dir, { recursive: true });
	options.path = args.dir;
}

const server = kinesalite(options);
server.listen(Number(args.port || 0), '127.0.0.1', () => {
	const port = server.address().port;
	if (args.ready)
	{
		fs.writeFileSync(args.ready + '.tmp', JSON.stringify({ port, pid: process.pid }));
		fs.renameSync(args.ready + '.tmp', args.ready);
	}
	process.stdout.write(`kinesalite listening on 127.0.0.1:${port}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT'])
	process.on(sig, () => server.close(() => process.exit(0)));
