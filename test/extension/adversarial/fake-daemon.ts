// A hostile linsockd for the extension's adversarial tests: a real `ws` WebSocketServer on 127.0.0.1, port 0,
// whose behaviour each test scripts per session. Plus a DaemonConnection wired to a TraceStore as
// live-trace.ts wires them, with short timers, collecting its states, logs and uncaught errors.

import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { TRACE_STREAM_VERSION, type TraceRecord } from '../../../protocol';
import { Backoff } from '../../../extension/backoff';
import { DaemonConnection, type ConnectionOptions, type StateChange } from '../../../extension/daemon-connection';
import { LSTRACE } from '../../../extension/record-codec';
import { TraceStore, type StoreCaps } from '../../../extension/trace-store';

/** What the client sent in one session, parsed. */
export interface Session {
  ws: WebSocket;
  no: number;
  requests: { op: string; id: number; [k: string]: unknown }[];
}

export type Script = (s: Session, request: Session['requests'][number]) => void;

export class FakeDaemon {
  readonly sessions: Session[] = [];
  private constructor(
    readonly server: WebSocketServer,
    private script: Script,
  ) {}

  static async start(script: Script, opts: { autoPong?: boolean } = {}): Promise<FakeDaemon> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: opts.autoPong ?? true });
    await once(server, 'listening');
    const d = new FakeDaemon(server, script);
    server.on('connection', (ws) => {
      const s: Session = { ws, no: d.sessions.length, requests: [] };
      d.sessions.push(s);
      ws.on('error', () => undefined);
      ws.on('message', (data, binary) => {
        if (binary) return;
        const r = JSON.parse(data.toString()) as Session['requests'][number];
        s.requests.push(r);
        d.script(s, r);
      });
    });
    return d;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/trace`;
  }

  /** Changes what later messages get (sessions already open included). */
  behave(script: Script): void {
    this.script = script;
  }

  requests(op: string): number {
    return this.sessions.reduce((n, s) => n + s.requests.filter((r) => r.op === op).length, 0);
  }

  async stop(): Promise<void> {
    for (const c of this.server.clients) c.terminate();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export const send = (ws: WebSocket, m: unknown) => ws.send(typeof m === 'string' ? m : JSON.stringify(m));
export const hello = (s: Session, extra: Record<string, unknown> = {}) => send(s.ws, { type: 'hello', protocol: TRACE_STREAM_VERSION, daemon: 'fake linsockd', nextSeq: 0, ...extra });

/** A well-behaved daemon's answers: hello, subscribe, status, guests, unsubscribe. */
export const polite: Script = (s, r) => {
  if (r.op === 'hello') hello(s);
  else if (r.op === 'subscribe') send(s.ws, { type: 'subscribed', id: r.id, fromSeq: 0 });
  else if (r.op === 'unsubscribe') send(s.ws, { type: 'unsubscribed', id: r.id });
  else if (r.op === 'status') send(s.ws, { type: 'status', id: r.id, status: { calls: 0, callsPerSec: 0, bytes: 0, errors: 0, drops: 0, guests: 0, sockets: 0, ringSize: 1, ringUsed: 0, rssBytes: 1, tracing: true, nextSeq: 0 } });
  else if (r.op === 'guests') send(s.ws, { type: 'guests', id: r.id, guests: [] });
};

export interface Client {
  conn: DaemonConnection;
  store: TraceStore;
  states: StateChange[];
  logs: string[];
  records: TraceRecord[];
  backoff: Backoff;
  uncaught: unknown[];
  dispose(): void;
}

/** A connection to `url` with test-sized timers, feeding a store as the extension does. */
export function client(url: string, opts: Partial<ConnectionOptions> = {}, caps?: StoreCaps, keepRecords = true): Client {
  const backoff = opts.backoff ?? new Backoff({ firstMs: 20, maxMs: 2000, factor: 2, jitter: 0 });
  const logs: string[] = [];
  const states: StateChange[] = [];
  const records: TraceRecord[] = [];
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  const store = new TraceStore(1_000_000, caps);
  const conn = new DaemonConnection({
    url: () => url,
    token: async () => 'token',
    codec: LSTRACE,
    client: 'adversarial-test',
    log: (level, m) => logs.push(`${level}: ${m}`),
    helloTimeoutMs: 1000,
    requestTimeoutMs: 500,
    heartbeatMs: 100,
    heartbeatTimeoutMs: 500,
    healthyAfterMs: 400,
    batchMs: 20,
    ...opts,
    backoff,
  });
  conn.onState((s) => states.push(s));
  conn.onRecords(({ bytes, records: rs }) => {
    store.append(bytes, rs);
    if (keepRecords) for (const r of rs) records.push(r);
  });
  return {
    conn, store, states, logs, records, backoff, uncaught,
    dispose: () => {
      conn.dispose();
      process.off('uncaughtException', onUncaught);
    },
  };
}

export async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A valid call record with seq `seq` (the tests' own: extension/test-records.ts is not theirs to lean on). */
export function callRecord(seq: number): TraceRecord {
  const at = 1_000_000 + (seq % 1_000_000) * 10;
  return {
    kind: 'call', seq, run: 'r1', guest: 'guest-a', path: 'delegated', socket: 3, op: 'send', bytes: 100, result: 'ok',
    stages: [{ name: 'guest', start: at, end: at + 5 }, { name: 'execute', start: at + 5, end: at + 9 }],
  };
}

export const chunk = (records: TraceRecord[]) => Buffer.from(LSTRACE.encodeChunk(records));
/** Answers subscribe, then runs `then` (the daemon's records for this subscription). */
export const subscribeThen = (then: (s: Session) => void): Script => (s, r) => {
  polite(s, r);
  if (r.op === 'subscribe') then(s);
};

/** Sends `messages` a slice per event-loop turn: the client shares this process and must get turns too. */
export function sendAll(ws: WebSocket, messages: (Buffer | string)[], perTurn = 500): void {
  let i = 0;
  const more = () => {
    for (const end = Math.min(messages.length, i + perTurn); i < end; i++) ws.send(messages[i]!);
    if (i < messages.length && ws.readyState === ws.OPEN) setImmediate(more);
  };
  more();
}
