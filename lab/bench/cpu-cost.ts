// `cpu_us_per_op`: the CPU time all processes of a path spend per operation (a round trip for rr and
// udp-rr, a connection for crr, 64 KiB for stream and inter-guest), because on a loaded host the CPU a path
// burns is what its users pay. The workload process measures it over the same time as its figures (after
// the warm-up of a latency workload: a fresh process's first operations compile code): its own CPU from
// process.cpuUsage(), the path's other processes (the bench server, the daemon, the device model in the
// runner) from /proc/PID/stat, which the workload sees from a guest namespace too (same pid namespace).

import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { nowNs, warmUpSeconds } from './latency';
import type { WorkloadResult } from './workload-result';

/** The kernel's USER_HZ: /proc/PID/stat counts CPU time in these ticks (100 on every mainstream Linux). */
const TICKS_PER_S = 100;

/** utime + stime of a process in µs, or null when it is gone (or not Linux). */
export function processCpuUs(pid: number): number | null {
  try {
    // The command name (field 2) may hold spaces and parentheses: fields count from after its last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]); // fields 14 and 15 of stat(5)
    return Number.isFinite(ticks) ? (ticks * 1e6) / TICKS_PER_S : null;
  } catch {
    return null;
  }
}

/**
 * The pid of the process that listens on the Unix socket at `path` (a daemon behind `--daemon`), this
 * process's when it is the listener, or null when it cannot be told (another user's process, no /proc).
 */
export function unixListenerPid(path: string): number | null {
  let inode: string | undefined;
  try {
    // /proc/net/unix: Num RefCount Protocol Flags Type St Inode Path; flag 00010000 is a listening socket.
    for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[7] === path && (parseInt(f[3] ?? '0', 16) & 0x10000) !== 0) inode = f[6];
    }
  } catch {
    return null;
  }
  if (!inode) return null;
  const link = `socket:[${inode}]`;
  const holds = (pid: string): boolean => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`) === link;
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  };
  if (holds('self')) return process.pid;
  for (const pid of readdirSync('/proc')) if (/^\d+$/.test(pid) && holds(pid)) return Number(pid);
  return null;
}

/** The processes of a path besides its workload process, and why their CPU cannot be told when it cannot. */
export interface PathProcesses {
  pids: number[];
  /** The daemon's among `pids` (delegated paths), whose CPU a run of several guests also gives alone. */
  daemon?: number;
  /** The daemon's worker processes (linsockd --workers), among `pids` too. */
  daemonWorkers?: number[];
  unknown?: string;
}

/** This process's CPU (unless `own` is false) and that of `pids`, in µs; null once one of them is gone. */
export function pathCpuUs(pids: readonly number[], own = true): number | null {
  const mine = own ? process.cpuUsage() : { user: 0, system: 0 };
  let sum = mine.user + mine.system;
  for (const pid of pids) {
    const us = processCpuUs(pid);
    if (us === null) return null;
    sum += us;
  }
  return sum;
}

interface Reading {
  us: number | null;
  ns: number;
}

/** A stream is counted per this many bytes. */
const STREAM_OP_BYTES = 64 * 1024;

/**
 * The path's CPU over a workload's run, started when the run starts: per op from the end of the warm-up
 * for a latency workload (the time its figures cover), per 64 KiB over the whole run for a stream.
 */
export class CpuWindow {
  private readonly start: Reading;
  private warm: Reading | null = null;
  private readonly timer: NodeJS.Timeout;

  /** `own` false: `pids` alone, without this process (the daemon's share of a run, guest-fleet.ts). */
  constructor(private readonly pids: readonly number[], seconds: number, private readonly own = true) {
    this.start = this.read();
    this.timer = setTimeout(() => (this.warm = this.read()), warmUpSeconds(seconds) * 1000);
    this.timer.unref();
  }

  private read(): Reading {
    return { us: pathCpuUs(this.pids, this.own), ns: nowNs() };
  }

  /** µs per op (one decimal) for the run's result; null when a process vanished or nothing was done. */
  perOp(r: Pick<WorkloadResult, 'ops_per_s' | 'bytes'>): number | null {
    clearTimeout(this.timer);
    const end = this.read();
    const from = r.ops_per_s !== null ? this.warm : this.start;
    if (!from || from.us === null || end.us === null) return null;
    const ops = r.ops_per_s !== null ? (r.ops_per_s * (end.ns - from.ns)) / 1e9 : r.bytes / STREAM_OP_BYTES;
    return ops > 0 ? Math.round(((end.us - from.us) / ops) * 10) / 10 : null;
  }
}
