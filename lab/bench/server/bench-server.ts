// The host server every path's workload talks to: a TCP sink that checksums every byte it receives and,
// when the client shuts down its side, answers with what it counted; a TCP echo (rr, crr); a UDP echo
// (udp-rr). One server serves on several lab addresses at once (127.0.0.1 for direct and delegated, the
// emulated path's host TAP address), with the same handlers on each — never on a wildcard address.
// The listening side can be node:net or the guest runtime (inter-guest: guest A serves through linsockd).

import * as net from 'node:net';
import * as dgram from 'node:dgram';
import { crc32 } from 'node:zlib';
import type { Duplex } from 'node:stream';

export interface BenchServerPorts {
  host: string;
  sink: number;
  echo: number;
  udpEcho: number;
}

export interface BenchServer extends BenchServerPorts {
  /** Every address served, first one first (the fields above repeat the first). */
  hosts: BenchServerPorts[];
  close(): Promise<void>;
}

/** What the sink writes back, one JSON line, when the client ends its side. */
export interface SinkReport {
  bytes: number;
  crc32: number;
}

/** What the server needs of a listening TCP socket: net.Server and the guest runtime's DelegatedServer fit. */
export interface ListeningServer {
  listen(port: number, host: string, cb: () => void): unknown;
  address(): { port: number } | string | null;
  once(event: 'error', cb: (err: Error) => void): unknown;
  close(cb?: () => void): unknown;
}
export type ServerSocket = Duplex & { setNoDelay?(noDelay?: boolean): unknown };
export type CreateTcpServer = (opts: { allowHalfOpen: boolean }, onConnection: (s: ServerSocket) => void) => ListeningServer;

export interface BenchServerOptions {
  /** How TCP listeners are made; node:net by default. */
  createServer?: CreateTcpServer;
  /** Serve UDP echo too (default true; a delegated inter-guest server serves only TCP). */
  udp?: boolean;
}

const netServer: CreateTcpServer = (opts, onConnection) => net.createServer(opts, (s) => onConnection(s));

function listen(server: ListeningServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}

export async function startBenchServer(hosts: string | string[] = '127.0.0.1', opts: BenchServerOptions = {}): Promise<BenchServer> {
  const list = typeof hosts === 'string' ? [hosts] : hosts;
  if (list.length === 0) throw new Error('the bench server needs at least one address to serve on');
  for (const h of list) if (net.isIP(h) === 0 || h === '0.0.0.0' || h === '::') throw new Error(`the bench server serves on lab addresses only, not '${h}'`);
  const create = opts.createServer ?? netServer;
  const sockets = new Set<ServerSocket>();
  const closers: (() => Promise<void>)[] = [];
  const track = (s: ServerSocket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    s.setNoDelay?.(true);
  };
  const onSink = (s: ServerSocket): void => {
    track(s);
    let bytes = 0;
    let sum = 0;
    s.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      sum = crc32(chunk, sum);
    });
    s.on('end', () => s.end(`${JSON.stringify({ bytes, crc32: sum } satisfies SinkReport)}\n`));
  };
  const onEcho = (s: ServerSocket): void => {
    track(s);
    s.on('data', (chunk: Buffer) => s.write(chunk));
    s.on('end', () => s.end());
  };
  const tcp = async (host: string, handler: (s: ServerSocket) => void, allowHalfOpen: boolean): Promise<number> => {
    const server = create({ allowHalfOpen }, handler);
    const port = await listen(server, host, 0);
    closers.push(() => new Promise<void>((r) => void server.close(() => r())));
    return port;
  };
  const udp = async (host: string): Promise<number> => {
    const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
    sock.on('error', () => undefined);
    const port = await new Promise<number>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, host, () => resolve(sock.address().port));
    });
    closers.push(() => new Promise<void>((r) => sock.close(() => r())));
    return port;
  };
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await Promise.all(closers.splice(0).map((c) => c()));
  };
  const served: BenchServerPorts[] = [];
  try {
    for (const host of list) {
      const [sink, echo] = [await tcp(host, onSink, true), await tcp(host, onEcho, false)];
      served.push({ host, sink, echo, udpEcho: opts.udp === false ? 0 : await udp(host) });
    }
  } catch (e) {
    await close();
    throw e;
  }
  const first = served[0] as BenchServerPorts;
  return { ...first, hosts: served, close };
}
