// One guest's session on the channel: the HELLO handshake, decoding its frames, dispatching its requests
// to its own host sockets (its handle table is all it can name), answering, and tearing everything down
// at once when the guest leaves, vanishes or sends a malformed frame.
import { lookup } from 'node:dns';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import {
  Capability, MAX_LOOKUP_ADDRESSES, WIRE_VERSION,
  type ErrnoName, type GuestInfo, type GuestRequest, type Hello, type Op, type Send, type StampEntry, type WireMessage,
} from '../protocol';
import { FrameDecoder, type ProtocolError } from '../protocol/wire-codec';
import { CallTracer } from './call-trace';
import { ChannelOut } from './channel-out';
import { BULK_BYTES, type BusyPoll } from './busy-poll';
import { nowNs } from './clock';
import { HostCall } from './host-call';
import { fail, OK, type Counters, type HostHandle, type ReplyBody, type Respond, type SessionContext } from './host-handle';
import type { Limits } from './limits';
import type { Logger } from './log';
import type { Policy } from './policy';
import type { ShortcutTable } from './shortcut-table';
import { FreshTcp } from './tcp-fresh';
import type { TraceSink } from './trace-sink';
import { UdpSocket } from './udp-socket';

/** Names guests hold while connected; a second guest with a taken name is refused. */
export interface GuestRegistry {
  claim(name: string, s: GuestSession): ErrnoName | null;
  release(s: GuestSession): void;
}

export interface SessionOptions {
  transport: GuestInfo['transport'];
  limits: Limits;
  policy: Policy;
  log: Logger;
  sink: TraceSink;
  run: string;
  counters: Counters;
  registry: GuestRegistry;
  /** Guest listeners of the whole daemon, for the same-host shortcut; null when it is off. */
  shortcuts: ShortcutTable | null;
  /** Keeps the daemon polling for a while after each chunk of guest frames. */
  busyPoll: BusyPoll;
  onClosed(s: GuestSession): void;
}

const HOST_CAPABILITIES = Capability.stamps | Capability.pushData;
const HELLO_TIMEOUT_MS = 10_000;
/** How long a closed channel may take to flush its last frames before it is cut. */
const END_GRACE_MS = 1000;

/** Guest clocks within this distance of ours count as the same clock (one host; only the channel delay differs). */
const SAME_CLOCK_NS = 5_000_000;

const OP_OF: Partial<Record<GuestRequest['type'], Op>> = {
  socket: 'socket', connect: 'connect', bind: 'bind', listen: 'listen', send: 'send', shutdown: 'shutdown',
  close: 'close', sendto: 'sendto', lookup: 'lookup', setsockopt: 'setsockopt', getsockopt: 'getsockopt',
  getsockname: 'getsockname', getpeername: 'getpeername',
};

export class GuestSession implements SessionContext {
  guest = '';
  readonly out: ChannelOut;
  readonly limits: Limits;
  readonly policy: Policy;
  readonly log: Logger;
  readonly counters: Counters;
  maxPayload: number;
  heldBytes = 0;
  readonly connectedNs = nowNs();
  private state: 'hello' | 'open' | 'closed' = 'hello';
  private readonly decoder: FrameDecoder;
  private readonly table = new Map<number, HostHandle>();
  private readonly lingering = new Set<HostHandle>();
  private readonly handleWaiters: (() => void)[] = [];
  private nextHandle = 1;
  private nextEvent = 1;
  private lookups = 0;
  private blocked = false;
  private readPaused = false;
  private tracer: CallTracer | null = null;
  /** Guest stamps of this read, joined once its writes have left (joinStamps). */
  private stampsIn: StampEntry[][] = [];
  private joinScheduled = false;
  /** The send frame whose data is arriving in pieces (see sendPiece). */
  private piece: { respond: Respond; bytes: number; failed: ReplyBody | null } | null = null;
  /**
   * Host sockets written to in this turn of the event loop, corked until its end (setImmediate): the sends
   * of every chunk read from the channel in one wake-up (up to 32 reads of 64 KiB) leave as one writev per
   * socket, instead of a write per piece. An answer waits for it no longer than the loop turn.
   */
  private readonly corked: Writable[] = [];
  private uncorkScheduled = false;
  private readonly joinStamps = (): void => {
    this.joinScheduled = false;
    const batches = this.stampsIn;
    this.stampsIn = [];
    for (const entries of batches) this.tracer?.stamps(entries);
  };
  private readonly uncorkAll = (): void => {
    this.uncorkScheduled = false;
    for (const s of this.corked) s.uncork();
    this.corked.length = 0;
  };
  private minClockDelta = Infinity;
  /** Smallest time from an answer to HELLO or a clock probe until the guest's next frame: a round trip. */
  private minRttNs = Infinity;
  private answeredAt = 0;
  private readonly helloTimer: NodeJS.Timeout;

