// Joins the host's stamps of each delegated call with the guest's (which arrive later, batched in `stamps`
// frames) and publishes one CallRecord per call. Waiting calls are bounded: the oldest are published with
// host stages only when the table is full, and all that wait are published so when the guest leaves.
import type { CallRecord, Stage, StageName, StampEntry } from '../protocol';
import type { HostCall } from './host-call';
import type { TraceSink } from './trace-sink';

const NAMES: readonly StageName[] = ['guest', 'channel-out', 'host-queue', 'execute', 'reply-out', 'channel-in', 'guest-return'];

export class CallTracer {
  /** Replied calls by request id, and pushed events by event id (the two id spaces overlap). */
  private readonly calls = new Map<number, HostCall>();
  private readonly pushes = new Map<number, HostCall>();
  /** Added to guest stamps to put them on the host's clock (0 for a guest on this host's clock). */
  offsetNs = 0;

  constructor(
    private readonly sink: TraceSink,
    private readonly guest: string,
    private readonly run: string,
    private readonly maxPending: number,
  ) {}

  /** A call or event whose host side is complete; waits for the guest's stamps. */
  done(c: HostCall): void {
    const map = c.pushed ? this.pushes : this.calls;
    const prev = map.get(c.id);
    if (prev) {
      map.delete(c.id);
      this.publish(prev, null);
    }
    map.set(c.id, c);
    if (map.size > this.maxPending) {
      const oldest = map.keys().next().value as number;
      const o = map.get(oldest) as HostCall;
      map.delete(oldest);
      this.publish(o, null);
    }
  }

  stamps(entries: StampEntry[]): void {
    for (const e of entries) {
      // Pushed data is stamped by the guest from its arrival on: no enter, no channel out.
      const map = e.enter === 0 && e.channelOut === 0 ? this.pushes : this.calls;
      const c = map.get(e.id);
      if (!c) continue;
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
  }

  private publish(c: HostCall, e: StampEntry | null): void {
    if (!this.sink.enabled) return;
    const off = this.offsetNs;
    const g = (t: number | undefined): number => (t ? t + off : 0);
    const points = [g(e?.enter), g(e?.channelOut), c.receive, c.execStart, c.execEnd, c.replyOut, g(e?.replyIn), g(e?.return)];
    const stages: Stage[] = [];
    // Stages are contiguous and ordered; a point that is missing drops the stages on both sides of it,
    // and small disorder between two clocks is clamped rather than producing end < start.
    let last = 0;
    for (let i = 0; i < NAMES.length; i++) {
      const s = points[i] as number;
      const t = points[i + 1] as number;
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
