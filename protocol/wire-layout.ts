// The payload layout of every frame type of the delegation wire protocol v1, as one table: which fields
// follow the header, in wire order, and how each is encoded. wire-encode.ts and wire-decode.ts are driven
// by it (each has one writer or reader per field kind), payload length ranges are derived from it, and the
// daemon dispatches guest requests by its `op` column. A new frame type is a row here plus its message
// interface and code in wire.ts; README.md documents the bytes.

import type { Op } from './trace';
import {
  MAX_LOOKUP_ADDRESSES, MAX_NAME_BYTES, MAX_STAMP_ENTRIES, SOCKOPTS,
  type Endpoint, type SocketRequest, type StampEntry, type WireMessage, type WireType,
} from './wire';

/** The smallest payload limit a peer may announce or a decoder may be built with: room for any control frame. */
export const MIN_MAX_PAYLOAD = 4096;
/** Bytes of one stamps entry: u32 id and four u64 times. */
export const STAMP_ENTRY_BYTES = 36;
export const ENDPOINT_MIN = 7; // family, port, IPv4
export const ENDPOINT_V6 = 19; // family, port, IPv6
export const ENDPOINT_MAX = 23; // family, port, IPv6, scope id
/** A length limited only by the decoder's maxPayload. */
export const UNBOUNDED = Number.MAX_SAFE_INTEGER;

/** A field kind with no parameters; `label` is what decode errors call the field (its key when absent). */
type Plain<K extends string> = { kind: K; label?: string };
/** How one field is encoded. */
export type FieldSpec =
  | Plain<'u16'> | Plain<'u32'> | Plain<'u64'>
  /** u32 within MIN_MAX_PAYLOAD..MAX_PAYLOAD_CEILING. */
  | Plain<'payloadLimit'>
  /** u8 index into `values`. */
  | { kind: 'enum'; values: readonly string[]; label?: string }
  /** u8 address family, one of `values`. */
  | { kind: 'family'; values: readonly number[]; label?: string }
  /** u8 length + UTF-8: an identifier (`name`, 1..255 bytes) or free text (`text`, 0..255, clamped). */
  | Plain<'name'> | Plain<'text'>
  /** u8 family (4, 6, or 0x86: 6 with a scope) · u16 port · 4 or 16 address bytes · u32 scope id (0x86 only); `optionalEndpoint`: or one byte 0 for none. */
  | Plain<'endpoint'> | Plain<'optionalEndpoint'>
  /** u8 index into ERRNO_NAMES. */
  | Plain<'errno'>
  /** u16 count, count × 36-byte entries; u8 count, count × endpoint. */
  | Plain<'stampEntries'> | Plain<'endpointList'>
  /** The rest of the payload, raw (always the last field). */
  | Plain<'bytes'>
  /** u16 count, count × u32 length, then the buffers back to back (always the last field). */
  | Plain<'bufferList'>;
export type FieldKind = FieldSpec['kind'];

/** The kinds that fit a field of type V: the table cannot give a field an encoding its value does not have. */
type SpecFor<V> =
  [V] extends [number] ? Extract<FieldSpec, { kind: 'u16' | 'u32' | 'u64' | 'payloadLimit' | 'family' }>
  : [V] extends [Endpoint | null] ? ([null] extends [V] ? Extract<FieldSpec, { kind: 'optionalEndpoint' }> : Extract<FieldSpec, { kind: 'endpoint' }>)
  : [V] extends [string] ? Extract<FieldSpec, { kind: 'enum' | 'name' | 'text' | 'errno' }>
  : [V] extends [StampEntry[]] ? Extract<FieldSpec, { kind: 'stampEntries' }>
  : [V] extends [Endpoint[]] ? Extract<FieldSpec, { kind: 'endpointList' }>
  : [V] extends [Uint8Array] ? Extract<FieldSpec, { kind: 'bytes' }>
  : [V] extends [Uint8Array[]] ? Extract<FieldSpec, { kind: 'bufferList' }>
  : never;

