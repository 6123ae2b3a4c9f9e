/*
 * backup_dump.test.mjs — pg_dump keeps dlake's user state: a stream, its
 * shard checkpoint and the sequences behind the catalog's serial keys are
 * in the dump of the database (the tables and sequences are marked with
 * pg_extension_config_dump in the extension script).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

import {
	CreateStreamCommand, DeleteStreamCommand, DescribeStreamSummaryCommand, PutRecordsCommand,
} from '@aws-sdk/client-kinesis';

import {
	env, sql, kinesis, createLakeServer, waitFor, stackRunning, uniqueName,
} from '../lib/stack.mjs';

const skip = stackRunning ? false : 'test stack not running (scripts/stack.sh start)';
const SERVER = 'dump_lake';
const STREAM = 'dump_it_s';
const PG_DUMP = '/usr/lib/postgresql/15/bin/pg_dump';
let kstream = null;

before(async () => {
	if (skip)
		return;
	await sql('CREATE EXTENSION IF NOT EXISTS dlake CASCADE');
	await createLakeServer(null, SERVER);
	await sql('SELECT dlake.drop_stream(name) FROM dlake.streams WHERE name = $1', [STREAM]);
});

after(async () => {
	if (skip)
		return;
	await sql('SELECT dlake.drop_stream(name) FROM dlake.streams WHERE name = $1', [STREAM]).catch(() => {});
	await sql(`DROP SERVER IF EXISTS ${SERVER} CASCADE`).catch(() => {});
	if (kstream)
		await kinesis().send(new DeleteStreamCommand({ StreamName: kstream })).catch(() => {});
});

/* the lines of one COPY block of a plain-format dump */
function copyBlock(dump, table)
{
	const start = dump.indexOf(`COPY ${table} (`);
	if (start < 0)
		return null;
	const end = dump.indexOf('\n\\.\n', start);
	return dump.slice(start, end).split('\n').slice(1);
}

test('pg_dump keeps streams, shard checkpoints and catalog sequences', { skip }, async () => {
	const kc = kinesis();
	kstream = uniqueName('dump');
	await kc.send(new CreateStreamCommand({ StreamName: kstream, ShardCount: 1 }));
	await waitFor(async () => (await kc.send(new DescribeStreamSummaryCommand({ StreamName: kstream })))
		.StreamDescriptionSummary.StreamStatus === 'ACTIVE', 20000, 100, 'stream ACTIVE');
	await kc.send(new PutRecordsCommand({
		StreamName: kstream,
		Records: [1, 2, 3].map((i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(JSON.stringify({ i })) })),
	}));
	await sql(`SELECT dlake.create_stream($1, kinesis_stream => $2, server => $3)`, [STREAM, kstream, SERVER]);
	let shard = null;
	await waitFor(async () => {
		[shard] = await sql(`SELECT h.shard_id, h.checkpoint_sequence::text AS seq
			FROM dlake.shards h JOIN dlake.streams s USING (stream_id)
			WHERE s.name = $1 AND h.checkpoint_sequence IS NOT NULL`, [STREAM]);
		return shard !== undefined;
	}, 30000, 200, 'a shard checkpoint');
	const [{ id }] = await sql('SELECT stream_id AS id FROM dlake.streams WHERE name = $1', [STREAM]);

	const dump = execFileSync(PG_DUMP, ['--no-owner', '--no-privileges', env.PGDATABASE], {
		encoding: 'utf8', maxBuffer: 512 * 1024 * 1024,
		env: { ...process.env, PGHOST: env.PGHOST, PGPORT: String(env.PGPORT), PGUSER: env.PGUSER },
	});

	const streams = copyBlock(dump, 'dlake.streams');
	assert.ok(streams, 'the dump has COPY dlake.streams');
	const mine = streams.find((l) => l.split('\t')[1] === STREAM);
	assert.ok(mine, `dlake.streams row of ${STREAM}`);
	assert.equal(mine.split('\t')[0], String(id));
	assert.equal(mine.split('\t')[2], kstream);

	const shards = copyBlock(dump, 'dlake.shards');
	assert.ok(shards, 'the dump has COPY dlake.shards');
	assert.ok(shards.some((l) => {
		const f = l.split('\t');
		return f[0] === String(id) && f[1] === shard.shard_id && l.includes(`\t${shard.seq}\t`);
	}), `shard ${shard.shard_id} with checkpoint ${shard.seq}`);

	for (const seq of ['dlake.streams_stream_id_seq', 'dlake.ingest_errors_error_id_seq',
		'dlake.dead_letters_dead_letter_id_seq', 'dlake.job_runs_id_seq', 'dlake.file_flow_files_id_seq',
		'dlake.export_runs_id_seq', 'dlake.files_id_seq', 'dlake.load_runs_id_seq',
		'dlake.loaded_files_id_seq', 'dlake.load_errors_id_seq'])
		assert.match(dump, new RegExp(`SELECT pg_catalog\\.setval\\('${seq.replace('.', '\\.')}'`), seq);
	for (const t of ['dlake.ingest_errors', 'dlake.dead_letters', 'dlake.job_runs', 'dlake.file_flows', 'dlake.file_flow_files',
		'dlake.rulesets', 'dlake.zones', 'dlake.export_runs', 'dlake.files', 'dlake.export_state',
		'dlake.load_runs', 'dlake.loaded_files', 'dlake.load_errors'])
		assert.ok(copyBlock(dump, t) !== null, `COPY ${t}`);
});
