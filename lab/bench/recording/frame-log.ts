// The emulated path's frame records on their way to the run's sink: each goes on at once (the sink gives
// it its seq) and stays here a while, per flow and direction, so that the calls the workload reports a
// moment later can be linked to the frames they caused (call.frames). Bounded per flow and direction.

import type { FrameRecord, TraceRecord } from '../../../protocol';
import type { FrameSink } from '../../device-model/device-model';
import type { CallFlow } from '../../device-model/frame-links';

/** Frames kept per flow and direction before the oldest half is forgotten. */
export const FRAMES_KEPT = 100_000;
/** Frames already taken by calls that stay for connect and close to find their handshake and FIN among. */
const TAKEN_KEPT = 1024;

/** One direction of one flow: its frames in order, and how far calls have consumed them. */
export class FrameQueue {
  frames: FrameRecord[] = [];
  /** Index of the first frame no call has taken. */
  next = 0;
  /** Payload bytes of the frames before `next` (including forgotten ones): the byte offset calls reached. */
  taken = 0;
  /** Payload bytes of frames forgotten before anyone took them. */
  forgotten = 0;
  /** The byte offset the last takeBytes asked for: where the next call's bytes begin. */
  private asked = 0;
  /** The frame taken last; it also carries the next call's first bytes when `taken` went past `asked`. */
  private lastTaken: FrameRecord | null = null;

  push(f: FrameRecord, cap: number): void {
    this.frames.push(f);
    if (this.frames.length <= cap) return;
    const cut = this.frames.length >> 1;
    for (let i = this.next; i < cut; i++) this.forgotten += (this.frames[i] as FrameRecord).payload;
    for (let i = this.next; i < cut; i++) this.taken += (this.frames[i] as FrameRecord).payload;
    // A forgotten frame may hold the next call's first bytes: it is no longer known which one did.
    if (cut > this.next) this.lastTaken = null;
    this.frames = this.frames.slice(cut);
    this.next = Math.max(0, this.next - cut);
  }

  /**
   * The data frames that carry stream bytes up to offset `upTo` (TCP in order; each UDP datagram one frame)
   * go into `out`. Returns the frame that carried the first of the bytes from the previous call's offset on
   * (null when unknown: not arrived, or forgotten): a frame split between two calls is linked to the first
   * (`out` lists each frame once), but it is still where the second call's bytes entered the device model.
   */
  takeBytes(upTo: number, out: number[]): FrameRecord | null {
    let first = this.taken > this.asked ? this.lastTaken : null;
    const known = first !== null || this.taken <= this.asked;
    this.asked = Math.max(this.asked, upTo);
    while (this.next < this.frames.length && this.taken < upTo) {
      const f = this.frames[this.next++] as FrameRecord;
      if (f.payload === 0) continue;
      this.taken += f.payload;
      out.push(f.seq);
      first ??= f;
      this.lastTaken = f;
    }
    if (this.next > 8 * TAKEN_KEPT) {
      const cut = this.next - TAKEN_KEPT;
      this.frames = this.frames.slice(cut);
      this.next -= cut;
    }
    return known ? first : null;
  }

  /** Frames without payload (handshake, FIN, ACK) that entered in [start, end]. */
  control(start: number, end: number, out: number[]): void {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i] as FrameRecord;
      if (f.tIn < start) break;
      if (f.tIn <= end && f.payload === 0) out.push(f.seq);
    }
  }
}

const key = (protocol: string, src: string, srcPort: number, dst: string, dstPort: number): string => `${protocol} ${src} ${srcPort} ${dst} ${dstPort}`;

export class FrameLog implements FrameSink {
  private readonly flows = new Map<string, FrameQueue>();
  published = 0;

  constructor(private readonly next: FrameSink, private readonly cap = FRAMES_KEPT) {}

  get enabled(): boolean {
    return this.next.enabled;
  }

  publish(record: TraceRecord): void {
    this.next.publish(record);
    if (record.kind !== 'frame' || !record.flow) return;
    this.published++;
    const fl = record.flow;
    const k = key(fl.protocol, fl.src, fl.srcPort, fl.dst, fl.dstPort);
    let q = this.flows.get(k);
    if (!q) {
      // Bounded: a flow nobody asks about does not keep its frames for ever.
      if (this.flows.size >= 4096) this.flows.clear();
      this.flows.set(k, (q = new FrameQueue()));
    }
    q.push(record, this.cap);
  }

  /** The frames leaving the guest on `flow`, and those arriving on it. */
  queues(flow: CallFlow): { out: FrameQueue | undefined; in: FrameQueue | undefined } {
    return {
      out: this.flows.get(key(flow.protocol, flow.local, flow.localPort, flow.remote, flow.remotePort)),
      in: this.flows.get(key(flow.protocol, flow.remote, flow.remotePort, flow.local, flow.localPort)),
    };
  }
}
