// The guest agent's `exec`: runs one program inside the VM (`linsock run … -- curl …` for the interposer
// over the program port), hashes its stdout instead of shipping it, keeps the tail of its stderr, and kills
// it at its deadline. Runs in the VM only (bundled into the agent).

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { encodeMessage } from '../../protocol';
import type { ExecResult } from './agent-protocol';

const STDERR_TAIL = 4096;
const PORTS = '/dev/virtio-ports';

export function execProgram(argv: string[], env: Record<string, string> | undefined, timeoutMs: number): Promise<ExecResult> {
  const [command, ...args] = argv;
  if (!command) return Promise.reject(new Error('exec needs a command'));
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) return Promise.reject(new Error(`exec needs a timeout in ms, not ${timeoutMs}`));
  const started = Date.now();
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const hash = createHash('sha256');
  let bytes = 0;
  let stderr = '';
  let timedOut = false;
  child.stdout.on('data', (d: Buffer) => {
    hash.update(d);
    bytes += d.length;
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-STDERR_TAIL);
  });
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${command} in the VM: ${e.message}`));
    });
    // 'close': stdout and stderr are read to their end.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdoutBytes: bytes, stdoutSha256: hash.digest('hex'), stderrTail: stderr, ms: Date.now() - started, timedOut });
    });
  });
}

/**
 * Ends linsockd's session on a port after its program: a goodbye frame, written only while the host side is
 * connected (a write would otherwise block until QEMU reconnects). The daemon then closes the connection
 * and QEMU (reconnect=1) opens a fresh one; whatever the daemon still sent is discarded by the guest's
 * driver, since nobody holds the port open. A goodbye that lands on a connection without a session is a
 * protocol error there, which closes that connection the same way.
 */
export function releasePort(name: string): void {
  let fd: number;
  try {
    fd = fs.openSync(`${PORTS}/${name}`, fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw new Error(`cannot open the port ${name}: ${(e as Error).message}`);
  }
  try {
    const frame = encodeMessage({ type: 'goodbye', id: 0, handle: 0, reason: 'the program ended' });
    fs.writeSync(fd, frame);
  } catch (e) {
    // EAGAIN: the host side is not connected (no session to end) or its queue is full; nothing to do.
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
  } finally {
    fs.closeSync(fd);
  }
}
