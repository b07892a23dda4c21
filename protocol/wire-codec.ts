// The delegation wire protocol v1 codec: messages to frames (encodeMessage, encodeFrameParts) and a strict
// streaming FrameDecoder back. Layouts are documented byte by byte in README.md; semantics in wire.ts.
// The decoder never trusts a length it has not checked against a limit and never throws: bad input yields
// a ProtocolError naming the stream offset of the offending field and what was expected there.

import { errnoCode, errnoFromCode, isErrnoName, type ErrnoName } from './errno';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './ip-address';
import { clampUtf8, readUtf8, utf8Length, writeUtf8 } from './utf8';
import {
  DEFAULT_MAX_PAYLOAD, Flag, FrameType, HEADER_BYTES, MAX_LOOKUP_ADDRESSES, MAX_NAME_BYTES, MAX_PAYLOAD_CEILING,
  MAX_STAMP_ENTRIES, SOCKOPTS,
  type Data, type Endpoint, type FrameTypeName, type Send, type SockOpt, type StampEntry, type WireMessage, type WireType,
} from './wire';

/** The smallest payload limit a peer may announce or a decoder may be built with: room for any control frame. */
export const MIN_MAX_PAYLOAD = 4096;
/** Bytes of one stamps entry: u32 id and four u64 times. */
export const STAMP_ENTRY_BYTES = 36;

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  /** `offset`: in the decoded stream, of the first byte that is wrong. `reason`: what was expected there. */
  constructor(readonly offset: number, readonly reason: string) {
    super(`malformed frame at offset ${offset}: ${reason}`);
  }
}

// ---- per-type tables, indexed by type code ----

const NAME_BY_CODE: (WireType | undefined)[] = new Array(256).fill(undefined);
for (const [name, code] of Object.entries(FrameType)) NAME_BY_CODE[code] = name as FrameTypeName;

const ALLOWED_FLAGS = new Uint8Array(256);
ALLOWED_FLAGS[FrameType.send] = Flag.noReply;
ALLOWED_FLAGS[FrameType.sendto] = Flag.noReply;

const ENDPOINT_MIN = 7; // family, port, IPv4
const ENDPOINT_MAX = 19; // family, port, IPv6
const UNBOUNDED = Number.MAX_SAFE_INTEGER; // limited by maxPayload only
/** [min, max] payload bytes per type, checked from the header before a byte of payload is buffered. */
const PAYLOAD_RANGE: Record<WireType, readonly [number, number]> = {
  hello: [19 + 1, 19 + MAX_NAME_BYTES],
  clock: [8, 8],
  socket: [2, 2],
  connect: [ENDPOINT_MIN, ENDPOINT_MAX],
  bind: [ENDPOINT_MIN, ENDPOINT_MAX],
  listen: [4, 4],
  send: [0, UNBOUNDED],
  shutdown: [1, 1],
  close: [0, 0],
  sendto: [ENDPOINT_MIN, UNBOUNDED],
  lookup: [2 + 1, 2 + MAX_NAME_BYTES],
  setsockopt: [5, 5],
  getsockopt: [1, 1],
  getsockname: [0, 0],
  getpeername: [0, 0],
  stamps: [2, 2 + MAX_STAMP_ENTRIES * STAMP_ENTRY_BYTES],
  goodbye: [1, 1 + MAX_NAME_BYTES],
  credit: [4, 4],
  ok: [4, 4],
  error: [2, 2 + MAX_NAME_BYTES],
  helloOk: [22, 22],
  clockOk: [16, 16],
  address: [ENDPOINT_MIN, ENDPOINT_MAX],
  lookupOk: [1, 1 + MAX_LOOKUP_ADDRESSES * ENDPOINT_MAX],
  data: [0, UNBOUNDED],
  datagram: [ENDPOINT_MIN, UNBOUNDED],
  accepted: [4 + 2 * ENDPOINT_MIN, 4 + 2 * ENDPOINT_MAX],
  peerClosed: [0, 0],
  socketError: [2, 2 + MAX_NAME_BYTES],
  closed: [0, 0],
};
const MIN_BY_CODE = new Float64Array(256);
const MAX_BY_CODE = new Float64Array(256);
for (const [name, code] of Object.entries(FrameType)) {
  const [min, max] = PAYLOAD_RANGE[name as WireType];
  MIN_BY_CODE[code] = min;
  MAX_BY_CODE[code] = max;
}

const SHUTDOWN_HOW = ['read', 'write', 'both'] as const;
const KINDS = ['tcp', 'udp'] as const;

