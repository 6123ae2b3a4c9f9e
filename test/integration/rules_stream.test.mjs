/*
 * rules_stream.test.mjs — the seed's Lambda scenario end to end through
 * kinesalite (behind the SigV4-verifying proxy): a stream created with
 * ruleset => ... applies the rule set on arrival, in the same transaction
 * as the staging insert.  Events with and without timestamp/value,
 * malformed JSON, non-UTF-8 bytes, heartbeats, a duplicate and an unknown
 * sensor id → exact counts in cleansed and quarantine, with the reasons;
 * cleansed rows carry processed_at, date and site.
 * Skipped (with a message) while dlake.create_stream does not exist.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
	CreateStreamCommand, DeleteStreamCommand, DescribeStreamSummaryCommand, PutRecordsCommand,
} from '@aws-sdk/client-kinesis';

import {
	sql, kinesis, createLakeServer, ensureExtension, hasFunction, waitFor, stackRunning, uniqueName,
} from '../lib/stack.mjs';

const SERVER = 'rules_lake';
const RS = 'rules_stream_iot';
const NAME = 'rules_iot';
let skip = stackRunning ? false : 'test stack not running (scripts/stack.sh start)';
let kstream = null;
const kc = stackRunning ? kinesis() : null;

before(async () => {
	if (skip)
		return;
	await ensureExtension();
	if (!(await hasFunction(null, 'dlake.create_stream')))
	{
		skip = 'dlake.create_stream does not exist yet (stream worker not built)';
		return;
	}
	if (!(await createLakeServer(null, SERVER)))
	{
		skip = 'dlake foreign server cannot be created yet';
		return;
	}
	await sql(`SELECT dlake.drop_stream('${NAME}')`).catch(() => {});
	await sql('DROP TABLE IF EXISTS public.rules_sensors');
	await sql("CREATE TABLE public.rules_sensors (sensor_id text PRIMARY KEY, site text)");
	await sql("INSERT INTO public.rules_sensors VALUES ('s-1', 'paris'), ('s-2', 'lyon')");
	await sql(`SELECT dlake.drop_ruleset('${RS}', if_exists => true)`);
	await sql(`SELECT dlake.create_ruleset('${RS}', $j$${JSON.stringify({
		required: ['sensor_id', 'timestamp', 'value'],
		types: { timestamp: 'timestamptz', value: 'float8', sensor_id: 'text' },
		drop_if: "record->>'type' = 'heartbeat'",
		dedupe: ['sensor_id', 'timestamp'],
		enrich: {
			processed_at: 'now()',
			date: `("timestamp" AT TIME ZONE 'UTC')::date`,
			site: { lookup: 'public.rules_sensors', key: 'sensor_id', column: 'site', on_missing: 'reject' },
		},
	})}$j$)`);
});

after(async () => {
	if (skip)
		return;
	await sql(`SELECT dlake.drop_stream('${NAME}')`).catch(() => {});
	if (kstream)
		await kc.send(new DeleteStreamCommand({ StreamName: kstream })).catch(() => {});
	await sql(`DROP TABLE IF EXISTS dlake_cleansed.${NAME}, dlake_quarantine.${NAME}, public.rules_sensors`).catch(() => {});
	await sql(`SELECT dlake.drop_ruleset('${RS}', if_exists => true)`).catch(() => {});
});

const json = (o) => Buffer.from(JSON.stringify(o));

test('Lambda scenario through kinesalite: validate, filter, dedupe, enrich, quarantine', async (t) => {
	if (skip)
		return t.skip(skip);
	kstream = uniqueName('rules');
	await kc.send(new CreateStreamCommand({ StreamName: kstream, ShardCount: 1 }));
	await waitFor(async () => (await kc.send(new DescribeStreamSummaryCommand({ StreamName: kstream })))
		.StreamDescriptionSummary.StreamStatus === 'ACTIVE', 20000, 100, 'stream ACTIVE');

	const events = [
		json({ sensor_id: 's-1', timestamp: '2024-02-29T10:00:00Z', value: 21.5 }),   // cleansed
		json({ sensor_id: 's-2', timestamp: '2024-02-29T10:00:01Z', value: 19 }),     // cleansed
		json({ sensor_id: 's-1', timestamp: '2024-02-29T10:00:00Z', value: 21.5 }),   // duplicate
		json({ sensor_id: 's-1', value: 20 }),                                        // no timestamp
		json({ sensor_id: 's-2', timestamp: '2024-02-29T10:00:02Z' }),                // no value
		json({ type: 'heartbeat', sensor_id: 's-1' }),                                // filtered
		json({ type: 'heartbeat' }),                                                  // filtered
		json({ sensor_id: 's-9', timestamp: '2024-02-29T10:00:03Z', value: 1 }),      // unknown sensor
		Buffer.from('{"sensor_id": "s-1", "timestamp": "2024-02-29T10:00:06Z", "value": 23'), // malformed
		Buffer.from([0xff, 0x00, 0xfe, 0x7b, 0x7d]),                                   // not UTF-8
		json({ sensor_id: 's-1', timestamp: 1709200805000, value: '22.5' }),          // cleansed
	];
	const r = await kc.send(new PutRecordsCommand({
		StreamName: kstream, Records: events.map((d) => ({ PartitionKey: 'p', Data: d })),
	}));
	assert.equal(r.FailedRecordCount || 0, 0);

	await sql(`SELECT dlake.create_stream('${NAME}', kinesis_stream => '${kstream}', server => '${SERVER}', ruleset => '${RS}')`);
	await waitFor(async () => (await sql(`SELECT count(*)::int AS n FROM dlake_staging.${NAME}`))[0].n >= events.length,
		60000, 250, 'records in staging');

	const [c] = await sql(`SELECT count(*)::int AS n FROM dlake_cleansed.${NAME}`);
	const [q] = await sql(`SELECT count(*)::int AS n FROM dlake_quarantine.${NAME}`);
	const [s] = await sql(`SELECT count(*)::int AS n FROM dlake_staging.${NAME}`);
	assert.equal(s.n, 11, 'raw staging keeps everything');
	assert.equal(c.n, 3, 'cleansed');
	assert.equal(q.n, 5, 'quarantined');
	assert.equal(s.n - c.n - q.n, 3, 'filtered (2) + duplicates (1)');

	const rows = await sql(`SELECT sensor_id, date::text AS date, site, processed_at IS NOT NULL AS p
		FROM dlake_cleansed.${NAME} ORDER BY "timestamp"`);
	assert.deepEqual(rows, [
		{ sensor_id: 's-1', date: '2024-02-29', site: 'paris', p: true },
		{ sensor_id: 's-2', date: '2024-02-29', site: 'lyon', p: true },
		{ sensor_id: 's-1', date: '2024-02-29', site: 'paris', p: true },
	]);

	const reasons = await sql(`SELECT f->>'rule' AS rule, coalesce(f->>'field', '') AS field, f->>'reason' AS reason
		FROM dlake_quarantine.${NAME} q, jsonb_array_elements(q.failures) f ORDER BY 1, 2, 3`);
	assert.deepEqual(reasons, [
		{ rule: 'json', field: '', reason: 'invalid JSON' },
		{ rule: 'json', field: '', reason: 'invalid JSON' },
		{ rule: 'lookup', field: 'site', reason: 'no site in public.rules_sensors for sensor_id' },
		{ rule: 'required', field: 'timestamp', reason: 'missing' },
		{ rule: 'required', field: 'value', reason: 'missing' },
	]);
	const [raw] = await sql(`SELECT encode(data, 'hex') AS hex, shard_id IS NOT NULL AS shard, sequence_number IS NOT NULL AS seq
		FROM dlake_quarantine.${NAME} WHERE substr(data, 1, 1) = '\\xff'::bytea`);
	assert.deepEqual(raw, { hex: 'ff00fe7b7d', shard: true, seq: true }, 'original bytes, shard and sequence kept');
});
