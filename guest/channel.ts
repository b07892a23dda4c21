// A guest's channel to linsockd: HELLO, clock probes, requests (their ids and replies: pending-requests.ts),
// per-tick batched frame writing, credit grants, stage stamps (channel-stamps.ts), and the routing of pushed
// events to the sockets that own their handles. Sockets (delegated-socket.ts, ...) talk to the host only
// through it.

import { EventEmitter } from 'node:events';
import {
  Capability, DEFAULT_MAX_PAYLOAD, WIRE_VERSION,
  type Endpoint, type ErrorReply, type Family, type HostEvent, type HostReply, type WireMessage,
} from '../protocol';
import { encodeFrameParts, FrameDecoder } from '../protocol/wire-codec';
import { ChannelStamps } from './channel-stamps';
import { socketError, type SocketError } from './errors';
import { PendingRequests, type Reply } from './pending-requests';
import { SendBacklog } from './send-backlog';
import { OpenSend } from './send-frame';
import { nowNs } from './stamp-batch';
import { openTransport, describeTarget, type ChannelTarget, type ChannelTransport } from './transport';
import type { ChannelKind } from './shm-link';

export interface ChannelOptions {
  /** This guest's unique name in HELLO; the daemon refuses a second guest with the same name. */
  guest?: string;
  /** Send stage stamps when the host accepts them (default true). */
  trace?: boolean;
  /** Largest frame payload this guest accepts (default DEFAULT_MAX_PAYLOAD). */
  maxPayload?: number;
  /** Clock probes after HELLO; the one with the smallest round trip estimates the offset (default 4). */
  clockProbes?: number;
  /** How long HELLO may take (default 5000 ms). */
  helloTimeoutMs?: number;
  /** Ask for the shared-memory channel ('shm', the default where the addon is built) or keep the socket. */
  channel?: ChannelKind;
}

/** What a socket object implements to receive its handle's events from the channel. */
export interface ChannelEndpoint {
  /** `decodedNs`: when the frame was decoded (0 when not tracing), the start of a push's guest stage. */
  onEvent(m: HostEvent, decodedNs: number): void;
  onCredit(bytes: number): void;
  /** The channel is gone; the endpoint errors with `err` (ECONNRESET, saying why). */
  onChannelClosed(err: SocketError): void;
}

/** A request as a socket builds it: the channel fills in the id. */
export type Request = WireMessage extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

export interface ClockEstimate {
  /** host time minus guest time, ns, from the probe with the smallest round trip. */
  offsetNs: number;
  rttNs: number;
}

let guestCounter = 0;

export class Channel extends EventEmitter {
  readonly description: string;
  readonly guest: string;
  /** Resolves after HELLO (and the clock probes); rejects with why the channel could not be set up. */
  readonly ready: Promise<void>;
  maxPayload = DEFAULT_MAX_PAYLOAD;
  /** Bytes this guest may have unacknowledged per socket (helloOk.initialCredit). */
  initialCredit = 0;
  hostCapabilities = 0;
  /** True when stamps are sent: the guest wants tracing and the host announced Capability.stamps. */
  tracing = false;
  clock: ClockEstimate | null = null;

  private readonly transport: ChannelTransport;
  private readonly decoder: FrameDecoder;
  private readonly wantTrace: boolean;
  private readonly pending = new PendingRequests();
  private readonly endpoints = new Map<number, ChannelEndpoint>();
  private out: Uint8Array[] = [];
  /** The send frame still open for more data of the same socket in this tick (see send()). */
  private openSend: OpenSend | null = null;
  private credits = new Map<number, number>();
  private readonly backlog: SendBacklog;
  private flushScheduled = false;
  private readonly stamps = new ChannelStamps(() => {
    if (this.closedError) return;
    this.stamps.pushTo(this.out);
    this.flush();
  });
  private closedError: SocketError | null = null;
  private goodbyeReason: string | null = null;
  private closingByGuest = false;
  private refs = 0;
  private refState = true;

