// A guest session's tracing: its CallTracer from HELLO to the end, the guest's stamps joined once the
// turn's host writes have left, the host half of pushed events, and the guest's clock mapping handed to
// the tracer. Apart from the session so that the session's data path reads without the trace bookkeeping,
// and tracing stays off that path (records are built after the turn).
import type { Op, StampEntry } from '../../protocol';
import { nowNs } from '../clock';
import { CallStamps } from '../trace/call-stamps';
import { CallTracer } from '../trace/call-trace';
import type { TraceSink } from '../trace/trace-sink';
import type { GuestClock } from './guest-clock';

export class SessionTrace {
  private current: CallTracer | null = null;
  /** Guest stamps of this read, joined once its writes have left (join). */
  private stampsIn: StampEntry[][] = [];
  private joinScheduled = false;
  /** What an ended tracer counted: the guest's figure outlives its tracer. */
  private disorderedBefore = 0;

  constructor(private readonly sink: TraceSink, private readonly clock: GuestClock) {}

  /** Joins the guest stamps taken so far with their calls' host records. */
  readonly join = (): void => {
    this.joinScheduled = false;
    const batches = this.stampsIn;
    this.stampsIn = [];
    for (const entries of batches) this.current?.stamps(entries);
  };

  get tracer(): CallTracer | null {
    return this.current;
  }

  /** Whether this guest's calls are traced now (a tracer, and the sink on). */
  get on(): boolean {
    return this.current !== null && this.sink.enabled;
  }

  /** Records of this guest published with stamps that disagree beyond the clock error. */
  get disordered(): number {
    return this.current?.disordered ?? this.disorderedBefore;
  }

  /** At HELLO, for a guest that sends stamps: a tracer when the sink is on. Returns whether it started. */
  start(guest: string, run: string, maxPending: number): boolean {
    if (!this.sink.enabled) return false;
    this.current = new CallTracer(this.sink, guest, run, maxPending);
    this.clockChanged();
    return true;
  }

  /** The guest's clock mapping improved (a probe): the tracer maps with the best. */
  clockChanged(): void {
    if (!this.current) return;
    this.current.offsetNs = this.clock.offsetNs;
    this.current.errorNs = this.clock.errorNs;
  }

  /** A stamps frame. While tracing is paused (the sink is off) the calls have no host half to join: dropped. */
  stamps(entries: StampEntry[]): void {
    if (this.sink.enabled && this.current) this.stampsIn.push(entries);
  }

  /** After a read of the channel: its stamps are joined once this turn's host writes (TurnWrites) left. */
  afterRead(): void {
    if (this.stampsIn.length === 0 || this.joinScheduled) return;
    this.joinScheduled = true;
    setImmediate(this.join);
  }

  /** Host stamps for a pushed event when tracing is on, else undefined. */
  push(handle: number, op: Op, eventId: number, bytes: number, at: number): CallStamps | undefined {
    if (!this.on) return undefined;
    const t = at || nowNs();
    const c = new CallStamps(eventId, handle, op, true, 0, t);
    c.execEnd = t;
    // Read from a host socket (at = 0): the read ended just before this; Node does not say when it began.
    c.readUnmeasured = at === 0;
    c.bytes = bytes;
    return c;
  }

  /** The session ended: what the tracer holds is published, and it goes. */
  end(): void {
    this.current?.flush();
    this.disorderedBefore = this.current?.disordered ?? this.disorderedBefore;
    this.current = null;
  }
}
