// The ordering invariant of a delegated call record whose stages come from two clocks (the guest's and the
// host's): stamps follow each other without clamping, and a record moved beyond its guest's stated clock
// error is marked. Shared by the runs in moved clocks (truth-invariants) and in a real VM (test/vm).
import type { ClockMapping } from '../../daemon';
import { invalidRecord, type CallRecord } from '../../protocol';

/** Why a delegated record breaks the ordering invariant, or null. */
export function orderProblem(r: CallRecord, clock: ClockMapping | undefined): string | null {
  const bad = invalidRecord(r);
  if (bad) return bad;
  for (let i = 1; i < r.stages.length; i++) {
    const a = r.stages[i - 1] as CallRecord['stages'][number];
    const b = r.stages[i] as CallRecord['stages'][number];
    if (b.start !== a.end && r.disorderNs === undefined) return `${b.name} does not start where ${a.name} ended`;
  }
  if (!clock) return 'no clock mapping for the guest';
  const beyond = Math.max(0, Math.abs(r.clockShiftNs ?? 0) - clock.errorNs);
  if (beyond > 0 && (r.disorderNs ?? 0) < beyond) return `shifted ${r.clockShiftNs} beyond the error ${clock.errorNs} without being marked`;
  return null;
}
