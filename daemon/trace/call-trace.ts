// Joins the host's stamps of each delegated call with the guest's (batched in `stamps` frames) and publishes
// one CallRecord per call. Guest stamps usually arrive after the host's part is complete; those that arrive
// first (a call the host is still executing, a reply still queued) wait in a small table of their own.
// Both tables are bounded: the oldest host calls are published with host stages only when theirs is full,
// the oldest early guest stamps are dropped, and all host calls that wait are published when the guest leaves.
//
// Nothing is clamped silently. Each side's stamps are exact on its own clock; the guest's are mapped through
// the guest's clock offset, which is known to within its error bound (guest-clock.ts). When the mapped
// stamps fall out of order with the host's, the guest's side of the record is moved by the smallest shift
// that orders it (clockShiftNs); a shift within the error bound is the clock's uncertainty, one beyond it
// is disorder: the record says by how much (disorderNs) and the tracer counts it.
import type { CallRecord, Stage, StageName, StampEntry } from '../../protocol';
import type { CallStamps } from './call-stamps';
import type { TraceSink } from './trace-sink';

const NAMES: readonly StageName[] = ['guest', 'channel-out', 'host-queue', 'execute', 'reply-out', 'channel-in', 'guest-return'];
/** Which of the stage boundaries (NAMES' starts, then the last end) the guest stamps. */
const GUEST_POINT = [true, true, false, false, false, false, true, true];
/** Guest stamps kept while their host part is not complete, per kind (calls, pushes). */
export const MAX_EARLY_STAMPS = 1024;

/** The guest's half of one call: its stamps, and for a pipelined send the application calls its frame carried. */
interface GuestPart {
  enter: number;
  channelOut: number;
  replyIn: number;
  return: number;
  /** Application calls that ended in this frame, and the time spent inside them (enter -> return, summed). */
  calls: number;
  waitedNs: number;
}

export class CallTracer {
  /** Replied calls by request id, and pushed events by event id (the two id spaces overlap). */
  private readonly calls = new Map<number, CallStamps>();
  private readonly pushes = new Map<number, CallStamps>();
  /** Guest stamps that came before their host part completed, by the same two id spaces. */
  private readonly earlyCalls = new Map<number, GuestPart>();
  private readonly earlyPushes = new Map<number, GuestPart>();
  /** Added to guest stamps to put them on the host's clock. */
  offsetNs = 0;
  /** How far off offsetNs may be; null when unknown (then any shift counts as disorder). */
  errorNs: number | null = null;
  /** Records published with stamps that disagree beyond the clock error (marked with disorderNs). */
  disordered = 0;

  constructor(
    private readonly sink: TraceSink,
    private readonly guest: string,
    private readonly run: string,
    private readonly maxPending: number,
  ) {}

  /** A call or event whose host side is complete; waits for the guest's stamps. */
  done(c: CallStamps): void {
    const early = c.pushed ? this.earlyPushes : this.earlyCalls;
    const e = early.size > 0 ? early.get(c.id) : undefined;
    if (e) {
      early.delete(c.id);
      return this.publish(c, e);
    }
    const map = c.pushed ? this.pushes : this.calls;
    const prev = map.get(c.id);
    if (prev) {
      map.delete(c.id);
      this.publish(prev, null);
    }
    map.set(c.id, c);
    if (map.size > this.maxPending) {
      const oldest = map.keys().next().value as number;
      const o = map.get(oldest) as CallStamps;
      map.delete(oldest);
      this.publish(o, null);
    }
  }

  /**
   * A batch of guest stamps. Consecutive entries with one id are one pipelined send frame: one entry per
   * application call that ended in it (enter, return of that call), or one with return 0 for a frame that
   * holds only part of a call.
   */
  stamps(entries: StampEntry[]): void {
    for (let i = 0; i < entries.length; ) {
      const e = entries[i] as StampEntry;
      let j = i + 1;
      while (j < entries.length && (entries[j] as StampEntry).id === e.id) j++;
      const part = join(entries, i, j);
      i = j;
      // Pushed data is stamped by the guest from its arrival on: no enter, no channel out.
      const pushed = e.enter === 0 && e.channelOut === 0;
      const map = pushed ? this.pushes : this.calls;
      const c = map.get(e.id);
      if (!c) {
        const early = pushed ? this.earlyPushes : this.earlyCalls;
        early.set(e.id, part);
        if (early.size > MAX_EARLY_STAMPS) early.delete(early.keys().next().value as number);
        continue;
      }
      map.delete(e.id);
      this.publish(c, part);
    }
  }

  /** Publishes everything still waiting, with host stages only. */
  flush(): void {
    for (const c of this.calls.values()) this.publish(c, null);
    for (const c of this.pushes.values()) this.publish(c, null);
    this.calls.clear();
    this.pushes.clear();
    this.earlyCalls.clear();
    this.earlyPushes.clear();
  }

