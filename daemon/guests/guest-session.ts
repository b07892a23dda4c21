// One guest's session on the channel: the HELLO handshake, the frames that steer the session itself
// (clock, stamps, credit, goodbye), handing its socket calls on (session-requests.ts) to its own host
// sockets (its handle table is all it can name), and tearing everything down at once when the guest
// leaves, vanishes or sends a malformed frame. Its frames come in through session-input.ts (socket or
// shared-memory ring); its host writes are batched per loop turn (turn-writes.ts); session-trace.ts traces it.
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import {
  Capability, WIRE_LAYOUT, WIRE_VERSION,
  type ErrnoName, type GuestInfo, type Hello, type Op, type SocketRequest, type WireMessage,
} from '../../protocol';
import type { ProtocolError } from '../../protocol/wire-codec';
import type { BusyPoll } from '../channel/busy-poll';
import { ChannelOut } from '../channel/channel-out';
import { nowNs } from '../clock';
import type { Limits } from '../limits';
import type { Logger } from '../log';
import type { LogLimit } from '../log-limit';
import type { FdBudget } from '../fd-budget';
import type { Policy } from '../policy/policy';
import { fail, type HostHandle, type Respond } from '../sockets/host-handle';
import type { SameHostTable } from '../sockets/same-host-table';
import type { Counters, SessionContext } from '../sockets/session-context';
import type { CallStamps } from '../trace/call-stamps';
import type { CallTracer } from '../trace/call-trace';
import type { TraceSink } from '../trace/trace-sink';
import { GuestClock, type ClockMapping } from './guest-clock';
import { HandleTable } from './handle-table';
import { canPassFds, passDescriptor } from './pass-fd';
import { SessionInput } from './session-input';
import { SessionRequests, type RequestSession } from './session-requests';
import { SessionTrace } from './session-trace';
import { TurnWrites } from './turn-writes';

/** Names guests hold while connected; a second guest with a taken name is refused. */
export interface GuestRegistry {
  claim(name: string, s: GuestSession): ErrnoName | null;
  release(s: GuestSession): void;
}

export interface SessionOptions {
  transport: GuestInfo['transport'];
  /** Who connected: `uid:N` on the Unix socket (SO_PEERCRED), `ip:ADDRESS` over TCP; per-peer caps count by it. */
  peer: string;
  limits: Limits;
  policy: Policy;
  log: Logger;
  /** For lines a guest or peer can cause at any rate (malformed frames, frames that cannot be encoded). */
  limitedLog: LogLimit;
  sink: TraceSink;
  run: string;
  counters: Counters;
  registry: GuestRegistry;
  /** Guest listeners of the whole daemon, for the same-host shortcut; null when it is off. */
  sameHost: SameHostTable | null;
  /** Keeps the daemon polling for a while after each chunk of guest frames. */
  busyPoll: BusyPoll;
  /** The daemon's descriptors; every host socket of the guest takes one. */
  fds: FdBudget;
  /**
   * The pid of the process on the other end of the Unix socket when this guest may move to shared memory
   * (the side socket listens and the pid is visible here), else 0: a region is accepted only from it.
   */
  shmPeerPid?: number;
  onClosed(s: GuestSession): void;
}

const HOST_CAPABILITIES = Capability.stamps | Capability.pushData;
/** A guest sends HELLO as soon as it connects; a connection that does not is closed after this. */
export const HELLO_TIMEOUT_MS = 2000;
/** How long a closed channel may take to flush its last frames before it is cut. */
const END_GRACE_MS = 1000;

export class GuestSession implements SessionContext, RequestSession {
  guest = '';
  readonly out: ChannelOut;
  readonly limits: Limits;
  readonly policy: Policy;
  readonly log: Logger;
  readonly counters: Counters;
  readonly sockets: HandleTable;
  readonly clock = new GuestClock();
  maxPayload: number;
  heldBytes = 0;
  readonly connectedNs = nowNs();
  private state: 'hello' | 'open' | 'closed' = 'hello';
  /** Both sides negotiated the passed-descriptor plane (a Unix-socket channel and the addon). */
  private fdPass = false;
  private readonly input: SessionInput;
  private readonly requests: SessionRequests;
  private nextEvent = 1;
  private lookups = 0;
  /** The traced call whose handler runs now (SessionRequests): corked writes are attributed to it. */
  runningCall: CallStamps | null = null;
  private readonly trace: SessionTrace;
  private readonly writes: TurnWrites;
  private readonly helloTimer: NodeJS.Timeout;

