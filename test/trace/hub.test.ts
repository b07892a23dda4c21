import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { TraceHub, type ChunkTarget } from '../../daemon/trace/trace-hub';
import { decodeChunk } from '../../protocol';
import type { TraceRecord } from '../../protocol';
import { syntheticStream } from '../fixtures/synthetic';

/** A subscriber whose socket backlog the test controls. */
class FakeTarget implements ChunkTarget {
  records: TraceRecord[] = [];
  backlogBytes = 0;
  chunks = 0;
  backlog(): number {
    return this.backlogBytes;
  }
  send(chunk: Uint8Array): void {
    const { records, error } = decodeChunk(chunk);
    assert.equal(error, null);
    this.chunks++;
    this.records.push(...records);
  }
  seqs(): number[] {
    return this.records.filter((r) => r.kind === 'call' || r.kind === 'frame').map((r) => (r as { seq: number }).seq);
  }
  dropped(): number {
    return this.records.reduce((n, r) => n + (r.kind === 'dropped' ? r.count : 0), 0);
  }
}

/** Waits until `cond` holds (the hub serves lagging subscribers on its batch timer), at most 3 s. */
async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

function publish(hub: TraceHub, calls: number, seed = 1): void {
  for (const r of syntheticStream(calls, { seed })) hub.publish(r);
}

test('the hub numbers records in publish order and its ring stays within its size', () => {
  const hub = new TraceHub({ ringSize: 10_000, batchRecords: 1000 });
  publish(hub, 50_000);
  hub.flush();
  const s = hub.stats();
  assert.ok(s.ringUsed <= 10_000, `ring holds ${s.ringUsed} > 10000`);
  assert.ok(s.ringUsed >= 9_000, `ring holds only ${s.ringUsed}`);
  assert.equal(s.calls, 50_000);
  assert.ok(s.nextSeq > 50_000, 'frames are numbered too');
  hub.close();
});

test('calls, bytes and errors are counted', () => {
  const hub = new TraceHub();
  const recs = [...syntheticStream(2000, { seed: 7 })];
  for (const r of recs) hub.publish(r);
  const calls = recs.filter((r) => r.kind === 'call');
  const s = hub.stats();
  assert.equal(s.calls, calls.length);
  assert.equal(s.bytes, calls.reduce((n, c) => n + (c.kind === 'call' ? c.bytes : 0), 0));
  assert.equal(s.errors, calls.filter((c) => c.kind === 'call' && c.result !== 'ok').length);
  assert.ok(s.errors > 0, 'the synthetic trace has some failed calls');
  hub.close();
});

test('a live subscriber gets every new record once, in order, in batches', async () => {
  const hub = new TraceHub({ batchRecords: 500 });
  publish(hub, 100, 3); // before subscribing: not delivered without history
  const t = new FakeTarget();
  hub.subscribe(t, {});
  await tick();
  const before = hub.stats().nextSeq;
  publish(hub, 3000, 4);
  hub.flush();
  const seqs = t.seqs();
  assert.equal(seqs[0], before);
  assert.deepEqual(seqs, Array.from({ length: hub.stats().nextSeq - before }, (_, i) => before + i));
  assert.ok(t.chunks < 20, `batched: ${t.chunks} chunks`);
  hub.close();
});

test('history from fromSeq continues without duplicates or gaps', async () => {
  const hub = new TraceHub({ batchRecords: 256 });
  publish(hub, 2000, 5);
  hub.flush();
  const first = new FakeTarget();
  hub.subscribe(first, { history: true });
  await tick();
  const lastSeen = first.seqs().at(-1) as number;
  assert.equal(first.seqs().length, hub.stats().nextSeq);
  publish(hub, 1000, 6);
  hub.flush();
  // The reconnecting client asks from a point in the middle of a chunk.
  const resumeAt = lastSeen - 100;
  const second = new FakeTarget();
  const sub = hub.subscribe(second, { history: true, fromSeq: resumeAt });
  assert.equal(sub.fromSeq, resumeAt);
  await tick();
  publish(hub, 10, 8);
  hub.flush();
  const seqs = second.seqs();
  assert.deepEqual(seqs, Array.from({ length: hub.stats().nextSeq - resumeAt }, (_, i) => resumeAt + i));
  hub.close();
});

