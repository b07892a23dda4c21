import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeReport } from './bench-summary';

const row = (path: string, mb: number | null, p50: number | null, verified = true) => ({ path, mb_per_s: mb, p50_us: p50, p99_us: null, ops_per_s: null, calls: 10, bytes: 100, verified });

test('throughput when the workload has it, with the ratios', () => {
  const s = describeReport({ workload: 'stream', mode: 'e1000', mtu: 1500, results: [row('delegated', 715.4, null), row('emulated', 124, null)], ratios: { 'delegated/emulated': 5.77, 'delegated/direct': null } });
  assert.equal(s, 'delegated: 715 MB/s · emulated: 124 MB/s — delegated/emulated 5.77×');
});

test('latency otherwise; an unverified path says so', () => {
  const s = describeReport({ workload: 'rr', mode: null, mtu: 1500, results: [row('delegated', null, 138.24, false)], ratios: {} });
  assert.equal(s, 'delegated: p50 138.2 µs (NOT verified)');
});
