// Starts and stops a real linsockd (dist/linsockd.js) for the VS Code tests, and reads its ready line.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
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
  return spawnUntilReady({
    what: 'linsockd',
    readyPrefix: 'linsockd ready ',
    args,
    options: { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } },
    tokenFile,
    guestSocket,
    readyTimeoutMs: o.readyTimeoutMs ?? 15_000,
    stop: { signal: 'SIGTERM', graceMs: 5000 },
  });
}

export interface ReadyProcess {
  /** Names the process in errors. */
  what: string;
  /** The stdout line that says it listens; it carries `trace=<url>`. */
  readyPrefix: string;
  /** Node's arguments: the entry script first. */
  args: string[];
  options?: SpawnOptions;
  tokenFile: string;
  guestSocket: string;
  readyTimeoutMs: number;
  /** How `stop()` asks it to end, and how long it may take before SIGKILL. */
  stop: { signal: NodeJS.Signals; graceMs: number };
}

/** Spawns a Linsock process under this Node and resolves once it prints its ready line. */
export async function spawnUntilReady(o: ReadyProcess): Promise<Linsockd> {
  const proc = spawn(process.execPath, o.args, { ...o.options, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${o.what} printed no ready line within ${o.readyTimeoutMs} ms; stderr: ${err}`)), o.readyTimeoutMs);
    proc.stdout!.on('data', (d: Buffer) => {
      out = (out + d.toString()).slice(-64_000);
      const line = out.split('\n').find((l) => l.startsWith(o.readyPrefix));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    proc.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${o.what} exited (${code ?? sig}) before it was ready; stderr: ${err}`));
    });
  });
  const url = /trace=(\S+)/.exec(ready)?.[1];
  if (!url) throw new Error(`${o.what}'s ready line has no trace URL: ${ready}`);
  return {
    url,
    port: Number(new URL(url).port),
    tokenFile: o.tokenFile,
    guestSocket: o.guestSocket,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const kill = setTimeout(() => proc.kill('SIGKILL'), o.stop.graceMs);
        proc.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        proc.kill(o.stop.signal);
      }),
  };
}