test('filters select guest, path, op and socket', async () => {
  const hub = new TraceHub({ batchRecords: 300 });
  const t = new FakeTarget();
  hub.subscribe(t, { filter: { guest: 'guest-d1', path: 'delegated', op: 'send' } });
  const other = new FakeTarget();
  hub.subscribe(other, { filter: { path: 'emulated' } });
  await tick();
  publish(hub, 3000, 9);
  hub.flush();
  assert.ok(t.records.length > 50);
  for (const r of t.records) assert.ok(r.kind === 'call' && r.guest === 'guest-d1' && r.path === 'delegated' && r.op === 'send');
  assert.ok(other.records.some((r) => r.kind === 'frame'), 'frames belong to the emulated path');
  for (const r of other.records) assert.ok(r.kind === 'frame' || (r.kind === 'call' && r.path === 'emulated'));
  hub.close();
});

test('a subscriber whose socket is full falls behind, then gets one drop mark and the newest records', async () => {
  const hub = new TraceHub({ ringSize: 20_000, batchRecords: 1000, backlogCap: 1000, maxLag: 50_000 });
  const slow = new FakeTarget();
  const sub = hub.subscribe(slow, {});
  await tick();
  slow.backlogBytes = 10_000; // over the cap: nothing more is sent
  publish(hub, 100_000, 10);
  hub.flush();
  const seen = slow.records.length;
  assert.ok(seen < 2000, `a full socket received ${seen} records`);
  slow.backlogBytes = 0; // the reader drains
  const total = hub.stats().nextSeq;
  await waitFor(() => slow.seqs().at(-1) === total - 1);
  const dropped = slow.dropped();
  assert.ok(dropped > 0, 'a drop mark arrived');
  assert.equal(sub.dropped, dropped);
  assert.equal(hub.stats().drops, dropped);
  const delivered = slow.seqs();
  assert.equal(delivered.length + dropped, total, 'every record is either delivered or counted as dropped');
  assert.equal(new Set(delivered).size, delivered.length, 'no duplicates');
  assert.equal(delivered.at(-1), total - 1, 'it caught up with the newest');
  hub.close();
});

test('a live subscriber further behind than maxLag skips ahead with a drop count', async () => {
  const hub = new TraceHub({ ringSize: 100_000, batchRecords: 500, backlogCap: 1000, maxLag: 2000 });
  const slow = new FakeTarget();
  hub.subscribe(slow, {});
  await tick();
  slow.backlogBytes = 5000;
  publish(hub, 10_000, 11);
  hub.flush();
  slow.backlogBytes = 0;
  await waitFor(() => slow.seqs().at(-1) === hub.stats().nextSeq - 1);
  assert.ok(slow.dropped() > 0);
  assert.ok(slow.seqs().length <= 2000 + 500, `delivered ${slow.seqs().length}`);
  assert.equal(slow.seqs().at(-1), hub.stats().nextSeq - 1);
  hub.close();
});

test('a snapshot holds the newest records and ends', async () => {
  const hub = new TraceHub({ ringSize: 5000, batchRecords: 700 });
  publish(hub, 20_000, 12);
  const t = new FakeTarget();
  let done = false;
  hub.snapshot(t, 1234, () => {
    done = true;
  });
  await waitFor(() => done);
  assert.ok(done);
  const next = hub.stats().nextSeq;
  assert.deepEqual(t.seqs(), Array.from({ length: 1234 }, (_, i) => next - 1234 + i));
  assert.equal(hub.stats().subscribers, 0, 'a finished snapshot leaves no subscription');
  hub.close();
});