  constructor(private readonly socket: Socket, private readonly opts: SessionOptions) {
    this.limits = opts.limits;
    this.policy = opts.policy;
    this.log = opts.log;
    this.counters = opts.counters;
    this.maxPayload = opts.limits.maxFrame;
    this.sockets = new HandleTable(opts.limits.maxSockets, opts.fds);
    this.requests = new SessionRequests(this);
    this.trace = new SessionTrace(opts.sink, this.clock);
    this.writes = new TurnWrites((c) => this.trace.tracer?.done(c));
    const highWater = Math.max(2 * opts.limits.maxFrame, Math.min(4 * 1024 * 1024, Math.floor(opts.limits.maxBufferPerGuest / 4)));
    this.out = new ChannelOut(socket, highWater, () => this.onChannelDrain(), (bytes) => opts.busyPoll.wrote(bytes, nowNs()), (m, e) => this.unencodable(m, e));
    socket.setNoDelay?.(true);
    this.input = new SessionInput(socket, {
      maxFrame: opts.limits.maxFrame, shmPeerPid: opts.shmPeerPid, out: this.out, log: this.log, sink: opts.sink, busyPoll: opts.busyPoll,
      isClosed: () => this.isClosed(), dispatch: (m, t) => this.dispatch(m, t), afterRead: () => this.afterRead(),
      malformed: (e) => this.malformed(e), ringFailed: (e) => this.ringFailed(e), fault: (e, where) => this.fault(e, where),
    });
    socket.on('error', (err) => this.log.debug('guest channel error', { guest: this.guest, error: err.message }));
    // Frames the guest left in its ring before closing (its goodbye) are read first.
    socket.on('close', () => {
      this.input.serviceNow();
      this.shut('channel closed', null, false);
      this.input.stop();
    });
    // The channel is half-open (allowHalfOpen): a guest that vanished while the daemon had nothing to write
    // would otherwise never produce 'close'. A guest never half-closes its channel on purpose.
    socket.on('end', () => {
      this.input.serviceNow();
      this.shut('channel ended by the guest', null, false);
    });
    this.helloTimer = setTimeout(() => this.shut('no hello', { errno: 'EPROTO', message: `expected hello within ${HELLO_TIMEOUT_MS} ms` }, true), HELLO_TIMEOUT_MS);
    this.helloTimer.unref();
  }

  get context(): SessionContext {
    return this;
  }

  get sameHost(): SameHostTable | null {
    return this.opts.sameHost;
  }

  get tracing(): boolean {
    return this.trace.on;
  }

  get tracer(): CallTracer | null {
    return this.trace.tracer;
  }

  get transport(): GuestInfo['transport'] {
    return this.opts.transport;
  }

  get peer(): string {
    return this.opts.peer;
  }

  /** Closed before its HELLO to make room (pending-hellos.ts): no goodbye, the socket is cut. */
  evict(reason: string): void {
    this.log.debug('guest connection evicted before hello', { peer: this.opts.peer, reason });
    this.shut('evicted', null, false, 0, 0);
    this.socket.destroy();
  }

  isClosed(): boolean {
    return this.state === 'closed';
  }

  get socketCount(): number {
    return this.sockets.count;
  }

  /** See GuestClock.errorNs. */
  get clockErrorNs(): number | null {
    return this.clock.errorNs;
  }

  /** This guest's clock mapping (offset and error), or null before a probe's round trip closed. */
  get clockMapping(): ClockMapping | null {
    return this.clock.mapping;
  }

  /** Records of this guest published with stamps that disagree beyond the clock error. */
  get disorderedRecords(): number {
    return this.trace.disordered;
  }

  info(): GuestInfo {
    return { name: this.guest, transport: this.opts.transport, connectedNs: this.connectedNs, sockets: this.sockets.infos() };
  }

  // ---- SessionContext ----

  outputBlocked(): boolean {
    return this.input.outputBlocked();
  }

  mayHold(n: number): boolean {
    return this.heldBytes + n + this.out.backlog() <= this.limits.maxBufferPerGuest;
  }

  nextEventId(): number {
    const id = this.nextEvent;
    this.nextEvent = id >= 0xffffffff ? 1 : id + 1;
    return id;
  }

  batchWrites(socket: Writable, bytes: number): void {
    this.writes.add(socket, bytes, this.runningCall);
  }

  tracePush(handle: number, op: Op, eventId: number, bytes: number, at: number): CallStamps | undefined {
    return this.trace.push(handle, op, eventId, bytes, at);
  }

  replace(h: HostHandle): void {
    this.sockets.replace(h);
  }

  forget(handle: number): void {
    this.sockets.forget(handle);
  }

  adopt<H extends HostHandle>(make: (handle: number) => H): H | null {
    return this.state === 'open' ? this.sockets.adopt(make) : null;
  }

