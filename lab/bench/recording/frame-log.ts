// The emulated path's frame records on their way to the run's sink: each goes on at once (the sink gives
// it its seq) and stays here a while, per flow and direction, so that the calls the workload reports a
// moment later can be linked to the frames they caused (call.frames). Bounded per flow and direction.
// A frame the device model dropped stays too: it is linked to the call it belonged to, but its bytes are
// not counted where TCP sends them again (the retransmission carries them to the receiver).

import type { FrameContent, FrameRecord, TraceRecord } from '../../../protocol';
import type { FrameSink } from '../../device-model/device-model';
import type { CallFlow } from '../../device-model/frame-links';
import { StreamPosition } from './stream-position';

/** Frames kept per flow and direction before the oldest half is forgotten. */
export const FRAMES_KEPT = 100_000;
/** Frames already taken by calls that stay for connect and close to find their handshake and FIN among. */
const TAKEN_KEPT = 1024;
/** SYN, FIN and RST frames kept per flow and direction (a connection has a few). */
const SIGNALS_KEPT = 64;

/** Whether a frame's payload reached the receiver: not when dropped and TCP will send it again. */
const carries = (f: FrameRecord): boolean => !(f.dropped && f.flow?.protocol === 'tcp');
/** A frame that carries no stream bytes and opens or ends the connection. */
const isSignal = (f: FrameRecord): boolean => f.content === 'handshake' || f.content === 'teardown';

/** A frame with the stream offsets of its payload, [start, end). */
interface Placed {
  f: FrameRecord;
  start: number;
  end: number;
  carried: boolean;
  /** Taken by a call (linked, or counted late), or passed over as a frame without payload. */
  taken: boolean;
  /** It came after a frame placed further on (a retransmission): a scan must not stop before it. */
  behind: boolean;
}

/**
 * One direction of one flow: its frames in the order they came, each placed in the byte stream by its TCP
 * sequence number (stream-position.ts), and how far calls have consumed them. A call takes the frames that
 * start inside its bytes; a frame that also carries the next call's first bytes stays the previous call's.
 */
export class FrameQueue {
  frames: Placed[] = [];
  /** Index of the first frame not taken; every frame before it is. */
  next = 0;
  /** The furthest stream offset the frames taken or forgotten reached. */
  taken = 0;
  /** Payload bytes of frames forgotten before anyone took them. */
  forgotten = 0;
  /** Frames that start in the bytes of a call already linked without them: they came after its wait ended. */
  late = 0;
  /** SYN, FIN and RST frames, for connect and close to take whenever they came. */
  signals: FrameRecord[] = [];
  private signalsTaken = 0;
  private readonly stream = new StreamPosition();
  /** The byte offset the last takeBytes asked for: where the next call's bytes begin. */
  private asked = 0;
  /** Frames not taken that are marked `behind`. */
  private behindUntaken = 0;
  /** The taken frame that reaches furthest: it may also carry the next call's first bytes. */
  private edge: Placed | null = null;
  /** Bytes before this offset were (some of them) in frames forgotten untaken. */
  private forgottenTo = 0;
  private lastOfCall: FrameRecord | null = null;

  /** Bytes from offset 0 that have all reached the receiver: what calls may wait for. */
  get arrived(): number {
    return this.stream.covered;
  }

  /** `tcpSeq`: the sequence number in the frame's TCP header, when the device model read one. */
  push(f: FrameRecord, cap: number, tcpSeq?: number): void {
    if (f.content === 'handshake' && tcpSeq !== undefined) this.stream.syn(tcpSeq);
    if (isSignal(f)) {
      this.signals.push(f);
      if (this.signals.length > SIGNALS_KEPT) {
        this.signals.shift();
        this.signalsTaken = Math.max(0, this.signalsTaken - 1);
      }
    }
    const furthest = this.stream.furthest;
    const carried = carries(f);
    const start = f.payload > 0 ? this.stream.place(f.payload, carried, tcpSeq) : furthest;
    const behind = f.payload > 0 && start < furthest;
    if (behind) this.behindUntaken++;
    this.frames.push({ f, start, end: start + f.payload, carried, taken: false, behind });
    if (this.frames.length <= cap) return;
    const cut = this.frames.length >> 1;
    for (let i = 0; i < cut; i++) {
      const e = this.frames[i]!;
      this.taken = Math.max(this.taken, e.end);
      if (e.taken) continue;
      if (e.carried) this.forgotten += e.f.payload;
      if (e.behind) this.behindUntaken--;
      // A forgotten frame may hold a later call's first bytes: it is no longer known which one did.
      this.forgottenTo = Math.max(this.forgottenTo, e.end);
    }
    this.frames = this.frames.slice(cut);
    this.next = Math.max(0, this.next - cut);
  }

  /** The latest to enter of the frames that carried the last takeBytes's bytes, or null. */
  get last(): FrameRecord | null {
    return this.lastOfCall;
  }

  /**
   * The call whose bytes run from the previous call's offset to `upTo` takes the data frames that start in
   * them (TCP placed by sequence number, so a retransmission goes with the bytes it repeats; each UDP
   * datagram one frame) into `out`. A frame carrying the ends of two calls is the first one's (`out` lists
   * each frame once), as the bytes it starts with are. Returns the first frame to enter that carried the
   * call's first byte (null when unknown: not arrived, or forgotten). A frame that starts in the bytes of a
   * call already linked came after that call's wait ended: it is counted in `late` and linked to nobody.
   */
  takeBytes(upTo: number, out: number[]): FrameRecord | null {
    const before = this.asked;
    this.asked = Math.max(this.asked, upTo);
    let first: FrameRecord | null = null;
    let last: FrameRecord | null = null;
    const saw = (e: Placed): void => {
      if (!e.carried || e.end <= before || e.start >= upTo) return;
      if (e.start <= before && (!first || e.f.tIn < first.tIn)) first = e.f;
      if (!last || e.f.tIn > last.tIn) last = e.f;
    };
    if (this.edge) saw(this.edge);
    for (let i = this.next; i < this.frames.length; i++) {
      const e = this.frames[i]!;
      if (e.taken) continue;
      if (e.f.payload === 0) {
        e.taken = true;
        continue;
      }
      if (e.start >= upTo) {
        if (this.behindUntaken === 0) break;
        continue;
      }
      e.taken = true;
      if (e.behind) this.behindUntaken--;
      this.taken = Math.max(this.taken, e.end);
      saw(e);
      if (e.carried && (!this.edge || e.end > this.edge.end)) this.edge = e;
      if (e.start < before) this.late++;
      else out.push(e.f.seq);
    }
    while (this.next < this.frames.length && this.frames[this.next]!.taken) this.next++;
    if (this.next > 8 * TAKEN_KEPT) {
      const cut = this.next - TAKEN_KEPT;
      this.frames = this.frames.slice(cut);
      this.next -= cut;
    }
    this.lastOfCall = last;
    return this.forgottenTo > before ? null : first;
  }

  /** Frames without payload that are no SYN, FIN or RST (ACKs, window updates) that entered in [start, end]. */
  control(start: number, end: number, out: number[]): void {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i]!.f;
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

  publish(record: TraceRecord, tcpSeq?: number): void {
    this.next.publish(record, tcpSeq);
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
    q.push(record, this.cap, tcpSeq);
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