// =====================================================================================================
// Encoding. Messages come from our own code, so a value that cannot be encoded is a programming error:
// it throws a RangeError naming the field. Free text (error messages, goodbye reasons) is clamped to
// MAX_NAME_BYTES instead, so that reporting an error can never fail.
// =====================================================================================================

let out = new Uint8Array(0);
let at = 0;

function fail(what: string, expected: string, v: unknown): never {
  throw new RangeError(`cannot encode ${what} = ${JSON.stringify(v)}: expected ${expected}`);
}
function u8(v: number): void {
  out[at++] = v;
}
function u16(v: number): void {
  out[at++] = v >>> 8;
  out[at++] = v & 0xff;
}
function u32(v: number, what: string): void {
  if (v >>> 0 !== v) fail(what, 'an integer in 0..2^32-1', v);
  out[at++] = v >>> 24;
  out[at++] = (v >>> 16) & 0xff;
  out[at++] = (v >>> 8) & 0xff;
  out[at++] = v & 0xff;
}
function u64(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 0) fail(what, 'an integer in 0..2^53-1', v);
  const hi = Math.floor(v / 0x100000000);
  out[at++] = 0;
  out[at++] = hi >>> 16;
  out[at++] = (hi >>> 8) & 0xff;
  out[at++] = hi & 0xff;
  u32(v >>> 0, what);
}

/** Checked UTF-8 length of an identifier (guest name, hostname): 1..MAX_NAME_BYTES bytes. */
function nameBytes(s: string, what: string): number {
  const n = typeof s === 'string' ? utf8Length(s) : -1;
  if (n < 1 || n > MAX_NAME_BYTES) fail(what, `well-formed text of 1..${MAX_NAME_BYTES} UTF-8 bytes`, s);
  return n;
}
function str(s: string, n: number): void {
  out[at++] = n;
  at = writeUtf8(s, out, at);
}

function endpointBytes(e: Endpoint, what: string): number {
  if (e === null || typeof e !== 'object') fail(what, 'an endpoint', e);
  if (e.family === 4) return ENDPOINT_MIN;
  if (e.family === 6) return ENDPOINT_MAX;
  return fail(`${what}.family`, '4 or 6', e.family);
}
function endpoint(e: Endpoint, what: string): void {
  if (!Number.isInteger(e.port) || e.port < 0 || e.port > 65535) fail(`${what}.port`, 'a port in 0..65535', e.port);
  out[at++] = e.family;
  u16(e.port);
  const ok = typeof e.address === 'string' && (e.family === 4 ? parseIPv4(e.address, out, at) : parseIPv6(e.address, out, at));
  if (!ok) fail(`${what}.address`, `an IPv${e.family} address`, e.address);
  at += e.family === 4 ? 4 : 16;
}

function errno(name: string, what: string): void {
  if (!isErrnoName(name)) fail(what, 'a known errno name (errno.ts)', name);
  out[at++] = errnoCode(name);
}

function bytesOf(data: Uint8Array, what: string): Uint8Array {
  if (!(data instanceof Uint8Array)) fail(what, 'a Uint8Array', typeof data);
  return data;
}

/** Payload bytes of `m` other than the trailing data of send/sendto/data/datagram. */
function fixedBytes(m: WireMessage): number {
  switch (m.type) {
    case 'hello': return 19 + nameBytes(m.guest, 'hello.guest');
    case 'clock': return 8;
    case 'socket': return 2;
    case 'connect': return endpointBytes(m.remote, 'connect.remote');
    case 'bind': return endpointBytes(m.local, 'bind.local');
    case 'listen': case 'ok': case 'credit': return 4;
    case 'shutdown': case 'getsockopt': return 1;
    case 'setsockopt': return 5;
    case 'close': case 'getsockname': case 'getpeername': case 'peerClosed': case 'closed': return 0;
    case 'send': case 'data': return 0;
    case 'sendto': return endpointBytes(m.remote, 'sendto.remote');
    case 'datagram': return endpointBytes(m.remote, 'datagram.remote');
    case 'lookup': return 2 + nameBytes(m.hostname, 'lookup.hostname');
    case 'stamps': {
      if (!Array.isArray(m.entries) || m.entries.length > MAX_STAMP_ENTRIES) fail('stamps.entries', `at most ${MAX_STAMP_ENTRIES} entries`, m.entries?.length);
      return 2 + STAMP_ENTRY_BYTES * m.entries.length;
    }
    case 'goodbye': return 1 + utf8Length(m.reason);
    case 'error': case 'socketError': return 2 + utf8Length(m.message);
    case 'helloOk': return 22;
    case 'clockOk': return 16;
    case 'address': return endpointBytes(m.endpoint, 'address.endpoint');
    case 'lookupOk': {
      if (!Array.isArray(m.addresses) || m.addresses.length > MAX_LOOKUP_ADDRESSES) fail('lookupOk.addresses', `at most ${MAX_LOOKUP_ADDRESSES} addresses`, m.addresses?.length);
      let n = 1;
      for (const a of m.addresses) n += endpointBytes(a, 'lookupOk.addresses[]');
      return n;
    }
    case 'accepted': return 4 + endpointBytes(m.remote, 'accepted.remote') + endpointBytes(m.local, 'accepted.local');
    default: return fail('type', 'a wire message type (wire.ts)', (m as { type: unknown }).type);
  }
}

