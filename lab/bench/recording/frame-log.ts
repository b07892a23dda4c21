// The emulated path's frame records on their way to the run's sink: each goes on at once (the sink gives
// it its seq) and stays here a while, per flow and direction, so that the calls the workload reports a
// moment later can be linked to the frames they caused (call.frames). Bounded per flow and direction.
// A frame the device model dropped stays too: it is linked to the call it belonged to, but its bytes are
// not counted where TCP sends them again (the retransmission carries them to the receiver).

import type { FrameContent, FrameRecord, TraceRecord } from '../../../protocol';
import type { FrameSink } from '../../device-model/device-model';
import type { CallFlow } from '../../device-model/frame-links';

/** Frames kept per flow and direction before the oldest half is forgotten. */
export const FRAMES_KEPT = 100_000;
/** Frames already taken by calls that stay for connect and close to find their handshake and FIN among. */
const TAKEN_KEPT = 1024;
/** SYN, FIN and RST frames kept per flow and direction (a connection has a few). */
const SIGNALS_KEPT = 64;

/** Payload bytes a frame carried to the receiver: none when dropped and TCP will send them again. */
const carried = (f: FrameRecord): number => (f.dropped && f.flow?.protocol === 'tcp' ? 0 : f.payload);
/** A frame that carries no stream bytes and opens or ends the connection. */
const isSignal = (f: FrameRecord): boolean => f.content === 'handshake' || f.content === 'teardown';

/** One direction of one flow: its frames in order, and how far calls have consumed them. */
export class FrameQueue {
  frames: FrameRecord[] = [];
  /** Index of the first frame no call has taken. */
  next = 0;
  /** Payload bytes of the frames before `next` (including forgotten ones): the byte offset calls reached. */
  taken = 0;
  /** Payload bytes of frames forgotten before anyone took them. */
  forgotten = 0;
  /** Payload bytes of every frame that has entered (see carried()): what calls may wait for. */
  arrived = 0;
  /** Frames whose bytes belonged to a call already linked without them: they came after its wait ended. */
  late = 0;
  /** SYN, FIN and RST frames, for connect and close to take whenever they came. */
  signals: FrameRecord[] = [];
  private signalsTaken = 0;
  /** The byte offset the last takeBytes asked for: where the next call's bytes begin. */
  private asked = 0;
  /** The frame taken last; it also carries the next call's first bytes when `taken` went past `asked`. */
  private lastTaken: FrameRecord | null = null;

  push(f: FrameRecord, cap: number): void {
    this.arrived += carried(f);
    if (isSignal(f)) {
      this.signals.push(f);
      if (this.signals.length > SIGNALS_KEPT) {
        this.signals.shift();
        this.signalsTaken = Math.max(0, this.signalsTaken - 1);
      }
    }
    this.frames.push(f);
    if (this.frames.length <= cap) return;
    const cut = this.frames.length >> 1;
    for (let i = this.next; i < cut; i++) this.forgotten += carried(this.frames[i] as FrameRecord);
    for (let i = this.next; i < cut; i++) this.taken += carried(this.frames[i] as FrameRecord);
    // A forgotten frame may hold the next call's first bytes: it is no longer known which one did.
    if (cut > this.next) this.lastTaken = null;
    this.frames = this.frames.slice(cut);
    this.next = Math.max(0, this.next - cut);
  }

  /** The frame the last takeBytes took last (the one that carried its last bytes), or null. */
  get last(): FrameRecord | null {
    return this.lastTaken;
  }

  /**
   * The data frames that carry stream bytes up to offset `upTo` (TCP in order; each UDP datagram one frame)
   * go into `out`. Returns the frame that carried the first of the bytes from the previous call's offset on
   * (null when unknown: not arrived, or forgotten): a frame split between two calls is linked to the first
   * (`out` lists each frame once), but it is still where the second call's bytes entered the device model.
   * A frame whose bytes all lie before the previous call's offset came after that call was linked: it is
   * counted in `late` and linked to nobody, since it is not this call's.
   */
  takeBytes(upTo: number, out: number[]): FrameRecord | null {
    let first = this.taken > this.asked ? this.lastTaken : null;
    const known = first !== null || this.taken <= this.asked;
    const before = this.asked;
    this.asked = Math.max(this.asked, upTo);
    while (this.next < this.frames.length && this.taken < upTo) {
      const f = this.frames[this.next++] as FrameRecord;
      if (f.payload === 0) continue;
      const bytes = carried(f);
      if (bytes > 0 && this.taken + bytes <= before) {
        this.taken += bytes;
        this.late++;
        continue;
      }
      this.taken += bytes;
      out.push(f.seq);
      if (bytes === 0) continue; // dropped, sent again: linked, but the retransmission starts the bytes
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

  /** Frames without payload that are no SYN, FIN or RST (ACKs, window updates) that entered in [start, end]. */
  control(start: number, end: number, out: number[]): void {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i] as FrameRecord;
      if (f.tIn < start) break;
      if (f.tIn <= end && f.payload === 0 && !isSignal(f)) out.push(f.seq);
    }
  }

  /** The SYN (handshake) or FIN/RST (teardown) frames no call has taken yet; returns the earliest tIn (Infinity for none). */
  takeSignals(content: FrameContent, out: number[]): number {
    const rest: FrameRecord[] = [];
    let first = Infinity;
    for (const f of this.signals.slice(this.signalsTaken)) {
      if (f.content !== content) rest.push(f);
      else {
        out.push(f.seq);
        first = Math.min(first, f.tIn);
      }
    }
    this.signals = [...this.signals.slice(0, this.signalsTaken), ...rest];
    this.signalsTaken = this.signals.length - rest.length;
    return first;
  }

  /** Whether a frame of `content` came that no call has taken. */
  hasSignal(content: FrameContent): boolean {
    for (let i = this.signalsTaken; i < this.signals.length; i++) if (this.signals[i]!.content === content) return true;
    return false;
  }
}

/** What linking found over a run: how long calls waited for their frames, and how late frames came. */
export interface LinkStats {
  linkedFrames: number;
  /** Chunks of calls linked at MAX_LINK_WAIT_MS (call-intake.ts) with some of their sends' frames missing. */
  chunksCutShort: number;
  /** The longest a chunk of calls waited for its frames after it arrived, ms. */
  maxWaitMs: number;
  /** The longest from a send's return to the entry of the last frame that carried its bytes, ns. */
  maxSendToFrameNs: number;
}

export const newLinkStats = (): LinkStats => ({ linkedFrames: 0, chunksCutShort: 0, maxWaitMs: 0, maxSendToFrameNs: 0 });

const key = (protocol: string, src: string, srcPort: number, dst: string, dstPort: number): string => `${protocol} ${src} ${srcPort} ${dst} ${dstPort}`;

export class FrameLog implements FrameSink {
  private readonly flows = new Map<string, FrameQueue>();
  published = 0;
  readonly linking = newLinkStats();

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

  /** Frames that came after the call they belonged to was linked (FrameQueue.late), over every flow kept. */
  get lateFrames(): number {
    let n = 0;
    for (const q of this.flows.values()) n += q.late;
    return n;
  }
}
