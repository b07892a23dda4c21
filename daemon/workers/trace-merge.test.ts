import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeChunk, type CallRecord, type TraceRecord } from '../../protocol';
import { TraceMerge } from './trace-merge';
import { TraceForward } from './trace-forward';
import type { FromWorker } from './messages';

const call = (guest: string, start: number): CallRecord => ({
  kind: 'call', seq: 0, run: 'r', guest, path: 'delegated', socket: 1, op: 'send', bytes: 1, result: 'ok',
  stages: [{ name: 'execute', start, end: start + 10 }],
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const now = (): number => Number(process.hrtime.bigint());

describe('TraceMerge', () => {
  it('interleaves two workers\' batches by start time within the hold window', async () => {
    const out: TraceRecord[] = [];
    const merge = new TraceMerge({ enabled: true, publish: (r) => void out.push(r) }, 20);
    const t = now();
    merge.add([call('a', t + 1), call('a', t + 3), call('a', t + 5)], 0);
    merge.add([call('b', t + 2), call('b', t + 4)], 0);
    assert.equal(out.length, 0, 'held for the window');
    await sleep(60);
    assert.deepEqual(out.map((r) => (r as CallRecord).stages[0]?.start), [t + 1, t + 2, t + 3, t + 4, t + 5]);
    merge.close();
  });

  it('publishes a record older than what already left at once (late, counted), and a worker\'s drops as one DroppedRecord', async () => {
    const out: TraceRecord[] = [];
    const merge = new TraceMerge({ enabled: true, publish: (r) => void out.push(r) }, 5);
    const t = now();
    merge.add([call('a', t)], 0);
    await sleep(30);
    merge.add([call('b', t - 1000)], 7);
    assert.equal(merge.late, 1);
    assert.equal(merge.dropped, 7);
    assert.deepEqual(out.map((r) => r.kind), ['call', 'dropped', 'call']);
    assert.equal((out[1] as { count: number }).count, 7);
    merge.close();
  });

  it('releases everything held on close', () => {
    const out: TraceRecord[] = [];
    const merge = new TraceMerge({ enabled: true, publish: (r) => void out.push(r) }, 10_000);
    merge.add([call('a', now() + 2), call('a', now() + 1)], 0);
    merge.close();
    assert.equal(out.length, 2);
    assert.equal(merge.held, 0);
  });
});

describe('TraceForward', () => {
  it('sends records as one decodable chunk per batch, and counts what it cannot send while the channel is full', async () => {
    const sent: Extract<FromWorker, { type: 'trace' }>[] = [];
    const pending: (() => void)[] = [];
    const fwd = new TraceForward((m, done) => {
      if (m.type === 'trace') sent.push(m);
      pending.push(() => done(null));
      return true;
    }, true);
    const t = now();
    fwd.publish(call('g', t));
    fwd.publish(call('g', t + 5));
    fwd.flush();
    assert.equal(sent.length, 1);
    const { records, error } = decodeChunk(sent[0]?.chunk as Uint8Array);
    assert.equal(error, null);
    assert.deepEqual(records.map((r) => (r as CallRecord).stages[0]?.start), [t, t + 5]);
    // 64 batches unacknowledged: the next ones are dropped and counted, and the count rides on the next send.
    for (let i = 0; i < 70; i++) {
      fwd.publish(call('g', t + i));
      fwd.flush();
    }
    assert.equal(sent.length, 64);
    assert.equal(fwd.droppedTotal, 70 - 63);
    for (const p of pending.splice(0)) p();
    fwd.publish(call('g', t));
    fwd.flush();
    assert.equal(sent.at(-1)?.dropped, 7);
    // An unencodable record is counted too.
    fwd.publish({ kind: 'bogus' } as unknown as TraceRecord);
    assert.equal(fwd.droppedTotal, 8);
    await sleep(10);
  });
});