/** Free text fit for the wire: well-formed, at most MAX_NAME_BYTES. Returns the message unchanged if it was. */
function withFitText(m: WireMessage): WireMessage {
  if (m.type === 'goodbye') {
    const n = utf8Length(m.reason);
    if (n < 0 || n > MAX_NAME_BYTES) return { ...m, reason: clampUtf8(String(m.reason), MAX_NAME_BYTES) };
  } else if (m.type === 'error' || m.type === 'socketError') {
    const n = utf8Length(m.message);
    if (n < 0 || n > MAX_NAME_BYTES) return { ...m, message: clampUtf8(String(m.message), MAX_NAME_BYTES) };
  }
  return m;
}

function writeHeaderAndFixed(m: WireMessage, fixed: number, dataLength: number): void {
  const payload = fixed + dataLength;
  if (payload > MAX_PAYLOAD_CEILING) fail(`${m.type} payload length`, `at most ${MAX_PAYLOAD_CEILING} bytes`, payload);
  out[at++] = FrameType[m.type];
  let flags = 0;
  if ((m.type === 'send' || m.type === 'sendto') && m.noReply) flags |= Flag.noReply;
  out[at++] = flags;
  u16(0);
  u32(m.id, `${m.type}.id`);
  u32(m.handle, `${m.type}.handle`);
  u32(payload, `${m.type} payload length`);
  switch (m.type) {
    case 'hello':
      version(m.version, 'hello.version');
      u32(m.capabilities, 'hello.capabilities');
      payloadLimit(m.maxPayload, 'hello.maxPayload');
      u64(m.guestTimeNs, 'hello.guestTimeNs');
      str(m.guest, fixed - 19);
      break;
    case 'clock': u64(m.guestTimeNs, 'clock.guestTimeNs'); break;
    case 'socket':
      if (m.family !== 4 && m.family !== 6) fail('socket.family', '4 or 6', m.family);
      u8(m.family);
      u8(indexIn(KINDS, m.kind, 'socket.kind'));
      break;
    case 'connect': endpoint(m.remote, 'connect.remote'); break;
    case 'bind': endpoint(m.local, 'bind.local'); break;
    case 'listen': u32(m.backlog, 'listen.backlog'); break;
    case 'shutdown': u8(indexIn(SHUTDOWN_HOW, m.how, 'shutdown.how')); break;
    case 'sendto': endpoint(m.remote, 'sendto.remote'); break;
    case 'datagram': endpoint(m.remote, 'datagram.remote'); break;
    case 'lookup':
      if (m.family !== 0 && m.family !== 4 && m.family !== 6) fail('lookup.family', '0, 4 or 6', m.family);
      u8(m.family);
      str(m.hostname, fixed - 2);
      break;
    case 'setsockopt':
      u8(indexIn(SOCKOPTS, m.option, 'setsockopt.option'));
      u32(m.value, 'setsockopt.value');
      break;
    case 'getsockopt': u8(indexIn(SOCKOPTS, m.option, 'getsockopt.option')); break;
    case 'stamps':
      u16(m.entries.length);
      for (const e of m.entries) stampEntry(e);
      break;
    case 'goodbye': str(m.reason, fixed - 1); break;
    case 'credit': u32(m.bytes, 'credit.bytes'); break;
    case 'ok': u32(m.value, 'ok.value'); break;
    case 'error': case 'socketError':
      errno(m.errno, `${m.type}.errno`);
      str(m.message, fixed - 2);
      break;
    case 'helloOk':
      version(m.version, 'helloOk.version');
      u32(m.capabilities, 'helloOk.capabilities');
      payloadLimit(m.maxPayload, 'helloOk.maxPayload');
      u32(m.initialCredit, 'helloOk.initialCredit');
      u64(m.hostTimeNs, 'helloOk.hostTimeNs');
      break;
    case 'clockOk':
      u64(m.guestTimeNs, 'clockOk.guestTimeNs');
      u64(m.hostTimeNs, 'clockOk.hostTimeNs');
      break;
    case 'address': endpoint(m.endpoint, 'address.endpoint'); break;
    case 'lookupOk':
      u8(m.addresses.length);
      for (const a of m.addresses) endpoint(a, 'lookupOk.addresses[]');
      break;
    case 'accepted':
      u32(m.newHandle, 'accepted.newHandle');
      endpoint(m.remote, 'accepted.remote');
      endpoint(m.local, 'accepted.local');
      break;
    default: break; // close, getsockname, getpeername, peerClosed, closed, send, data: nothing fixed
  }
}

