// The extension's WebSocket client of linsockd's trace stream (protocol/trace-stream.ts): says hello,
// keeps a subscription alive across reconnects without gaps or repeats, and answers requests. The rules
// of when to connect live in connection-state.ts; this file performs them. No VS Code API here.

import WebSocket from 'ws';
import {
  TRACE_STREAM_VERSION,
  type BenchReport,
  type ClientRequest,
  type DaemonStatus,
  type EmulatedMode,
  type GuestInfo,
  type Path,
  type ServerMessage,
  type TraceRecord,
  type Workload,
} from '../protocol';
import { Backoff } from './backoff';
import { classifyFailure, INITIAL, step, type ConnectionState, type Effect, type Failure, type FailureFacts, type Machine } from './connection-state';
import type { RecordCodec } from './record-codec';
import { RecordSieve } from './record-sieve';
import { REAL_TIMERS, type Timers } from './frame-pacer';

export interface ConnectionOptions {
  url: () => string;
  /** Asked before each attempt; undefined means "no token known" (the daemon will refuse). */
  token: () => Promise<string | undefined>;
  codec: RecordCodec;
  client: string;
  log: (level: 'trace' | 'info' | 'warn' | 'error', message: string) => void;
  backoff?: Backoff;
  timers?: Timers;
  helloTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export interface DaemonHello {
  daemon: string;
  protocol: number;
  nextSeq: number;
  /** True when this daemon is not the one of the previous connection (restarted). */
  restarted: boolean;
}

export interface StateChange {
  state: ConnectionState;
  /** Set when the change comes from a failure; `retrying` says whether reconnecting goes on by itself. */
  failure?: Failure;
  retrying?: boolean;
}

type Listener<T> = (v: T) => void;
type RequestBody = ClientRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;
type Pending = { onMessage: (m: ServerMessage) => boolean; fail: (e: Error) => void; timer: unknown };

/** Largest message accepted from the daemon: a chunk of records, with room; bigger means a broken peer. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export class DaemonConnection {
  private machine: Machine = INITIAL;
  private socket: WebSocket | null = null;
  /** Bumped per socket, so events of a socket already given up are ignored. */
  private generation = 0;
  private retryTimer: unknown = null;
  private helloTimer: unknown = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly sieve = new RecordSieve();
  private wantSubscription = false;
  /** The id of the live subscription (the daemon names a subscription by its subscribe request's id). */
  private subscriptionId: number | null = null;
  private get subscribed(): boolean {
    return this.subscriptionId !== null;
  }
  private hello: DaemonHello | null = null;
  private readonly backoff: Backoff;
  private readonly timers: Timers;
  private readonly stateListeners = new Set<Listener<StateChange>>();
  private readonly recordListeners = new Set<Listener<{ bytes: Uint8Array; records: TraceRecord[] }>>();
  private readonly helloListeners = new Set<Listener<DaemonHello>>();
  /** Chunks that could not be decoded: counted and logged, never fatal. */
  damagedChunks = 0;

  constructor(private readonly o: ConnectionOptions) {
    this.backoff = o.backoff ?? new Backoff();
    this.timers = o.timers ?? REAL_TIMERS;
  }

  get state(): ConnectionState {
    return this.machine.state;
  }
  get daemon(): DaemonHello | null {
    return this.hello;
  }
  get recording(): boolean {
    return this.wantSubscription;
  }
  /** Highest seq held; a resubscription starts after it. */
  get lastSeq(): number {
    return this.sieve.lastSeq;
  }

  onState(l: Listener<StateChange>) {
    return this.listen(this.stateListeners, l);
  }
  onRecords(l: Listener<{ bytes: Uint8Array; records: TraceRecord[] }>) {
    return this.listen(this.recordListeners, l);
  }
  onHello(l: Listener<DaemonHello>) {
    return this.listen(this.helloListeners, l);
  }

  connect(): void {
    this.dispatch({ type: 'connect' });
  }