/** Keys carried in the header (type, id, handle, the noReply flag) or never on the wire (more). */
type HeaderKey = 'type' | 'id' | 'handle' | 'noReply' | 'more';
type PayloadKey<M> = Exclude<keyof M, HeaderKey>;

export type FrameLayout<M extends WireMessage = WireMessage> = {
  /** Who may send it: a guest's frame reaching a guest (or the reverse) is a protocol violation. */
  from: 'guest' | 'host' | 'either';
  /** The message has `noReply`, carried as header flag bit 0 (Flag.noReply). */
  noReply?: true;
  /** All of the payload is data, so a decoder with `pieces` may deliver a split frame as it arrives. */
  pieces?: true;
  /** The fields after the header, in wire order (object key order is the order on the wire). */
  fields: { [K in PayloadKey<M>]-?: SpecFor<M[K]> };
} & (M extends SocketRequest ? { /** The socket call a guest request performs (its trace op). */ op: Op } : { op?: never });

type Row<T extends WireType> = FrameLayout<Extract<WireMessage, { type: T }>>;

const KINDS = ['tcp', 'udp'] as const;
const SHUTDOWN_HOW = ['read', 'write', 'both'] as const;

export const WIRE_LAYOUT: { readonly [T in WireType]: Row<T> } = {
  // ---- guest requests ----
  hello: {
    from: 'guest',
    fields: { version: { kind: 'u16' }, capabilities: { kind: 'u32' }, maxPayload: { kind: 'payloadLimit' }, guestTimeNs: { kind: 'u64' }, guest: { kind: 'name', label: 'guest name' } },
  },
  clock: { from: 'guest', fields: { guestTimeNs: { kind: 'u64' } } },
  socket: { from: 'guest', op: 'socket', fields: { family: { kind: 'family', values: [4, 6] }, kind: { kind: 'enum', values: KINDS } } },
  connect: { from: 'guest', op: 'connect', fields: { remote: { kind: 'endpoint' } } },
  bind: { from: 'guest', op: 'bind', fields: { local: { kind: 'endpoint' } } },
  listen: { from: 'guest', op: 'listen', fields: { backlog: { kind: 'u32' } } },
  send: { from: 'guest', op: 'send', noReply: true, pieces: true, fields: { data: { kind: 'bytes' } } },
  shutdown: { from: 'guest', op: 'shutdown', fields: { how: { kind: 'enum', values: SHUTDOWN_HOW } } },
  close: { from: 'guest', op: 'close', fields: {} },
  sendto: { from: 'guest', op: 'sendto', noReply: true, fields: { remote: { kind: 'endpoint' }, data: { kind: 'bytes' } } },
  lookup: { from: 'guest', op: 'lookup', fields: { family: { kind: 'family', values: [0, 4, 6] }, hostname: { kind: 'name' } } },
  setsockopt: { from: 'guest', op: 'setsockopt', fields: { option: { kind: 'enum', values: SOCKOPTS }, value: { kind: 'u32' } } },
  getsockopt: { from: 'guest', op: 'getsockopt', fields: { option: { kind: 'enum', values: SOCKOPTS } } },
  getsockname: { from: 'guest', op: 'getsockname', fields: {} },
  getpeername: { from: 'guest', op: 'getpeername', fields: {} },
  stamps: { from: 'guest', fields: { entries: { kind: 'stampEntries' } } },
  passFd: { from: 'guest', fields: {} },
  sendmsg: { from: 'guest', op: 'sendmsg', noReply: true, fields: { remote: { kind: 'optionalEndpoint' }, buffers: { kind: 'bufferList' } } },
  // ---- either direction ----
  goodbye: { from: 'either', fields: { reason: { kind: 'text' } } },
  credit: { from: 'either', fields: { bytes: { kind: 'u32' } } },
  // ---- replies ----
  ok: { from: 'host', fields: { value: { kind: 'u32' } } },
  error: { from: 'host', fields: { errno: { kind: 'errno' }, message: { kind: 'text' } } },
  helloOk: {
    from: 'host',
    fields: { version: { kind: 'u16' }, capabilities: { kind: 'u32' }, maxPayload: { kind: 'payloadLimit' }, initialCredit: { kind: 'u32' }, hostTimeNs: { kind: 'u64' } },
  },
  clockOk: { from: 'host', fields: { guestTimeNs: { kind: 'u64' }, hostTimeNs: { kind: 'u64' } } },
  address: { from: 'host', fields: { endpoint: { kind: 'endpoint' } } },
  lookupOk: { from: 'host', fields: { addresses: { kind: 'endpointList' } } },
  // ---- host events ----
  data: { from: 'host', pieces: true, fields: { data: { kind: 'bytes' } } },
  datagram: { from: 'host', fields: { remote: { kind: 'endpoint' }, data: { kind: 'bytes' } } },
  accepted: { from: 'host', fields: { newHandle: { kind: 'u32' }, remote: { kind: 'endpoint' }, local: { kind: 'endpoint' } } },
  peerClosed: { from: 'host', fields: {} },
  socketError: { from: 'host', fields: { errno: { kind: 'errno' }, message: { kind: 'text' } } },
  closed: { from: 'host', fields: {} },
};