function version(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) fail(what, 'an integer in 0..65535', v);
  u16(v);
}
function payloadLimit(v: number, what: string): void {
  if (!Number.isInteger(v) || v < MIN_MAX_PAYLOAD || v > MAX_PAYLOAD_CEILING) fail(what, `${MIN_MAX_PAYLOAD}..${MAX_PAYLOAD_CEILING}`, v);
  u32(v, what);
}
function indexIn<T>(list: readonly T[], v: T, what: string): number {
  const i = list.indexOf(v);
  if (i < 0) fail(what, list.join(' | '), v);
  return i;
}
function stampEntry(e: StampEntry): void {
  u32(e.id, 'stamps.entries[].id');
  u64(e.enter, 'stamps.entries[].enter');
  u64(e.channelOut, 'stamps.entries[].channelOut');
  u64(e.replyIn, 'stamps.entries[].replyIn');
  u64(e.return, 'stamps.entries[].return');
}

function dataOf(m: WireMessage): Uint8Array | null {
  switch (m.type) {
    case 'send': case 'sendto': case 'data': case 'datagram': return bytesOf(m.data, `${m.type}.data`);
    default: return null;
  }
}

/** One whole frame for `m` (the data of send/sendto/data/datagram copied in). */
export function encodeMessage(m: WireMessage): Uint8Array {
  m = withFitText(m);
  const fixed = fixedBytes(m);
  const data = dataOf(m);
  const dataLength = data ? data.length : 0;
  out = new Uint8Array(HEADER_BYTES + fixed + dataLength);
  at = 0;
  writeHeaderAndFixed(m, fixed, dataLength);
  if (data) out.set(data, at);
  return out;
}

/**
 * The frame for `m` as parts to write in order (socket.cork + write, or writev): for send, sendto, data and
 * datagram, [header and fixed fields, the data itself, uncopied]; for every other type, [the whole frame].
 */
export function encodeFrameParts(m: WireMessage): Uint8Array[] {
  const data = dataOf(m);
  if (!data) return [encodeMessage(m)];
  const fixed = fixedBytes(m);
  out = new Uint8Array(HEADER_BYTES + fixed);
  at = 0;
  writeHeaderAndFixed(m, fixed, data.length);
  return [out, data];
}

// =====================================================================================================
// Decoding.
// =====================================================================================================

export interface FrameDecoderOptions {
  /** Largest payload accepted, MIN_MAX_PAYLOAD..MAX_PAYLOAD_CEILING; DEFAULT_MAX_PAYLOAD when omitted. */
  maxPayload?: number;
  /**
   * Deliver the data of `send` and `data` frames split across chunks in pieces, as it arrives, instead of
   * joining each frame in a buffer of its own: a stream's frames are larger than a read, so joining them
   * copies nearly every byte once more. Each piece is a message of the frame's type, id and handle with
   * `more: true`, the last with `more: false`; nothing else comes between them. Default: whole frames.
   */
  pieces?: boolean;
}

export interface DecodeResult {
  /** Every whole, valid frame before the error (if any), in order. */
  messages: WireMessage[];
  /** The first malformed frame; the decoder is poisoned from then on and returns it again. */
  error: ProtocolError | null;
}

/** Reads one frame's payload: buf[pos, end); `base` is the stream offset of buf[0], for error offsets. */
class PayloadReader {
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;
  end = 0;
  base = 0;
  type: WireType = 'close';

