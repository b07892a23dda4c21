// Where guests connect: a Unix socket (mode 0660, in a directory only its owner can write: private-dir.ts)
// and optionally a TCP listener, loopback unless told.
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { privateDirectory } from '../private-dir';

/** `/run/linsock/guest.sock` as root, else `$XDG_RUNTIME_DIR/linsock/guest.sock` (or a per-user temp dir). */
export function defaultGuestSocketPath(): string {
  if (process.getuid?.() === 0) return '/run/linsock/guest.sock';
  const runtime = process.env.XDG_RUNTIME_DIR;
  if (runtime) return join(runtime, 'linsock', 'guest.sock');
  return join(tmpdir(), `linsock-${process.getuid?.() ?? 'user'}`, 'guest.sock');
}

export interface HostPort {
  host: string;
  port: number;
}

/** `PORT`, `HOST:PORT` or `[V6]:PORT`; a bare port listens on loopback. */
export function parseHostPort(text: string, defaultHost = '127.0.0.1'): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d+)$/.exec(text) ?? (/^\d+$/.test(text) ? [text, undefined, '', text] : null);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`'${text}' is not HOST:PORT (e.g. 127.0.0.1:7718, [::1]:7718 or 7718)`);
  return { host: m[1] ?? (m[2] || defaultHost), port };
}

/** Resolves true when something accepts connections at `path`. */
function someoneListens(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function listening(server: Server, ...args: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    (server.listen as (...a: unknown[]) => Server)(...args, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Listens on the Unix socket `path`. A socket file left behind by a daemon that died is removed, but only
 * after checking that nobody listens on it; anything that is not a socket is never removed.
 */
export async function listenUnix(path: string, onConnection: (s: Socket) => void, options: { pauseOnConnect?: boolean } = {}): Promise<Server> {
  privateDirectory(dirname(path), 'guest socket');
  let st;
  try {
    st = lstatSync(path);
  } catch {
    st = null;
  }
  if (st) {
    if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; remove it or choose another --guest-socket`);
    if (await someoneListens(path)) throw new Error(`another daemon is listening on ${path}; stop it or choose another --guest-socket`);
    unlinkSync(path);
  }
  const server = createServer({ allowHalfOpen: true, ...options }, onConnection);
  await listening(server, path);
  chmodSync(path, 0o660);
  return server;
}

export async function listenTcp(at: HostPort, onConnection: (s: Socket) => void): Promise<{ server: Server; address: HostPort }> {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, onConnection);
  await listening(server, { host: at.host, port: at.port });
  const a = server.address();
  const port = a && typeof a === 'object' ? a.port : at.port;
  return { server, address: { host: at.host, port } };
}
