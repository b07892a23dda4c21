// The linsockd a bench run starts in this process when the caller names none (or the caller's cannot
// serve it: inter-guest's `delegated-kernel` needs one with the same-host shortcut off). It listens on a
// private guest socket in a temp dir; its policy starts closed to host loopback (the defaults) and the
// runner opens exactly the ports the run needs (allow) once the bench server has picked them.
// With tracing on, calls go into the caller's sink, or else into a TraceHub nobody reads: the one
// `linsockd` runs, records batched, encoded and kept in its bounded ring, so that `--trace on` against
// `--trace off` measures the whole cost of tracing, not only the building of records.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, NO_TRACE, Policy, TraceHub, type DaemonOptions, type RunningDaemon, type TraceSink } from '../../daemon';
import type { TraceRecord } from '../../protocol';
import type { BusyPollReading } from './poll-figures';

export interface BenchDaemonOptions {
  /** Where call records go; a TraceHub of the daemon's own when null (tracing on). */
  sink: TraceSink | null;
  trace: boolean;
  /** The run id stamped into the daemon's call records. */
  run: string;
  /** Join connects between the daemon's own guests in-process (the daemon's default: on). */
  shortcut?: boolean;
  /** The daemon's polling window after guest activity; its default when absent. */
  busyPollUs?: number;
  /** Worker processes serving guests (linsockd --workers); 1 (in this process) when absent. */
  workers?: number;
}

export interface BenchDaemon {
  guestPath: string;
  /** Lets the run's guests reach `host:port` on the host with `op`, nothing else there. */
  allow(op: 'connect' | 'sendto', host: string, port: number): void;
  /**
   * Pauses or resumes the daemon's tracing into its own hub (`--trace alternate`); a caller's sink is left
   * alone. The switch stays on until a guest has connected: one that said hello while tracing was paused
   * would never stamp.
   */
  setTracing(on: boolean): void;
  /** The daemon's busy-polling counters now (poll-figures.ts turns two readings into a row's busy_poll). */
  busyPoll(): BusyPollReading;
  /** The daemon's worker processes (none with one worker: this process serves the guests). */
  workerPids(): number[];
  close(): Promise<void>;
}

/** What the starter builds on; a test hands in a start that fails. */
export interface BenchDaemonParts {
  start: (options: DaemonOptions) => Promise<RunningDaemon>;
  hub: () => TraceHub;
}

const PARTS: BenchDaemonParts = { start: startDaemon, hub: () => new TraceHub() };

/** Starts the daemon; when that fails, its temp dir and hub are gone before the error reaches the caller. */
export async function startBenchDaemon(o: BenchDaemonOptions, parts: BenchDaemonParts = PARTS): Promise<BenchDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-bench-'));
  const hub = o.trace && !o.sink ? parts.hub() : null;
  const undo = (): void => {
    hub?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  // The daemon checks `enabled` before each call it traces: a switch in front of the hub pauses tracing.
  const toHub = hub ? { enabled: true, publish: (r: TraceRecord) => hub.publish(r) } : null;
  const sink: TraceSink = o.trace ? (o.sink ?? toHub ?? NO_TRACE) : NO_TRACE;
  // Bench guests serve on the host's loopback (inter-guest's guest A), closed by default.
  const policy = Policy.fromConfig({ rules: [{ action: 'allow', ops: ['listen', 'bind'], cidr: ['127.0.0.1', '::1'] }] });
  let d: RunningDaemon;
  try {
    d = await parts.start({ guestSocket: join(dir, 'guest.sock'), policy, trace: sink, run: o.run, sameHostShortcut: o.shortcut, busyPollUs: o.busyPollUs, workers: o.workers });
  } catch (e) {
    undo();
    throw e;
  }
  const daemon = d;
  return {
    guestPath: daemon.guestPath as string,
    allow: (op, host, port) => void policy.addRule({ action: 'allow', ops: [op], cidr: host, ports: port }),
    setTracing: (on) => {
      if (toHub) toHub.enabled = on || daemon.guests().length === 0;
    },
    busyPoll: () => daemon.busyPoll(),
    workerPids: () => daemon.workerPids(),
    close: async () => {
      try {
        await daemon.close();
      } finally {
        undo();
      }
    },
  };
}