  constructor(target: ChannelTarget, options: ChannelOptions = {}) {
    super();
    this.description = describeTarget(target);
    this.guest = options.guest ?? `guest-${process.pid}-${++guestCounter}`;
    this.wantTrace = options.trace ?? true;
    const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    // Pushed data in pieces, as it is read: TCP bytes are a stream, and joining the daemon's frames (larger
    // than a read) would copy every received byte once more.
    this.decoder = new FrameDecoder({ maxPayload, pieces: true });
    this.transport = openTransport(target, options.channel);
    this.backlog = new SendBacklog(() => this.transport.queued());
    this.transport.onData((chunk) => this.receive(chunk));
    this.transport.onClose((err) => this.transportClosed(err));
    this.transport.onDrain(() => this.releaseWriters());
    this.ready = this.handshake(maxPayload, options.clockProbes ?? 4, options.helloTimeoutMs ?? 5000);
    this.ready.catch(() => undefined);
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  /** What carries this channel's frames: shared memory (after HELLO, when the daemon granted it) or the socket. */
  get kind(): ChannelKind {
    return this.transport.kind();
  }

  /** Why an offered shared-memory channel was not set up after the daemon granted it, or null. */
  shmProblem: string | null = null;

  /** The channel socket's kernel send buffer in bytes, or why it kept the kernel's default (null: a device). */
  get sendBuffer(): number | string | null {
    return this.transport.sendBuffer();
  }

  // ---- requests ----

  /** Sends a request and resolves with its reply; an `error` reply rejects with a Node-style error. */
  request<T extends HostReply['type']>(msg: Request, expect: T, syscall: string, where?: { address?: string; port?: number }): Promise<Reply<T>> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.pending.allocId();
    const enter = this.tracing ? nowNs() : 0;
    return new Promise<Reply<T>>((resolve, reject) => {
      this.stamps.request(this.pending.add(id, expect, { resolve, reject, syscall, enter, where }));
      this.updateRef();
      this.queue({ ...msg, id } as WireMessage);
    });
  }

  /** A frame that needs no reply (close, shutdown-less housekeeping); returns its id. */
  post(msg: Request): number {
    if (this.closedError) return 0;
    const id = this.pending.allocId();
    this.queue({ ...msg, id } as WireMessage);
    return id;
  }

  /** True while more send data waits for the kernel than SEND_BACKLOG_BYTES (send-backlog.ts): writers should wait. */
  congested(): boolean {
    return this.backlog.congested();
  }

  /** Calls `fn` once the channel is no longer congested (or is closed). */
  whenWritable(fn: () => void): void {
    this.backlog.whenWritable(fn);
  }

  private releaseWriters(): void {
    this.backlog.release(this.closedError !== null);
  }

  /**
   * A pipelined send (noReply): errors come back as socketError on the handle. Returns the id of the frame
   * that carries `data` (for stampCall), 0 when the channel is closed.
   */
  send(handle: number, data: Uint8Array): number {
    if (this.closedError) return 0;
    this.backlog.add(data.byteLength);
    // Writes of one socket in one tick become one frame (send-frame.ts).
    const open = this.openSend;
    if (open?.join(handle, data, this.maxPayload)) return open.id;
    this.sealSend();
    const id = this.pending.allocId();
    // The frame's entry; the application calls that end in it fill it in (stampCall). Left as it is (return
    // 0), it says the frame holds only part of a call.
    if (this.tracing) this.stamps.sendFrame(id);
    this.openSend = new OpenSend(id, handle, data);
    this.scheduleFlush();
    return id;
  }

  /**
   * An application call (a socket write) that ended in pipelined send frame `id`: entered at `enter`,
   * returned to the application at `ret`. Each gets a stamp entry of the frame's id, so the host counts the
   * application calls a frame carried and the time the application spent in them.
   */
  stampCall(id: number, enter: number, ret: number): void {
    if (this.tracing && id !== 0) this.stamps.call(id, enter, ret);
  }

  /** Queues the open send frame: its header (for the whole length), then its data parts. */
  private sealSend(): void {
    const open = this.openSend;
    if (!open) return;
    this.openSend = null;
    for (const p of open.frameParts()) this.out.push(p);
  }

  sendTo(handle: number, remote: Endpoint, data: Uint8Array): void {
    if (this.closedError) return;
    const id = this.pending.allocId();
    const enter = this.tracing ? nowNs() : 0;
    this.queue({ type: 'sendto', id, handle, noReply: true, remote, data });
    // One application call, one frame: it returns now.
    if (enter) this.stamps.oneCallFrame(id, enter);
  }

