// crr: per operation, connect, send a 1-byte request, read the 1-byte response, close — against the
// echo server, one operation at a time. The latency of an op spans connect to close.

import type { SocketFactory } from '../socket-factory';
import { LatencySamples, nowNs, warmupEndNs } from '../latency';
import { round, type WorkloadResult, type WorkloadTarget } from '../workload-result';

export async function runCrr(f: SocketFactory, t: WorkloadTarget): Promise<Omit<WorkloadResult, 'ranIn'>> {
  const samples = new LatencySamples();
  let ops = 0;
  let mismatches = 0;
  const t0 = nowNs();
  const deadline = t0 + t.seconds * 1e9;
  const warm = warmupEndNs(t0, t.seconds);
  let counted = 0;
  while (nowNs() < deadline) {
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
    if (start >= warm) {
      samples.addNs(nowNs() - start);
      counted++;
    }
    ops++;
  }
  const elapsed = nowNs() - Math.max(t0, warm);
  return {
    path: f.path,
    mb_per_s: null,
    p50_us: round(samples.percentileUs(50)),
    p99_us: round(samples.percentileUs(99)),
    ops_per_s: round(counted / (elapsed / 1e9)),
    // connect, send, recv and close per op
    calls: ops * 4,
    bytes: ops * 2,
    verified: mismatches === 0 && ops > 0,
    notes: mismatches ? [`${mismatches} responses differed from their requests`] : [],
  };
}