  disconnect(): void {
    this.dispatch({ type: 'disconnect' });
  }

  /** Starts receiving records (history from now on); kept across reconnects until stopRecording. */
  async startRecording(): Promise<void> {
    this.wantSubscription = true;
    if (this.machine.state === 'connected' && !this.subscribed) await this.subscribe(false);
  }

  async stopRecording(): Promise<void> {
    this.wantSubscription = false;
    const id = this.subscriptionId;
    if (this.machine.state === 'connected' && id !== null) {
      this.subscriptionId = null;
      await this.request({ op: 'unsubscribe' }, (m) => m.type === 'unsubscribed', undefined, id);
    }
  }

  async status(): Promise<DaemonStatus> {
    const m = await this.request({ op: 'status' }, (m) => m.type === 'status');
    return (m as Extract<ServerMessage, { type: 'status' }>).status;
  }

  async guests(): Promise<GuestInfo[]> {
    const m = await this.request({ op: 'guests' }, (m) => m.type === 'guests');
    return (m as Extract<ServerMessage, { type: 'guests' }>).guests;
  }

  /**
   * Runs a workload on the daemon's lab. Resolves `started` with the run id when the daemon accepts it and
   * `finished` with the report; both reject with the daemon's message when it refuses or the run fails.
   */
  run(workload: Workload, paths: Path[], seconds: number, mode?: EmulatedMode): { started: Promise<string>; finished: Promise<BenchReport> } {
    let started!: (id: string) => void;
    let failStart!: (e: Error) => void;
    const startedP = new Promise<string>((res, rej) => ((started = res), (failStart = rej)));
    const finished = this.request(
      { op: 'run', workload, paths, seconds, ...(mode ? { mode } : {}) },
      (m) => {
        if (m.type === 'runStarted') {
          started(m.runId);
          return false;
        }
        return m.type === 'runFinished' || m.type === 'runFailed';
      },
      // The run takes its seconds plus setting up guests; the reply deadline grows with it.
      seconds * 1000 + 120_000,
    ).then((m) => {
      if (m.type === 'runFailed') throw new Error(m.message);
      return (m as Extract<ServerMessage, { type: 'runFinished' }>).report;
    });
    finished.catch((e: Error) => failStart(e));
    return { started: startedP, finished };
  }

  dispose(): void {
    this.disconnect();
    this.stateListeners.clear();
    this.recordListeners.clear();
    this.helloListeners.clear();
  }

  // ---- requests ----

  /** Sends `body` with a fresh id; resolves with the reply for which `done` says true (or an error reply). */
  private request(body: RequestBody, done: (m: ServerMessage) => boolean, timeoutMs = this.o.requestTimeoutMs ?? 10_000, id = this.nextId++): Promise<ServerMessage> {
    const ws = this.socket;
    if (!ws || this.machine.state !== 'connected') return Promise.reject(new Error('not connected to the daemon'));
    return new Promise<ServerMessage>((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the daemon did not answer '${body.op}' within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      const finish = () => {
        this.timers.clearTimeout(timer);
        this.pending.delete(id);
      };
      this.pending.set(id, {
        timer,
        onMessage: (m) => {
          if (m.type === 'error') {
            finish();
            reject(new Error(`${m.code}: ${m.message}`));
            return true;
          }
          if (!done(m)) return false;
          finish();
          resolve(m);
          return true;
        },
        fail: (e) => {
          finish();
          reject(e);
        },
      });
      ws.send(JSON.stringify({ ...body, id }));
    });
  }

  private async subscribe(resume: boolean): Promise<void> {
    // A first subscription takes what comes from now on; after a reconnect, everything after what we hold.
    const body: RequestBody = resume ? { op: 'subscribe', filter: {}, history: true, fromSeq: this.sieve.resumeSeq } : { op: 'subscribe', filter: {}, history: false };
    const id = this.nextId++;
    // Taken before the reply: chunks may follow it at once.
    this.subscriptionId = id;
    try {
      await this.request(body, (m) => m.type === 'subscribed', undefined, id);
    } catch (err) {
      if (this.subscriptionId === id) this.subscriptionId = null;
      throw err;
    }
  }

