import { test } from 'node:test';
import assert from 'node:assert/strict';
import { invalidRecord } from '../protocol';
import { CHUNK_OVERHEAD_BYTES, TraceStore } from './trace-store';
import { call, frame, runInfo } from '../test/fixtures/test-records';

const bytes = (n: number) => new Uint8Array(n);

test('fixtures are valid records', () => {
  for (const r of [call(1), call(2, 'emulated'), frame(3), runInfo()]) assert.equal(invalidRecord(r), null);
});

test('counts calls per path, frames, runs and daemon drops', () => {
  const s = new TraceStore(100);
  s.append(bytes(10), [runInfo(), call(0), call(1, 'emulated'), frame(2), { kind: 'dropped', count: 7, atNs: 1 }]);
  assert.equal(s.totals.records, 5);
  assert.equal(s.totals.calls, 2);
  assert.deepEqual(s.totals.callsByPath, { direct: 0, delegated: 1, emulated: 1 });
  assert.equal(s.totals.frames, 1);
  assert.equal(s.totals.droppedByDaemon, 7);
  assert.equal(s.runs.length, 1);
});

test('stays within its record limit by letting the oldest chunks go, never the newest', () => {
  const s = new TraceStore(5);
  for (let i = 0; i < 10; i++) s.append(bytes(4), [call(i * 2), call(i * 2 + 1)]);
  assert.ok(s.totals.records <= 5, `${s.totals.records} records held`);
  assert.equal(s.totals.evicted, 20 - s.totals.records);
  assert.deepEqual([...s.since(0)].map((c) => c.no), [8, 9]);
  // One chunk larger than the limit is kept whole: the limit bounds history, not what just arrived.
  s.append(bytes(4), Array.from({ length: 9 }, (_, i) => call(100 + i)));
  assert.deepEqual([...s.since(0)].map((c) => c.no), [10]);
});

test('a reader resumes from its cursor; an empty batch adds nothing', () => {
  const s = new TraceStore(1000);
  for (let i = 0; i < 4; i++) s.append(bytes(1), [call(i)]);
  assert.equal(s.append(bytes(0), []), null);
  assert.deepEqual([...s.since(2)].map((c) => c.no), [2, 3]);
  assert.deepEqual([...s.since(s.endNo)], []);
});

test('clear empties it, tells listeners, and keeps chunk numbers growing', () => {
  const s = new TraceStore(1000);
  const seen: string[] = [];
  s.onChange((c) => seen.push(c.type));
  s.append(bytes(1), [call(0)]);
  s.clear();
  assert.equal(s.isEmpty, true);
  const c = s.append(bytes(1), [call(1)]);
  assert.equal(c?.no, 1);
  assert.deepEqual(seen, ['append', 'clear', 'append']);
});

test('many evictions keep memory compact and order intact', () => {
  const s = new TraceStore(10);
  for (let i = 0; i < 5000; i++) s.append(bytes(1), [call(i)]);
  assert.deepEqual([...s.since(0)].map((c) => c.no), [4990, 4991, 4992, 4993, 4994, 4995, 4996, 4997, 4998, 4999]);
  assert.deepEqual([...s.since(4995)].map((c) => c.no), [4995, 4996, 4997, 4998, 4999]);
});

test('lowering the limit evicts at once; a nonsense limit is refused', () => {
  const s = new TraceStore(100);
  for (let i = 0; i < 50; i++) s.append(bytes(1), [call(i)]);
  s.setLimit(10);
  assert.equal(s.totals.records, 10);
  assert.throws(() => s.setLimit(0), RangeError);
});

test('chunks and held bytes are capped whatever the chunking, not only records', () => {
  const s = new TraceStore(1_000_000, { maxChunks: 100, maxHeldBytes: 1_000_000 });
  for (let i = 0; i < 5000; i++) s.append(bytes(40), [call(i)]);
  assert.equal(s.totals.chunks, 100, 'one-record chunks stop at the chunk cap');
  assert.equal(s.totals.heldBytes, 100 * (40 + CHUNK_OVERHEAD_BYTES));
  assert.equal(s.totals.evicted, 4900);
  const big = new TraceStore(1_000_000, { maxChunks: 1000, maxHeldBytes: 100_000 });
  for (let i = 0; i < 50; i++) big.append(bytes(10_000), [call(i)]);
  assert.ok(big.totals.heldBytes <= 100_000, `${big.totals.heldBytes} bytes held`);
  // The newest chunk stays even when it alone is over the cap.
  big.append(bytes(200_000), [call(99)]);
  assert.equal(big.totals.chunks, 1);
});