  whenHandleFree(fn: () => void): void {
    this.sockets.whenFree(fn);
  }

  linger(h: HostHandle): () => void {
    return this.sockets.linger(h);
  }

  // ---- CallSession ----

  startLookup(respond: Respond): boolean {
    if (this.lookups >= this.limits.maxLookups) {
      respond(fail('EAGAIN', `lookup: ${this.lookups} lookups in flight (limit ${this.limits.maxLookups})`));
      return false;
    }
    this.lookups++;
    return true;
  }

  lookupDone(): void {
    this.lookups--;
  }

  // ---- the channel ----

  /** What carries this guest's frames: its shared-memory ring once attached, else the socket. */
  get channelKind(): 'shm' | 'socket' {
    return this.input.kind;
  }

  /**
   * The guest's region and doorbell arrived on the side connection (shm-side.ts), from process `pid`.
   * Returns why they are refused (the session goes on over the socket), or null: frames now flow through
   * the rings. Takes ownership of `bell`.
   */
  attachShm(pid: number, region: Uint8Array, bell: number): string | null {
    if (this.state !== 'open') return 'the session did not negotiate shared memory';
    return this.input.attach(pid, region, bell, this.guest);
  }

  /** The guest's ring is unusable (a head or tail out of range): the session ends, told so on the socket. */
  private ringFailed(e: Error): void {
    this.opts.limitedLog.warn('guest ring corrupted', { guest: this.guest || null, error: e.message });
    this.shut('shared memory corrupted', { errno: 'EPROTO', message: e.message }, true);
  }

  /**
   * An exception out of this guest's request or one of its host sockets' events: a bug, or input nobody
   * foresaw. It ends this guest's session (its sockets closed, an EIO error and goodbye to it), never the
   * daemon; the line says where.
   */
  fault(e: unknown, where: string): void {
    const err = e instanceof Error ? e : new Error(String(e));
    this.opts.limitedLog.error('internal error: guest session ended', { guest: this.guest || null, where, error: err.message, stack: err.stack }, 'internal error');
    try {
      this.shut('internal error', { errno: 'EIO', message: `the daemon failed on ${where}; the session is closed` }, true);
    } catch (again) {
      this.log.error('internal error while closing a session', { guest: this.guest || null, error: (again as Error).message });
      this.socket.destroy();
    }
  }

  /** What a frame the wire could not carry turns into: a reply becomes an error reply, an event is dropped. */
  private unencodable(m: WireMessage, e: Error): void {
    this.opts.limitedLog.warn('frame not encodable', { guest: this.guest || null, type: m.type, handle: m.handle, error: e.message }, 'frame not encodable');
    const row = WIRE_LAYOUT[m.type];
    if (m.type === 'ok' || m.type === 'address' || m.type === 'lookupOk') {
      this.counters.errors++;
      this.out.send({ type: 'error', id: m.id, handle: m.handle, errno: 'EIO', message: `${m.type} reply not encodable: ${e.message}` });
      return;
    }
    if (m.type === 'accepted') {
      // The guest never learns of the handle: the connection is closed, as a full backlog would.
      this.sockets.get(m.newHandle)?.destroy();
      this.sockets.forget(m.newHandle);
    }
    if (row.from === 'host') this.counters.drops++;
  }

  /** Answers leave now, in the callback that read their requests; stamps are joined after the turn's writes. */
  private afterRead(): void {
    this.out.flush();
    this.trace.afterRead();
  }

  private onChannelDrain(): void {
    if (this.input.drained()) this.sockets.resumeAll();
  }

  private malformed(error: ProtocolError): void {
    this.opts.limitedLog.warn('malformed frame from guest', { guest: this.guest || null, offset: error.offset, reason: error.reason });
    this.shut('malformed frame', { errno: 'EPROTO', message: error.message }, true);
  }

  private violation(message: string): void {
    this.opts.limitedLog.warn('protocol violation by guest', { guest: this.guest || null, message });
    this.shut('protocol violation', { errno: 'EPROTO', message }, true);
  }

