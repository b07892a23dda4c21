// A traced `linsock run`: the run's trace file (run-trace-file.ts), and the interposer's trace socket
// (interposer-trace-server.ts) in a private directory of the run (delegated: for the passed sockets only). The run
// record says which path, which program and how its calls were timed.

import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { ClockMapping } from '../../daemon';
import { LstraceReader, type RunInfo } from '../../protocol';
import { nicProfile, type NicMode } from '../emulated';
import { hostFacts } from '../bench/host-facts';
import { InterposerTraceServer } from './interposer-trace-server';
import { RunTraceFile } from './run-trace-file';

/** What a traced run needs to know of `linsock run`'s options (RunOptions has them). */
export interface RunTraceRequest {
  path: 'delegated' | 'emulated' | 'direct';
  command: string;
  args: string[];
  traceFile?: string;
}

/** How each path's calls are timed, for the run record's params. */
const TIMING: Record<RunTraceRequest['path'], string> = {
  direct: 'interposer trace-only: each call is the real kernel call, timed enter -> return in the calling thread',
  emulated: 'interposer trace-only in the guest namespace: each call is the guest kernel call, timed enter -> return; frames from the device model',
  delegated: 'interposer stage stamps joined by linsockd with its host stages; a socket passed to the program (passFd) timed by the interposer, enter -> return',
};

export interface RunTrace {
  runId: string;
  sink: RunTraceFile;
  /** The interposer's trace socket (LINSOCK_TRACE_SOCKET); delegated: for the passed sockets' calls only. */
  socketPath: string;
  /**
   * Delegated: the daemon's clock mapping of each guest (known once they ran) and its count of records whose
   * stamps disagreed beyond it; the file ends with the run record restated with them (the last one counts).
   */
  noteClocks(clocks: Record<string, ClockMapping>, disordered: Record<string, number>): void;
  close(): Promise<void>;
}

export function runTraceInfo(o: RunTraceRequest, runId: string, mode: NicMode | null): RunInfo {
  const host = hostFacts(mode ? nicProfile(mode) : null, [o.path]);
  return {
    kind: 'run',
    id: runId,
    workload: `program ${basename(o.command)}`,
    paths: [o.path],
    params: {
      command: [o.command, ...o.args].join(' '),
      timing: TIMING[o.path],
      // Trace-only stamps come from the same kernel's CLOCK_MONOTONIC as the host's (namespaces share it).
      ...(o.path === 'delegated' ? {} : { clock: 'host CLOCK_MONOTONIC (same kernel): offset 0, error 0' }),
    },
    host,
    startedNs: Number(process.hrtime.bigint()),
    clockErrorNs: {},
    clockOffsetNs: {},
  };
}

/** Opens the trace file and (direct, emulated) the interposer's socket; null after one line saying why not. */
export async function startRunTrace(o: RunTraceRequest, mode: NicMode | null): Promise<RunTrace | null> {
  const file = o.traceFile as string;
  const runId = `run-${basename(o.command)}-${process.pid}`;
  let sink: RunTraceFile;
  const info = runTraceInfo(o, runId, mode);
  try {
    sink = RunTraceFile.open(file, info);
  } catch (e) {
    console.error(`linsock run: ${(e as Error).message}`);
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'linsock-trace-'));
  // Delegated too: the sockets the daemon passes to the program (the passed-descriptor plane) are timed there.
  const server = await InterposerTraceServer.listen(join(dir, 'trace.sock'), runId, o.path, sink);
  return {
    runId,
    sink,
    socketPath: server.socketPath,
    noteClocks(clocks, disordered) {
      const entries = Object.entries(clocks);
      const total = Object.values(disordered).reduce((a, b) => a + b, 0);
      sink.publish({
        ...info,
        params: { ...info.params, disordered: total },
        clockErrorNs: Object.fromEntries(entries.map(([g, m]) => [g, m.errorNs])),
        clockOffsetNs: Object.fromEntries(entries.map(([g, m]) => [g, m.offsetNs])),
      });
    },
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
      const how = await sink.close();
      const lost = server && server.stats.dropped > 0 ? `; the interposer dropped ${server.stats.dropped} (this end was behind)` : '';
      console.error(`linsock run: trace: ${how}${lost}`);
    },
  };
}

/** The call records a trace file holds (read in pieces: a long run's file is not held whole); throws when damaged. */
export function callRecordsIn(file: string): number {
  const reader = new LstraceReader();
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  let calls = 0;
  try {
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) {
      const r = reader.push(buf.subarray(0, n));
      if (r.error) throw new Error(`${file}: ${r.error.message}`);
      for (const x of r.records) if (x.kind === 'call') calls++;
    }
  } finally {
    closeSync(fd);
  }
  return calls;
}
