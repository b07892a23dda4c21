// Starts and stops a real linsockd (dist/linsockd.js) for the VS Code tests, and reads its ready line.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Linsockd {
  url: string;
  port: number;
  tokenFile: string;
  guestSocket: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export interface LinsockdOptions {
  /** The repository root (holds dist/). */
  root: string;
  /** A private folder for the guest socket and token file. */
  dir: string;
  /** 0 picks a free port; a restart passes the previous one so clients find it again. */
  port?: number;
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

export async function startLinsockd(o: LinsockdOptions): Promise<Linsockd> {
  const entry = join(o.root, 'dist', 'linsockd.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build the daemon first (npm run build)`);
  const tokenFile = join(o.dir, 'token');
  const guestSocket = join(o.dir, 'guest.sock');
  // The test's echo server is on the host's loopback, which the daemon's default policy keeps guests off.
  const config = join(o.dir, 'linsockd.json');
  writeFileSync(config, JSON.stringify({ policy: { rules: [{ action: 'allow', ops: ['connect'], cidr: '127.0.0.1' }] } }));
  const args = [entry, '--trace-port', String(o.port ?? 0), '--guest-socket', guestSocket, '--token-file', tokenFile, '--config', config, '--log-level', 'warn', ...(o.extraArgs ?? [])];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`linsockd printed no ready line within ${o.readyTimeoutMs ?? 15000} ms; stderr: ${err}`)), o.readyTimeoutMs ?? 15000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('linsockd ready '));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    proc.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`linsockd exited (${code ?? sig}) before it was ready; stderr: ${err}`));
    });
  });
  const url = /trace=(\S+)/.exec(ready)?.[1];
  if (!url) throw new Error(`linsockd's ready line has no trace URL: ${ready}`);
  return {
    url,
    port: Number(new URL(url).port),
    tokenFile,
    guestSocket,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const kill = setTimeout(() => proc.kill('SIGKILL'), 5000);
        proc.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}
