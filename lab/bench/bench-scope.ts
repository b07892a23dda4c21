// What a bench run is asked (BenchOptions, and BenchEnv: where it reports, how it is stopped), what it holds
// while it runs (BenchScope, which the runner hands to its steps), and what it gives back (BenchOutcome).

import type { BenchReport, EmulatedMode, Path, Workload } from '../../protocol';
import { PATHS, WORKLOADS } from '../../protocol';
import { MAX_BUSY_POLL_US, type TraceSink } from '../../daemon';
import type { LabRun } from '../netns';
import type { DeviceCounters, EmulatedPath } from '../emulated';
import type { FrameLog, LinkStats } from './recording';
import { MAX_LOAD } from './cpu-load';
import { FLEET_WORKLOADS, MAX_GUESTS } from './guest-fleet';
import type { BenchServerPorts } from './server';
import type { WorkloadResult } from './workload-result';

/** `--workers W` at most: worker processes of the bench's own daemon. */
export const MAX_WORKERS = 64;

export interface BenchOptions {
  workload: Workload;
  paths: Path[];
  seconds: number;
  /** The emulated NIC; null means the default (virtio). */
  mode: EmulatedMode | null;
  trace: boolean;
  /** linsockd --busy-poll-us for the daemons the run starts; the daemon's default when absent. */
  busyPollUs?: number;
  /**
   * `--trace alternate`: tracing (with `trace` on) is paused and resumed in phases of this many ms, in the
   * bench's own daemon and the guest at once, and the report's trace_overhead compares the phases.
   */
  tracePhaseMs?: number;
  /** `--load N`: N CPU-bound processes run during each path's measurement (cpu-load.ts); none when absent. */
  load?: number;
  /** `--guests N`: N guests per path run the workload at once, against one daemon on delegated (guest-fleet.ts). */
  guests?: number;
  /** `--workers W`: the bench's own daemon serves its guests from W worker processes (linsockd --workers); 1 when absent. */
  workers?: number;
  /** `--channel`: what the delegated guests ask for; absent: shared memory where the addon is built. */
  channel?: 'shm' | 'socket';
}

export interface BenchEnv {
  /** The guest socket of a running linsockd whose policy allows the bench server; else the bench starts its own (bench-daemon.ts). */
  daemonGuestPath?: string;
  /** With daemonGuestPath: that daemon's --busy-poll-us, for the run's RunInfo (absent there when not given). */
  daemonBusyPollUs?: number;
  /** Where the run's records go (RunInfo, direct and emulated calls, frames); delegated calls come from the daemon. */
  sink?: TraceSink;
  /** Stamped into every record of the run; one is made up when absent. */
  runId?: string;
  /** Aborting stops the run: its processes are killed, the lab torn down, and runBench rejects. */
  signal?: AbortSignal;
  /** Progress lines for a person. */
  onProgress?: (msg: string) => void;
  /**
   * With daemonGuestPath: called once the run's bench server listens, before any delegated workload
   * starts, with the loopback address and ports the delegated guests will reach through that daemon, so
   * that its policy can allow exactly those for the run (the server picks free ports when it starts).
   */
  onServerPorts?: (ports: BenchServerPorts) => void;
}

export interface BenchOutcome {
  report: BenchReport;
  /** The rows with where each ran and notes (losses, why a path is unavailable). */
  results: WorkloadResult[];
  /**
   * With a sink and the emulated path: the device model's own counts (framesHandled() of them is the frame
   * records it published) and what linking frames to calls found. Live: the counters keep counting until
   * the run's cleanup has closed the path, and late frames may still be counted after it.
   */
  emulatedFrames?: { counters: DeviceCounters; linking: LinkStats; lateFrames(): number };
}

export const DEFAULT_MODE: EmulatedMode = 'virtio';

export class BenchUsageError extends Error {}
export class BenchCancelled extends Error {
  constructor() {
    super('the bench run was cancelled');
    this.name = 'AbortError';
  }
}

/** Which figure the ratios compare: throughput for stream and inter-guest, median latency for the others
 *  (protocol/comparison.ts holds the one rule, which the tables and the viewer read too). */
