// Delegation wire protocol v1: the messages between the guest runtime and linsockd.
// These are the decoded forms; wire-layout.ts lays out each type's payload, wire-encode.ts and
// wire-decode.ts turn them into frames and back, and README.md documents every byte. Every frame has the same 16-byte header:
//   u8 type | u8 flags | u16 reserved (0) | u32 request id | u32 socket handle | u32 payload length
// Integers are big-endian. Timestamps are nanoseconds on a monotonic clock, carried as u64 and held
// as JS numbers (exact up to 2^53 ns, about 104 days of uptime).

import type { ErrnoName } from './errno';

export const WIRE_VERSION = 1;
export const HEADER_BYTES = 16;
/** Default and ceiling for a frame's payload; a peer may lower it in HELLO, never raise it. */
export const DEFAULT_MAX_PAYLOAD = 256 * 1024;
export const MAX_PAYLOAD_CEILING = 16 * 1024 * 1024;
/** Bytes a sender may have in flight per socket before the receiver grants more credit. */
export const DEFAULT_INITIAL_CREDIT = 1024 * 1024;
export const MAX_NAME_BYTES = 255;
export const MAX_LOOKUP_ADDRESSES = 64;
export const MAX_STAMP_ENTRIES = 4096;
/** The most buffers one sendmsg frame carries (Linux's IOV_MAX). */
export const MAX_SENDMSG_BUFFERS = 1024;

/** Frame type codes. 0x0_ and 0x1_: guest requests; 0x8_: replies; 0xC_: host events; 0x2_: either way. */
export const FrameType = {
  hello: 0x01,
  clock: 0x02,
  socket: 0x10,
  connect: 0x11,
  bind: 0x12,
  listen: 0x13,
  send: 0x14,
  shutdown: 0x15,
  close: 0x16,
  sendto: 0x17,
  lookup: 0x18,
  setsockopt: 0x19,
  getsockopt: 0x1a,
  getsockname: 0x1b,
  getpeername: 0x1c,
  stamps: 0x1d,
  sendmsg: 0x1e,
  passFd: 0x1f,
  goodbye: 0x20,
  credit: 0x21,
  ok: 0x80,
  error: 0x81,
  helloOk: 0x82,
  clockOk: 0x83,
  address: 0x84,
  lookupOk: 0x85,
  data: 0xc0,
  datagram: 0xc1,
  accepted: 0xc2,
  peerClosed: 0xc3,
  socketError: 0xc4,
  closed: 0xc5,
} as const;
export type FrameTypeName = keyof typeof FrameType;

/** Header flag bits; every other bit must be zero. */
export const Flag = {
  /** On send/sendto/sendmsg: the guest does not want an ok reply (pipelined); errors still come as socketError. */
  noReply: 0x01,
} as const;

export type Family = 4 | 6;
export type SocketKind = 'tcp' | 'udp';
export interface Endpoint {
  family: Family;
  /** Dotted quad for IPv4, RFC 5952 text for IPv6 (as `net` prints it), never with a `%zone`. */
  address: string;
  port: number;
  /**
   * IPv6 only: the scope of a link-local (fe80::/10) or link-scoped multicast address, the interface index
   * of the daemon's host as in sockaddr_in6.sin6_scope_id. Absent or 0: no scope.
   */
  scopeId?: number;
}

/** On the wire, a family byte with this bit set is IPv6 followed by a u32 scope id. */
export const SCOPED_FAMILY_BIT = 0x80;

export type SockOpt = 'TCP_NODELAY' | 'SO_KEEPALIVE' | 'SO_RCVBUF' | 'SO_SNDBUF';
export const SOCKOPTS: readonly SockOpt[] = ['TCP_NODELAY', 'SO_KEEPALIVE', 'SO_RCVBUF', 'SO_SNDBUF'];

/** Capability bits announced in HELLO. */
export const Capability = {
  /** The peer sends/accepts batched stage stamps (tracing). */
  stamps: 0x01,
  /** The host pushes received data without a request. */
  pushData: 0x02,
  /**
   * The guest can move the session to shared memory (shm-ring.ts) and the host, on the same machine,
   * accepts: after helloOk the guest passes its region on the side connection (shm-attach.ts).
   */
  shm: 0x04,
  /**
   * The passed-descriptor data plane: the guest may ask (passFd) for a fresh connected TCP socket's host
   * descriptor, which the ok reply carries (SCM_RIGHTS). Only on a Unix-socket channel; never over a
   * character device or TCP.
   */
  fdPass: 0x08,
} as const;

/** Fields every message has: the request id it answers or carries, and the socket handle (0 = none). */
interface Base {
  id: number;
  handle: number;
}

