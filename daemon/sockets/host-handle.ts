// The contract between a guest session and its host sockets: what every guest-visible host socket offers
// (HostHandle), and how it answers a request (Respond with a ReplyBody). Types and two constants only, so
// that both sides can import it without importing each other.
import type { Endpoint, ErrnoName, SockOpt, SocketInfo } from '../../protocol';

export type ReplyBody =
  | { type: 'ok'; value: number }
  | { type: 'address'; endpoint: Endpoint }
  | { type: 'lookupOk'; addresses: Endpoint[] }
  | { type: 'error'; errno: ErrnoName; message: string };

/** Answers one request; `bytes` is what the trace record counts (data moved). */
export type Respond = (r: ReplyBody, bytes?: number) => void;

export const fail = (errno: ErrnoName, message: string): ReplyBody => ({ type: 'error', errno, message });
export const OK: ReplyBody = { type: 'ok', value: 0 };

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
