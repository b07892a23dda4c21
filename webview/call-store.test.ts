// The viewer's model without a browser: appends, per-track order, window queries, the record limit,
// the filter mask (the comparison figures: compare-stats.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallStore } from './call-store';
import { MatchMask, EMPTY_FILTER } from './call-filter';
import { ingestRecords } from './chunk-ingest';
import { syntheticCalls } from '../test/fixtures/synthetic';
import { OPS, PATHS, type CallRecord } from '../protocol/trace';

const call = (seq: number, start: number, dur: number, extra: Partial<CallRecord> = {}): CallRecord => ({
  kind: 'call', seq, run: 'r', guest: 'g1', path: 'delegated', socket: 3, op: 'send', bytes: 100, result: 'ok',
  stages: [{ name: 'guest', start, end: start + dur / 2 }, { name: 'execute', start: start + dur / 2, end: start + dur }], ...extra,
});

test('calls land in typed arrays, relative to the first start, each track ordered by start', () => {
  const st = new CallStore();
  st.addCall(call(1, 5000, 100));
  st.addCall(call(2, 4000, 100)); // out of order: inserted before
  st.addCall(call(3, 9000, 100, { socket: 4 }));
  assert.equal(st.count, 3);
  assert.equal(st.base, 5000);
  assert.equal(st.start[1], -1000);
  assert.equal(st.tracks.length, 2);
  const t = st.tracks[0]!;
  assert.deepEqual(Array.from(t.list.data.subarray(0, t.list.length)), [1, 0]);
  assert.equal(st.stageCount[0], 2);
  assert.equal(st.stageEnd[st.stageFirst[0]! + 1], 100);
});

test('window() returns the calls that overlap a time range, including one that began before it', () => {
  const st = new CallStore();
  st.addCall(call(1, 0, 10_000)); // long
  for (let i = 1; i < 100; i++) st.addCall(call(i + 1, i * 1000, 100));
  const t = st.tracks[0]!;
  const [from, to] = st.window(t, 5000, 5200);
  const slots = Array.from(t.list.data.subarray(from, to));
  assert.ok(slots.includes(0), 'the long call overlapping the window is found');
  assert.ok(slots.includes(5));
  assert.ok(!slots.includes(7));
});

test('past the record limit the oldest calls are dropped in a batch and counted; tracks stay consistent', () => {
  const st = new CallStore(1000);
  for (let i = 0; i < 2500; i++) st.addCall(call(i, i * 100, 50, { socket: i % 3 }));
  assert.ok(st.count <= 1000);
  assert.equal(st.count + st.droppedByLimit, 2500);
  assert.equal(st.seq[0], st.droppedByLimit, 'the oldest kept call follows the dropped ones');
  let listed = 0;
  for (const t of st.tracks) {
    listed += t.list.length;
    for (let i = 0; i < t.list.length; i++) assert.ok(t.list.data[i]! < st.count);
  }
  assert.equal(listed, st.count);
  assert.equal(st.stageEnd[st.stageFirst[st.count - 1]! + 1], 50, 'stage pool moved with the calls');
});

test('the filter mask dims what does not match and steps through matches in time order', () => {
  const st = new CallStore();
  ingestRecords(syntheticCalls(600, { seed: 3 }), st);
  const m = new MatchMask(st);
  m.set({ ...EMPTY_FILTER, op: 'connect', path: 'delegated' });
  assert.ok(m.matches > 0 && m.matches < st.count);
  for (let s = 0; s < st.count; s++) assert.equal(m.mask![s] === 1, OPS[st.op[s]!] === 'connect' && PATHS[st.path[s]!] === 'delegated');
  const a = m.step(-1, 1);
  const b = m.step(a, 1);
  assert.ok(st.start[b]! >= st.start[a]!);
  m.set({ ...EMPTY_FILTER, text: 'guest-e1 send' });
  for (let s = 0; s < st.count; s++) if (m.mask![s]) assert.equal(st.guests.values[st.guest[s]!], 'guest-e1');
  m.set(EMPTY_FILTER);
  assert.equal(m.mask, null);
});

test('.lstrace chunks load through the decoder view exactly as the records do; a damaged chunk keeps nothing of itself and throws', async () => {
  const { encodeChunk } = await import('../protocol/lstrace-encode');
  const { ingestChunk } = await import('./chunk-ingest');
  const records = syntheticCalls(2000, { seed: 9 });
  const a = new CallStore();
  ingestRecords(records, a);
  const b = new CallStore();
  for (let i = 0; i < records.length; i += 500) ingestChunk(encodeChunk(records.slice(i, i + 500)), b);
  assert.equal(b.count, a.count);
  assert.equal(b.frameCount, a.frameCount);
  for (const col of ['start', 'end', 'seq', 'socket', 'bytes', 'path', 'op', 'stageCount', 'linkCount'] as const)
    assert.deepEqual(b[col].subarray(0, b.count), a[col].subarray(0, a.count), col);
  assert.deepEqual(b.results.values, a.results.values);
  const bad = encodeChunk(records.slice(0, 100));
  bad[bad.length - 3]! ^= 0xff;
  const before = b.count;
  assert.throws(() => ingestChunk(bad, b), /offset/);
  assert.equal(b.count, before, 'a chunk that fails its checksum adds nothing');
});

test('compact() trims the doubling slack after a file load; appending afterwards still works', () => {
  const st = new CallStore();
  ingestRecords(syntheticCalls(3000, { seed: 11 }), st);
  const before = st.arrayBytes;
  const startCol = Array.from(st.start.subarray(0, st.count));
  st.compact();
  assert.ok(st.arrayBytes < before, `${st.arrayBytes} < ${before}`);
  assert.equal(st.start.length, st.count);
  assert.deepEqual(Array.from(st.start), startCol);
  for (const t of st.tracks) assert.equal(t.starts.length, t.list.length);
  const n = st.count;
  st.addCall(call(999_999, st.base! + 5, 10));
  assert.equal(st.count, n + 1);
  const [from, to] = st.window(st.tracks[st.track[n]!]!, 0, 20);
  assert.ok(to > from);
});

test('a whole .lstrace file in one message loads too; a truncated one keeps every record before the cut', async () => {
  const { encodeFile } = await import('../protocol/lstrace-encode');
  const { ingestChunk } = await import('./chunk-ingest');
  const records = syntheticCalls(3000, { seed: 13 });
  const file = encodeFile(records, 1000);
  const st = new CallStore();
  ingestChunk(file, st);
  assert.equal(st.count, records.filter((r) => r.kind === 'call').length);
  const cut = new CallStore();
  assert.throws(() => ingestChunk(file.subarray(0, file.length - 100), cut), /truncated|offset/);
  assert.ok(cut.count > 0 && cut.count < st.count, `kept ${cut.count} of ${st.count}`);
});

test('tracks of sockets whose calls were all dropped are forgotten, and the rest renumbered', () => {
  const st = new CallStore(1000);
  // a new socket every 10 calls, as a connect-request-close workload makes them
  for (let i = 0; i < 5000; i++) st.addCall(call(i, i * 100, 50, { socket: Math.floor(i / 10) }));
  assert.ok(st.tracks.length <= 101, `${st.tracks.length} tracks for ${st.count} calls`);
  st.tracks.forEach((t, i) => assert.equal(t.id, i));
  for (let s = 0; s < st.count; s++) assert.equal(st.tracks[st.track[s]!]!.socket, st.socket[s]);
  const before = st.tracks.length;
  st.addCall(call(9999, 999_999, 50, { socket: 7777 }));
  assert.equal(st.tracks.length, before + 1);
});