  bad(reason: string, at = this.pos): never {
    throw new ProtocolError(this.base + at, `${this.type}: ${reason}`);
  }
  need(n: number, what: string): void {
    if (this.end - this.pos < n) this.bad(`payload ends inside ${what}: expected ${n} more bytes, ${this.end - this.pos} left`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++] as number;
  }
  u16(what: string): number {
    this.need(2, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return ((b[p] as number) << 8) | (b[p + 1] as number);
  }
  u32(what: string): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)) >>> 0;
  }
  u64(what: string): number {
    const start = this.pos;
    const hi = this.u32(what);
    const lo = this.u32(what);
    if (hi > 0x1fffff) this.bad(`${what} exceeds 2^53-1 ns (u64 high word 0x${hi.toString(16)})`, start);
    return hi * 0x100000000 + lo;
  }
  /** u8 length + UTF-8 bytes; `min` is 1 for identifiers, 0 for free text. */
  str(what: string, min: number): string {
    const start = this.pos;
    const n = this.u8(`${what} length`);
    if (n < min) this.bad(`${what} is empty: expected 1..${MAX_NAME_BYTES} bytes`, start);
    this.need(n, what);
    const s = readUtf8(this.buf, this.pos, this.pos + n);
    if (s === null) this.bad(`${what} is not valid UTF-8`);
    this.pos += n;
    return s;
  }
  endpoint(what: string): Endpoint {
    const start = this.pos;
    const family = this.u8(`${what} family`);
    if (family !== 4 && family !== 6) this.bad(`${what} family ${family}: expected 4 or 6`, start);
    const port = this.u16(`${what} port`);
    const n = family === 4 ? 4 : 16;
    this.need(n, `${what} IPv${family} address`);
    const address = family === 4 ? formatIPv4(this.buf, this.pos) : formatIPv6(this.buf, this.pos);
    this.pos += n;
    return { family, address, port };
  }
  errno(what: string): ErrnoName {
    const start = this.pos;
    const code = this.u8(what);
    const name = errnoFromCode(code);
    if (name === undefined) this.bad(`${what} code ${code} is not a known errno (errno.ts)`, start);
    return name;
  }
  enumOf<T>(list: readonly T[], what: string): T {
    const start = this.pos;
    const i = this.u8(what);
    const v = list[i];
    if (v === undefined) this.bad(`${what} ${i}: expected 0..${list.length - 1} (${list.join(', ')})`, start);
    return v;
  }
  payloadLimit(what: string): number {
    const start = this.pos;
    const v = this.u32(what);
    if (v < MIN_MAX_PAYLOAD || v > MAX_PAYLOAD_CEILING) this.bad(`${what} ${v}: expected ${MIN_MAX_PAYLOAD}..${MAX_PAYLOAD_CEILING}`, start);
    return v;
  }
  rest(): Uint8Array {
    const v = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return v;
  }
}

/**
 * Room for a frame split across chunks; every byte of it is written before it is read. Node's Buffer skips
 * the zero-fill that a Uint8Array pays (a memset of up to maxPayload per split frame); elsewhere a
 * Uint8Array.
 */
const allocFrame: (n: number) => Uint8Array =
  typeof (globalThis as { Buffer?: { allocUnsafeSlow?: unknown } }).Buffer?.allocUnsafeSlow === 'function'
    ? (n) => {
        const b = (globalThis as unknown as { Buffer: { allocUnsafeSlow(n: number): Uint8Array } }).Buffer.allocUnsafeSlow(n);
        return new Uint8Array(b.buffer, b.byteOffset, n); // a plain Uint8Array, as decoded data is elsewhere
      }
    : (n) => new Uint8Array(n);

export class FrameDecoder {
  readonly maxPayload: number;
  /** Stream offset of the first byte of the next chunk. */
  private streamAt = 0;
  /** A frame split across chunks: its first bytes (header until complete, then the whole frame). */
  private head = new Uint8Array(HEADER_BYTES);
  private frame: Uint8Array | null = null;
  private filled = 0;
  private frameAt = 0;
  private poisoned: ProtocolError | null = null;
  private readonly reader = new PayloadReader();
  private readonly pieces: boolean;
  /** The send or data frame being delivered in pieces, and how many of its data bytes are still to come. */
  private piece: { template: Send | Data; left: number } | null = null;

  constructor(options: FrameDecoderOptions = {}) {
    const max = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    if (!Number.isInteger(max) || max < MIN_MAX_PAYLOAD || max > MAX_PAYLOAD_CEILING)
      throw new RangeError(`FrameDecoder maxPayload ${max}: expected an integer in ${MIN_MAX_PAYLOAD}..${MAX_PAYLOAD_CEILING}`);
    this.maxPayload = max;
    this.pieces = options.pieces ?? false;
  }

