// The bench runner's end of a workload's call log: publishes the calls to the run's sink as they arrive.
// Emulated calls first wait a moment for the frames they caused and are linked to them (call.frames):
// a send's frames are those that carry its bytes (the flow's outgoing data, in order, counted byte by
// byte from the flow's first send), a receive's those that brought its bytes; connect and close get the
// flow's frames without payload (handshake, FIN) that entered the device model during the call or just
// after (the kernel answers after the call has returned).
// A receive also gets its duration here: the workload process sees only the delivery ('data' event), so
// its `kernel` stage starts when the first frame that carried its bytes entered the device model (tIn)
// and ends at the delivery. That spans device model, guest TAP, guest kernel and the guest's event loop:
// the counterpart of a delegated recv (pushed data: host read -> guest delivery).

import type { Readable } from 'node:stream';
import type { CallRecord } from '../../../protocol';
import type { TraceSink } from '../../../daemon';
import { readCallLog, type SocketFlow } from './call-log';
import type { FrameLog } from './frame-log';
import type { CallFlow } from '../../device-model/frame-links';

const SLACK_NS = 2_000_000;
/** How long emulated calls wait for their frames: a full send buffer drains through e1000 within it. */
const LINK_DELAY_MS = 150;

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

  constructor(private readonly sink: TraceSink, private readonly frames: FrameLog | null) {}

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
    const due = Date.now() + LINK_DELAY_MS;
    this.chain = this.chain.then(() => new Promise<void>((resolve) => setTimeout(() => {
      for (const c of calls) this.link(c);
      this.publish(calls);
      resolve();
    }, Math.max(0, due - Date.now()))));
  }

  private link(c: CallRecord): void {
    const s = this.sockets.get(c.socket);
    const stage = c.stages[0];
    if (!s || !stage) return;
    const q = (this.frames as FrameLog).queues(s.flow);
    const seqs: number[] = [];
    if (c.op === 'send' || c.op === 'sendto') {
      s.sent += c.bytes;
      q.out?.takeBytes(s.sent, seqs);
    } else if (c.op === 'recv' || c.op === 'recvfrom') {
      s.received += c.bytes;
      const first = q.in?.takeBytes(s.received, seqs);
      // Never after the delivery: a frame linked by a miscount (lost frames) must not make end < start.
      if (first) {
        stage.start = Math.min(first.tIn, stage.end);
        delete stage.unmeasured; // measured now: from the frame into the device model to the delivery
      }
    } else if (c.op === 'connect' || c.op === 'close') {
      q.out?.control(stage.start, stage.end + SLACK_NS, seqs);
      q.in?.control(stage.start, stage.end + SLACK_NS, seqs);
    }
    if (seqs.length) {
      c.frames = seqs.sort((a, b) => a - b);
      this.linkedFrames += seqs.length;
    }
  }

  private publish(calls: CallRecord[]): void {
    for (const c of calls) this.sink.publish(c);
    this.published += calls.length;
  }
}
