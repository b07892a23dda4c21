// The extension's WebSocket client of linsockd's trace stream (protocol/trace-stream.ts): says hello,
// keeps a subscription alive across reconnects without gaps or repeats, and answers requests. The rules
// of when to connect live in connection-state.ts; this file performs them. No VS Code API here.
//
// The daemon is a peer, not a friend: every message is checked before use (trace-stream-check.ts), one
// hello per session, any error while handling a message ends that session visibly (the backoff takes over),
// a silent daemon is noticed by a heartbeat, and nothing it sends grows without bound: messages <= 4 MiB,
// chunks <= MAX_CHUNK_RECORDS records, small chunks joined (chunk-batcher.ts), log lines capped in length
// and rate (capped-log.ts). The session's timers live in session-watch.ts, chunk handling in
// chunk-intake.ts, the shapes and limits in connection-types.ts (re-exported here).

import WebSocket from 'ws';
import {
  TRACE_STREAM_VERSION,
  type BenchReport,
  type ClientRequest,
  type DaemonStatus,
  type EmulatedMode,
  type GuestInfo,
  type GuestKind,
  type Path,
  type ServerMessage,
  type TraceRecord,
  type Workload,
} from '../protocol';
import { readServerMessage } from '../protocol/trace-stream-check';
import { Backoff } from './backoff';
import { CappedLog, oneLine } from './capped-log';
import { ChunkIntake } from './chunk-intake';
import { classifyFailure, INITIAL, step, type ConnectionState, type Effect, type FailureFacts, type Machine } from './connection-state';
import { MAX_MESSAGE_BYTES, type ConnectionHealth, type ConnectionOptions, type DaemonHello, type StateChange } from './connection-types';
import { RecordSieve } from './record-sieve';
import { REAL_TIMERS, type Timers } from './frame-pacer';
import { SessionWatch } from './session-watch';

export { MAX_CHUNK_RECORDS, MAX_MESSAGE_BYTES, type ConnectionHealth, type ConnectionOptions, type DaemonHello, type StateChange } from './connection-types';

type Listener<T> = (v: T) => void;
type RequestBody = ClientRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;
type Pending = { onMessage: (m: ServerMessage) => boolean; fail: (e: Error) => void; timer: unknown };

export class DaemonConnection {
  private machine: Machine = INITIAL;
  private socket: WebSocket | null = null;
  /** Bumped per socket, so events of a socket already given up are ignored. */
  private generation = 0;
  private retryTimer: unknown = null;
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
  /** This session's hello arrived (hello is once per session). */
  private greeted = false;
  private missedReplies = 0;
  private readonly log: CappedLog;
  private readonly intake: ChunkIntake;
  private readonly watch: SessionWatch;
  private readonly backoff: Backoff;
  private readonly timers: Timers;
  private readonly stateListeners = new Set<Listener<StateChange>>();
  private readonly recordListeners = new Set<Listener<{ bytes: Uint8Array; records: TraceRecord[] }>>();
  private readonly helloListeners = new Set<Listener<DaemonHello>>();
  private readonly counts = { damagedChunks: 0, unsolicited: 0, violations: 0, slowestMessageMs: 0 };

  constructor(private readonly o: ConnectionOptions) {
    this.backoff = o.backoff ?? new Backoff();
    this.timers = o.timers ?? REAL_TIMERS;
    this.log = new CappedLog(o.log, { now: () => this.timers.now(), ...o.logCaps });
    this.watch = new SessionWatch(this.timers, o);
    this.intake = new ChunkIntake({
      codec: o.codec,
      sieve: this.sieve,
      log: this.log,
      timers: this.timers,
      batchMs: o.batchMs,
      counts: this.counts,
      sink: (bytes, records) => this.each(this.recordListeners, { bytes, records }),
    });
  }

