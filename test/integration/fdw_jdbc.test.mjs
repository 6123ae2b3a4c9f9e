/*
 * fdw_jdbc.test.mjs — what a BI tool sees through the PostgreSQL JDBC
 * driver (Debian libpostgresql-jdbc-java): a tiny Java program, compiled at
 * test time, lists the dlake foreign tables and their column types through
 * DatabaseMetaData and runs a query on one of them.
 * Skipped when javac or the driver is missing.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { pg, env, ensureExtension, createLakeServer, createBucket, uniqueName } from '../lib/stack.mjs';

const JAR = '/usr/share/java/postgresql.jar';
const haveJava = spawnSync('javac', ['-version']).status === 0 && fs.existsSync(JAR);

const JAVA = `
import java.sql.*;

public class LakeMeta {
	public static void main(String[] args) throws Exception {
		String url = "jdbc:postgresql://" + args[0] + ":" + args[1] + "/" + args[2];
		try (Connection c = DriverManager.getConnection(url, args[3], "")) {
			DatabaseMetaData md = c.getMetaData();
			try (ResultSet rs = md.getTables(null, "jdbc_lake", "%", null)) {
				while (rs.next())
					System.out.println("TABLE\\t" + rs.getString("TABLE_NAME") + "\\t" + rs.getString("TABLE_TYPE"));
			}
			try (ResultSet rs = md.getColumns(null, "jdbc_lake", "sales", "%")) {
				while (rs.next())
					System.out.println("COLUMN\\t" + rs.getString("COLUMN_NAME") + "\\t" + rs.getString("TYPE_NAME") +
						"\\t" + rs.getInt("DATA_TYPE"));
			}
			try (PreparedStatement ps = c.prepareStatement(
					"SELECT region, count(*), sum(amount) FROM jdbc_lake.sales WHERE day = ?::date GROUP BY region ORDER BY region")) {
				ps.setString(1, "2024-01-02");
				try (ResultSet rs = ps.executeQuery()) {
					while (rs.next())
						System.out.println("ROW\\t" + rs.getString(1) + "\\t" + rs.getLong(2) + "\\t" + rs.getBigDecimal(3));
				}
			}
		}
	}
}
`;

let client;
let tmp;

before(async () =>
{
	if (!haveJava)
		return;
	client = await pg();
	await ensureExtension(client);
	assert.ok(await createLakeServer(client, 'jdbc_lake_srv'));
	const bucket = await createBucket(uniqueName('fdwjdbc'));
	for (const d of [1, 2])
		await client.query(`SELECT dlake.write_file($1, $2, NULL, '{}', 'jdbc_lake_srv')`, [
			`SELECT g AS id, (g * 0.5)::numeric(10,2) AS amount, (ARRAY['eu','us'])[g % 2 + 1] AS region
			 FROM generate_series(${d * 100}, ${d * 100 + 9}) g`,
			`s3://${bucket}/sales/day=2024-01-0${d}/part-0.parquet`]);
	await client.query('DROP SCHEMA IF EXISTS jdbc_lake CASCADE');
	await client.query('CREATE SCHEMA jdbc_lake');
	await client.query(`CREATE FOREIGN TABLE jdbc_lake.sales (id int, amount numeric(10,2), region text, day date, _path text)
		SERVER jdbc_lake_srv OPTIONS (location 's3://${bucket}/sales/', partition_by 'day')`);
	tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dlake-jdbc-'));
	fs.writeFileSync(path.join(tmp, 'LakeMeta.java'), JAVA);
	const c = spawnSync('javac', ['-cp', JAR, '-d', tmp, path.join(tmp, 'LakeMeta.java')], { encoding: 'utf8' });
	assert.equal(c.status, 0, c.stderr);
});

after(async () =>
{
	if (client)
	{
		await client.query('DROP SCHEMA IF EXISTS jdbc_lake CASCADE').catch(() => {});
		await client.query('DROP SERVER IF EXISTS jdbc_lake_srv CASCADE').catch(() => {});
		await client.end();
	}
	if (tmp)
		fs.rmSync(tmp, { recursive: true, force: true });
});

describe('JDBC', { skip: !haveJava && 'javac or /usr/share/java/postgresql.jar missing' }, () =>
{
	test('DatabaseMetaData lists the foreign table and its types; a query returns its rows', () =>
	{
		const r = spawnSync('java', ['-cp', `${JAR}:${tmp}`, 'LakeMeta', env.PGHOST, String(env.PGPORT), env.PGDATABASE, env.PGUSER],
			{ encoding: 'utf8', timeout: 60000 });
		assert.equal(r.status, 0, r.stderr);
		const lines = r.stdout.trim().split('\n').map((l) => l.split('\t'));
		assert.deepEqual(lines.filter((l) => l[0] === 'TABLE'), [['TABLE', 'sales', 'FOREIGN TABLE']]);
		assert.deepEqual(lines.filter((l) => l[0] === 'COLUMN').map((l) => l.slice(1)), [
			['id', 'int4', '4'],
			['amount', 'numeric', '2'],
			['region', 'text', '12'],
			['day', 'date', '91'],
			['_path', 'text', '12'],
		]);
		assert.deepEqual(lines.filter((l) => l[0] === 'ROW').map((l) => l.slice(1)), [
			['eu', '5', '510.00'],
			['us', '5', '512.50'],
		]);
	});
});