  // ---- the machine and its effects ----

  private dispatch(e: Parameters<typeof step>[1]): void {
    const before = this.machine.state;
    const r = step(this.machine, e, () => this.backoff.next());
    this.machine = r.machine;
    let report: Extract<Effect, { type: 'report' }> | undefined;
    for (const eff of r.effects) {
      if (eff.type === 'report') report = eff;
      else this.perform(eff);
    }
    if (this.machine.state !== before || report) {
      const change: StateChange = { state: this.machine.state, ...(report ? { failure: report.failure, retrying: report.retrying } : {}) };
      for (const l of this.stateListeners) l(change);
    }
  }

  private perform(eff: Exclude<Effect, { type: 'report' }>): void {
    switch (eff.type) {
      case 'open':
        void this.open();
        break;
      case 'close':
        this.closeSocket();
        break;
      case 'scheduleRetry':
        this.o.log('info', `reconnecting in ${eff.delayMs} ms`);
        this.retryTimer = this.timers.setTimeout(() => {
          this.retryTimer = null;
          this.dispatch({ type: 'retryDue' });
        }, eff.delayMs);
        break;
      case 'cancelRetry':
        if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
        this.retryTimer = null;
        break;
      case 'resetBackoff':
        this.backoff.reset();
        break;
    }
  }

  private fail(gen: number, facts: FailureFacts): void {
    if (gen !== this.generation) return;
    this.generation++; // this socket's later events are noise now
    const failure = classifyFailure(facts);
    this.o.log(failure.kind === 'dropped' ? 'warn' : 'error', `connection to ${this.o.url()}: ${failure.kind}: ${failure.detail}`);
    this.dispatch({ type: 'failed', failure });
  }

