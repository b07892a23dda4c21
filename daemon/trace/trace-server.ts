// The WebSocket trace server (`ws://HOST:PORT/trace`) and its Prometheus endpoint (`/metrics`) on one
// HTTP(S) server. Every refusal happens before the upgrade where HTTP allows it (401 wrong token,
// 403 foreign Origin, 503 too many clients), so a refused client never holds a WebSocket. A client slot
// is taken only once a client has shown the token; connections that have not are bounded in number and
// time (connection-guard.ts), and HTTP headers, requests and keep-alive have short timeouts, so neither
// silent WebSockets nor slow or idle HTTP connections can keep a real client out.

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
import { ConnectionGuard } from './connection-guard';

/** Connections of any kind at once; over it the oldest unauthenticated one is closed. */
const DEFAULT_MAX_CONNECTIONS = 64;
/** A connection that has not shown the token by then is closed. */
const DEFAULT_UNAUTHENTICATED_MS = 3000;
/** HTTP timeouts: whole headers, a whole request, an idle keep-alive connection; how often they are checked. */
const HEADERS_TIMEOUT_MS = 3000;
const REQUEST_TIMEOUT_MS = 5000;
const KEEP_ALIVE_TIMEOUT_MS = 2000;
const TIMEOUT_CHECK_MS = 500;

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
  /** Authenticated WebSocket clients at once (503 or `busy` beyond). */
  maxClients?: number;
  /** TCP connections at once, authenticated or not (default 64); see connection-guard.ts. */
  maxConnections?: number;
  maxSubscriptions?: number;
  /** How long a connection may go without showing the token (default 3000 ms). */
  authTimeoutMs?: number;
  /** Server errors after listening (accept failing with EMFILE): reported here, never thrown. */
  onError?: (e: Error) => void;
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
        ringSize: s.ringSize, ringUsed: s.ringUsed, rssBytes: rss(), tracing: s.tracing, nextSeq: s.nextSeq,
        ...daemon,
        drops: s.drops,
      },
      networkDrops: daemon.drops ?? 0,
    };
  };
  const status = (): DaemonStatus => fullStatus().status;
  // rss() reads /proc/self/stat, which needs a descriptor: out of them it throws; the last value stands.
  let lastRss = 0;
  const rss = (): number => {
    try {
      lastRss = process.memoryUsage.rss();
    } catch {
      // EMFILE/ENFILE: keep the last figure
    }
    return lastRss;
  };
  const authTimeoutMs = opts.authTimeoutMs ?? DEFAULT_UNAUTHENTICATED_MS;
  // The WebSocket session closes a silent client itself (with its close code) at authTimeoutMs; the guard
  // is the backstop for connections that are no WebSocket, a moment later.
  const guard = new ConnectionGuard(opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS, authTimeoutMs + 500);

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
      if (tokenMatches(token, bearer(req))) guard.authenticated(req.socket);
      else {
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

  const httpOptions = {
    headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connectionsCheckingInterval: TIMEOUT_CHECK_MS,
  };
  const server: Server = tls
    ? createHttpsServer({ ...httpOptions, cert: readFileSync(opts.tlsCert as string), key: readFileSync(opts.tlsKey as string) }, onRequest)
    : createHttpServer(httpOptions, onRequest);
  guard.attach(server);
  // A hard ceiling above the guard's cap: authenticated clients never make the guard evict each other.
  server.maxConnections = (opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS) + maxClients;
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayload ?? 64 * 1024, perMessageDeflate: false });
  const runState = { running: false };
  /** Authenticated sessions: only they hold one of maxClients' slots. */
  const clients = new Set<TraceSession>();
  const sessionCtx = {
    hub, token, guests, status, runState,
    daemonName: opts.daemonName ?? instanceName(),
    maxSubscriptions: opts.maxSubscriptions ?? 8,
    authTimeoutMs,
    admit: (s: TraceSession): boolean => {
      if (clients.size >= maxClients) return false;
      clients.add(s);
      return true;
    },
    release: (s: TraceSession): void => void clients.delete(s),
    ...(opts.runWorkload ? { runWorkload: opts.runWorkload } : {}),
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if ((req.url ?? '').split('?')[0] !== TRACE_PATH) return refuseUpgrade(socket, 404, 'Not Found', `no WebSocket endpoint here; use ${TRACE_PATH}`);
    if (!originAllowed(req)) return refuseUpgrade(socket, 403, 'Forbidden', `origin ${req.headers.origin} is not allowed`);
    const offered = bearer(req);
    if (offered !== undefined && !tokenMatches(token, offered))
      return refuseUpgrade(socket, 401, 'Unauthorized', 'wrong token: expected Authorization: Bearer TOKEN from the token file', 'WWW-Authenticate: Bearer realm="linsockd"\r\n');
    if (offered !== undefined && clients.size >= maxClients) return refuseUpgrade(socket, 503, 'Service Unavailable', `at most ${maxClients} trace clients at once`);
    const authenticated = (): void => guard.authenticated(req.socket);
    if (offered !== undefined) authenticated();
    wss.handleUpgrade(req, socket, head, (ws) => {
      wss.emit('connection', ws, req);
      const session = new TraceSession(ws, { ...sessionCtx, authenticated }, offered !== undefined);
      if (offered !== undefined) clients.add(session);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new TraceServerError(`trace port ${host}:${port} is in use; pick another with --trace-port (0 = any free port)`) : err));
    server.listen(port, host, () => resolve());
  });
  server.removeAllListeners('error');
  server.on('error', (e) => opts.onError?.(e));
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
        guard.closeAll();
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
