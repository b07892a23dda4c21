// What a workload process is told (`linsock _workload SPEC_JSON`): which workload, on which path, against
// what, and which of the path's processes its CPU figures count.

import type { WorkloadTarget } from './workload-result';

export type WorkerWorkload = 'stream' | 'rr' | 'crr' | 'udp-rr';

export interface WorkerSpec {
  workload: WorkerWorkload;
  path: 'direct' | 'delegated' | 'emulated';
  /** The row's name in the report (e.g. `delegated-kernel`); `path` when absent. */
  label?: string;
  target: WorkloadTarget;
  /** The daemon's guest socket, for `delegated`. */
  channel?: string;
  /** What a delegated guest asks for (`--channel`); absent: the guest runtime's default. */
  transport?: 'shm' | 'socket';
  guest?: string;
  trace: boolean;
  /** The path's processes besides this one whose CPU counts in cpu_us_per_op (cpu-cost.ts); null figure without. */
  cpuPids?: number[];
  /** `--guests N`: N guests run the workload at once, one row for all (guest-fleet.ts). */
  guests?: number;
  /** With guests on the delegated path: linsockd's process, whose CPU alone gives daemon_cpu_us_per_op. */
  daemonPid?: number;
  /** Its worker processes (linsockd --workers), whose CPU is the daemon's too. */
  daemonWorkerPids?: number[];
  /** Record the workload's own calls onto the call log (direct and emulated), stamped with this run id. */
  record?: { run: string };
  ranIn: string;
}