/** [min, max] bytes of a field of each kind; UNBOUNDED where only maxPayload limits it. */
const FIELD_BYTES: Record<FieldKind, readonly [number, number]> = {
  u16: [2, 2],
  u32: [4, 4],
  u64: [8, 8],
  payloadLimit: [4, 4],
  enum: [1, 1],
  family: [1, 1],
  name: [2, 1 + MAX_NAME_BYTES],
  text: [1, 1 + MAX_NAME_BYTES],
  endpoint: [ENDPOINT_MIN, ENDPOINT_MAX],
  optionalEndpoint: [1, ENDPOINT_MAX],
  errno: [1, 1],
  stampEntries: [2, 2 + MAX_STAMP_ENTRIES * STAMP_ENTRY_BYTES],
  endpointList: [1, 1 + MAX_LOOKUP_ADDRESSES * ENDPOINT_MAX],
  bytes: [0, UNBOUNDED],
  bufferList: [2, UNBOUNDED],
};
/** Kinds that run to the end of the payload: the last field of their row, if any. */
export const TAIL_KINDS: ReadonlySet<FieldKind> = new Set<FieldKind>(['bytes', 'bufferList']);

/** One field of a row, as the codecs walk it. */
export interface FieldEntry {
  key: string;
  spec: FieldSpec;
  /** What decode errors call it. */
  label: string;
}

/** Each row's fields in wire order. */
export function fieldsOf(type: WireType): readonly FieldEntry[] {
  return FIELDS[type];
}

const FIELDS = {} as Record<WireType, FieldEntry[]>;
/** [min, max] payload bytes per type, checked from the header before a byte of payload is buffered. */
export const PAYLOAD_RANGE = {} as Record<WireType, readonly [number, number]>;
for (const [type, row] of Object.entries(WIRE_LAYOUT) as [WireType, FrameLayout][]) {
  const entries = Object.entries(row.fields as Record<string, FieldSpec>).map(([key, spec]) => ({ key, spec, label: spec.label ?? key }));
  entries.forEach((e, i) => {
    if (TAIL_KINDS.has(e.spec.kind) && i !== entries.length - 1) throw new Error(`wire-layout: ${type}.${e.key} (${e.spec.kind}) must be the last field`);
  });
  if (row.pieces && (entries.length !== 1 || entries[0]?.spec.kind !== 'bytes')) throw new Error(`wire-layout: ${type} has pieces but more than its data`);
  FIELDS[type] = entries;
  let min = 0;
  let max = 0;
  for (const e of entries) {
    const [lo, hi] = FIELD_BYTES[e.spec.kind];
    min += lo;
    max = Math.min(UNBOUNDED, max + hi);
  }
  PAYLOAD_RANGE[type] = [min, max];
}