  /** Bytes of a frame split across chunks that wait for the rest of it. */
  get buffered(): number {
    return this.filled;
  }

  push(chunk: Uint8Array): DecodeResult {
    const messages: WireMessage[] = [];
    if (this.poisoned) return { messages, error: this.poisoned };
    try {
      this.consume(chunk, messages);
    } catch (e) {
      this.poisoned = e instanceof ProtocolError ? e : new ProtocolError(this.streamAt, `decoder fault: ${String(e)}`);
    }
    return { messages, error: this.poisoned };
  }

  private consume(chunk: Uint8Array, messages: WireMessage[]): void {
    const len = chunk.length;
    const base = this.streamAt;
    let pos = 0;
    if (this.piece) pos = this.continuePiece(chunk, 0, messages);
    else if (this.filled > 0) pos = this.continueSplit(chunk, messages);
    if (this.piece || this.filled > 0) {
      this.streamAt = base + len;
      return;
    }
    // Fast path: whole frames straight out of the chunk, data as views into it.
    while (len - pos >= HEADER_BYTES) {
      const plen = this.checkHeader(chunk, pos, base + pos);
      if (len - pos - HEADER_BYTES < plen) break;
      messages.push(this.decodeFrame(chunk, pos, plen, base));
      pos += HEADER_BYTES + plen;
    }
    if (pos < len) {
      this.frameAt = base + pos;
      const left = len - pos;
      if (left >= HEADER_BYTES && this.pieces && PIECE_TYPES.has(chunk[pos] as number)) {
        // Checked in the loop above; the frame did not fit, so some of its data is still to come.
        const plen = this.checkHeader(chunk, pos, base + pos);
        const have = left - HEADER_BYTES;
        const head = this.decodeFrame(chunk, pos, have, base) as Send | Data;
        if (have > 0) messages.push({ ...head, more: true });
        this.piece = { template: { ...head, data: EMPTY }, left: plen - have };
        this.streamAt = base + len;
        return;
      }
      if (left < HEADER_BYTES) {
        this.head.set(chunk.subarray(pos), 0);
        this.frame = null;
      } else {
        // The header was checked in the loop above, so the length is bounded by maxPayload.
        const plen = this.checkHeader(chunk, pos, base + pos);
        this.frame = allocFrame(HEADER_BYTES + plen);
        this.frame.set(chunk.subarray(pos), 0);
      }
      this.filled = left;
    }
    this.streamAt = base + len;
  }

  /** Feeds a split frame from the start of `chunk`; returns how many bytes of the chunk it took. */
  private continueSplit(chunk: Uint8Array, messages: WireMessage[]): number {
    let pos = 0;
    if (this.frame === null) {
      const take = Math.min(HEADER_BYTES - this.filled, chunk.length);
      this.head.set(chunk.subarray(0, take), this.filled);
      this.filled += take;
      pos = take;
      if (this.filled < HEADER_BYTES) return pos;
      const plen = this.checkHeader(this.head, 0, this.frameAt);
      if (plen > 0 && this.pieces && PIECE_TYPES.has(this.head[0] as number)) {
        this.filled = 0;
        this.piece = { template: { ...(this.decodeFrame(this.head, 0, 0, this.frameAt) as Send | Data), data: EMPTY }, left: plen };
        return this.continuePiece(chunk, pos, messages);
      }
      this.frame = allocFrame(HEADER_BYTES + plen);
      this.frame.set(this.head, 0);
    }
    const frame = this.frame;
    const take = Math.min(frame.length - this.filled, chunk.length - pos);
    frame.set(chunk.subarray(pos, pos + take), this.filled);
    this.filled += take;
    pos += take;
    if (this.filled === frame.length) {
      this.filled = 0;
      this.frame = null;
      messages.push(this.decodeFrame(frame, 0, frame.length - HEADER_BYTES, this.frameAt));
    }
    return pos;
  }

  /** Delivers the next piece of the frame in pieces from chunk[pos]; returns the position after it. */
  private continuePiece(chunk: Uint8Array, pos: number, messages: WireMessage[]): number {
    const p = this.piece as { template: Send | Data; left: number };
    const take = Math.min(p.left, chunk.length - pos);
    if (take === 0) return pos;
    p.left -= take;
    messages.push({ ...p.template, data: chunk.subarray(pos, pos + take), more: p.left > 0 });
    if (p.left === 0) this.piece = null;
    return pos + take;
  }

