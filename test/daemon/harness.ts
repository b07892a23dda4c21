// Test fixtures for the daemon: an in-process linsockd on a private socket and real host servers.
import { createSocket, type Socket as UdpSock } from 'node:dgram';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type DaemonOptions, type RunningDaemon } from '../../daemon';
import { RawGuest } from './raw-guest';

/** The tests' own servers and guest listeners live on the host's loopback: open it for every op (closed by default). */
export const LOOPBACK_ALLOWED = { rules: [{ action: 'allow' as const, ops: ['connect' as const, 'sendto' as const, 'bind' as const, 'listen' as const], cidr: ['127.0.0.1', '::1'] }] };

export async function withDaemon(opts: DaemonOptions, fn: (d: RunningDaemon, path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'linsockd-test-'));
  // LINSOCK_TEST_WORKERS=2 runs a suite against linsockd with worker processes (daemon/workers/).
  const workers = Number(process.env.LINSOCK_TEST_WORKERS ?? 1);
  const d = await startDaemon({ guestSocket: join(dir, 'guest.sock'), workers, ...opts });
  try {
    await fn(d, d.guestPath as string);
  } finally {
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Waits until `read()` gives a value `ok` accepts, and returns that value. Under worker processes
 * (LINSOCK_TEST_WORKERS) what a worker counts (stats, a guest's sockets, clock mappings) reaches the main
 * process in its report, every REPORT_MS (200 ms), and call records in batches merged over a 10 ms window:
 * a figure read right after a call may be the one from before it. In one process it is there at once, and
 * the first read returns. Fails after `timeoutMs` saying what was last seen.
 */
export async function eventually<T>(what: string, read: () => T, ok: (value: T) => boolean, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (ok(value)) return value;
    if (Date.now() >= deadline) throw new Error(`${what}: not seen within ${timeoutMs} ms; last seen ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Socket descriptors of the daemon: this process (a daemon started here runs in it) and its worker processes. */
export function daemonSocketFds(d: RunningDaemon): number {
  let n = 0;
  for (const pid of ['self', ...d.workerPids().map(String)]) {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
      } catch {
        // closed while listed
      }
    }
  }
  return n;
}

/**
 * Under worker processes the same-host shortcut joins guests of one worker only, and a new guest goes to
 * the worker with fewest guests (the lowest number on a tie). Call this right after the first guest's
 * HELLO: it connects one guest to each other worker, so that the next guest shares the first one's worker.
 * None in one process. Close them when done.
 */
export async function fillOtherWorkers(d: RunningDaemon, path: string): Promise<RawGuest[]> {
  const fillers: RawGuest[] = [];
  for (let i = 1; i < d.workerPids().length; i++) fillers.push(await RawGuest.open(path, `filler-${i}`));
  return fillers;
}

export interface TcpServer {
  server: Server;
  port: number;
  conns: Socket[];
  /** Resolves with the next connection (or one already accepted and not yet taken). */
  next(): Promise<Socket>;
  close(): Promise<void>;
}

export async function tcpServer(host = '127.0.0.1'): Promise<TcpServer> {
  const conns: Socket[] = [];
  const queue: Socket[] = [];
  const waiters: ((s: Socket) => void)[] = [];
  const server = createServer({ allowHalfOpen: true }, (s) => {
    conns.push(s);
    const w = waiters.shift();
    if (w) w(s);
    else queue.push(s);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as { port: number }).port;
  return {
    server, port, conns,
    next: () => new Promise((r) => {
      const s = queue.shift();
      if (s) r(s);
      else waiters.push(r);
    }),
    close: () => new Promise((r) => {
      for (const c of conns) c.destroy();
      server.close(() => r());
    }),
  };
}

/** A UDP server that echoes every datagram back to its sender. */
export async function udpEcho(type: 'udp4' | 'udp6' = 'udp4'): Promise<{ sock: UdpSock; port: number }> {
  const sock = createSocket(type);
  sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
  await new Promise<void>((r) => sock.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', r));
  return { sock, port: sock.address().port };
}

export function readAll(s: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let got = 0;
    const on = (c: Buffer): void => {
      parts.push(c);
      got += c.length;
      if (got >= n) {
        s.off('data', on);
        resolve(Buffer.concat(parts));
      }
    };
    s.on('data', on);
  });
}

/** What withConnectedGuest hands its test: a raw guest with one TCP socket connected to a loopback server. */
export interface ConnectedGuest {
  g: RawGuest;
  handle: number;
  /** The server's side of the connection. */
  conn: Socket;
  srv: TcpServer;
}

/** The start most daemon socket tests share: a daemon, a loopback server, a raw guest connected to it. */
export async function withConnectedGuest(name: string, fn: (c: ConnectedGuest) => Promise<void>, opts: Partial<DaemonOptions> = {}): Promise<void> {
  await withDaemon({ policy: LOOPBACK_ALLOWED, ...opts }, async (_d, path) => {
    const srv = await tcpServer();
    const g = await RawGuest.open(path, name);
    try {
      const { handle } = await g.connectTo({ family: 4, address: '127.0.0.1', port: srv.port });
      const conn = await srv.next();
      await fn({ g, handle, conn, srv });
    } finally {
      g.close();
      await srv.close();
    }
  });
}
