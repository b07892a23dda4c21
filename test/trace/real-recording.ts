// A real recording for the export tests, as root: a short bench stream over the three paths, the delegated
// one through a real linsockd, the emulated one through TAPs and the device model, every record published
// into a sink as `linsock start` hosts it. Its records carry real stage times and real frames.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon } from '../../daemon';
import { runBench } from '../../lab/bench/run-bench';
import type { TraceRecord } from '../../protocol';
import { CollectingSink } from '../fixtures/collecting-sink';

/** The records of a `seconds`-long run of `workload` on direct, delegated and emulated (e1000). */
export async function realRecording(workload: 'stream' | 'rr', seconds: number): Promise<TraceRecord[]> {
  const sink = new CollectingSink();
  const dir = mkdtempSync(join(tmpdir(), 'linsock-export-test-'));
  const daemon = await startDaemon({
    guestSocket: join(dir, 'guest.sock'),
    policy: { rules: [{ action: 'allow', ops: ['connect', 'sendto'], cidr: '127.0.0.0/8', ports: '1024-65535' }] },
    trace: sink,
    run: `export-${process.pid}`,
  });
  try {
    const report = await runBench(
      { workload, paths: ['direct', 'delegated', 'emulated'], seconds, mode: 'e1000', trace: true },
      { daemonGuestPath: daemon.guestPath as string, sink, runId: `export-${process.pid}` },
    );
    if (!report.results.every((r) => r.verified)) throw new Error(`the recording's run failed: ${JSON.stringify(report)}`);
  } finally {
    await daemon.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return sink.records;
}
