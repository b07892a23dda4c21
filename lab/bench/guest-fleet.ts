// `linsock bench --guests N` inside the workload process: N guests at once, each its own channel to the one
// linsockd (its own HELLO and guest name, as N guest runtimes would connect) and its own connection to the
// bench server, each running the workload. One process rather than N keeps 64 guests within a small
// machine's memory; the daemon cannot tell the difference, it serves N channels. The daemon's CPU is read
// from /proc over the span the figures cover, alone (daemon_cpu_us_per_op) and with the path's other
// processes (cpu_us_per_op, as on every row).

import { CpuWindow } from './cpu-cost';
import { fleetRow, type FleetRow, type GuestRun } from './fleet-figures';
import { LatencySamples } from './latency';
import { delegatedFactory, directFactory, type SocketFactory } from './socket-factory';
import { STREAM_WRITE_BYTES, runStream } from './workloads/stream';
import { runRr } from './workloads/rr';
import type { WorkerSpec } from './worker-spec';
import type { WorkloadResult } from './workload-result';

/** `--guests N` at most: the daemon's own limit on guests connected at once (daemon/limits.ts). */
export const MAX_GUESTS = 256;
/** The workloads a fleet runs: a round trip is the unit of the issue's calls per second, a stream its bulk. */
export const FLEET_WORKLOADS = ['rr', 'stream'] as const;

async function factories(spec: WorkerSpec, n: number): Promise<SocketFactory[]> {
  if (spec.path === 'direct') return Array.from({ length: n }, () => directFactory());
  if (spec.path !== 'delegated') throw new Error(`--guests runs the direct and delegated paths, not '${spec.path}'`);
  if (!spec.channel) throw new Error('the delegated path needs the daemon\'s guest socket');
  const made: SocketFactory[] = [];
  try {
    // One after another: N HELLOs at once would only queue in the daemon, and a failure stops the rest.
    for (let i = 0; i < n; i++) made.push(await delegatedFactory(spec.channel, `${spec.guest ?? `bench-${process.pid}`}-g${i}`, spec.trace, spec.transport));
  } catch (e) {
    await Promise.allSettled(made.map((f) => f.close()));
    throw e;
  }
  return made;
}

async function runGuest(spec: WorkerSpec, f: SocketFactory): Promise<GuestRun> {
  if (spec.workload === 'stream') {
    const result = await runStream(f, spec.target);
    return { result, ops: Math.round(result.bytes / STREAM_WRITE_BYTES), samples: null };
  }
  if (spec.workload !== 'rr') throw new Error(`--guests runs ${FLEET_WORKLOADS.join(' and ')}, not '${spec.workload}'`);
  const samples = new LatencySamples();
  const result = await runRr(f, spec.target, samples);
  return { result, ops: samples.count, samples };
}

/** Runs `spec.guests` guests at once and gives their one row. */
export async function runFleet(spec: WorkerSpec): Promise<WorkloadResult & FleetRow> {
  const n = spec.guests ?? 1;
  if (!(Number.isSafeInteger(n) && n >= 1 && n <= MAX_GUESTS)) throw new Error(`guests must be 1..${MAX_GUESTS}, got ${n}`);
  const made = await factories(spec, n);
  try {
    const cpu = spec.cpuPids ? new CpuWindow(spec.cpuPids, spec.target.seconds) : null;
    const daemon = spec.daemonPid !== undefined ? new CpuWindow([spec.daemonPid, ...(spec.daemonWorkerPids ?? [])], spec.target.seconds, false) : null;
    const runs = await Promise.all(made.map((f) => runGuest(spec, f)));
    const row: WorkloadResult & FleetRow = { ...fleetRow(spec.label ?? spec.path, runs), ranIn: spec.ranIn };
    row.cpu_us_per_op = cpu ? cpu.perOp(row) : null;
    row.daemon_cpu_us_per_op = daemon ? daemon.perOp(row) : null;
    const setup = new Set(made.flatMap((f) => f.notes ?? []));
    row.notes.push(...setup);
    // One word for the fleet: shm only when every guest got it.
    if (spec.path === 'delegated') row.channel = made.every((f) => f.channel === 'shm') ? 'shm' : 'socket';
    return row;
  } finally {
    await Promise.allSettled(made.map((f) => f.close()));
  }
}