export { ratioField as ratioMetric } from '../../protocol';

export function validateOptions(o: BenchOptions): void {
  if (!(WORKLOADS as readonly string[]).includes(o.workload)) throw new BenchUsageError(`unknown workload '${String(o.workload)}'; expected one of ${WORKLOADS.join(', ')}`);
  if (o.paths.length === 0) throw new BenchUsageError('--paths names no path; expected e.g. direct,delegated,emulated');
  for (const p of o.paths) if (!(PATHS as readonly string[]).includes(p)) throw new BenchUsageError(`unknown path '${String(p)}'; expected direct, delegated or emulated`);
  if (new Set(o.paths).size !== o.paths.length) throw new BenchUsageError(`--paths names a path twice: ${o.paths.join(',')}`);
  if (!(o.seconds > 0 && o.seconds <= 3600)) throw new BenchUsageError(`seconds must be in (0, 3600], got ${o.seconds}`);
  if (o.busyPollUs !== undefined && !(Number.isSafeInteger(o.busyPollUs) && o.busyPollUs >= 0 && o.busyPollUs <= MAX_BUSY_POLL_US)) throw new BenchUsageError(`busy-poll-us must be 0..${MAX_BUSY_POLL_US} microseconds, got ${o.busyPollUs}`);
  if (o.channel !== undefined && o.channel !== 'shm' && o.channel !== 'socket') throw new BenchUsageError(`channel must be shm or socket, got '${String(o.channel)}'`);
  if (o.load !== undefined && !(Number.isSafeInteger(o.load) && o.load >= 0 && o.load <= MAX_LOAD)) throw new BenchUsageError(`load must be 0..${MAX_LOAD} CPU-bound processes, got ${o.load}`);
  if (o.guests !== undefined) {
    if (!(Number.isSafeInteger(o.guests) && o.guests >= 1 && o.guests <= MAX_GUESTS)) throw new BenchUsageError(`guests must be 1..${MAX_GUESTS}, got ${o.guests}`);
    if (!(FLEET_WORKLOADS as readonly string[]).includes(o.workload)) throw new BenchUsageError(`--guests runs the ${FLEET_WORKLOADS.join(' or ')} workload, not '${o.workload}'`);
    const others = o.paths.filter((p) => p !== 'direct' && p !== 'delegated');
    if (others.length) throw new BenchUsageError(`--guests runs on direct and delegated; '${others.join(', ')}' has no many-guest form`);
    if (o.tracePhaseMs !== undefined) throw new BenchUsageError('--trace alternate measures one guest: it does not go with --guests');
  }
  if (o.workers !== undefined && !(Number.isSafeInteger(o.workers) && o.workers >= 1 && o.workers <= MAX_WORKERS)) throw new BenchUsageError(`workers must be 1..${MAX_WORKERS} processes, got ${o.workers}`);
  if (o.mode !== null && o.mode !== 'e1000' && o.mode !== 'virtio') throw new BenchUsageError(`mode must be e1000 or virtio, got '${String(o.mode)}'`);
  if (o.tracePhaseMs !== undefined) {
    if (!o.trace || o.workload !== 'stream' || o.paths.length !== 1 || o.paths[0] !== 'delegated') throw new BenchUsageError('--trace alternate measures the stream workload on the delegated path alone (--workload stream --paths delegated)');
    if (!(Number.isSafeInteger(o.tracePhaseMs) && o.tracePhaseMs >= 50 && o.tracePhaseMs * 4 <= o.seconds * 1000)) throw new BenchUsageError(`a trace phase must last at least 50 ms and the run at least 4 phases, got ${o.tracePhaseMs} ms in ${o.seconds} s`);
  }
}

/** What one run holds while it runs; `cleanups` undo it in reverse order, however the run ends. */
export interface BenchScope {
  o: BenchOptions;
  env: BenchEnv;
  runId: string;
  mode: EmulatedMode;
  log: (l: string) => void;
  lab: LabRun | null;
  labWhy: string | null;
  emulated: EmulatedPath | null;
  emulatedWhy: string | null;
  frames: FrameLog | null;
  cleanups: (() => Promise<void> | void)[];
  checkAborted(): void;
}

