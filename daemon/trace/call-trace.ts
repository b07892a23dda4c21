// Joins the host's stamps of each delegated call with the guest's (batched in `stamps` frames) and publishes
// one CallRecord per call. Guest stamps usually arrive after the host's part is complete; those that arrive
// first (a call the host is still executing, a reply still queued) wait in a small table of their own.
// Both tables are bounded: the oldest host calls are published with host stages only when theirs is full,
// the oldest early guest stamps are dropped, and all host calls that wait are published when the guest leaves.
import type { CallRecord, Stage, StageName, StampEntry } from '../../protocol';
import type { CallStamps } from './call-stamps';
import type { TraceSink } from './trace-sink';

const NAMES: readonly StageName[] = ['guest', 'channel-out', 'host-queue', 'execute', 'reply-out', 'channel-in', 'guest-return'];
/** Guest stamps kept while their host part is not complete, per kind (calls, pushes). */
export const MAX_EARLY_STAMPS = 1024;

export class CallTracer {
  /** Replied calls by request id, and pushed events by event id (the two id spaces overlap). */
  private readonly calls = new Map<number, CallStamps>();
  private readonly pushes = new Map<number, CallStamps>();
  /** Guest stamps that came before their host part completed, by the same two id spaces. */
  private readonly earlyCalls = new Map<number, StampEntry>();
  private readonly earlyPushes = new Map<number, StampEntry>();
  /** Added to guest stamps to put them on the host's clock (0 for a guest on this host's clock). */
  offsetNs = 0;

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

  stamps(entries: StampEntry[]): void {
    for (const e of entries) {
      // Pushed data is stamped by the guest from its arrival on: no enter, no channel out.
      const pushed = e.enter === 0 && e.channelOut === 0;
      const map = pushed ? this.pushes : this.calls;
      const c = map.get(e.id);
      if (!c) {
        const early = pushed ? this.earlyPushes : this.earlyCalls;
        early.set(e.id, e);
        if (early.size > MAX_EARLY_STAMPS) early.delete(early.keys().next().value as number);
        continue;
      }
      map.delete(e.id);
      this.publish(c, e);
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

  private publish(c: CallStamps, e: StampEntry | null): void {
    if (!this.sink.enabled) return;
    const off = this.offsetNs;
    const p = this.points;
    p[0] = e?.enter ? e.enter + off : 0;
    p[1] = e?.channelOut ? e.channelOut + off : 0;
    p[2] = c.receive;
    p[3] = c.execStart;
    p[4] = c.execEnd;
    p[5] = c.replyOut;
    p[6] = e?.replyIn ? e.replyIn + off : 0;
    p[7] = e?.return ? e.return + off : 0;
    // A pipelined send returned to the application when the guest queued it (its return stamp is its
    // channel-out stamp): its record ends with the host's execute, and has no reply stages.
    const n = c.noReply ? 5 : 8;
    const stages: Stage[] = [];
    // Stages are contiguous and ordered; a point that is missing drops the stages on both sides of it,
    // and small disorder between two clocks is clamped rather than producing end < start.
    let last = 0;
    for (let i = 0; i < n - 1; i++) {
      const s = p[i] as number;
      const t = p[i + 1] as number;
      if (!s || !t) continue;
      const start = Math.max(s, last);
      const end = Math.max(t, start);
      stages.push({ name: NAMES[i] as StageName, start, end });
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
    this.sink.publish(record);
  }
}
