// One client connection of the trace server: authentication by first message, request dispatch, its
// subscriptions into the hub. JSON replies and binary chunks share the socket in order.

import { randomUUID } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import {
  CloseCode, TRACE_STREAM_VERSION, type BenchReport, type ClientRequest, type DaemonStatus, type GuestInfo, type ServerMessage,
} from '../../protocol';
import type { ChunkTarget, Subscription, TraceHub } from './trace-hub';
import { parseClientRequest } from './trace-requests';
import { tokenMatches } from './token';

/** RFC 6455's "try again later". */
const TRY_AGAIN_LATER = 1013;

export type RunWorkload = (req: Extract<ClientRequest, { op: 'run' }>, runId: string) => Promise<BenchReport>;

export interface SessionContext {
  hub: TraceHub;
  token: string;
  daemonName: string;
  guests: () => GuestInfo[];
  status: () => DaemonStatus;
  runWorkload?: RunWorkload;
  maxSubscriptions: number;
  /** How long a client without an Authorization header has to send hello with the token. */
  authTimeoutMs: number;
  /** Shared by all sessions: one workload at a time. */
  runState: { running: boolean };
  /** Takes a client slot for a session that just authenticated; false when all are taken. */
  admit(s: TraceSession): boolean;
  /** Gives the slot back (the session ended). */
  release(s: TraceSession): void;
  /** The connection under the WebSocket showed the token: no more deadline for it (connection-guard.ts). */
  authenticated(): void;
}

/** A refused or silent client's close frame is sent, but its socket is cut after this, handshake or not. */
const CLOSE_GRACE_MS = 200;

export class TraceSession {
  private authed: boolean;
  private readonly subs = new Map<number, Subscription>();
  private readonly authTimer: NodeJS.Timeout | null = null;
  private readonly target: ChunkTarget;

  constructor(
    private readonly ws: WebSocket,
    private readonly ctx: SessionContext,
    headerAuthed: boolean,
  ) {
    // A header-authenticated client's slot was checked before the upgrade (admitted by the server).
    this.authed = headerAuthed;
    this.target = {
      backlog: () => ws.bufferedAmount,
      send: (chunk) => {
        if (ws.readyState === ws.OPEN) ws.send(chunk, { binary: true });
      },
    };
    if (!headerAuthed) {
      this.authTimer = setTimeout(() => this.cut(CloseCode.unauthorized, 'token required: send hello with the token'), ctx.authTimeoutMs);
    }
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', () => this.dispose());
    ws.on('error', () => this.dispose());
  }

  /** Sends a close frame and cuts the socket shortly after, without waiting for the client's answer. */
  private cut(code: number, reason: string): void {
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  private reply(m: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(m));
  }

  private error(id: number | null, code: Extract<ServerMessage, { type: 'error' }>['code'], message: string): void {
    this.reply({ type: 'error', id, code, message });
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    const text = isBinary ? null : Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8');
    const parsed = text === null ? null : parseClientRequest(text);
    if (!this.authed) {
      // Before authentication only a well-formed hello carrying the token is acceptable.
      if (!parsed || !parsed.ok || parsed.request.op !== 'hello' || !tokenMatches(this.ctx.token, parsed.request.token)) {
        this.cut(CloseCode.unauthorized, 'unauthorized: the first message must be hello with the token');
        return;
      }
      if (this.authTimer) clearTimeout(this.authTimer);
      // Only now does the client take one of the server's slots: silent sockets hold none.
      if (!this.ctx.admit(this)) {
        this.error(parsed.request.id, 'busy', 'too many trace clients at once; try again later');
        this.cut(TRY_AGAIN_LATER, 'too many trace clients');
        return;
      }
      this.authed = true;
      this.ctx.authenticated();
    }
    if (!parsed) return this.error(null, 'bad-request', 'binary messages are not requests; send JSON text');
    if (!parsed.ok) return this.error(parsed.id, 'bad-request', parsed.message);
    try {
      this.dispatch(parsed.request);
    } catch (err) {
      this.error(parsed.request.id, 'internal', `request failed: ${(err as Error).message}`);
    }
  }

  private dispatch(r: ClientRequest): void {
    const { hub } = this.ctx;
    switch (r.op) {
      case 'hello':
        if (r.protocol !== TRACE_STREAM_VERSION) {
          this.error(r.id, 'bad-version', `trace stream protocol ${r.protocol} is not supported; this daemon speaks ${TRACE_STREAM_VERSION}`);
          this.ws.close(CloseCode.badVersion, 'unsupported protocol version');
          return;
        }
        return this.reply({ type: 'hello', protocol: TRACE_STREAM_VERSION, daemon: this.ctx.daemonName, nextSeq: hub.stats().nextSeq });
      case 'subscribe': {
        if (this.subs.has(r.id)) return this.error(r.id, 'bad-request', `subscription ${r.id} exists; unsubscribe it first or use a new id`);
        if (this.subs.size >= this.ctx.maxSubscriptions)
          return this.error(r.id, 'busy', `at most ${this.ctx.maxSubscriptions} subscriptions per connection`);
        hub.flush();
        const sub = hub.subscribe(this.target, {
          filter: r.filter, history: r.history, ...(r.fromSeq !== undefined ? { fromSeq: r.fromSeq } : {}),
        });
        // The hub sends the first chunks on a later turn, so this reply always precedes them.
        this.reply({ type: 'subscribed', id: r.id, fromSeq: sub.fromSeq });
        this.subs.set(r.id, sub);
        return;
      }
      case 'unsubscribe': {
        const sub = this.subs.get(r.id);
        if (!sub) return this.error(r.id, 'bad-request', `no subscription with id ${r.id}`);
        sub.cancel();
        this.subs.delete(r.id);
        return this.reply({ type: 'unsubscribed', id: r.id });
      }
      case 'snapshot': {
        const limit = r.limit ?? hub.stats().ringSize;
        const sub = hub.snapshot(this.target, limit, () => {
          this.subs.delete(-1 - r.id);
          this.reply({ type: 'snapshotDone', id: r.id, records: sub ? sub.delivered : 0 });
        });
        if (sub) this.subs.set(-1 - r.id, sub);
        return;
      }
      case 'guests':
        return this.reply({ type: 'guests', id: r.id, guests: this.ctx.guests() });
      case 'status':
        return this.reply({ type: 'status', id: r.id, status: this.ctx.status() });
      case 'run':
        return this.run(r);
    }
  }

  private run(r: Extract<ClientRequest, { op: 'run' }>): void {
    const { runWorkload, runState } = this.ctx;
    if (!runWorkload) return this.error(r.id, 'unavailable', 'this linsockd has no lab attached: run `linsock start` (npm start), which hosts linsockd with the lab, to run comparisons from here; or `linsock bench` on the command line');
    if (runState.running) return this.error(r.id, 'busy', 'a workload is already running; wait for it to finish');
    const runId = randomUUID();
    runState.running = true;
    this.reply({ type: 'runStarted', id: r.id, runId });
    runWorkload(r, runId).then(
      (report) => this.reply({ type: 'runFinished', id: r.id, runId, report }),
      (err: unknown) => this.reply({ type: 'runFailed', id: r.id, runId, message: (err as Error)?.message ?? String(err) }),
    ).finally(() => {
      runState.running = false;
    });
  }

  dispose(): void {
    if (this.authTimer) clearTimeout(this.authTimer);
    this.ctx.release(this);
    for (const s of this.subs.values()) s.cancel();
    this.subs.clear();
  }
}
