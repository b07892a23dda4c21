import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeReport } from './bench-summary';

const row = (path: string, mb: number | null, p50: number | null, verified = true) => ({ path, mb_per_s: mb, p50_us: p50, p99_us: null, ops_per_s: null, calls: 10, bytes: 100, verified });

test('throughput when the workload has it, with the ratios', () => {
  const s = describeReport({ workload: 'stream', mode: 'e1000', mtu: 1500, results: [row('delegated', 715.4, null), row('emulated', 124, null)], ratios: { 'delegated/emulated': 5.77, 'delegated/direct': null } });
  assert.equal(s, 'delegated: 715 MB/s · emulated: 124 MB/s — delegated 5.77× faster than emulated (throughput)');
});

test('latency otherwise; an unverified path says so', () => {
  const s = describeReport({ workload: 'rr', mode: null, mtu: 1500, results: [row('delegated', null, 138.24, false)], ratios: {} });
  assert.equal(s, 'delegated: p50 138.2 µs (NOT verified)');
});

test('every ratio names the faster path, whichever way the metric runs', () => {
  const stream = describeReport({ workload: 'stream', mode: null, mtu: 1500, results: [row('delegated', 93, null), row('direct', 124, null)], ratios: { 'delegated/direct': 0.75 } });
  assert.match(stream, / — direct 1\.33× faster than delegated \(throughput\)$/);
  const rr = describeReport({ workload: 'rr', mode: null, mtu: 1500, results: [row('delegated', null, 82.2), row('direct', null, 10)], ratios: { 'delegated/direct': 8.22 } });
  assert.match(rr, / — direct 8\.22× faster than delegated \(p50\)$/);
});

test('a run without call records says its calls were not traced', () => {
  const s = describeReport({ workload: 'stream', program: 'iperf3', mode: null, mtu: 65536, results: [row('direct', 1800, null), row('delegated', 1100, null)], ratios: {}, untraced: 'calls were not traced: …' });
  assert.equal(s, 'direct: 1800 MB/s · delegated: 1100 MB/s — calls not traced');
});