  /** The call's stage boundaries, in the order of NAMES; reused, as a record is built from it at once. */
  private readonly points = new Float64Array(NAMES.length + 1);

  private publish(c: CallStamps, e: GuestPart | null): void {
    if (!this.sink.enabled) return;
    const p = this.points;
    p[0] = e?.enter ?? 0;
    p[1] = e?.channelOut ?? 0;
    p[2] = c.receive;
    p[3] = c.execStart;
    p[4] = c.sharedWrite || c.writeEnd > c.execEnd ? c.writeEnd : c.execEnd;
    p[5] = c.replyOut;
    p[6] = e?.replyIn ?? 0;
    p[7] = e?.return ?? 0;
    // A pipelined send returned to the application when the guest queued it: its record ends with the
    // host's execute (the work completed), and waitedNs says what the application waited for.
    const n = c.noReply ? 5 : 8;
    const { shift, disorder } = this.mapGuest(p, n);
    const stages: Stage[] = [];
    // A point that is missing drops the stages on both sides of it. Points are in order by now; an order
    // still broken (two clocks that no shift reconciles, or a host stamp out of order) is held at 0 length
    // and counted as disorder, never dropped silently.
    let last = 0;
    let held = 0;
    for (let i = 0; i < n - 1; i++) {
      const s = p[i] as number;
      const t = p[i + 1] as number;
      if (!s || !t) continue;
      const start = Math.max(s, last);
      const end = Math.max(t, start);
      held += start - s + (end - t);
      const stage: Stage = { name: NAMES[i] as StageName, start, end };
      if (i === 3 && c.readUnmeasured) stage.unmeasured = true;
      if (i === 3 && c.sharedWrite) stage.shared = true;
      stages.push(stage);
      last = end;
    }
    if (stages.length === 0) return;
    const record: CallRecord = {
      kind: 'call',
      seq: 0,
      run: this.run,
      guest: this.guest,
      path: 'delegated',
      socket: c.handle,
      op: c.op,
      bytes: c.bytes,
      result: c.result,
      stages,
    };
    if (c.noReply && e) {
      record.calls = e.calls;
      record.waitedNs = e.waitedNs;
    }
    if (shift !== 0) record.clockShiftNs = shift;
    if (disorder + held > 0) {
      record.disorderNs = Math.round(disorder + held);
      this.disordered++;
    }
    this.sink.publish(record);
  }

  /**
   * Maps the guest's points (p[i] for GUEST_POINT[i], 0 = missing) onto the host's clock, moved by the
   * shift closest to 0 that puts every guest point in order with its host neighbours. Returns that shift
   * and how much of it lies beyond the clock error (plus half the gap when no shift orders them all).
   */
  private mapGuest(p: Float64Array, n: number): { shift: number; disorder: number } {
    let lo = -Infinity;
    let hi = Infinity;
    let prev = -1;
    for (let i = 0; i < n; i++) {
      if (!p[i]) continue;
      if (GUEST_POINT[i]) p[i] = (p[i] as number) + this.offsetNs;
      if (prev >= 0 && GUEST_POINT[prev] !== GUEST_POINT[i]) {
        // guest -> host: the guest point (shifted) may not be later; host -> guest: not earlier.
        if (GUEST_POINT[prev]) hi = Math.min(hi, (p[i] as number) - (p[prev] as number));
        else lo = Math.max(lo, (p[prev] as number) - (p[i] as number));
      }
      prev = i;
    }
    let shift = 0;
    let gap = 0;
    if (lo <= hi) shift = Math.min(Math.max(0, lo), hi);
    else {
      shift = (lo + hi) / 2;
      gap = (lo - hi) / 2;
    }
    shift = Math.round(shift);
    if (shift !== 0) for (let i = 0; i < n; i++) if (GUEST_POINT[i] && p[i]) p[i] = (p[i] as number) + shift;
    const error = this.errorNs ?? 0;
    return { shift, disorder: Math.max(0, Math.abs(shift) - error) + gap };
  }
}

/** Entries [from, to) of one id as one guest part. */
function join(entries: StampEntry[], from: number, to: number): GuestPart {
  const first = entries[from] as StampEntry;
  const last = entries[to - 1] as StampEntry;
  let calls = 0;
  let waited = 0;
  let enter = first.enter;
  for (let k = from; k < to; k++) {
    const x = entries[k] as StampEntry;
    if (x.enter && x.enter < enter) enter = x.enter;
    if (x.return && x.enter) {
      calls++;
      waited += x.return - x.enter;
    }
  }
  return { enter, channelOut: first.channelOut, replyIn: last.replyIn, return: last.return, calls, waitedNs: waited };
}
