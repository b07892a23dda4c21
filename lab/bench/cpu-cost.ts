// `cpu_us_per_op`: the CPU time all processes of a path spend per operation (a round trip for rr and
// udp-rr, a connection for crr, 64 KiB for stream and inter-guest), because on a loaded host the CPU a path
// burns is what its users pay. The workload process measures its own CPU over its run (worker.ts); the
// path's other processes (the bench server, the daemon, the device model in this process) are read from
// /proc/PID/stat, or process.cpuUsage() for this process, from the workload's start to its end.

import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** The kernel's USER_HZ: /proc/PID/stat counts CPU time in these ticks (100 on every mainstream Linux). */
const TICKS_PER_S = 100;

/** What one op of a workload is, from its result's counts. */
const OPS: Record<string, (r: { calls: number; bytes: number }) => number> = {
  rr: (r) => r.calls / 2,
  'udp-rr': (r) => r.calls / 2,
  crr: (r) => r.calls / 4,
  stream: (r) => r.bytes / 65536,
  'inter-guest': (r) => r.bytes / 65536,
};

export function opsOf(workload: string, r: { calls: number; bytes: number }): number {
  const op = OPS[workload];
  if (!op) throw new Error(`no op is defined for workload '${workload}'`);
  return op(r);
}

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

function selfCpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
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

/** The processes of a path besides its workload process: pids read from /proc, and whether this process is one. */
export interface PathProcesses {
  pids: number[];
  self: boolean;
  /** Why the path's CPU cannot be told (a daemon whose process is unknown); the figure is null then. */
  unknown?: string;
}

/** The CPU the path's other processes spend between start() and its end(); null when one of them vanished. */
export function startCpuWatch(p: PathProcesses): () => number | null {
  const read = (): number | null => {
    let sum = p.self ? selfCpuUs() : 0;
    for (const pid of p.pids) {
      const us = processCpuUs(pid);
      if (us === null) return null;
      sum += us;
    }
    return sum;
  };
  const before = read();
  return () => {
    const after = read();
    return before === null || after === null ? null : after - before;
  };
}
