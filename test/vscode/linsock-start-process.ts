// Starts and stops a real `linsock start` (dist/linsock.js) for the comparison UI test: linsockd with its
// lab attached, so that the extension's Run Comparison runs workloads on it. No initial run: the test
// asks for its own.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnUntilReady, type Linsockd } from './linsockd-process';

export async function startLinsockStart(o: { root: string; dir: string; readyTimeoutMs?: number }): Promise<Linsockd> {
  const entry = join(o.root, 'dist', 'linsock.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build first (npm run build)`);
  const tokenFile = join(o.dir, 'token');
  const guestSocket = join(o.dir, 'guest.sock');
  const args = [entry, 'start', '--no-initial-run', '--trace-port', '0', '--guest-socket', guestSocket, '--token-file', tokenFile, '--traces-dir', join(o.dir, 'traces')];
  return spawnUntilReady({
    what: 'linsock start',
    readyPrefix: 'linsock ready ',
    args,
    options: { cwd: o.dir },
    tokenFile,
    guestSocket,
    readyTimeoutMs: o.readyTimeoutMs ?? 20_000,
    // SIGINT, as Ctrl-C would: it tears down whatever a run left (namespaces, devices, processes).
    stop: { signal: 'SIGINT', graceMs: 15_000 },
  });
}