  private dispatch(m: WireMessage, t: number): void {
    if (this.state === 'hello') {
      if (m.type !== 'hello') return this.violation(`expected hello as the first frame, got ${m.type}`);
      return this.hello(m, t);
    }
    const row = WIRE_LAYOUT[m.type];
    if (row.op) return this.requests.run(m as SocketRequest, t);
    if (row.from === 'host') return this.violation(`${m.type} is a host-to-guest frame`);
    switch (m.type) {
      case 'credit':
        // Credit for a socket closed meanwhile is no error.
        return this.sockets.get(m.handle)?.credit(m.bytes);
      case 'stamps':
        return this.trace.stamps(m.entries);
      case 'passFd': {
        if (!this.fdPass) return this.violation('passFd without the fdPass capability');
        const r = passDescriptor(m, this.socket, this.out, this.sockets);
        if (r) this.out.send({ ...r, id: m.id, handle: m.handle } as WireMessage);
        return;
      }
      case 'clock': {
        const now = nowNs();
        this.clockProbe(m.guestTimeNs, t || now, now);
        this.out.send({ type: 'clockOk', id: m.id, handle: 0, guestTimeNs: m.guestTimeNs, hostTimeNs: now });
        return;
      }
      case 'goodbye':
        this.log.info('guest said goodbye', { guest: this.guest, reason: m.reason });
        return this.shut(`goodbye: ${m.reason}`, null, false);
      case 'hello':
        return this.violation('a second hello on an open session');
      default:
        return this.violation(`${m.type} is not a frame this daemon takes`);
    }
  }

  private hello(m: Hello, t: number): void {
    clearTimeout(this.helloTimer);
    if (m.version !== WIRE_VERSION)
      return this.shut('wrong version', { errno: 'EPROTO', message: `wire version ${m.version} is not supported: this daemon speaks version ${WIRE_VERSION}` }, false, m.id);
    const refused = this.opts.registry.claim(m.guest, this);
    if (refused) {
      const why = refused === 'EADDRINUSE' ? `a guest named '${m.guest}' is already connected` : 'the daemon serves as many guests as it may';
      this.log.warn('guest refused', { guest: m.guest, errno: refused, reason: why });
      return this.shut('refused', { errno: refused, message: why }, false, m.id);
    }
    this.guest = m.guest;
    this.state = 'open';
    this.maxPayload = Math.min(m.maxPayload, this.limits.maxFrame);
    this.out.setWindow(this.limits.maxBufferPerSocket);
    const now = nowNs();
    this.clockProbe(m.guestTimeNs, t || now, now);
    if ((m.capabilities & Capability.stamps) !== 0 && this.trace.start(this.guest, this.opts.run, this.limits.maxPendingTraces))
      this.out.setStampSink((s) => this.trace.tracer?.done(s as CallStamps));
    // Shared memory only for a guest whose process we can name (its region must come from that process);
    // passed descriptors only on a Unix-socket channel.
    const offered = HOST_CAPABILITIES | ((this.opts.shmPeerPid ?? 0) > 0 ? Capability.shm : 0) | (canPassFds(this.opts.transport) ? Capability.fdPass : 0);
    this.input.shmGranted = (offered & m.capabilities & Capability.shm) !== 0;
    this.fdPass = (offered & m.capabilities & Capability.fdPass) !== 0;
    this.out.send({
      type: 'helloOk', id: m.id, handle: 0, version: WIRE_VERSION, capabilities: offered & m.capabilities,
      maxPayload: this.maxPayload, initialCredit: this.limits.maxBufferPerSocket, hostTimeNs: now,
    });
    this.log.info('guest connected', { guest: this.guest, transport: this.opts.transport, maxPayload: this.maxPayload });
  }

  /** HELLO or a clock probe: the mapping of the guest's clock improves; the tracer maps with the best. */
  private clockProbe(guestNs: number, receivedNs: number, answeredNs: number): void {
    this.clock.probe(guestNs, receivedNs, answeredNs);
    this.trace.clockChanged();
  }

  // ---- the end ----

  /** Closes the session: optional error and goodbye to the guest, every host socket of it closed at once. */
  shut(reason: string, error: { errno: ErrnoName; message: string } | null, goodbye: boolean, errorId = 0, graceMs = END_GRACE_MS): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    clearTimeout(this.helloTimer);
    if (!this.socket.destroyed) {
      if (error) this.out.send({ type: 'error', id: errorId, handle: 0, errno: error.errno, message: error.message });
      if (goodbye) this.out.send({ type: 'goodbye', id: 0, handle: 0, reason });
      this.out.end();
      const t = setTimeout(() => this.socket.destroy(), graceMs);
      t.unref();
      this.socket.once('close', () => clearTimeout(t));
      this.socket.resume(); // read (and ignore) until the guest closes, so that its end arrives
    } else {
      this.out.abandon();
      this.input.stop();
    }
    const sockets = this.sockets.destroyAll();
    this.trace.join();
    this.writes.flush();
    this.trace.end();
    if (wasOpen) {
      this.opts.registry.release(this);
      this.log.info('guest disconnected', { guest: this.guest, reason, socketsClosed: sockets });
    }
    this.opts.onClosed(this);
  }
}
