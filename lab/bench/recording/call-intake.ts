// The bench runner's end of a workload's call log: publishes the calls to the run's sink as they arrive.
// Emulated calls first wait for the frames they caused and are linked to them (call.frames): a send's
// frames are those that start in its bytes (the flow's outgoing data placed by TCP sequence number, its
// bytes counted from the flow's first send), a receive's those that brought its bytes; connect gets the
// flow's SYNs and the ACKs without payload that entered the device model during the call or just after
// (the kernel answers after the call has returned); close gets the flow's FINs and RSTs, whenever they
// came, and the ACKs from the first of them to just after the call (earlier ACKs answer data, not the
// close).
// The wait adapts: a chunk of calls is linked as soon as the frames carrying its sends' bytes have entered
// the device model (frames are stamped when read, and published in the same turn of the event loop), and
// its connects and closes once the device model's clock has passed their end plus a slack. It waits at
// most MAX_LINK_WAIT_MS; frames that come later are counted (FrameLog.lateFrames), not linked elsewhere.
// A receive also gets its duration here: the workload process sees only the delivery ('data' event), so
// its `kernel` stage starts when the first frame that carried its bytes entered the device model (tIn)
// and ends at the delivery. That spans device model, guest TAP, guest kernel and the guest's event loop:
// the counterpart of a delegated recv (pushed data: host read -> guest delivery).

import type { Readable } from 'node:stream';
import type { CallRecord } from '../../../protocol';
import type { TraceSink } from '../../../daemon';
import { nowNs } from '../latency';
import { readCallLog, type SocketFlow } from './call-log';
import { newLinkStats, type FrameLog, type LinkStats } from './frame-log';
import type { CallFlow } from '../../device-model/frame-links';

const SLACK_NS = 2_000_000;
/** The longest a chunk of emulated calls waits for its frames (e1000 stream frames came up to 125 ms late). */
export const MAX_LINK_WAIT_MS = 3000;
/** How long a close waits for the peer's FIN or RST after it returned. */
const CLOSE_WAIT_NS = 500_000_000;
/** How long a close that has the peer's FIN waits for its own (which may have ridden on a data frame). */
const OWN_FIN_WAIT_NS = 20_000_000;
const POLL_MS = 2;

interface SocketState {
  flow: CallFlow;
  /** Bytes the socket's calls sent and received so far: where its next call's bytes begin in the flow. */
  sent: number;
  received: number;
}

export class CallIntake {
  published = 0;
  linkedFrames = 0;
  private readonly sockets = new Map<number, SocketState>();
  private chain: Promise<void> = Promise.resolve();
  /** Kept in the run's FrameLog, over every intake that links to it. */
  readonly stats: LinkStats;

  constructor(private readonly sink: TraceSink, private readonly frames: FrameLog | null) {
    this.stats = frames?.linking ?? newLinkStats();
  }

  /** Resolves when the log has ended and every call in it is published. */
  async read(log: Readable): Promise<void> {
    await readCallLog(log, (calls) => this.take(calls), (f) => this.flow(f));
    await this.chain;
  }

  private flow(f: SocketFlow): void {
    this.sockets.set(f.socket, { flow: { protocol: f.protocol, local: f.local, localPort: f.localPort, remote: f.remote, remotePort: f.remotePort }, sent: 0, received: 0 });
  }

  private take(calls: CallRecord[]): void {
    if (!this.frames) return this.publish(calls);
    // Each chunk waits from its own arrival, so waits do not add up along the chain.
    const arrived = Date.now();
    this.chain = this.chain.then(() => this.framesOf(calls, arrived)).then(() => {
      for (const c of calls) this.link(c);
      this.publish(calls);
    });
  }

  /** Resolves once the frames `calls` caused have entered the device model, or at MAX_LINK_WAIT_MS. */
  private framesOf(calls: CallRecord[], arrived: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        const waited = Date.now() - arrived;
        const ready = this.ready(calls);
        if (ready || waited >= MAX_LINK_WAIT_MS) {
          if (!ready) this.stats.chunksCutShort++;
          this.stats.maxWaitMs = Math.max(this.stats.maxWaitMs, waited);
          resolve();
        } else setTimeout(check, POLL_MS);
      };
      check();
    });
  }

  private ready(calls: CallRecord[]): boolean {
    const log = this.frames as FrameLog;
    const sending = new Map<SocketState, number>();
    let until = 0;
    const now = nowNs();
    for (const c of calls) {
      const s = this.sockets.get(c.socket);
      const stage = c.stages[c.stages.length - 1];
      if (!s || !stage) continue;
      if (c.op === 'send' || c.op === 'sendto') sending.set(s, (sending.get(s) ?? s.sent) + c.bytes);
      else if (c.op === 'connect') until = Math.max(until, stage.end + SLACK_NS);
      else if (c.op === 'close') {
        until = Math.max(until, stage.end + SLACK_NS);
        const q = log.queues(s.flow);
        const peer = q.in?.hasSignal('teardown') === true;
        const own = q.out?.hasSignal('teardown') === true || now > stage.end + OWN_FIN_WAIT_NS;
        if (s.flow.protocol === 'tcp' && !(peer && own) && now < stage.end + CLOSE_WAIT_NS) return false;
      }
    }
    for (const [s, bytes] of sending) if ((log.queues(s.flow).out?.arrived ?? 0) < bytes) return false;
    // Frames are stamped when read: once the clock passed `until`, every frame before it has been read.
    return now > until;
  }

  private link(c: CallRecord): void {
    const s = this.sockets.get(c.socket);
    const stage = c.stages[0];
    if (!s || !stage) return;
    const q = (this.frames as FrameLog).queues(s.flow);
    const seqs: number[] = [];
    if (c.op === 'send' || c.op === 'sendto') {
      s.sent += c.bytes;
      if (q.out?.takeBytes(s.sent, seqs) && q.out.last) this.stats.maxSendToFrameNs = Math.max(this.stats.maxSendToFrameNs, q.out.last.tIn - stage.end);
    } else if (c.op === 'recv' || c.op === 'recvfrom') {
      s.received += c.bytes;
      const first = q.in?.takeBytes(s.received, seqs);
      // Never after the delivery: a frame linked by a miscount (lost frames) must not make end < start.
      if (first) {
        stage.start = Math.min(first.tIn, stage.end);
        delete stage.unmeasured; // measured now: from the frame into the device model to the delivery
      }
    } else if (c.op === 'connect' || c.op === 'close') {
      const signal = c.op === 'connect' ? 'handshake' : 'teardown';
      const first = Math.min(q.out?.takeSignals(signal, seqs) ?? Infinity, q.in?.takeSignals(signal, seqs) ?? Infinity);
      const from = c.op === 'close' && first !== Infinity ? Math.max(stage.start, first) : stage.start;
      q.out?.control(from, stage.end + SLACK_NS, seqs);
      q.in?.control(from, stage.end + SLACK_NS, seqs);
    }
    if (seqs.length) {
      c.frames = seqs.sort((a, b) => a - b);
      this.linkedFrames += seqs.length;
      this.stats.linkedFrames += seqs.length;
    }
  }

  private publish(calls: CallRecord[]): void {
    for (const c of calls) this.sink.publish(c);
    this.published += calls.length;
  }
}