  constructor(private readonly socket: Socket, private readonly opts: SessionOptions) {
    this.limits = opts.limits;
    this.policy = opts.policy;
    this.log = opts.log;
    this.counters = opts.counters;
    this.maxPayload = opts.limits.maxFrame;
    // Sends in pieces: a stream's frames are larger than a read of the channel, and joining them would copy
    // every byte once more before the host socket copies it again.
    this.decoder = new FrameDecoder({ maxPayload: opts.limits.maxFrame, pieces: true });
    const highWater = Math.max(2 * opts.limits.maxFrame, Math.min(4 * 1024 * 1024, Math.floor(opts.limits.maxBufferPerGuest / 4)));
    this.out = new ChannelOut(socket, highWater, () => this.onChannelDrain(), () => opts.busyPoll.bulk(nowNs()));
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onChunk(chunk));
    socket.on('error', (err) => this.log.debug('guest channel error', { guest: this.guest, error: err.message }));
    socket.on('close', () => this.shut('channel closed', null, false));
    // The channel is half-open (allowHalfOpen): a guest that vanished while the daemon had nothing to write
    // would otherwise never produce 'close'. A guest never half-closes its channel on purpose.
    socket.on('end', () => this.shut('channel ended by the guest', null, false));
    this.helloTimer = setTimeout(() => this.shut('no hello', { errno: 'EPROTO', message: `expected hello within ${HELLO_TIMEOUT_MS} ms` }, true), HELLO_TIMEOUT_MS);
    this.helloTimer.unref();
  }

  get shortcuts(): ShortcutTable | null {
    return this.opts.shortcuts;
  }

  get tracing(): boolean {
    return this.tracer !== null && this.opts.sink.enabled;
  }

  get transport(): GuestInfo['transport'] {
    return this.opts.transport;
  }

  isClosed(): boolean {
    return this.state === 'closed';
  }

  get socketCount(): number {
    return this.table.size + this.lingering.size;
  }

  info(): GuestInfo {
    return { name: this.guest, transport: this.opts.transport, connectedNs: this.connectedNs, sockets: [...this.table.values()].map((h) => h.info()) };
  }

  // ---- SessionContext ----

  outputBlocked(): boolean {
    if (this.out.backedUp()) {
      this.blocked = true;
      return true;
    }
    return false;
  }

  mayHold(n: number): boolean {
    return this.heldBytes + n + this.out.backlog() <= this.limits.maxBufferPerGuest;
  }

  nextEventId(): number {
    const id = this.nextEvent;
    this.nextEvent = id >= 0xffffffff ? 1 : id + 1;
    return id;
  }

  batchWrites(socket: Writable): void {
    if (socket.writableCorked > 0) return;
    socket.cork();
    this.corked.push(socket);
    if (!this.uncorkScheduled) {
      this.uncorkScheduled = true;
      setImmediate(this.uncorkAll);
    }
  }

  tracePush(handle: number, op: Op, eventId: number, bytes: number, at: number): HostCall | undefined {
    if (!this.tracer || !this.opts.sink.enabled) return undefined;
    const t = at || nowNs();
    const c = new HostCall(eventId, handle, op, true, 0, t);
    c.execEnd = t;
    c.bytes = bytes;
    return c;
  }

  replace(h: HostHandle): void {
    if (this.table.has(h.handle)) this.table.set(h.handle, h);
    else h.destroy(); // closed while its connect/listen was being set up
  }

  forget(handle: number): void {
    if (this.table.delete(handle)) this.handleFreed();
  }

  adopt<H extends HostHandle>(make: (handle: number) => H): H | null {
    if (this.state !== 'open' || this.socketCount >= this.limits.maxSockets || this.nextHandle > 0xffffffff) return null;
    const h = make(this.nextHandle++);
    this.table.set(h.handle, h);
    return h;
  }

  whenHandleFree(fn: () => void): void {
    this.handleWaiters.push(fn);
  }

  linger(h: HostHandle): () => void {
    this.lingering.add(h);
    return () => {
      if (this.lingering.delete(h)) this.handleFreed();
    };
  }

  private handleFreed(): void {
    const fn = this.handleWaiters.shift();
    if (fn) fn();
  }

  // ---- the channel ----

  private onChunk(chunk: Buffer): void {
    if (this.state === 'closed') return;
    const now = nowNs();
    const t = this.opts.sink.enabled ? now : 0;
    if (chunk.length >= BULK_BYTES) this.opts.busyPoll.bulk(now);
    else this.opts.busyPoll.touch(now);
    const { messages, error } = this.decoder.push(chunk);
    for (const m of messages) {
      if (this.isClosed()) break;
      this.dispatch(m, t);
    }
    if (this.isClosed()) return;
    // Answers leave now, in the callback that read their requests.
    this.out.flush();
    // Tracing stays off the data path: records are built after this turn's host writes (batchWrites) left.
    if (this.stampsIn.length > 0 && !this.joinScheduled) {
      this.joinScheduled = true;
      setImmediate(this.joinStamps);
    }
    if (error) return this.malformed(error);
    if (!this.readPaused && this.outputBlocked()) {
      // The guest is not reading what we send: stop reading its requests until it does.
      this.readPaused = true;
      this.socket.pause();
    }
  }

  private onChannelDrain(): void {
    if (!this.blocked || this.state === 'closed' || this.out.backedUp()) return;
    this.blocked = false;
    if (this.readPaused) {
      this.readPaused = false;
      this.socket.resume();
    }
    for (const h of this.table.values()) h.resume();
  }

  private malformed(error: ProtocolError): void {
    this.log.warn('malformed frame from guest', { guest: this.guest || null, offset: error.offset, reason: error.reason });
    this.shut('malformed frame', { errno: 'EPROTO', message: error.message }, true);
  }

  private violation(message: string): void {
    this.log.warn('protocol violation by guest', { guest: this.guest || null, message });
    this.shut('protocol violation', { errno: 'EPROTO', message }, true);
  }

  private dispatch(m: WireMessage, t: number): void {
    if (this.state === 'hello') {
      if (m.type !== 'hello') return this.violation(`expected hello as the first frame, got ${m.type}`);
      return this.hello(m, t);
    }
    if (this.answeredAt !== 0) {
      // The guest's first frame after our helloOk or clockOk bounds the round trip from above.
      const rtt = (t || nowNs()) - this.answeredAt;
      if (rtt >= 0 && rtt < this.minRttNs) this.minRttNs = rtt;
      this.answeredAt = 0;
    }
    switch (m.type) {
      case 'credit': {
        const h = this.table.get(m.handle);
        if (h) h.credit(m.bytes); // credit for a socket closed meanwhile is no error
        return;
      }
      case 'stamps':
        // While tracing is paused (the sink is off) the calls have no host half to join: drop the stamps.
        if (this.opts.sink.enabled && this.tracer) this.stampsIn.push(m.entries);
        return;
      case 'clock': {
        const now = nowNs();
        this.clockSample(now, m.guestTimeNs);
        this.out.send({ type: 'clockOk', id: m.id, handle: 0, guestTimeNs: m.guestTimeNs, hostTimeNs: now });
        this.answeredAt = now;
        return;
      }
      case 'goodbye':
        this.log.info('guest said goodbye', { guest: this.guest, reason: m.reason });
        return this.shut(`goodbye: ${m.reason}`, null, false);
      case 'hello':
        return this.violation('a second hello on an open session');
      case 'socket': case 'connect': case 'bind': case 'listen': case 'send': case 'shutdown': case 'close':
      case 'sendto': case 'lookup': case 'setsockopt': case 'getsockopt': case 'getsockname': case 'getpeername':
        return this.request(m, t);
      default:
        return this.violation(`${m.type} is a host-to-guest frame`);
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
    this.clockSample(t || now, m.guestTimeNs);
    if (this.opts.sink.enabled && (m.capabilities & Capability.stamps) !== 0) {
      this.tracer = new CallTracer(this.opts.sink, this.guest, this.opts.run, this.limits.maxPendingTraces);
      this.out.setStampSink((s) => this.tracer?.done(s as HostCall));
      this.applyClockOffset();
    }
    this.out.send({
      type: 'helloOk', id: m.id, handle: 0, version: WIRE_VERSION, capabilities: HOST_CAPABILITIES & m.capabilities,
      maxPayload: this.maxPayload, initialCredit: this.limits.maxBufferPerSocket, hostTimeNs: now,
    });
    this.answeredAt = now;
    this.log.info('guest connected', { guest: this.guest, transport: this.opts.transport, maxPayload: this.maxPayload });
  }

  /**
   * One (host receive, guest send) pair. The smallest difference bounds the offset from above by the
   * one-way delay; a guest on this host's clock lands within SAME_CLOCK_NS and is left unmapped.
   */
  private clockSample(hostNs: number, guestNs: number): void {
    const d = hostNs - guestNs;
    if (d < this.minClockDelta) this.minClockDelta = d;
    this.applyClockOffset();
  }

  /** The offset added to the guest's stamps: 0 for a guest on this host's clock. */
  get clockOffsetNs(): number {
    const d = this.minClockDelta;
    return !Number.isFinite(d) || (d >= 0 && d < SAME_CLOCK_NS) ? 0 : d;
  }

  /**
   * The estimated error of this guest's stamps on the host's clock, in ns: 0 for a guest on this host's
   * clock; for a mapped guest, the smallest round trip seen (the offset is off by at most the one-way
   * delay of the sample it came from); null when no round trip was seen yet.
   */
  get clockErrorNs(): number | null {
    if (this.clockOffsetNs === 0 && Number.isFinite(this.minClockDelta)) return 0;
    return Number.isFinite(this.minRttNs) ? Math.round(this.minRttNs) : null;
  }

  private applyClockOffset(): void {
    if (this.tracer) this.tracer.offsetNs = this.clockOffsetNs;
  }

  // ---- requests ----

  private request(m: GuestRequest, t: number): void {
    if (m.type === 'send' && m.more !== undefined) return this.sendPiece(m, t);
    this.counters.calls++;
    const call = this.tracer && this.opts.sink.enabled ? new HostCall(m.id, m.handle, OP_OF[m.type] as Op, false, t, nowNs()) : undefined;
    if (call && (m.type === 'send' || m.type === 'sendto')) call.noReply = m.noReply;
    const respond = this.responder(m, call);
    switch (m.type) {
      case 'socket':
        return this.newSocket(m.family, m.kind, respond);
      case 'lookup':
        return this.lookup(m.hostname, m.family, respond);
      default:
        break;
    }
    const h = this.table.get(m.handle);
    if (!h) return respond(fail('EBADF', `${m.type}: handle ${m.handle} is not an open socket of this guest`));
    switch (m.type) {
      case 'connect': return h.connect(m.remote, respond);
      case 'bind': return h.bind(m.local, respond);
      case 'listen': return h.listen(m.backlog, respond);
      case 'send': return h.send(m.data, m.noReply, respond);
      case 'sendto': return h.sendto(m.remote, m.data, m.noReply, respond);
      case 'shutdown': return h.shutdown(m.how, respond);
      case 'setsockopt': return h.setsockopt(m.option, m.value, respond);
      case 'getsockopt': return h.getsockopt(m.option, respond);
      case 'getsockname': return h.getsockname(respond);
      case 'getpeername': return h.getpeername(respond);
      case 'close':
        this.table.delete(m.handle);
        h.close();
        respond(OK);
        return this.handleFreed();
      default:
        return respond(fail('EINVAL', `${m.type} is not a socket request`));
    }
  }

  /**
   * One piece of a send frame longer than the reads so far (FrameDecoderOptions.pieces): written to the host
   * socket as it comes, one call for the whole frame. Its pieces arrive back to back; after a failed piece
   * the rest are dropped, and the frame's answer is that failure.
   */
  private sendPiece(m: Send, t: number): void {
    let p = this.piece;
    if (!p) {
      this.counters.calls++;
      const call = this.tracer && this.opts.sink.enabled ? new HostCall(m.id, m.handle, 'send', false, t, nowNs()) : undefined;
      if (call) call.noReply = m.noReply;
      p = this.piece = { respond: this.responder(m, call), bytes: 0, failed: null };
    }
    const piece = p;
    if (!piece.failed) {
      const h = this.table.get(m.handle);
      if (!h) piece.failed = fail('EBADF', `send: handle ${m.handle} is not an open socket of this guest`);
      else h.send(m.data, m.noReply, (r, n) => {
        if (r.type === 'error') piece.failed = r;
        else piece.bytes += n ?? 0;
      });
    }
    if (m.more) return;
    this.piece = null;
    piece.respond(piece.failed ?? { type: 'ok', value: piece.bytes }, piece.bytes);
  }

  private responder(m: GuestRequest, call: HostCall | undefined): Respond {
    const noReply = (m.type === 'send' || m.type === 'sendto') && m.noReply;
    return (r: ReplyBody, bytes?: number) => {
      if (r.type === 'error') this.counters.errors++;
      if (call) {
        call.execEnd = nowNs();
        call.bytes = bytes ?? 0;
        call.result = r.type === 'error' ? r.errno : 'ok';
        if (m.type === 'socket' && r.type === 'ok') call.handle = r.value;
      }
      if (this.state === 'closed') return;
      if (noReply) {
        if (r.type === 'error') this.out.send({ type: 'socketError', id: m.id, handle: m.handle, errno: r.errno, message: r.message });
        if (call) this.tracer?.done(call);
        return;
      }
      const reply: WireMessage = r.type === 'ok' ? { type: 'ok', id: m.id, handle: m.handle, value: r.value } : { ...r, id: m.id, handle: m.handle };
      this.out.send(reply, call);
    };
  }

  private newSocket(family: 4 | 6, kind: 'tcp' | 'udp', respond: Respond): void {
    const h = this.adopt((handle) => (kind === 'tcp' ? new FreshTcp(handle, this, family) : new UdpSocket(handle, this, family)));
    if (!h) return respond(fail('EMFILE', `socket: the guest has ${this.socketCount} sockets open (limit ${this.limits.maxSockets})`));
    respond({ type: 'ok', value: h.handle });
  }

  private lookup(hostname: string, family: 0 | 4 | 6, respond: Respond): void {
    if (this.lookups >= this.limits.maxLookups) return respond(fail('EAGAIN', `lookup: ${this.lookups} lookups in flight (limit ${this.limits.maxLookups})`));
    this.lookups++;
    lookup(hostname, { all: true, family }, (err, addresses) => {
      this.lookups--;
      if (err) return respond(fail(err.code === 'ENOTFOUND' || err.code === 'ENODATA' ? 'ENOTFOUND' : err.code === 'EAI_AGAIN' ? 'EAI_AGAIN' : 'ENOTFOUND', `lookup ${hostname}: ${err.code ?? 'failed'}`));
      respond({
        type: 'lookupOk',
        addresses: addresses.slice(0, MAX_LOOKUP_ADDRESSES).map((a) => ({ family: a.family === 6 ? 6 : 4, address: a.address, port: 0 })),
      });
    });
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
    } else this.out.abandon();
    const sockets = this.table.size + this.lingering.size;
    for (const h of this.table.values()) h.destroy();
    for (const h of this.lingering) h.destroy();
    this.table.clear();
    this.lingering.clear();
    this.handleWaiters.length = 0;
    this.joinStamps();
    this.tracer?.flush();
    this.tracer = null;
    if (wasOpen) {
      this.opts.registry.release(this);
      this.log.info('guest disconnected', { guest: this.guest, reason, socketsClosed: sockets });
    }
    this.opts.onClosed(this);
  }
}