  private async open(): Promise<void> {
    const gen = ++this.generation;
    const url = this.o.url();
    let parsed: URL;
    try {
      parsed = new URL(url);
      if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new Error(`'${url}' is not a ws:// or wss:// URL`);
    } catch (err) {
      this.fail(gen, { invalidUrl: true, message: (err as Error).message });
      return;
    }
    let token: string | undefined;
    try {
      token = await this.o.token();
    } catch (err) {
      this.fail(gen, { serverCode: 'unauthorized', message: `no token: ${(err as Error).message}` });
      return;
    }
    if (gen !== this.generation) return; // disconnected while the token was being found
    this.o.log('info', `connecting to ${url}`);
    const ws = new WebSocket(url, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      handshakeTimeout: 5000,
      maxPayload: MAX_MESSAGE_BYTES,
      perMessageDeflate: false,
    });
    this.socket = ws;
    ws.binaryType = 'nodebuffer';
    ws.on('unexpected-response', (_req, res) => {
      this.fail(gen, { httpStatus: res.statusCode, message: res.statusCode === 401 ? 'the daemon refused the token (HTTP 401)' : undefined });
      res.resume();
    });
    ws.on('error', (err: NodeJS.ErrnoException) => this.fail(gen, { errorCode: err.code, message: err.message }));
    ws.on('close', (code, reason) => this.fail(gen, { closeCode: code, closeReason: reason.toString() }));
    ws.on('open', () => {
      if (gen !== this.generation) return;
      this.helloTimer = this.timers.setTimeout(
        () => this.fail(gen, { httpStatus: 0, message: 'no hello from the server within 5 s: this URL does not serve a Linsock trace stream' }),
        this.o.helloTimeoutMs ?? 5000,
      );
      ws.send(JSON.stringify({ op: 'hello', id: this.nextId++, protocol: TRACE_STREAM_VERSION, client: this.o.client }));
    });
    ws.on('message', (data: Buffer, isBinary) => {
      if (gen !== this.generation) return;
      if (isBinary) this.receiveChunk(data);
      else this.receiveText(gen, data.toString('utf8'));
    });
  }

  private closeSocket(): void {
    this.generation++; // whatever this socket still says (its close event) is about a socket given up
    if (this.helloTimer !== null) this.timers.clearTimeout(this.helloTimer);
    this.helloTimer = null;
    this.subscriptionId = null;
    for (const p of [...this.pending.values()]) p.fail(new Error('the connection to the daemon closed'));
    const ws = this.socket;
    this.socket = null;
    if (!ws) return;
    ws.removeAllListeners('message');
    ws.on('error', () => undefined); // a late error of a socket we gave up must not throw
    if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'client disconnects');
    else ws.terminate();
  }

  private receiveText(gen: number, text: string): void {
    let m: ServerMessage;
    try {
      m = JSON.parse(text) as ServerMessage;
    } catch {
      this.o.log('warn', `ignored a message from the daemon that is not JSON: ${text.slice(0, 120)}`);
      return;
    }
    if (m.type === 'hello') return this.receiveHello(gen, m);
    if (m.type === 'error' && m.id === null) {
      // Not an answer to a request: the daemon refuses the session itself.
      if (m.code === 'unauthorized' || m.code === 'bad-version') return this.fail(gen, { serverCode: m.code, message: m.message });
      this.o.log('warn', `daemon: ${m.code}: ${m.message}`);
      return;
    }
    const id = (m as { id?: number }).id;
    const p = id === undefined ? undefined : this.pending.get(id);
    if (p) p.onMessage(m);
    else if (m.type === 'error') this.o.log('warn', `daemon error for request ${String(id)}: ${m.code}: ${m.message}`);
  }

  private receiveHello(gen: number, m: Extract<ServerMessage, { type: 'hello' }>): void {
    if (this.helloTimer !== null) this.timers.clearTimeout(this.helloTimer);
    this.helloTimer = null;
    if (m.protocol !== TRACE_STREAM_VERSION) return this.fail(gen, { peerProtocol: m.protocol, message: `the daemon speaks trace protocol ${m.protocol}, this extension ${TRACE_STREAM_VERSION}` });
    const restarted = this.sieve.meet(m.daemon, m.nextSeq);
    this.hello = { daemon: m.daemon, protocol: m.protocol, nextSeq: m.nextSeq, restarted };
    this.o.log('info', `connected to ${m.daemon} (trace protocol ${m.protocol}, next seq ${m.nextSeq}${restarted ? ', restarted since the last connection' : ''})`);
    this.dispatch({ type: 'opened' });
    for (const l of this.helloListeners) l(this.hello);
    if (this.wantSubscription) {
      const resume = this.sieve.lastSeq >= 0 || restarted;
      this.subscribe(resume).catch((err: Error) => this.o.log('error', `subscribing again failed: ${err.message}`));
    }
  }

  private receiveChunk(data: Buffer): void {
    if (!this.subscribed && !this.wantSubscription) return;
    // A plain Uint8Array that owns its memory: ws may hand out views of a larger buffer, chunks live long in
    // the store, and a Buffer would cross postMessage as Buffer.toJSON()'s {type, data}, not as bytes.
    const bytes = new Uint8Array(data.byteLength);
    bytes.set(data);
    const { records, error } = this.o.codec.decodeChunk(bytes);
    if (error) {
      // Keep the whole records before the damage; the rest of this chunk is lost and said so.
      this.damagedChunks++;
      this.o.log('error', `a damaged chunk of ${bytes.byteLength} bytes from the daemon (${records.length} records kept): ${error.message}`);
    }
    const kept = this.sieve.keep(records);
    if (kept.length === 0) return;
    const out = kept.length === records.length && !error ? bytes : this.o.codec.encodeChunk(kept);
    for (const l of this.recordListeners) l({ bytes: out, records: kept });
  }

  private listen<T>(set: Set<Listener<T>>, l: Listener<T>): { dispose(): void } {
    set.add(l);
    return { dispose: () => set.delete(l) };
  }
}
