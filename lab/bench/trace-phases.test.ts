import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhaseCounter, followPhases, phaseIndex, settleNs, traceOverhead, tracingIn, type PhaseBytes } from './trace-phases';

const MS = 1e6;
const P = { originNs: 10_000 * MS, phaseMs: 100 };

test('phases alternate off, on from the origin; before it tracing is on (the guest says hello then)', () => {
  assert.equal(phaseIndex(P, P.originNs), 0);
  assert.equal(phaseIndex(P, P.originNs + 99.9 * MS), 0);
  assert.equal(phaseIndex(P, P.originNs + 100 * MS), 1);
  assert.equal(phaseIndex(P, P.originNs - 1), -1);
  assert.deepEqual([-3, -2, -1, 0, 1, 2, 3].map(tracingIn), [true, true, true, false, true, false, true]);
});

test('a PhaseCounter leaves out each phase\'s settling start and reports only whole phases within the run', () => {
  const c = new PhaseCounter(P);
  const settle = settleNs(P);
  assert.equal(settle, 20 * MS);
  for (let k = 0; k < 6; k++) {
    const start = P.originNs + k * 100 * MS;
    c.add(start + 1 * MS, 1_000_000); // settling: not counted
    c.add(start + settle, 10 * (k + 1));
    c.add(start + 99 * MS, 1);
  }
  // The run began inside phase 0 and ended inside phase 5: phases 1..4 are whole.
  const got = c.phases(P.originNs + 50 * MS, P.originNs + 550 * MS);
  assert.deepEqual(got.map((x) => [x.index, x.tracing, x.bytes]), [[1, true, 21], [2, false, 31], [3, true, 41], [4, false, 51]]);
  for (const x of got) assert.equal(x.ns, 80 * MS);
});

test('traceOverhead compares the traced phases with the untraced ones, overall and per neighbouring pair', () => {
  const ph = (index: number, bytes: number): PhaseBytes => ({ index, tracing: tracingIn(index), bytes, ns: 1e9 });
  const o = traceOverhead(P.phaseMs, [ph(0, 100e6), ph(1, 95e6), ph(2, 100e6), ph(3, 90e6), ph(4, 200e6), ph(5, 200e6)]);
  assert.equal(o.phases, 6);
  assert.equal(o.off_mb_per_s, 133.333); // rounded as every figure of the report
  assert.equal(o.on_mb_per_s, 128.333);
  assert.equal(o.overhead_pct, 3.75);
  assert.equal(o.pair_overhead_pct_median, 5); // pairs: 5%, 10%, 0%
  assert.equal(traceOverhead(P.phaseMs, []).overhead_pct, null);
});

test('followPhases applies the current phase at once and each next one at its boundary', async () => {
  let now = P.originNs + 95 * MS;
  const seen: boolean[] = [];
  const stop = followPhases(P, () => now, (on) => seen.push(on));
  assert.deepEqual(seen, [false]);
  now += 10 * MS; // into phase 1 by the time the timer (5 ms) fires
  await new Promise((r) => setTimeout(r, 30));
  stop();
  assert.deepEqual(seen, [false, true]);
});
