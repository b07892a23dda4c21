// What every guest-visible host socket offers the guest session, and the answers for operations that a
// kind of socket does not support (errno names as a socket programmer would get them from the kernel).
import type { Writable } from 'node:stream';
import type { Endpoint, ErrnoName, SockOpt, SocketInfo } from '../protocol';
import type { Op } from '../protocol';
import type { ChannelOut } from './channel-out';
import type { HostCall } from './host-call';
import type { Limits } from './limits';
import type { Logger } from './log';
import type { Policy } from './policy';
import type { ShortcutTable } from './shortcut-table';

export type ReplyBody =
  | { type: 'ok'; value: number }
  | { type: 'address'; endpoint: Endpoint }
  | { type: 'lookupOk'; addresses: Endpoint[] }
  | { type: 'error'; errno: ErrnoName; message: string };

/** Answers one request; `bytes` is what the trace record counts (data moved). */
export type Respond = (r: ReplyBody, bytes?: number) => void;

export const fail = (errno: ErrnoName, message: string): ReplyBody => ({ type: 'error', errno, message });
export const OK: ReplyBody = { type: 'ok', value: 0 };

/** See unpinned(). */
const PIN_COPY_BYTES = 16 * 1024;

/**
 * Send data a handle may keep (queued behind a backed-up peer) is a view of the channel read it came in;
 * a small view would keep the whole read alive, and a guest could pin 64 KiB of daemon memory per byte of
 * its send credit. Data under 16 KiB in a buffer at least four times its size is copied; larger data stays
 * a view, pinning at most four times the bytes the credit counts.
 */
export function unpinned(data: Uint8Array): Uint8Array {
  return data.byteLength < PIN_COPY_BYTES && data.buffer.byteLength > 4 * data.byteLength ? Buffer.from(data) : data;
}

/** Counters a session keeps for the whole daemon's status. */
export interface Counters {
  calls: number;
  bytes: number;
  errors: number;
  drops: number;
}

/** What a host socket needs from the guest session that owns it. */
export interface SessionContext {
  readonly guest: string;
  readonly out: ChannelOut;
  readonly limits: Limits;
  readonly policy: Policy;
  readonly log: Logger;
  readonly counters: Counters;
  /** Listeners of this daemon's guests, for the same-host shortcut; null when the shortcut is off. */
  readonly shortcuts: ShortcutTable | null;
  /** Whether this guest's calls are traced (stamps worth taking). */
  readonly tracing: boolean;
  /** Negotiated largest payload of a frame to the guest. */
  readonly maxPayload: number;
  /** Bytes of sends handed to host sockets and not yet written, plus received bytes held back, for this guest. */
  heldBytes: number;
  /** True while the guest's channel is backed up: host sockets stop reading until it drains. */
  outputBlocked(): boolean;
  /** Whether `n` more bytes may be held for this guest within maxBufferPerGuest. */
  mayHold(n: number): boolean;
  nextEventId(): number;
  /** Corks `socket` until the end of this event-loop turn: the sends of all chunks read in it leave as one writev. */
  batchWrites(socket: Writable): void;
  /** Host stamps for a pushed event when tracing is on, else undefined. */
  tracePush(handle: number, op: Op, eventId: number, bytes: number, at: number): HostCall | undefined;
  /** Replaces the object behind a handle (a fresh TCP socket that connected or listens). */
  replace(h: HostHandle): void;
  /** A host socket that closed on its own (reset, error): the handle is gone; `closed` was sent. */
  forget(handle: number): void;
  /** Gives an accepted host connection a handle, or null when the guest is at its socket limit. */
  adopt<H extends HostHandle>(make: (handle: number) => H): H | null;
  /** Calls `fn` once when a handle is freed (a listener waiting to hand over an accepted connection). */
  whenHandleFree(fn: () => void): void;
  /** Keeps a socket the guest closed until its queued data is out; call the result when it is gone. */
  linger(h: HostHandle): () => void;
}

export interface HostHandle {
  readonly handle: number;
  readonly kind: SocketInfo['kind'];
  info(): SocketInfo;
  connect(remote: Endpoint, respond: Respond): void;
  bind(local: Endpoint, respond: Respond): void;
  listen(backlog: number, respond: Respond): void;
  send(data: Uint8Array, noReply: boolean, respond: Respond): void;
  sendto(remote: Endpoint, data: Uint8Array, noReply: boolean, respond: Respond): void;
  shutdown(how: 'read' | 'write' | 'both', respond: Respond): void;
  setsockopt(option: SockOpt, value: number, respond: Respond): void;
  getsockopt(option: SockOpt, respond: Respond): void;
  getsockname(respond: Respond): void;
  getpeername(respond: Respond): void;
  /** The guest grants `bytes` more of pushed data. */
  credit(bytes: number): void;
  /** The guest's close: graceful (queued data still goes out), the handle is gone at once. */
  close(): void;
  /** Immediate teardown (guest vanished, daemon stopping). */
  destroy(): void;
  /** The guest's channel drained: resume reading what was paused for it. */
  resume(): void;
}

/** Defaults for operations a kind does not support. */
export abstract class BaseHandle implements HostHandle {
  abstract readonly kind: SocketInfo['kind'];
  constructor(readonly handle: number, protected readonly ctx: SessionContext) {}
  abstract info(): SocketInfo;
  connect(_r: Endpoint, respond: Respond): void {
    respond(fail('EISCONN', 'connect: the socket is already connected or listening'));
  }
  bind(_l: Endpoint, respond: Respond): void {
    respond(fail('EINVAL', 'bind: the socket is already bound'));
  }
  listen(_b: number, respond: Respond): void {
    respond(fail('EINVAL', 'listen: the socket cannot listen in its state'));
  }
  send(_d: Uint8Array, _n: boolean, respond: Respond): void {
    respond(fail('ENOTCONN', 'send: the socket is not connected'));
  }
  sendto(_r: Endpoint, _d: Uint8Array, _n: boolean, respond: Respond): void {
    respond(fail('EOPNOTSUPP', 'sendto: only UDP sockets send datagrams'));
  }
  shutdown(_h: 'read' | 'write' | 'both', respond: Respond): void {
    respond(fail('ENOTCONN', 'shutdown: the socket is not connected'));
  }
  setsockopt(option: SockOpt, _v: number, respond: Respond): void {
    respond(fail('ENOPROTOOPT', `setsockopt: ${option} is not supported on this socket`));
  }
  getsockopt(option: SockOpt, respond: Respond): void {
    respond(fail('ENOPROTOOPT', `getsockopt: ${option} is not supported on this socket`));
  }
  getsockname(respond: Respond): void {
    respond(fail('EINVAL', 'getsockname: the socket has no address yet'));
  }
  getpeername(respond: Respond): void {
    respond(fail('ENOTCONN', 'getpeername: the socket is not connected'));
  }
  credit(_b: number): void {}
  resume(): void {}
  abstract close(): void;
  abstract destroy(): void;
}