  /**
   * A pipelined vectored send (sendmsg): `buffers` leave uncopied, as parts of one frame, and the host sends
   * them as one datagram (UDP, to `remote` when given) or one write (TCP). Errors come back as socketError.
   */
  sendMsg(handle: number, remote: Endpoint | null, buffers: Uint8Array[]): void {
    if (this.closedError) return;
    const id = this.pending.allocId();
    const enter = this.tracing ? nowNs() : 0;
    this.queue({ type: 'sendmsg', id, handle, noReply: true, remote, buffers });
    if (enter) this.stamps.oneCallFrame(id, enter);
  }

  /** Gives the host `bytes` more receive credit on `handle`; grants of one tick leave as one frame. */
  grantCredit(handle: number, bytes: number): void {
    if (bytes <= 0 || this.closedError) return;
    this.credits.set(handle, (this.credits.get(handle) ?? 0) + bytes);
    this.scheduleFlush();
  }

  /** Records the delivery of pushed data (event id) to the application, for tracing. */
  stampDelivery(eventId: number, decodedNs: number): void {
    if (this.tracing) this.stamps.delivery(eventId, decodedNs);
  }

  lookup(hostname: string, family: 0 | Family = 0): Promise<Endpoint[]> {
    return this.ready
      .then(() => this.request({ type: 'lookup', handle: 0, hostname, family }, 'lookupOk', 'getaddrinfo'))
      .then((r) => r.addresses);
  }

  // ---- endpoints and process lifetime ----

  attach(handle: number, endpoint: ChannelEndpoint): void {
    this.endpoints.set(handle, endpoint);
  }

  detach(handle: number): void {
    this.endpoints.delete(handle);
    this.credits.delete(handle);
  }

  /** An open, ref'd socket keeps the process alive, as a net.Socket does; an idle channel does not. */
  retain(): void {
    this.refs++;
    this.updateRef();
  }

  release(): void {
    this.refs = Math.max(0, this.refs - 1);
    this.updateRef();
  }

  /**
   * Pauses or resumes stamping on a channel whose host accepted stamps at HELLO (without that, tracing stays
   * off). Stamps already taken still go to the host. `linsock bench --trace alternate` turns it in phases
   * with the daemon's sink, to measure what tracing costs within one run.
   */
  setTracing(on: boolean): void {
    if (this.closedError || !this.wantTrace || (this.hostCapabilities & Capability.stamps) === 0) return;
    if (this.tracing && !on) {
      this.flush(); // calls queued this tick are stamped while tracing is still on
      this.stamps.pushTo(this.out);
      this.scheduleFlush();
    }
    this.tracing = on;
  }

  /** Says goodbye and closes; open sockets error with ECONNRESET. */
  close(reason = 'closed by the guest'): Promise<void> {
    if (this.closedError) return Promise.resolve();
    this.closingByGuest = true;
    this.goodbyeReason = reason;
    this.flush();
    if (this.tracing) this.stamps.pushTo(this.out); // the last calls' stamps go before the goodbye
    this.queue({ type: 'goodbye', id: 0, handle: 0, reason });
    this.flush();
    // Whoever awaits the close keeps the process alive until the daemon has closed its end.
    this.transport.setRef(true);
    return new Promise((resolve) => {
      this.once('close', () => resolve());
      this.transport.end();
    });
  }

  // ---- internals ----

  private async handshake(maxPayload: number, probes: number, timeoutMs: number): Promise<void> {
    const timer = setTimeout(() => this.fail(`no answer to HELLO within ${timeoutMs} ms`), timeoutMs);
    try {
      await this.transport.opened;
      const caps = Capability.pushData | (this.wantTrace ? Capability.stamps : 0) | this.transport.shmOffer();
      const ok = await this.request({ type: 'hello', handle: 0, version: WIRE_VERSION, guest: this.guest, capabilities: caps, maxPayload, guestTimeNs: nowNs() }, 'helloOk', 'hello');
      this.maxPayload = Math.min(maxPayload, ok.maxPayload);
      this.initialCredit = ok.initialCredit;
      this.hostCapabilities = ok.capabilities;
      this.tracing = this.wantTrace && (ok.capabilities & Capability.stamps) !== 0;
      // Granted: every frame from here on goes through the rings (the clock probes are the first).
      if ((ok.capabilities & Capability.shm) !== 0) this.shmProblem = this.transport.startShm(this.guest);
      for (let i = 0; i < probes; i++) {
        const sent = nowNs();
        const r = await this.request({ type: 'clock', handle: 0, guestTimeNs: sent }, 'clockOk', 'clock');
        const rtt = nowNs() - sent;
        if (!this.clock || rtt < this.clock.rttNs) this.clock = { offsetNs: r.hostTimeNs - (sent + rtt / 2), rttNs: rtt };
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? `${e.code}: is linsockd running?` : e.message;
      this.fail(`could not open: ${why}`);
      throw this.closedError ?? err;
    } finally {
      clearTimeout(timer);
      this.updateRef();
    }
  }

  private queue(m: WireMessage): void {
    this.sealSend();
    const parts = encodeFrameParts(m);
    for (const p of parts) this.out.push(p);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => this.flush());
  }

