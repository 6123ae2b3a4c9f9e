// Sanity check of files written by dlake's Parquet writer with independent
// readers: DuckDB (@duckdb/node-api) and hyparquet.  The sample files come
// from `parquet_selftest --write-samples DIR`; expected values are
// recomputed here with the same generator as the C test (gen_value).
//
// usage: node test/unit/check_with_duckdb.mjs DIR   (run from the repo root;
//        test/unit/run.sh --interop does both steps)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../package.json', import.meta.url));
const { DuckDBInstance } = require('@duckdb/node-api');
const hyparquet = await import(require.resolve('hyparquet'));
const { compressors } = await import(require.resolve('hyparquet-compressors'));

const dir = process.argv[2];
const NROWS = 2345;
const words = ['', 'a', 'héllo', '日本語', 'tab\tquote"', 'zz', 'emoji 😀'];
const nullable = new Set(['b', 'i32', 'i64', 'f', 's', 'bin', 'u', 'ts', 'dt', 'i96']);
const I32MIN = -2147483648, I32MAX = 2147483647;

function i32(i) { return (i * 7919 % 1000) - 500; }
function expected(col, i) {
  if (nullable.has(col) && i % 7 === 3) return null;
  switch (col) {
    case 'b': return i % 3 === 0;
    case 'i32': return i === 0 ? I32MIN : i === 1 ? I32MAX : i32(i);
    case 'i16': case 'dt': return i32(i);
    case 'i64': return i === 0 ? '-9223372036854775808' : i === 1 ? '9223372036854775807' : String(BigInt(i) * 1000003n - 77n);
    case 'ts': return String(BigInt(i) * 1000003n - 77n);
    case 'f': return i === 2 ? NaN : i === 4 ? -0 : Math.fround(i / 4);
    case 'd': return i === 2 ? NaN : i === 5 ? Infinity : i === 6 ? -Infinity : i * 1.25 - 3;
    case 's': return words[i % 7] + String(i % 10);
    case 'bin': return Buffer.from(words[i % 7] + String(i % 10)).toString('hex').toUpperCase();
    case 'u': {
      const b = Buffer.alloc(16);
      for (let k = 0; k < 16; k++) b[k] = (i * 31 + k) & 255;
      const h = b.toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    case 'i96': return String((BigInt(i) * 86400000000n) / 3n - 1000000n);
    case 'l': {
      if (i % 5 === 1) return null;
      const ne = i % 4, el = [];
      for (let k = 0; k < ne; k++) el.push(k === 1 ? 'NULL' : String(i * 10 + k));
      return '[' + el.join(', ') + ']';
    }
  }
}
function same(a, b) {
  if (typeof b === 'number' && Number.isNaN(b)) return typeof a === 'number' && Number.isNaN(a);
  if (typeof b === 'number' && Object.is(b, -0)) return Object.is(a, -0) || a === 0;
  return a === b;
}

let failures = 0, checked = 0;
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
for (const file of readdirSync(dir).filter((f) => f.endsWith('.parquet')).sort()) {
  const path = join(dir, file);
  const res = await conn.runAndReadAll(`
    SELECT b, i32, i16, i64::VARCHAR AS i64, f, d, s, hex(bin) AS bin, u::VARCHAR AS u,
           epoch_us(ts)::VARCHAR AS ts, (dt - DATE '1970-01-01')::INTEGER AS dt,
           epoch_us(i96)::VARCHAR AS i96, l::VARCHAR AS l
    FROM read_parquet('${path}', file_row_number = true) ORDER BY file_row_number`);
  const rows = res.getRowObjectsJS();
  let bad = 0;
  if (rows.length !== NROWS) { console.log(`${file}: duckdb returned ${rows.length} rows`); bad++; }
  rows.forEach((row, i) => {
    for (const col of Object.keys(row)) {
      let got = row[col];
      if (typeof got === 'bigint') got = Number(got);
      const want = expected(col, i);
      checked++;
      if (!same(got, want)) {
        if (bad < 5) console.log(`${file}: duckdb row ${i} ${col}: got ${JSON.stringify(got)} want ${JSON.stringify(want)}`);
        bad++;
      }
    }
  });
  // hyparquet: strings, doubles and lists
  const buf = readFileSync(path);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const hrows = await hyparquet.parquetReadObjects({ file: ab, compressors, columns: ['s', 'd', 'l'] });
  if (hrows.length !== NROWS) { console.log(`${file}: hyparquet returned ${hrows.length} rows`); bad++; }
  hrows.forEach((row, i) => {
    const wl = expected('l', i);
    const gotl = row.l === null || row.l === undefined ? null :
      '[' + row.l.map((x) => (x === null || x === undefined ? 'NULL' : String(x))).join(', ') + ']';
    checked += 3;
    if (!same(row.s ?? null, expected('s', i)) || !same(row.d, expected('d', i)) || gotl !== wl) {
      if (bad < 5) console.log(`${file}: hyparquet row ${i}: ${JSON.stringify([row.s, row.d, gotl])}`);
      bad++;
    }
  });
  console.log(`${file}: ${bad ? 'FAILED' : 'ok'} (${rows.length} rows)`);
  failures += bad;
}
console.log(`${checked} values checked, ${failures} mismatches`);
process.exit(failures ? 1 : 0);
