// The real linsockd for a soak: dist/linsockd.js in its own process, so that its exit code, its resident
// memory (/proc/PID/status VmRSS) and its open descriptors (/proc/PID/fd) are the daemon's own.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SoakDaemon {
  proc: ChildProcess;
  pid: number;
  guestSocket: string;
  traceUrl: string;
  tokenFile: string;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>;
  /** Set once the process ended. */
  exit: number | string | null;
  stderrTail(): string;
}

export async function startSoakDaemon(root: string, dir: string): Promise<SoakDaemon> {
  const entry = join(root, 'dist', 'linsockd.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const guestSocket = join(dir, 'guest.sock');
  const tokenFile = join(dir, 'token');
  const config = join(dir, 'linsockd.json');
  // Guests may reach the soak's servers on 127.0.0.1 only; 127.0.0.2 stays denied (the workload checks it).
  // Their own servers listen on 127.0.0.1 at ports the kernel picks, which the default policy denies.
  const rules = [
    { action: 'allow', ops: ['connect', 'sendto'], cidr: '127.0.0.1' },
    { action: 'allow', ops: ['bind', 'listen'], cidr: '127.0.0.1', ports: 0 },
    { action: 'allow', ops: ['bind', 'listen'], cidr: '127.0.0.1', ports: '1024-65535' },
  ];
  writeFileSync(config, JSON.stringify({ policy: { rules } }));
  // One process (--workers 1): the soak's resident memory and descriptor figures are that process's.
  const proc = spawn(process.execPath, [entry, '--guest-socket', guestSocket, '--trace-port', '0', '--token-file', tokenFile, '--config', config, '--log-level', 'error', '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  proc.stderr.on('data', (d: Buffer) => (err = (err + String(d)).slice(-8000)));
  const d: Partial<SoakDaemon> = { proc, pid: proc.pid as number, guestSocket, tokenFile, exit: null, stderrTail: () => err };
  d.exited = new Promise((resolve) => proc.once('exit', (code, signal) => {
    d.exit = code ?? signal ?? 'unknown';
    resolve(d.exit);
  }));
  d.traceUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`linsockd printed no ready line in 20 s; stderr: ${err}`)), 20_000);
    proc.stdout.on('data', (b: Buffer) => {
      out = (out + String(b)).slice(-16_000);
      const m = /linsockd ready trace=(\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    void (d.exited as Promise<unknown>).then((code) => {
      clearTimeout(timer);
      reject(new Error(`linsockd exited (${String(code)}) before it was ready; stderr: ${err}`));
    });
  });
  return d as SoakDaemon;
}

/** Resident memory of a process in bytes (VmRSS), or null once it is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Open file descriptors of a process, or null once it is gone. */
export function fdCount(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}