  /** Validates the header at buf[pos]; returns the payload length, known to be within limits. */
  private checkHeader(buf: Uint8Array, pos: number, streamPos: number): number {
    const code = buf[pos] as number;
    const type = NAME_BY_CODE[code];
    if (type === undefined) throw new ProtocolError(streamPos, `unknown frame type 0x${code.toString(16).padStart(2, '0')}: expected one of FrameType (wire.ts)`);
    const flags = buf[pos + 1] as number;
    if ((flags & ~(ALLOWED_FLAGS[code] as number)) !== 0)
      throw new ProtocolError(streamPos + 1, `${type}: flags 0x${flags.toString(16)} set bits other than 0x${(ALLOWED_FLAGS[code] as number).toString(16)}`);
    if (buf[pos + 2] !== 0 || buf[pos + 3] !== 0) throw new ProtocolError(streamPos + 2, `${type}: reserved header bytes must be 0`);
    const plen = (((buf[pos + 12] as number) << 24) | ((buf[pos + 13] as number) << 16) | ((buf[pos + 14] as number) << 8) | (buf[pos + 15] as number)) >>> 0;
    const min = MIN_BY_CODE[code] as number;
    const max = Math.min(MAX_BY_CODE[code] as number, this.maxPayload);
    if (plen < min || plen > max)
      throw new ProtocolError(streamPos + 12, `${type}: payload length ${plen}: expected ${min === max ? min : `${min}..${max}`} bytes${plen > this.maxPayload ? ` (maxPayload ${this.maxPayload})` : ''}`);
    return plen;
  }

  /** Decodes the frame at buf[pos] whose header is valid and whose payload of `plen` bytes is all there. */
  private decodeFrame(buf: Uint8Array, pos: number, plen: number, base: number): WireMessage {
    const code = buf[pos] as number;
    const type = NAME_BY_CODE[code] as WireType;
    const id = (((buf[pos + 4] as number) << 24) | ((buf[pos + 5] as number) << 16) | ((buf[pos + 6] as number) << 8) | (buf[pos + 7] as number)) >>> 0;
    const handle = (((buf[pos + 8] as number) << 24) | ((buf[pos + 9] as number) << 16) | ((buf[pos + 10] as number) << 8) | (buf[pos + 11] as number)) >>> 0;
    const start = pos + HEADER_BYTES;
    const end = start + plen;
    // The hot types skip the reader.
    if (code === FrameType.data) return { type: 'data', id, handle, data: buf.subarray(start, end) };
    if (code === FrameType.send) return { type: 'send', id, handle, noReply: ((buf[pos + 1] as number) & Flag.noReply) !== 0, data: buf.subarray(start, end) };
    if (code === FrameType.credit) {
      const bytes = (((buf[start] as number) << 24) | ((buf[start + 1] as number) << 16) | ((buf[start + 2] as number) << 8) | (buf[start + 3] as number)) >>> 0;
      return { type: 'credit', id, handle, bytes };
    }
    const r = this.reader;
    r.buf = buf;
    r.pos = start;
    r.end = end;
    r.base = base;
    r.type = type;
    const m = decodePayload(r, type, id, handle, (buf[pos + 1] as number) & Flag.noReply);
    if (r.pos !== end) r.bad(`${end - r.pos} unexpected bytes after the last field: payload length must match the fields exactly`);
    r.buf = EMPTY; // do not keep the chunk alive
    return m;
  }
}

const EMPTY = new Uint8Array(0);
/** The frames whose payload is all data, so that any prefix of it is a meaningful piece. */
const PIECE_TYPES = new Set<number>([FrameType.send, FrameType.data]);

