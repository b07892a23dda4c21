// The WebSocket trace server (`ws://HOST:PORT/trace`) and its Prometheus endpoint (`/metrics`) on one
// HTTP(S) server. Every refusal happens before the upgrade where HTTP allows it (401 wrong token,
// 403 foreign Origin, 503 too many clients), so a refused client never holds a WebSocket.

import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { DEFAULT_TRACE_PORT, TRACE_PATH, type DaemonStatus, type GuestInfo } from '../../protocol';
import type { TraceHub } from './trace-hub';
import { defaultTokenFile, loadOrCreateToken, tokenMatches } from './token';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics';
import { TraceSession, type RunWorkload } from './trace-session';
import { instanceName } from '../instance';

export interface TraceServerOptions {
  host?: string;
  port?: number;
  tokenFile?: string;
  allowRemote?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  /** Browser origins allowed to connect (exact `Origin` header values); clients without Origin are not browsers. */
  allowedOrigins?: string[];
  hub: TraceHub;
  guests?: () => GuestInfo[];
  status?: () => Partial<DaemonStatus>;
  runWorkload?: RunWorkload;
  /** Largest client message in bytes (requests are small JSON). */
  maxPayload?: number;
  maxClients?: number;
  maxSubscriptions?: number;
  authTimeoutMs?: number;
  /** The name in the hello message; default instanceName() (program, pid, start time). */
  daemonName?: string;
}

export interface TraceServer {
  url: string;
  tokenFile: string;
  port: number;
  close(): Promise<void>;
}

export class TraceServerError extends Error {
  override name = 'TraceServerError';
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  const h = host.toLowerCase();
  return h === '::1' || h === '0:0:0:0:0:0:0:1' || h.startsWith('::ffff:127.');
}

function bearer(req: IncomingMessage): string | null | undefined {
  const h = req.headers.authorization;
  if (h === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? (m[1] as string) : null;
}

function refuseUpgrade(socket: Duplex, status: number, reason: string, message: string, extra = ''): void {
  const body = `${message}\n`;
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

export async function startTraceServer(opts: TraceServerOptions): Promise<TraceServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? DEFAULT_TRACE_PORT;
  const tls = Boolean(opts.tlsCert || opts.tlsKey);
  if (tls && !(opts.tlsCert && opts.tlsKey)) throw new TraceServerError('TLS needs both --tls-cert and --tls-key');
  if (!isLoopback(host)) {
    if (!opts.allowRemote)
      throw new TraceServerError(`refusing to serve traces on non-loopback address ${host}: pass --allow-remote (and --tls-cert/--tls-key) to expose them, or bind 127.0.0.1`);
    if (!tls) throw new TraceServerError(`serving traces on non-loopback address ${host} requires TLS: pass --tls-cert and --tls-key`);
  }
  const tokenFile = opts.tokenFile ?? defaultTokenFile();
  const token = loadOrCreateToken(tokenFile);
  const allowedOrigins = new Set(opts.allowedOrigins ?? []);
  const maxClients = opts.maxClients ?? 16;
  const { hub } = opts;
  const guests = opts.guests ?? ((): GuestInfo[] => []);
  /** The daemon's own counters (they count calls even with tracing off) win over the hub's, except
   *  `drops`: in the trace stream that means trace records a reader missed (the daemon's own drops —
   *  datagrams, accepts — go to /metrics as linsock_network_dropped_total). */
  const fullStatus = (): { status: DaemonStatus; networkDrops: number } => {
    const s = hub.stats();
    const g = guests();
    const daemon = opts.status?.() ?? {};
    return {
      status: {
        calls: s.calls, callsPerSec: s.callsPerSec, bytes: s.bytes, errors: s.errors,
        guests: g.length, sockets: g.reduce((n, x) => n + x.sockets.length, 0),
        ringSize: s.ringSize, ringUsed: s.ringUsed, rssBytes: process.memoryUsage.rss(), tracing: s.tracing, nextSeq: s.nextSeq,
        ...daemon,
        drops: s.drops,
      },
      networkDrops: daemon.drops ?? 0,
    };
  };
  const status = (): DaemonStatus => fullStatus().status;

  const originAllowed = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin;
    return origin === undefined || allowedOrigins.has(origin);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (!originAllowed(req)) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end(`origin ${req.headers.origin} is not allowed\n`);
      return;
    }
    if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
      if (!tokenMatches(token, bearer(req))) {
        res.writeHead(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer realm="linsockd"' }).end('token required: Authorization: Bearer TOKEN\n');
        return;
      }
      const s = hub.stats();
      const full = fullStatus();
      res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE }).end(
        renderMetrics({ ...full.status, networkDrops: full.networkDrops, frames: s.frames, subscribers: s.subscribers, ringBytes: s.ringBytes }),
      );
      return;
    }
    if (path === TRACE_PATH) {
      res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' }).end('this is a WebSocket endpoint\n');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`no such endpoint; try ${TRACE_PATH} (WebSocket) or /metrics\n`);
  };

  const server: Server = tls
    ? createHttpsServer({ cert: readFileSync(opts.tlsCert as string), key: readFileSync(opts.tlsKey as string) }, onRequest)
    : createHttpServer(onRequest);
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayload ?? 64 * 1024, perMessageDeflate: false });
  const runState = { running: false };
  const sessionCtx = {
    hub, token, guests, status, runState,
    daemonName: opts.daemonName ?? instanceName(),
    maxSubscriptions: opts.maxSubscriptions ?? 8,
    authTimeoutMs: opts.authTimeoutMs ?? 5000,
    ...(opts.runWorkload ? { runWorkload: opts.runWorkload } : {}),
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if ((req.url ?? '').split('?')[0] !== TRACE_PATH) return refuseUpgrade(socket, 404, 'Not Found', `no WebSocket endpoint here; use ${TRACE_PATH}`);
    if (!originAllowed(req)) return refuseUpgrade(socket, 403, 'Forbidden', `origin ${req.headers.origin} is not allowed`);
    const offered = bearer(req);
    if (offered !== undefined && !tokenMatches(token, offered))
      return refuseUpgrade(socket, 401, 'Unauthorized', 'wrong token: expected Authorization: Bearer TOKEN from the token file', 'WWW-Authenticate: Bearer realm="linsockd"\r\n');
    if (wss.clients.size >= maxClients) return refuseUpgrade(socket, 503, 'Service Unavailable', `at most ${maxClients} trace clients at once`);
    wss.handleUpgrade(req, socket, head, (ws) => {
      wss.emit('connection', ws, req);
      new TraceSession(ws, sessionCtx, offered !== undefined);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new TraceServerError(`trace port ${host}:${port} is in use; pick another with --trace-port (0 = any free port)`) : err));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const realPort = typeof addr === 'object' && addr ? addr.port : port;
  const urlHost = isIP(host) === 6 ? `[${host}]` : host;
  return {
    url: `${tls ? 'wss' : 'ws'}://${urlHost}:${realPort}${TRACE_PATH}`,
    tokenFile,
    port: realPort,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
