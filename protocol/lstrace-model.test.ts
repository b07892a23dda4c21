// The decoder enforces the model: whatever bytes a chunk holds, every record decodeChunk returns passes
// invalidRecord (trace.ts), as README.md promises. Chunks here carry a correct CRC, so the parser itself
// meets the bytes (a wrong CRC would stop them before any record is read).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32 } from './crc32';
import { decodeChunk, encodeChunk } from './lstrace';
import { CHUNK_HEADER_BYTES, CHUNK_MAGIC, Kind, ValueTag } from './lstrace-format';
import { invalidRecord, type RunInfo, type TraceRecord } from './trace';

/** A chunk around `body`, with its header and a CRC that matches. */
function chunkOf(body: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(CHUNK_HEADER_BYTES + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, CHUNK_MAGIC);
  dv.setUint32(4, body.length);
  dv.setUint32(8, Math.min(count, body.length));
  dv.setUint32(12, crc32(body, 0, body.length));
  out.set(body, CHUNK_HEADER_BYTES);
  return out;
}

function uvarint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** A string table: strings of every interesting length, some beyond the model's 255 and 64 limits. */
const table = fc.array(fc.oneof(fc.constantFrom('', 'a', 'x'.repeat(64), 'y'.repeat(65), 'z'.repeat(255), 'w'.repeat(300)), fc.string({ maxLength: 20 })), { minLength: 1, maxLength: 6 });

function encodeTable(strings: string[]): number[] {
  const out = uvarint(strings.length);
  for (const s of strings) {
    const b = new TextEncoder().encode(s);
    out.push(...uvarint(b.length), ...b);
  }
  return out;
}

/** Record bytes that start with a plausible tag, then anything: biased so that many records parse. */
const recordish = fc.tuple(fc.oneof(fc.constantFrom(Kind.call, Kind.frame, Kind.run, Kind.dropped, 0x80, 0x81, 0x91, 0xc0), fc.nat({ max: 255 })), fc.uint8Array({ maxLength: 60 }));

function dump(r: TraceRecord): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)).slice(0, 400);
}

function assertModel(bytes: Uint8Array): void {
  const { records } = decodeChunk(bytes);
  for (const r of records) assert.equal(invalidRecord(r), null, `decoded ${dump(r)}`);
}

test('every record decoded from arbitrary chunk bodies passes invalidRecord', () => {
  fc.assert(
    fc.property(table, fc.array(recordish, { minLength: 1, maxLength: 8 }), (strings, recs) => {
      const body = Uint8Array.from([...encodeTable(strings), ...recs.flatMap(([tag, rest]) => [tag, ...rest])]);
      assertModel(chunkOf(body, recs.length));
    }),
    { numRuns: 3000 },
  );
});

/** A run record written byte by byte, so that fields the encoder would refuse can be tried. */
const runBytes = fc.record({
  id: fc.nat({ max: 5 }),
  workload: fc.nat({ max: 5 }),
  started: fc.oneof(
    fc.nat().map((n) => [ValueTag.nat, ...uvarint(n)]),
    fc.double().map((d) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, d);
      return [ValueTag.float, ...b];
    }),
  ),
});

test('run records: names within 255 characters and a start time that is a non-negative integer, or an error', () => {
  const strings = ['r', 'w'.repeat(256), 'stream', 'x'.repeat(300), '', 'k'];
  fc.assert(
    fc.property(runBytes, ({ id, workload, started }) => {
      // id, workload, 0 paths, 0 params, kernel, cpu, cpus 1, mtu 1, mode 0, 0 offloads, startedNs, 0 clock errors
      const rec = [Kind.run, id, workload, 0, 0, 4, 4, ValueTag.nat, 1, ValueTag.nat, 1, 0, 0, ...started, 0];
      const { records, error } = decodeChunk(chunkOf(Uint8Array.from([...encodeTable(strings), ...rec]), 1));
      for (const r of records) assert.equal(invalidRecord(r), null, dump(r));
      if (records.length === 0) assert.ok(error, 'a refused record says why');
    }),
    { numRuns: 2000 },
  );
});

test('the run of the issue (a 300-character id, a NaN start) is refused with a reason', () => {
  const strings = ['x'.repeat(300), 'stream', 'k', 'r'];
  const nan = new Uint8Array(8);
  new DataView(nan.buffer).setFloat64(0, NaN);
  const run = (id: number) => [Kind.run, id, 1, 0, 0, 2, 2, ValueTag.nat, 1, ValueTag.nat, 1, 0, 0, ValueTag.float, ...nan, 0];
  const long = decodeChunk(chunkOf(Uint8Array.from([...encodeTable(strings), ...run(0)]), 1));
  assert.deepEqual(long.records, []);
  assert.match(long.error?.message ?? '', /bad run id .*at most 255 characters, got 300/);
  const nanStart = decodeChunk(chunkOf(Uint8Array.from([...encodeTable(strings), ...run(3)]), 1));
  assert.deepEqual(nanStart.records, []);
  assert.match(nanStart.error?.message ?? '', /bad run startedNs .*got NaN/);
});

test('valid runs still round-trip', () => {
  const r: RunInfo = {
    kind: 'run', id: 'r'.repeat(255), workload: 'stream', paths: ['direct'], params: { a: NaN }, startedNs: 2 ** 53 - 1, clockErrorNs: { g: 0.5 },
    host: { kernel: 'k', cpu: 'c', cpus: 2, mtu: 1500, mode: null, offloads: [] },
  };
  const { records, error } = decodeChunk(encodeChunk([r]));
  assert.equal(error, null);
  assert.deepEqual(records, [r]);
});

test('valid chunks with bytes changed (and the CRC fixed) decode only to valid records', () => {
  const records: TraceRecord[] = [
    { kind: 'call', seq: 7, run: 'r', guest: 'g', path: 'delegated', socket: 3, op: 'send', bytes: 100, result: 'ok', stages: [{ name: 'guest', start: 10, end: 20 }, { name: 'execute', start: 20, end: 30 }], frames: [8, 9] },
    { kind: 'frame', seq: 8, run: 'r', guest: 'g', direction: 'guest-to-host', length: 60, payload: 6, flow: { protocol: 'udp', src: '10.0.0.2', srcPort: 1, dst: '10.0.0.3', dstPort: 2 }, tIn: 40, tOut: 50 },
    { kind: 'run', id: 'r', workload: 'stream', paths: ['emulated'], params: { s: 'x'.repeat(280) }, startedNs: 5, clockErrorNs: {}, host: { kernel: 'k', cpu: 'c', cpus: 1, mtu: 1500, mode: 'virtio', offloads: ['tso'] } },
    { kind: 'dropped', count: 3, atNs: 4 },
  ];
  const good = encodeChunk(records);
  const body = good.subarray(CHUNK_HEADER_BYTES);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat({ max: body.length - 1 }), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
      const b = body.slice();
      for (const [at, v] of edits) b[at] = v;
      assertModel(chunkOf(b, records.length));
    }),
    { numRuns: 5000 },
  );
});
