// One soak guest: a child process that runs a mixed workload through the guest runtime (its channel from
// $LINSOCK_CHANNEL) until it is killed, and prints its cumulative counters as a JSON line every second.
// Every byte that comes back is compared with what was sent: `corrupt` counts exchanges that differ.
//
//   LINSOCK_CHANNEL=/path/guest.sock SOAK_TCP_PORT=P SOAK_UDP_PORT=Q SOAK_REFUSED_PORT=R node --import tsx guest-worker.ts

import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, createSocket, lookup, type DelegatedSocket } from '../../guest';
import { zeroCounters, type WorkerCounters } from './counters';

const TCP_PORT = Number(process.env.SOAK_TCP_PORT);
const UDP_PORT = Number(process.env.SOAK_UDP_PORT);
const REFUSED_PORT = Number(process.env.SOAK_REFUSED_PORT);
const LANES = 3;
const OP_TIMEOUT_MS = 15_000;

const c: WorkerCounters = zeroCounters();

function fail(what: string, err: unknown): void {
  c.failures++;
  c.lastError = `${what}: ${(err as Error).message}`.slice(0, 300);
}

/** Reads exactly `n` bytes from `s`. */
function readExactly(s: DelegatedSocket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const onData = (b: Buffer): void => {
      parts.push(b);
      got += b.length;
      if (got >= n) {
        cleanup();
        resolve(Buffer.concat(parts));
      }
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error(`the peer closed after ${got} of ${n} bytes`));
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(e);
    };
    const cleanup = (): void => {
      s.off('data', onData);
      s.off('end', onEnd);
      s.off('error', onError);
    };
    s.on('data', onData);
    s.once('end', onEnd);
    s.once('error', onError);
  });
}

function check(sent: Buffer, got: Buffer, what: string): void {
  c.calls++;
  if (got.length === sent.length && got.equals(sent)) {
    c.verified++;
    c.verifiedBytes += sent.length;
    return;
  }
  c.corrupt++;
  let at = 0;
  while (at < Math.min(sent.length, got.length) && sent[at] === got[at]) at++;
  c.lastCorrupt = `${what}: ${got.length} bytes back for ${sent.length} sent, first difference at ${at}`;
}

async function opened(port: number, host = '127.0.0.1'): Promise<DelegatedSocket> {
  const s = connect({ port, host });
  c.calls++;
  await once(s, 'connect');
  return s;
}

async function exchange(s: DelegatedSocket, size: number, what: string): Promise<void> {
  const data = randomBytes(size);
  s.write(data);
  c.calls++;
  check(data, await readExactly(s, size), what);
}

/** A bulk transfer on a fresh connection. */
async function stream(): Promise<void> {
  const s = await opened(TCP_PORT);
  try {
    for (let i = 0; i < 4; i++) await exchange(s, 16_384 + Math.floor(Math.random() * 256 * 1024), 'stream');
  } finally {
    s.destroy();
  }
}

/** Small request/response messages on one connection. */
async function rr(): Promise<void> {
  const s = await opened(TCP_PORT);
  try {
    for (let i = 0; i < 50; i++) await exchange(s, 1 + Math.floor(Math.random() * 2048), 'rr');
  } finally {
    s.end();
  }
}

/**
 * Datagrams carry a sequence number first: an echo that comes after its wait ended (counted lost) must not
 * be compared with the next datagram.
 */
async function udp(): Promise<void> {
  const sock = createSocket('udp4');
  let seq = 0;
  let waiting: { seq: number; resolve: (m: Buffer) => void } | null = null;
  sock.on('message', (m: Buffer) => {
    if (waiting && m.length >= 4 && m.readUInt32BE(0) === waiting.seq) waiting.resolve(m);
  });
  try {
    for (let i = 0; i < 20; i++) {
      const data = randomBytes(4 + Math.floor(Math.random() * 1400));
      data.writeUInt32BE(++seq, 0);
      const reply = new Promise<Buffer | null>((resolve) => {
        const t = setTimeout(() => resolve(null), 500);
        waiting = { seq, resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        } };
      });
      await new Promise<void>((resolve, reject) => sock.send(data, UDP_PORT, '127.0.0.1', (err: Error | null) => (err ? reject(err) : resolve())));
      c.calls++;
      const got = await reply;
      waiting = null;
      if (got) check(data, got, 'udp');
      else c.udpLost++;
    }
  } finally {
    sock.close();
  }
}

async function lookups(): Promise<void> {
  const found = await lookup('localhost', { family: 4 });
  c.calls++;
  if (found.some((a) => a.address === '127.0.0.1')) c.verified++;
  else fail('lookup', new Error(`localhost resolved to ${JSON.stringify(found)}`));
}

/** A connection that must fail: a closed port (ECONNREFUSED) or one the policy denies (127.0.0.2). */
async function refused(): Promise<void> {
  const denied = Math.random() < 0.5;
  const s = connect({ port: denied ? TCP_PORT : REFUSED_PORT, host: denied ? '127.0.0.2' : '127.0.0.1' });
  c.calls++;
  const outcome = await Promise.race([once(s, 'connect').then(() => 'connected'), new Promise<string>((resolve) => s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error')))]);
  s.destroy();
  if (outcome !== 'connected' && (denied || outcome === 'ECONNREFUSED')) c.verified++;
  else fail(denied ? 'denied connect' : 'refused connect', new Error(`got ${outcome}`));
}

/** A delegated listening socket, and a connection to it from this guest. */
async function server(): Promise<void> {
  const srv = createServer((s) => s.pipe(s));
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  c.calls++;
  try {
    const port = (srv.address() as { port: number }).port;
    const s = await opened(port);
    try {
      for (let i = 0; i < 5; i++) await exchange(s, 1 + Math.floor(Math.random() * 65_536), 'server');
    } finally {
      s.destroy();
    }
  } finally {
    srv.close();
  }
}

const OPS: [number, () => Promise<void>][] = [[3, stream], [3, rr], [2, udp], [1, lookups], [1, refused], [1, server]];
const TOTAL = OPS.reduce((a, [w]) => a + w, 0);

function pick(): () => Promise<void> {
  let r = Math.random() * TOTAL;
  for (const [w, op] of OPS) if ((r -= w) < 0) return op;
  return stream;
}

async function lane(): Promise<void> {
  for (;;) {
    const op = pick();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([op(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${OP_TIMEOUT_MS} ms`)), OP_TIMEOUT_MS)))]);
    } catch (err) {
      fail(op.name, err);
    } finally {
      clearTimeout(timer);
    }
  }
}

const report = (): void => void process.stdout.write(`${JSON.stringify(c)}\n`);
setInterval(report, 1000);
process.on('SIGTERM', () => {
  report();
  process.exit(0);
});
for (let i = 0; i < LANES; i++) void lane();