  /** Writes everything queued in this tick as one batch; stamps ride along when they are due. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.closedError) return;
    this.sealSend();
    for (const [handle, bytes] of this.credits) for (const p of encodeFrameParts({ type: 'credit', id: 0, handle, bytes })) this.out.push(p);
    this.credits.clear();
    this.stamps.flushing(this.out, this.tracing);
    if (this.out.length === 0) return;
    const batch = this.out;
    this.out = [];
    this.backlog.handedOver();
    this.transport.write(batch);
    this.releaseWriters();
  }

  private receive(chunk: Buffer): void {
    // Reply in: when the bytes were read, before decoding them.
    const t = this.tracing ? nowNs() : 0;
    const { messages, error } = this.decoder.push(chunk);
    for (const m of messages) this.dispatch(m, t);
    if (error) {
      this.transport.destroy();
      this.fail(`the host sent a malformed frame: ${error.message}`);
    }
  }

  private dispatch(m: WireMessage, decodedNs: number): void {
    switch (m.type) {
      case 'ok': case 'helloOk': case 'clockOk': case 'address': case 'lookupOk': case 'error': {
        const p = this.pending.take(m.id);
        if (!p) {
          if (m.type === 'error') this.unmatchedError(m);
          return;
        }
        // A refused HELLO is the reason this channel ends, whatever the pipe reports after it (the daemon
        // closes at once: a write of ours may fail with EPIPE, or a read with ECONNRESET, before the
        // handshake's rejection is handled).
        if (m.type === 'error' && p.syscall === 'hello') this.goodbyeReason ??= `could not open: ${socketError(m.errno, 'hello', m.message).message}`;
        if (this.tracing && p.enter) this.stamps.reply(m.id, p.enter, p.channelOut || p.enter, decodedNs);
        this.updateRef();
        p.resolve(m);
        return;
      }
      case 'data': case 'datagram': case 'accepted': case 'peerClosed': case 'socketError': case 'closed':
        this.endpoints.get(m.handle)?.onEvent(m, decodedNs);
        return;
      case 'credit':
        this.endpoints.get(m.handle)?.onCredit(m.bytes);
        return;
      case 'goodbye':
        this.goodbyeReason = m.reason || 'the daemon said goodbye';
        return;
      default:
        this.transport.destroy();
        this.fail(`the host sent a ${m.type} frame, which only a guest may send`);
    }
  }

  /** An error for no pending request: a channel-level error (id 0) or a pipelined send's failure. */
  private unmatchedError(m: ErrorReply): void {
    if (m.id === 0) {
      this.goodbyeReason = `the daemon reported ${m.errno}: ${m.message}`;
      return;
    }
    this.endpoints.get(m.handle)?.onEvent({ type: 'socketError', id: m.id, handle: m.handle, errno: m.errno, message: m.message }, 0);
  }

  private transportClosed(err: Error | null): void {
    const why = this.goodbyeReason ?? (err ? err.message : 'the daemon closed the connection');
    this.fail(why);
  }

  private fail(reason: string): void {
    if (this.closedError) return;
    const err = socketError('ECONNRESET', 'read', '');
    err.message = `linsock channel to ${this.description} closed: ${reason}`;
    this.closedError = err;
    this.stamps.stop();
    this.transport.destroy();
    this.pending.rejectAll(err);
    const endpoints = [...this.endpoints.values()];
    this.endpoints.clear();
    for (const e of endpoints) e.onChannelClosed(err);
    this.releaseWriters();
    if (!this.closingByGuest && this.listenerCount('error') > 0) this.emit('error', err);
    this.emit('close', err);
  }

  private updateRef(): void {
    const want = this.refs > 0 || this.pending.size > 0;
    if (want === this.refState) return;
    this.refState = want;
    this.transport.setRef(want);
  }
}
