// Inside a workload process on the direct and emulated paths: the workload's own socket calls (enter,
// return, bytes, result; one `kernel` stage) recorded by wrapping the socket factory, and shipped to the
// bench runner in .lstrace chunks over the call log (call-log.ts). The workload code does not change.

import { Socket } from 'node:net';
import { encodeChunk, isErrnoName, type CallRecord, type CallResult, type Op, type Path } from '../../../protocol';
import { CALL_LOG_FD, KIND_CHUNK, KIND_FLOW, MAX_RECORDED_CALLS, frameOf, type SocketFlow } from './call-log';
import { nowNs } from '../latency';
import type { DatagramSocket, SocketFactory, StreamSocket } from '../socket-factory';

const BATCH = 4096;
const FLUSH_MS = 50;
/** How long close() waits for sockets the workload ended or destroyed to report their close. */
const CLOSE_WAIT_MS = 1000;

export class CallRecorder {
  private batch: CallRecord[] = [];
  private recorded = 0;
  /** Calls beyond MAX_RECORDED_CALLS: counted, not recorded. */
  skipped = 0;
  private nextSocket = 1;
  private readonly out: Socket;
  private timer: NodeJS.Timeout | null = null;
  /** Sockets the workload closed whose 'close' (which records the call) has not come yet. */
  private readonly closings = new Set<Promise<void>>();

  constructor(private readonly run: string, private readonly guest: string, private readonly path: Path) {
    this.out = new Socket({ fd: CALL_LOG_FD, readable: false });
    this.out.on('error', () => undefined); // the runner went away: the workload finishes anyway
  }

  socketId(): number {
    return this.nextSocket++;
  }

  /** `unmeasured`: only the moment was seen, not the length (a receive: see recordStream). */
  call(socket: number, op: Op, bytes: number, result: CallResult, start: number, end: number, unmeasured = false): void {
    if (this.recorded >= MAX_RECORDED_CALLS) {
      this.skipped++;
      return;
    }
    this.recorded++;
    this.batch.push({ kind: 'call', seq: 0, run: this.run, guest: this.guest, path: this.path, socket, op, bytes, result, stages: [unmeasured ? { name: 'kernel', start, end: start, unmeasured: true } : { name: 'kernel', start, end }] });
    if (this.batch.length >= BATCH) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  flow(f: SocketFlow): void {
    this.out.write(frameOf(KIND_FLOW, Buffer.from(JSON.stringify(f))));
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.batch.length === 0) return;
    this.out.write(frameOf(KIND_CHUNK, encodeChunk(this.batch)));
    this.batch = [];
  }

  /** Records the close of a socket when `closed` resolves; close() waits for it (a while). */
  closing(closed: Promise<void>): void {
    this.closings.add(closed);
    void closed.then(() => this.closings.delete(closed));
  }

  /**
   * Flushes and closes the log; resolves once the runner has it all. A workload that destroys its socket
   * and returns would otherwise end the log before Node emits the socket's 'close', and lose that call.
   */
  async close(): Promise<void> {
    if (this.closings.size) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(this.closings), new Promise((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
      clearTimeout(timer);
    }
    this.flush();
    return new Promise((resolve) => this.out.end(resolve));
  }
}

const resultOf = (err: unknown): CallResult => {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code && isErrnoName(code) ? code : 'EIO';
};

function recordStream(s: StreamSocket, rec: CallRecorder, id: number): StreamSocket {
  const write = s.write;
  s.write = function (this: StreamSocket, ...args: unknown[]): boolean {
    const chunk = args[0] as Buffer | string;
    const t0 = nowNs();
    const r = (write as (...a: unknown[]) => boolean).apply(this, args);
    rec.call(id, 'send', Buffer.byteLength(chunk), 'ok', t0, nowNs());
    return r;
  } as typeof s.write;
  // A receive is seen only at its delivery: libuv read the socket inside the event loop before emitting
  // 'data', and Node exposes neither when that read ran nor when the bytes reached the socket (no
  // SO_TIMESTAMPING). So it is recorded at its delivery as not measured (never as 0 long). On the emulated
  // path the runner measures it from when the first frame that carried its bytes entered the device model
  // (call-intake.ts); on the direct path nothing outside the kernel saw the bytes earlier, so a direct recv
  // stays not measured. (The read that preceded the data is no bound either: Node reads again at once after
  // each delivery, so "since the previous read" would time the peer's work, not this receive.)
  s.prependListener('data', (d: Buffer) => {
    const t = nowNs();
    rec.call(id, 'recv', d.length, 'ok', t, t, true);
  });
  let closeStart = 0;
  let markClosed: () => void = () => undefined;
  const closing = (): void => {
    if (closeStart) return;
    closeStart = nowNs();
    rec.closing(new Promise<void>((resolve) => (markClosed = resolve)));
  };
  const end = s.end;
  s.end = function (this: StreamSocket, ...args: unknown[]) {
    closing();
    return (end as (...a: unknown[]) => StreamSocket).apply(this, args);
  } as typeof s.end;
  const destroy = s.destroy;
  s.destroy = function (this: StreamSocket, err?: Error) {
    closing();
    return destroy.call(this, err);
  } as typeof s.destroy;
  s.once('close', () => {
    const t = nowNs();
    rec.call(id, 'close', 0, 'ok', closeStart || t, t);
    markClosed();
  });
  return s;
}

function recordDatagram(u: DatagramSocket, rec: CallRecorder, id: number, target: { host: string; port: number }): DatagramSocket {
  const send = u.send.bind(u);
  const bind = u.bind.bind(u);
  let flowSent = false;
  // Recorded at delivery, like a stream's receive (see recordStream).
  u.on('message', (msg: Buffer) => {
    const t = nowNs();
    rec.call(id, 'recvfrom', msg.length, 'ok', t, t, true);
  });
  return Object.assign(u, {
    send(msg: Buffer, port: number, address: string): void {
      const t0 = nowNs();
      send(msg, port, address);
      rec.call(id, 'sendto', msg.length, 'ok', t0, nowNs());
    },
    bind(port: number, address: string, cb: () => void): unknown {
      return bind(port, address, () => {
        const a = (u as DatagramSocket & { address?(): { address: string; port: number } }).address?.();
        if (a && !flowSent) {
          flowSent = true;
          rec.flow({ socket: id, protocol: 'udp', local: a.address, localPort: a.port, remote: target.host, remotePort: target.port });
        }
        cb();
      });
    },
  });
}

/** `inner` with every call recorded into `rec`; `target` names the peer of UDP sockets (for their flow). */
export function recordingFactory(inner: SocketFactory, rec: CallRecorder, target: { host: string; port: number }): SocketFactory {
  return {
    path: inner.path,
    async connect(port, host) {
      const id = rec.socketId();
      const t0 = nowNs();
      let s: StreamSocket;
      try {
        s = await inner.connect(port, host);
      } catch (err) {
        rec.call(id, 'connect', 0, resultOf(err), t0, nowNs());
        throw err;
      }
      rec.call(id, 'connect', 0, 'ok', t0, nowNs());
      const n = s as StreamSocket & { localAddress?: string; localPort?: number; remoteAddress?: string; remotePort?: number };
      if (n.localAddress && n.localPort && n.remoteAddress && n.remotePort)
        rec.flow({ socket: id, protocol: 'tcp', local: n.localAddress, localPort: n.localPort, remote: n.remoteAddress, remotePort: n.remotePort });
      return recordStream(s, rec, id);
    },
    udp: (family) => recordDatagram(inner.udp(family), rec, rec.socketId(), target),
    close: () => inner.close(),
  };
}
