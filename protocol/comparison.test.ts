import { test } from 'node:test';
import assert from 'node:assert/strict';
import { METRICS, formatFactor, ratioLine, ratioVerdict, relativeText, verdict, verdictText } from './comparison';

test('throughput: the higher figure is faster, the factor is at least 1', () => {
  const v = verdict({ label: 'delegated', value: 93 }, { label: 'direct', value: 124 }, METRICS.mb_per_s)!;
  assert.equal(verdictText(v), 'direct 1.33× faster than delegated (throughput)');
  assert.equal(relativeText(v, 'delegated'), '1.33× slower');
  assert.equal(relativeText(v, 'direct'), '1.33× faster');
});

test('latency: the lower figure is faster', () => {
  const v = verdict({ label: 'delegated', value: 82.2 }, { label: 'direct', value: 10 }, METRICS.p50_us)!;
  assert.equal(verdictText(v), 'direct 8.22× faster than delegated (p50)');
});

test('a report ratio reads the way its metric runs: 0.75 on throughput and 8.22 on latency are both "slower"', () => {
  assert.equal(verdictText(ratioVerdict('delegated/direct', 0.75, 'mb_per_s')!), 'direct 1.33× faster than delegated (throughput)');
  assert.equal(verdictText(ratioVerdict('delegated/direct', 8.22, 'p50_us')!), 'direct 8.22× faster than delegated (p50)');
  assert.equal(verdictText(ratioVerdict('delegated/emulated', 5.77, 'mb_per_s')!), 'delegated 5.77× faster than emulated (throughput)');
  assert.equal(ratioLine('delegated/emulated', 0.5, 'p50_us'), 'delegated 2.00× faster than emulated (p50, lower µs is better; delegated/emulated = 0.50)');
});

test('nothing is compared with a zero, missing or infinite figure', () => {
  for (const bad of [0, null, undefined, NaN, Infinity, -1]) {
    assert.equal(verdict({ label: 'a', value: bad }, { label: 'b', value: 5 }, METRICS.p50_us), null, String(bad));
    assert.equal(verdict({ label: 'a', value: 5 }, { label: 'b', value: bad }, METRICS.mb_per_s), null, String(bad));
  }
  assert.equal(ratioLine('delegated/direct', null, 'mb_per_s'), null);
  assert.equal(ratioVerdict('nonsense', 2, 'mb_per_s'), null);
});

test('figures within rounding are as fast as each other; factors keep three figures', () => {
  const v = verdict({ label: 'a', value: 100 }, { label: 'b', value: 100.2 }, METRICS.p50_us)!;
  assert.equal(v.same, true);
  assert.equal(verdictText(v), 'a as fast as b (p50)');
  assert.deepEqual([1.5, 12.345, 150.4].map(formatFactor), ['1.50×', '12.3×', '150×']);
});
