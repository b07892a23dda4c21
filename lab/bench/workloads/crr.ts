// crr: per operation, connect, send a 1-byte request, read the 1-byte response, close — against the
// echo server, one operation at a time. The latency of an op spans connect to close.

import type { SocketFactory } from '../socket-factory';
import { LatencyRun, nowNs } from '../latency';
import type { WorkloadResult, WorkloadTarget } from '../workload-result';

export async function runCrr(f: SocketFactory, t: WorkloadTarget): Promise<Omit<WorkloadResult, 'ranIn'>> {
  let ops = 0;
  let mismatches = 0;
  const run = new LatencyRun(t.seconds);
  while (nowNs() < run.deadline) {
    const start = nowNs();
    const sock = await f.connect(t.port, t.host);
    sock.setNoDelay(true);
    const want = ops & 0xff;
    const got = await new Promise<number>((resolve, reject) => {
      sock.once('error', reject);
      sock.once('data', (d: Buffer) => resolve(d[0] as number));
      sock.write(Buffer.from([want]));
    });
    if (got !== want) mismatches++;
    await new Promise<void>((resolve) => {
      sock.once('close', () => resolve());
      sock.destroy();
    });
    run.add(start, nowNs() - start);
    ops++;
  }
  const latency = run.summary();
  return {
    path: f.path,
    mb_per_s: null,
    ...latency,
    // connect, send, recv and close per op
    calls: ops * 4,
    bytes: ops * 2,
    verified: mismatches === 0 && ops > 0,
    notes: mismatches ? [`${mismatches} responses differed from their requests`] : [],
  };
}
