// udp-rr: an 8-byte datagram (a sequence number) to the UDP echo and its echo back, one outstanding at a
// time. A datagram not answered within 200 ms counts as lost and the next one goes out; a run with
// losses or a wrong echo is not verified.

import type { SocketFactory } from '../socket-factory';
import { LatencyRun, nowNs } from '../latency';
import type { WorkloadResult, WorkloadTarget } from '../workload-result';
import { isIPv6 } from 'node:net';

const LOSS_MS = 200;

export async function runUdpRr(f: SocketFactory, t: WorkloadTarget): Promise<Omit<WorkloadResult, 'ranIn'>> {
  const v6 = isIPv6(t.host);
  const sock = f.udp(v6 ? 6 : 4);
  await new Promise<void>((resolve) => sock.bind(0, t.local ?? (v6 ? '::1' : '127.0.0.1'), resolve));
  const msg = Buffer.alloc(8);
  let seq = 0;
  let ops = 0;
  let lost = 0;
  let wrong = 0;
  let sentAt = 0;
  const run = new LatencyRun(t.seconds);
  await new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | null = null;
    sock.on('error', reject);
    const next = (): void => {
      if (nowNs() >= run.deadline) {
        if (timer) clearTimeout(timer);
        resolve();
        return;
      }
      seq++;
      msg.writeBigUInt64BE(BigInt(seq));
      sentAt = nowNs();
      sock.send(msg, t.port, t.host);
      if (timer) timer.refresh();
      else timer = setTimeout(() => { lost++; next(); }, LOSS_MS);
    };
    sock.on('message', (d: Buffer) => {
      const now = nowNs();
      if (d.length !== 8) { wrong++; return; }
      const got = Number(d.readBigUInt64BE());
      if (got !== seq) return; // a late echo of a datagram already counted lost
      run.add(now, now - sentAt);
      ops++;
      next();
    });
    next();
  });
  const latency = run.summary();
  await new Promise<void>((resolve) => sock.close(() => resolve()));
  const notes: string[] = [];
  if (lost) notes.push(`${lost} datagrams lost (no echo within ${LOSS_MS} ms)`);
  if (wrong) notes.push(`${wrong} echoes had the wrong size`);
  return {
    path: f.path,
    mb_per_s: null,
    ...latency,
    calls: ops * 2,
    bytes: ops * 16,
    verified: ops > 0 && lost === 0 && wrong === 0,
    notes,
  };
}
