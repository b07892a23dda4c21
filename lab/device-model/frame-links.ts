// Which frames a socket call caused on the emulated path: frames of the call's flow (either direction:
// data and the ACKs it drew) whose time into the device model falls in the call's span plus a slack,
// since the kernel may send a call's bytes after the call has returned (Nagle, a full window).

import type { FrameRecord } from '../../protocol';

export interface CallFlow {
  protocol: 'tcp' | 'udp';
  /** The guest's own address and port. */
  local: string;
  localPort: number;
  remote: string;
  remotePort: number;
}

/** seq of the frames of `flow` with tIn in [start, end + slackNs], in the order given (frames sorted by tIn). */
export function framesOfCall(frames: readonly FrameRecord[], flow: CallFlow, start: number, end: number, slackNs = 2_000_000): number[] {
  const out: number[] = [];
  for (const f of frames) {
    if (f.tIn < start) continue;
    if (f.tIn > end + slackNs) break;
    const fl = f.flow;
    if (!fl || fl.protocol !== flow.protocol) continue;
    const outbound = fl.src === flow.local && fl.srcPort === flow.localPort && fl.dst === flow.remote && fl.dstPort === flow.remotePort;
    const inbound = fl.dst === flow.local && fl.dstPort === flow.localPort && fl.src === flow.remote && fl.srcPort === flow.remotePort;
    if (outbound || inbound) out.push(f.seq);
  }
  return out;
}
