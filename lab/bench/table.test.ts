// The CLI tables (`linsock bench`, `linsock start`) state each ratio as which path is faster and by how much.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BenchReport } from '../../protocol';
import { formatTable } from './table';
import { formatReport } from '../start/format-report';
import type { WorkloadResult } from './workload-result';

const row = (path: string, mb: number | null, p50: number | null): WorkloadResult => ({ path, mb_per_s: mb, p50_us: p50, p99_us: null, ops_per_s: null, calls: 10, bytes: 100, verified: true, ranIn: 'host', notes: [] });

function both(report: BenchReport, results: WorkloadResult[]): string[] {
  return [formatTable(report, results), formatReport({ report, results })];
}

test('stream: a throughput ratio below 1 says the other path is faster', () => {
  const results = [row('delegated', 93, null), row('direct', 124, null)];
  for (const out of both({ workload: 'stream', mode: null, mtu: 65536, results, ratios: { 'delegated/direct': 0.75, 'delegated/emulated': null } }, results)) {
    assert.match(out, /^direct 1\.33× faster than delegated \(throughput, higher MB\/s is better; delegated\/direct = 0\.75\)$/m);
    assert.doesNotMatch(out, /delegated\/emulated/, 'a ratio that could not be measured is not printed');
  }
});

test('rr and inter-guest: a latency ratio above 1 says the other path is faster; inter-guest compares throughput', () => {
  const results = [row('delegated', null, 82.2), row('direct', null, 10)];
  for (const out of both({ workload: 'rr', mode: null, mtu: 65536, results, ratios: { 'delegated/direct': 8.22 } }, results))
    assert.match(out, /^direct 8\.22× faster than delegated \(p50, lower µs is better; delegated\/direct = 8\.22\)$/m);
  for (const out of both({ workload: 'inter-guest', mode: null, mtu: 65536, results, ratios: { 'delegated/emulated': 2.5 } }, results))
    assert.match(out, /^delegated 2\.50× faster than emulated \(throughput/m);
});