// ---- guest requests ----
export interface Hello extends Base { type: 'hello'; version: number; guest: string; capabilities: number; maxPayload: number; guestTimeNs: number }
/** One clock probe: the host answers with its own time, for offset estimation. */
export interface Clock extends Base { type: 'clock'; guestTimeNs: number }
export interface SocketReq extends Base { type: 'socket'; family: Family; kind: SocketKind }
export interface Connect extends Base { type: 'connect'; remote: Endpoint }
export interface Bind extends Base { type: 'bind'; local: Endpoint }
export interface Listen extends Base { type: 'listen'; backlog: number }
/**
 * `more` is set only by a FrameDecoder with `pieces`: the frame was longer than the bytes read so far, this
 * is the next piece of its data, and more of it follows under the same id (the last piece has it false).
 * It never crosses the wire: a frame is always one message to its sender.
 */
export interface Send extends Base { type: 'send'; noReply: boolean; data: Uint8Array; more?: boolean }
export interface Shutdown extends Base { type: 'shutdown'; how: 'read' | 'write' | 'both' }
export interface Close extends Base { type: 'close' }
export interface SendTo extends Base { type: 'sendto'; noReply: boolean; remote: Endpoint; data: Uint8Array }
export interface Lookup extends Base { type: 'lookup'; hostname: string; family: 0 | Family }
export interface SetSockOpt extends Base { type: 'setsockopt'; option: SockOpt; value: number }
export interface GetSockOpt extends Base { type: 'getsockopt'; option: SockOpt }
export interface GetSockName extends Base { type: 'getsockname' }
export interface GetPeerName extends Base { type: 'getpeername' }

/**
 * The guest's own stage stamps for calls it has completed, batched so that tracing costs no round trip.
 * `id` of each entry is the request id of the call (or the event id of pushed data it delivered).
 */
export interface StampEntry { id: number; enter: number; channelOut: number; replyIn: number; return: number }
export interface Stamps extends Base { type: 'stamps'; entries: StampEntry[] }
/**
 * A vectored send: `buffers` leave as one send (TCP: one write of them all, in order; UDP: one datagram
 * of them all), to `remote` when given (an unconnected UDP socket), else to the connected peer.
 */
/**
 * Asks for the host descriptor of `handle`, a connected TCP socket on which no byte has moved yet either
 * way. The ok reply carries it (SCM_RIGHTS on its first byte) and the host stops serving the socket's data:
 * the handle stays counted until the guest's close. An error reply leaves the socket on frames.
 */
export interface PassFd extends Base { type: 'passFd' }
export interface SendMsg extends Base { type: 'sendmsg'; noReply: boolean; remote: Endpoint | null; buffers: Uint8Array[] }

// ---- either direction ----
export interface Goodbye extends Base { type: 'goodbye'; reason: string }
/** Grants the peer `bytes` more bytes of data on `handle` (guest->host: pushed data; host->guest: sends). */
export interface Credit extends Base { type: 'credit'; bytes: number }

// ---- replies (id = the request's id) ----
/** Success; `value` is the new handle for socket, the option value for getsockopt, else 0. */
export interface Ok extends Base { type: 'ok'; value: number }
export interface ErrorReply extends Base { type: 'error'; errno: ErrnoName; message: string }
export interface HelloOk extends Base { type: 'helloOk'; version: number; capabilities: number; maxPayload: number; initialCredit: number; hostTimeNs: number }
export interface ClockOk extends Base { type: 'clockOk'; guestTimeNs: number; hostTimeNs: number }
/** Reply to connect, bind, listen (local endpoint), getsockname and getpeername. */
export interface AddressReply extends Base { type: 'address'; endpoint: Endpoint }
export interface LookupOk extends Base { type: 'lookupOk'; addresses: Endpoint[] }

// ---- host events (id = a host event sequence number, for tracing pushed data) ----
/** `more`: as on Send, a piece of a longer frame read so far. */
export interface Data extends Base { type: 'data'; data: Uint8Array; more?: boolean }
export interface Datagram extends Base { type: 'datagram'; remote: Endpoint; data: Uint8Array }
/** A listening socket accepted a connection; `newHandle` names it from now on. */
export interface Accepted extends Base { type: 'accepted'; newHandle: number; remote: Endpoint; local: Endpoint }
export interface PeerClosed extends Base { type: 'peerClosed' }
export interface SocketError extends Base { type: 'socketError'; errno: ErrnoName; message: string }
/** The host closed the socket and forgot its handle. */
export interface Closed extends Base { type: 'closed' }

/** The guest requests that are socket calls, each performed by the host and answered (wire-layout.ts `op`). */
export type SocketRequest =
  | SocketReq | Connect | Bind | Listen | Send | Shutdown | Close | SendTo | Lookup
  | SetSockOpt | GetSockOpt | GetSockName | GetPeerName | SendMsg;
export type GuestRequest = Hello | Clock | Stamps | PassFd | SocketRequest;
export type HostReply = Ok | ErrorReply | HelloOk | ClockOk | AddressReply | LookupOk;
export type HostEvent = Data | Datagram | Accepted | PeerClosed | SocketError | Closed;
export type WireMessage = GuestRequest | HostReply | HostEvent | Goodbye | Credit;
export type WireType = WireMessage['type'];
