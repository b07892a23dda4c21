// rr: 1-byte request/response against the echo server, one outstanding at a time, for the given time.
// Each echoed byte must be the one sent (the byte value cycles), so the run is verified byte by byte.

import type { SocketFactory } from '../socket-factory';
import { LatencyRun, LatencySamples, nowNs } from '../latency';
import type { WorkloadResult, WorkloadTarget } from '../workload-result';

/** `kept`: where the round trips past the warm-up go besides the summary (several guests' percentiles). */
export async function runRr(f: SocketFactory, t: WorkloadTarget, kept = new LatencySamples()): Promise<Omit<WorkloadResult, 'ranIn'>> {
  const sock = await f.connect(t.port, t.host);
  sock.setNoDelay(true);
  const bytes = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => Buffer.from([i]));
  let ops = 0;
  let mismatches = 0;
  let sentAt = 0;
  const run = new LatencyRun(t.seconds, kept);
  await new Promise<void>((resolve, reject) => {
    sock.on('error', reject);
    const next = (): void => {
      sentAt = nowNs();
      sock.write(bytes[ops & 7] as Buffer);
    };
    sock.on('data', (d: Buffer) => {
      const now = nowNs();
      for (const b of d) {
        if (b !== (ops & 7)) mismatches++;
        run.add(now, now - sentAt);
        ops++;
      }
      if (now < run.deadline) next();
      else resolve();
    });
    next();
  });
  const latency = run.summary();
  sock.destroy();
  return {
    path: f.path,
    mb_per_s: null,
    ...latency,
    calls: ops * 2,
    bytes: ops * 2,
    verified: mismatches === 0 && ops > 0,
    notes: mismatches ? [`${mismatches} echoed bytes differed from those sent`] : [],
  };
}
