// Runs known to the Compare tab: a run with calls, and a run whose report says it made none (a program
// under the interposer), which is listed with its figures rather than lost as a report without calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallStore } from './call-store';
import { RunIndex } from './run-index';
import type { BenchReport } from '../protocol/trace-stream';

const report = (extra: Partial<BenchReport> = {}): BenchReport => ({ workload: 'stream', mode: null, mtu: 65536, results: [], ratios: {}, ...extra });

test('a report without calls waits for its run; an untraced run is listed at once', () => {
  const idx = new RunIndex(new CallStore());
  idx.noteReport('traced', report());
  assert.deepEqual(idx.withCalls(), [], 'a traced run is listed once its calls arrive');
  assert.equal(idx.get('traced'), undefined);
  idx.noteReport('prog', report({ program: 'iperf3', untraced: 'calls were not traced' }));
  assert.deepEqual(idx.withCalls().map((r) => r.id), ['prog']);
  assert.equal(idx.get('prog')?.report?.program, 'iperf3');
});
