// The row of `--guests N` from its guests' runs: counts add up, percentiles span every guest, fairness is
// max/min of the guests' operations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { busiestToIdlest, fleetRow, type GuestRun } from './fleet-figures';
import { LatencySamples } from './latency';

function rrGuest(latenciesUs: number[], opsPerS: number, notes: string[] = []): GuestRun {
  const samples = new LatencySamples();
  for (const us of latenciesUs) samples.addNs(us * 1000);
  return {
    result: { path: 'delegated', mb_per_s: null, p50_us: null, p99_us: null, ops_per_s: opsPerS, calls: latenciesUs.length * 2 + 4, bytes: latenciesUs.length * 2 + 4, verified: true, notes },
    ops: samples.count,
    samples,
  };
}

test('rr: ops, calls and rates add up over the guests; percentiles are over all round trips together', () => {
  const fast = rrGuest([10, 10, 10, 10, 10, 10], 600);
  const slow = rrGuest([100, 100, 100], 300);
  const row = fleetRow('delegated', [fast, slow]);
  assert.equal(row.guests, 2);
  assert.deepEqual(row.guest_ops, [6, 3]);
  assert.equal(row.ops, 9);
  assert.equal(row.ops_per_s, 900);
  assert.equal(row.calls, 16 + 10);
  assert.equal(row.mb_per_s, null);
  // 9 samples: the median is a fast one, the 99th percentile the slowest (neither guest's own would be both).
  assert.equal(row.p50_us, 10);
  assert.equal(row.p99_us, 100);
  assert.equal(row.busiest_to_idlest, 2);
  assert.equal(row.verified, true);
});

test('a guest that fails verification fails the row; notes name their guest and are capped', () => {
  const bad = rrGuest([10], 100, ['1 echoed bytes differed from those sent']);
  bad.result.verified = false;
  const many = Array.from({ length: 7 }, () => rrGuest([10], 100, ['kept the default send buffer']));
  const row = fleetRow('delegated', [bad, ...many]);
  assert.equal(row.verified, false);
  assert.equal(row.notes[0], 'guest 0: 1 echoed bytes differed from those sent');
  assert.equal(row.notes.length, 6);
  assert.equal(row.notes[5], 'and 3 more notes of the guests');
});

test('stream: throughput adds up, no latency; fairness is null when a guest moved nothing', () => {
  const stream = (mb: number, ops: number): GuestRun => ({
    result: { path: 'delegated', mb_per_s: mb, p50_us: null, p99_us: null, ops_per_s: null, calls: ops, bytes: ops * 65536, verified: true, notes: [] },
    ops,
    samples: null,
  });
  const row = fleetRow('delegated', [stream(100.5, 30), stream(50.25, 15)]);
  assert.equal(row.mb_per_s, 150.75);
  assert.equal(row.p50_us, null);
  assert.equal(row.ops_per_s, null);
  assert.equal(row.bytes, 45 * 65536);
  assert.equal(row.busiest_to_idlest, 2);
  assert.equal(fleetRow('delegated', [stream(10, 5), stream(0, 0)]).busiest_to_idlest, null);
  assert.throws(() => fleetRow('delegated', []), /at least one guest/);
});

test('busiestToIdlest is max/min, 1 for equal guests, never below 1', () => {
  assert.equal(busiestToIdlest([5, 5, 5]), 1);
  assert.equal(busiestToIdlest([3, 9, 4]), 3);
  assert.equal(busiestToIdlest([]), null);
});

test('LatencySamples.merged holds every part\'s samples, beyond a part\'s initial capacity', () => {
  const a = new LatencySamples();
  const b = new LatencySamples();
  for (let i = 0; i < 1500; i++) a.addNs(1000);
  for (let i = 0; i < 1500; i++) b.addNs(3000);
  const all = LatencySamples.merged([a, b]);
  assert.equal(all.count, 3000);
  assert.equal(all.percentileUs(50), 1);
  assert.equal(all.percentileUs(51), 3);
  all.addNs(5000);
  assert.equal(all.percentileUs(100), 5);
});