function decodePayload(r: PayloadReader, type: WireType, id: number, handle: number, noReplyBit: number): WireMessage {
  switch (type) {
    case 'hello': {
      const version = r.u16('version');
      const capabilities = r.u32('capabilities');
      const maxPayload = r.payloadLimit('maxPayload');
      const guestTimeNs = r.u64('guestTimeNs');
      const guest = r.str('guest name', 1);
      return { type, id, handle, version, guest, capabilities, maxPayload, guestTimeNs };
    }
    case 'clock': return { type, id, handle, guestTimeNs: r.u64('guestTimeNs') };
    case 'socket': {
      const start = r.pos;
      const family = r.u8('family');
      if (family !== 4 && family !== 6) r.bad(`family ${family}: expected 4 or 6`, start);
      return { type, id, handle, family, kind: r.enumOf(KINDS, 'kind') };
    }
    case 'connect': return { type, id, handle, remote: r.endpoint('remote') };
    case 'bind': return { type, id, handle, local: r.endpoint('local') };
    case 'listen': return { type, id, handle, backlog: r.u32('backlog') };
    case 'send': return { type, id, handle, noReply: noReplyBit !== 0, data: r.rest() };
    case 'shutdown': return { type, id, handle, how: r.enumOf(SHUTDOWN_HOW, 'how') };
    case 'close': return { type, id, handle };
    case 'sendto': {
      const remote = r.endpoint('remote');
      return { type, id, handle, noReply: noReplyBit !== 0, remote, data: r.rest() };
    }
    case 'lookup': {
      const start = r.pos;
      const family = r.u8('family');
      if (family !== 0 && family !== 4 && family !== 6) r.bad(`family ${family}: expected 0, 4 or 6`, start);
      return { type, id, handle, family, hostname: r.str('hostname', 1) };
    }
    case 'setsockopt': {
      const option: SockOpt = r.enumOf(SOCKOPTS, 'option');
      return { type, id, handle, option, value: r.u32('value') };
    }
    case 'getsockopt': return { type, id, handle, option: r.enumOf(SOCKOPTS, 'option') };
    case 'getsockname': return { type, id, handle };
    case 'getpeername': return { type, id, handle };
    case 'stamps': {
      const start = r.pos;
      const count = r.u16('entry count');
      if (count > MAX_STAMP_ENTRIES) r.bad(`entry count ${count}: expected at most ${MAX_STAMP_ENTRIES}`, start);
      // Checked before allocating: the entries must fill the payload exactly.
      if (r.end - r.pos !== count * STAMP_ENTRY_BYTES)
        r.bad(`${count} entries need ${count * STAMP_ENTRY_BYTES} bytes, the payload has ${r.end - r.pos} after the count`, start);
      const entries: StampEntry[] = new Array(count);
      for (let i = 0; i < count; i++) {
        const eid = r.u32('entry id');
        const enter = r.u64('enter');
        const channelOut = r.u64('channelOut');
        const replyIn = r.u64('replyIn');
        entries[i] = { id: eid, enter, channelOut, replyIn, return: r.u64('return') };
      }
      return { type, id, handle, entries };
    }
    case 'goodbye': return { type, id, handle, reason: r.str('reason', 0) };
    case 'credit': return { type, id, handle, bytes: r.u32('bytes') };
    case 'ok': return { type, id, handle, value: r.u32('value') };
    case 'error': {
      const errno = r.errno('errno');
      return { type, id, handle, errno, message: r.str('message', 0) };
    }
    case 'helloOk': {
      const version = r.u16('version');
      const capabilities = r.u32('capabilities');
      const maxPayload = r.payloadLimit('maxPayload');
      const initialCredit = r.u32('initialCredit');
      return { type, id, handle, version, capabilities, maxPayload, initialCredit, hostTimeNs: r.u64('hostTimeNs') };
    }
    case 'clockOk': {
      const guestTimeNs = r.u64('guestTimeNs');
      return { type, id, handle, guestTimeNs, hostTimeNs: r.u64('hostTimeNs') };
    }
    case 'address': return { type, id, handle, endpoint: r.endpoint('endpoint') };
    case 'lookupOk': {
      const start = r.pos;
      const count = r.u8('address count');
      if (count > MAX_LOOKUP_ADDRESSES) r.bad(`address count ${count}: expected at most ${MAX_LOOKUP_ADDRESSES}`, start);
      if (r.end - r.pos < count * ENDPOINT_MIN) r.bad(`${count} addresses need at least ${count * ENDPOINT_MIN} bytes, ${r.end - r.pos} left`, start);
      const addresses: Endpoint[] = new Array(count);
      for (let i = 0; i < count; i++) addresses[i] = r.endpoint(`address ${i}`);
      return { type, id, handle, addresses };
    }
    case 'data': return { type, id, handle, data: r.rest() };
    case 'datagram': {
      const remote = r.endpoint('remote');
      return { type, id, handle, remote, data: r.rest() };
    }
    case 'accepted': {
      const newHandle = r.u32('newHandle');
      const remote = r.endpoint('remote');
      return { type, id, handle, newHandle, remote, local: r.endpoint('local') };
    }
    case 'peerClosed': return { type, id, handle };
    case 'socketError': {
      const errno = r.errno('errno');
      return { type, id, handle, errno, message: r.str('message', 0) };
    }
    case 'closed': return { type, id, handle };
  }
}
