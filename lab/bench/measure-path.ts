// One path's measurement: the CPU load of `--load N` around it, and the workload process, told which of
// the path's processes its cpu_us_per_op counts besides itself (cpu-cost.ts). Which processes count
// (README, Performance):
//   direct     the workload process and the bench server
//   delegated  those and linsockd: this process when the daemon runs in it (the bench's own, or the one
//              `linsock start` hosts), else the process listening on `--daemon`'s socket
//   emulated   those and this process, which runs the device model
// The load's burners are not the path's: they stand for the user's other work.

import type { BenchScope } from './bench-scope';
import { CpuLoad } from './cpu-load';
import { unixListenerPid, type PathProcesses } from './cpu-cost';
import type { CallIntake } from './recording';
import type { WorkerSpec } from './worker';
import type { WorkloadResult } from './workload-result';
import { runWorkloadProcess, type Where } from './workload-process';

/** Seconds a burner may outlive the start of its path's workload at most (the workload's own time-out is 60 s past its run). */
const LOAD_GRACE_S = 90;

export async function measurePath(s: BenchScope, spec: WorkerSpec, where: Where | null, intake: CallIntake | null, others: PathProcesses): Promise<WorkloadResult> {
  if (!others.unknown) spec.cpuPids = others.pids;
  if (spec.guests !== undefined && others.daemon !== undefined) {
    spec.daemonPid = others.daemon;
    if (others.daemonWorkers?.length) spec.daemonWorkerPids = others.daemonWorkers;
  }
  const load = s.o.load ? await CpuLoad.start(s.o.load, s.o.seconds + LOAD_GRACE_S, s.runId) : null;
  try {
    if (load) s.log(`linsock bench:   with ${load.count} CPU-bound processes running (pids ${load.pids.join(', ')})`);
    const r = await runWorkloadProcess(s.runId, spec, where, intake, s.env.signal);
    if (others.unknown) r.notes.push(`cpu_us_per_op is not given: ${others.unknown}`);
    return r;
  } finally {
    await load?.stop();
  }
}

/**
 * A delegated path's processes: `pids` (its servers) and the daemon's, this one when it hosts the daemon,
 * else the process listening on the daemon's guest socket.
 */
export function delegatedProcesses(guestSocket: string, ownDaemon: boolean, pids: number[], daemonWorkers: number[] = []): PathProcesses {
  const daemon = ownDaemon ? process.pid : unixListenerPid(guestSocket);
  if (daemon === null) return { pids, unknown: `the process of the daemon on ${guestSocket} cannot be found in /proc` };
  // The daemon's worker processes (--workers) count as the daemon's CPU.
  return { pids: [...pids, daemon, ...daemonWorkers], daemon, daemonWorkers };
}
