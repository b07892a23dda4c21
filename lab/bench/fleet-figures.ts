// The one row of `linsock bench --guests N` from its guests' own runs: throughput and counts add up, the
// percentiles are over every guest's round trips together, and fairness is the busiest guest's operations
// over the idlest's. Pure: guest-fleet.ts runs the guests and measures the CPU.

import { round } from './figures';
import { LatencySamples } from './latency';
import type { WorkloadResult } from './workload-result';

/** What one guest of the fleet did. */
export interface GuestRun {
  result: Omit<WorkloadResult, 'ranIn'>;
  /** Its operations over the measured span: round trips past the warm-up, or 64 KiB writes of a stream. */
  ops: number;
  /** Its kept round-trip latencies (rr); null for a stream. */
  samples: LatencySamples | null;
}

export type FleetRow = Omit<WorkloadResult, 'ranIn'> & Required<Pick<WorkloadResult, 'guests' | 'ops' | 'guest_ops' | 'busiest_to_idlest'>>;

/** Guest notes repeat across a fleet: this many are kept, then a count of the rest. */
const MAX_NOTES = 5;

/** max/min of the guests' operations: 1 is perfectly fair; null when a guest did nothing. */
export function busiestToIdlest(ops: readonly number[]): number | null {
  if (ops.length === 0) return null;
  const min = Math.min(...ops);
  return min > 0 ? round(Math.max(...ops) / min) : null;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Adds up a rate over the guests; null when no guest gives it. */
function summed(xs: readonly (number | null)[]): number | null {
  const given = xs.filter((x): x is number => x !== null);
  return given.length ? round(sum(given)) : null;
}

export function fleetRow(path: string, runs: readonly GuestRun[]): FleetRow {
  if (runs.length === 0) throw new Error('a fleet row needs at least one guest');
  const guestOps = runs.map((r) => r.ops);
  const samples = runs.map((r) => r.samples).filter((s): s is LatencySamples => s !== null);
  const all = samples.length ? LatencySamples.merged(samples) : null;
  const notes = runs.flatMap((r, i) => r.result.notes.map((n) => `guest ${i}: ${n}`));
  if (notes.length > MAX_NOTES) notes.splice(MAX_NOTES, notes.length, `and ${notes.length - MAX_NOTES} more notes of the guests`);
  return {
    path,
    mb_per_s: summed(runs.map((r) => r.result.mb_per_s)),
    p50_us: all ? round(all.percentileUs(50)) : null,
    p99_us: all ? round(all.percentileUs(99)) : null,
    ops_per_s: summed(runs.map((r) => r.result.ops_per_s)),
    calls: sum(runs.map((r) => r.result.calls)),
    bytes: sum(runs.map((r) => r.result.bytes)),
    verified: runs.every((r) => r.result.verified),
    notes,
    guests: runs.length,
    ops: sum(guestOps),
    guest_ops: guestOps,
    busiest_to_idlest: busiestToIdlest(guestOps),
  };
}