  get health(): ConnectionHealth {
    return { ...this.counts, seq: { ...this.sieve.anomalies } };
  }
  /** Chunks that could not be decoded: counted and logged, never fatal. */
  get damagedChunks(): number {
    return this.counts.damagedChunks;
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
  run(workload: Workload, paths: Path[], seconds: number, mode?: EmulatedMode, where: { guest?: GuestKind; program?: string } = {}): { started: Promise<string>; finished: Promise<BenchReport> } {
    let started!: (id: string) => void;
    let failStart!: (e: Error) => void;
    const startedP = new Promise<string>((res, rej) => ((started = res), (failStart = rej)));
    const finished = this.request(
      // A namespace run is sent as before (a daemon older than the guest field still takes it).
      { op: 'run', workload, paths, seconds, ...(mode ? { mode } : {}), ...(where.guest === 'vm' ? { guest: 'vm' as const } : {}), ...(where.program !== undefined ? { program: where.program } : {}) },
      (m) => {
        if (m.type === 'runStarted') {
          started(m.runId);
          return false;
        }
        return m.type === 'runFinished' || m.type === 'runFailed';
      },
      // The run takes its seconds per path plus setting up guests (a VM boots, under TCG slowly); the reply
      // deadline grows with it.
      seconds * 1000 * paths.length + (where.guest === 'vm' ? 300_000 : 120_000),
    ).then((m) => {
      if (m.type === 'runFailed') throw new Error(m.message);
      return (m as Extract<ServerMessage, { type: 'runFinished' }>).report;
    });
    finished.catch((e: Error) => failStart(e));
    return { started: startedP, finished };
  }

  dispose(): void {
    this.disconnect();
    this.log.flush();
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
      const gen = this.generation;
      const timer = this.timers.setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the daemon did not answer '${body.op}' within ${Math.round(timeoutMs / 1000)} s`));
        // One slow answer may be load; several in a row is a daemon that stopped serving this session.
        if (++this.missedReplies >= (this.o.maxMissedReplies ?? 3))
          this.fail(gen, { protocolError: `the daemon left ${this.missedReplies} requests in a row unanswered` });
      }, timeoutMs);
      const finish = () => {
        this.timers.clearTimeout(timer);
        this.pending.delete(id);
      };
      this.pending.set(id, {
        timer,
        onMessage: (m) => {
          this.missedReplies = 0;
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
      this.each(this.stateListeners, change);
    }
  }

  /** Calls each listener; one that throws is logged and does not stop the others or the connection. */
  private each<T>(set: Set<Listener<T>>, v: T): void {
    for (const l of set) {
      try {
        l(v);
      } catch (err) {
        this.log.write('error', `a listener of the daemon connection failed: ${(err as Error)?.stack ?? String(err)}`, 'listener');
      }
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
        this.log.write('info', `reconnecting in ${eff.delayMs} ms`, 'retry');
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
    const classified = classifyFailure(facts);
    // The detail may quote the daemon: bounded before it reaches a pop-up, a tooltip or the log.
    const failure = { ...classified, detail: oneLine(classified.detail, 500) };
    if (failure.kind === 'protocol') this.counts.violations++;
    this.log.write(failure.kind === 'dropped' ? 'warn' : 'error', `connection to ${this.o.url()}: ${failure.kind}: ${failure.detail}`, 'failure');
    this.dispatch({ type: 'failed', failure });
  }

  /** The daemon sent what the protocol does not allow: this session ends, visibly; the backoff takes over. */
  private violation(gen: number, why: string): void {
    this.fail(gen, { protocolError: `the daemon broke the trace protocol: ${why}` });
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
    this.log.write('info', `connecting to ${url}`, 'connecting');
    this.greeted = false;
    this.missedReplies = 0;
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
      this.watch.expectHello(() => this.fail(gen, { httpStatus: 0, message: 'no hello from the server within 5 s: this URL does not serve a Linsock trace stream' }));
      ws.send(JSON.stringify({ op: 'hello', id: this.nextId++, protocol: TRACE_STREAM_VERSION, client: this.o.client }));
    });
    ws.on('pong', () => {
      if (gen === this.generation) this.watch.heardAt = this.timers.now();
    });
    ws.on('message', (data: Buffer, isBinary) => {
      if (gen !== this.generation) return;
      const t0 = this.timers.now();
      this.watch.heardAt = t0;
      try {
        if (isBinary) this.receiveChunk(gen, data);
        else this.receiveText(gen, data.toString('utf8'));
      } catch (err) {
        // Whatever went wrong, this session cannot be trusted to be in step any more: end it, visibly.
        this.violation(gen, `handling its message failed: ${(err as Error)?.message ?? String(err)}`);
      }
      const ms = this.timers.now() - t0;
      if (ms > this.counts.slowestMessageMs) this.counts.slowestMessageMs = ms;
    });
  }

  /** Pings while the session is up; a session that heard nothing for the timeout ends (session-watch.ts). */
  private heartbeat(gen: number, ws: WebSocket): void {
    this.watch.heartbeat(
      () => gen === this.generation,
      () => {
        try {
          ws.ping();
        } catch {
          // A socket that cannot ping is closing: its close event says why.
        }
      },
      (silent) => this.fail(gen, { protocolError: `the daemon went silent: nothing from it, not even a ping reply, for ${Math.round(silent / 1000)} s` }),
    );
  }

  private closeSocket(): void {
    this.generation++; // whatever this socket still says (its close event) is about a socket given up
    this.watch.stop();
    // Records received before the end are real: they go to the store before the state says the session ended.
    this.intake.flush();
    this.log.flush();
    this.greeted = false;
    this.subscriptionId = null;
    for (const p of [...this.pending.values()]) p.fail(new Error('the connection to the daemon closed'));
    const ws = this.socket;
    this.socket = null;
    if (!ws) return;
    ws.removeAllListeners('message');
    ws.removeAllListeners('pong');
    ws.on('error', () => undefined); // a late error of a socket we gave up must not throw
    if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'client disconnects');
    else ws.terminate();
  }

  private receiveText(gen: number, text: string): void {
    const { message: m, error } = readServerMessage(text);
    if (error !== null) return this.violation(gen, error);
    if (m.type === 'hello') return this.receiveHello(gen, m);
    if (m.type === 'error' && m.id === null) {
      // Not an answer to a request: the daemon refuses the session itself.
      if (m.code === 'unauthorized' || m.code === 'bad-version') return this.fail(gen, { serverCode: m.code, message: m.message });
      this.log.write('warn', `daemon: ${m.code}: ${m.message}`, 'daemon-error');
      return;
    }
    if (!this.greeted) return this.violation(gen, `a '${m.type}' message before its hello`);
    const p = this.pending.get(m.id as number);
    if (p) {
      p.onMessage(m);
      return;
    }
    this.counts.unsolicited++;
    if (m.type === 'error') this.log.write('warn', `daemon error for request ${m.id}: ${m.code}: ${m.message}`, 'daemon-error');
    else this.log.write('warn', `ignored a '${m.type}' reply to request ${m.id}, which is not waiting for one`, 'unsolicited');
  }

  private receiveHello(gen: number, m: Extract<ServerMessage, { type: 'hello' }>): void {
    // A second hello would re-subscribe and reset duplicate filtering: the session is over instead.
    if (this.greeted) return this.violation(gen, 'a second hello in the same session');
    this.watch.helloArrived();
    if (m.protocol !== TRACE_STREAM_VERSION) return this.fail(gen, { peerProtocol: m.protocol, message: `the daemon speaks trace protocol ${m.protocol}, this extension ${TRACE_STREAM_VERSION}` });
    this.greeted = true;
    this.watch.greeted();
    const restarted = this.sieve.meet(m.daemon, m.nextSeq);
    this.hello = { daemon: m.daemon, protocol: m.protocol, nextSeq: m.nextSeq, restarted };
    this.log.write('info', `connected to ${m.daemon} (trace protocol ${m.protocol}, next seq ${m.nextSeq}${restarted ? ', restarted since the last connection' : ''})`, 'hello');
    const ws = this.socket;
    if (ws) this.heartbeat(gen, ws);
    this.watch.watchHealth(() => gen === this.generation, () => this.dispatch({ type: 'healthy' }));
    this.dispatch({ type: 'opened' });
    this.each(this.helloListeners, this.hello);
    if (this.wantSubscription && gen === this.generation) {
      const resume = this.sieve.lastSeq >= 0 || restarted;
      this.subscribe(resume).catch((err: Error) => this.log.write('error', `subscribing again failed: ${err.message}`, 'subscribe'));
    }
  }

  private receiveChunk(gen: number, data: Buffer): void {
    if (!this.greeted) return this.violation(gen, 'a chunk of records before its hello');
    if (!this.subscribed && !this.wantSubscription) return;
    this.intake.receive(data);
  }

  private listen<T>(set: Set<Listener<T>>, l: Listener<T>): { dispose(): void } {
    set.add(l);
    return { dispose: () => set.delete(l) };
  }
}
