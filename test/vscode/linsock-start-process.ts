// Starts and stops a real `linsock start` (dist/linsock.js) for the comparison UI test: linsockd with its
// lab attached, so that the extension's Run Comparison runs workloads on it. No initial run: the test
// asks for its own.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Linsockd } from './linsockd-process';

export async function startLinsockStart(o: { root: string; dir: string; readyTimeoutMs?: number }): Promise<Linsockd> {
  const entry = join(o.root, 'dist', 'linsock.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build first (npm run build)`);
  const tokenFile = join(o.dir, 'token');
  const guestSocket = join(o.dir, 'guest.sock');
  const args = [entry, 'start', '--no-initial-run', '--trace-port', '0', '--guest-socket', guestSocket, '--token-file', tokenFile, '--traces-dir', join(o.dir, 'traces')];
  const proc = spawn(process.execPath, args, { cwd: o.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
  const timeout = o.readyTimeoutMs ?? 20_000;
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`linsock start printed no ready line within ${timeout} ms; stderr: ${err}`)), timeout);
    proc.stdout!.on('data', (d: Buffer) => {
      out = (out + d.toString()).slice(-64_000);
      const line = out.split('\n').find((l) => l.startsWith('linsock ready '));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    proc.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`linsock start exited (${code ?? sig}) before it was ready; stderr: ${err}`));
    });
  });
  const url = /trace=(\S+)/.exec(ready)?.[1];
  if (!url) throw new Error(`linsock start's ready line has no trace URL: ${ready}`);
  return {
    url,
    port: Number(new URL(url).port),
    tokenFile,
    guestSocket,
    proc,
    // SIGINT, as Ctrl-C would: it tears down whatever a run left (namespaces, devices, processes).
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const kill = setTimeout(() => proc.kill('SIGKILL'), 15_000);
        proc.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        proc.kill('SIGINT');
      }),
  };
}
