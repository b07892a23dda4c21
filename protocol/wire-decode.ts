// Decodes delegation wire protocol v1 frames: a strict streaming FrameDecoder driven by the layout table
// (wire-layout.ts), one reader per field kind. It never trusts a length it has not checked against a limit
// and never throws: bad input yields a ProtocolError naming the stream offset of the offending field and
// what was expected there.

import { errnoFromCode, type ErrnoName } from './errno';
import { formatIPv4, formatIPv6 } from './ip-address';
import { readUtf8 } from './utf8';
import {
  DEFAULT_MAX_PAYLOAD, Flag, FrameType, HEADER_BYTES, MAX_LOOKUP_ADDRESSES, MAX_NAME_BYTES, MAX_PAYLOAD_CEILING,
  MAX_SENDMSG_BUFFERS, MAX_STAMP_ENTRIES, SCOPED_FAMILY_BIT,
  type Data, type Endpoint, type FrameTypeName, type Send, type StampEntry, type WireMessage, type WireType,
} from './wire';
import {
  ENDPOINT_MIN, fieldsOf, MIN_MAX_PAYLOAD, PAYLOAD_RANGE, STAMP_ENTRY_BYTES, WIRE_LAYOUT,
  type FieldEntry, type FieldKind, type FieldSpec,
} from './wire-layout';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  /** `offset`: in the decoded stream, of the first byte that is wrong. `reason`: what was expected there. */
  constructor(readonly offset: number, readonly reason: string) {
    super(`malformed frame at offset ${offset}: ${reason}`);
  }
}

// ---- per-type tables, indexed by type code ----

const NAME_BY_CODE: (WireType | undefined)[] = new Array(256).fill(undefined);
const ALLOWED_FLAGS = new Uint8Array(256);
const MIN_BY_CODE = new Float64Array(256);
const MAX_BY_CODE = new Float64Array(256);
/** The frames whose payload is all data, so that any prefix of it is a meaningful piece. */
const PIECE_TYPES = new Set<number>();
const FIELDS_BY_CODE: (readonly FieldEntry[])[] = new Array(256).fill([]);
for (const [name, code] of Object.entries(FrameType)) {
  const type = name as FrameTypeName;
  const row = WIRE_LAYOUT[type];
  NAME_BY_CODE[code] = type;
  if (row.noReply) ALLOWED_FLAGS[code] = Flag.noReply;
  if (row.pieces) PIECE_TYPES.add(code);
  const [min, max] = PAYLOAD_RANGE[type];
  MIN_BY_CODE[code] = min;
  MAX_BY_CODE[code] = max;
  FIELDS_BY_CODE[code] = fieldsOf(type);
}

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
    const code = this.u8(`${what} family`);
    const scoped = code === (6 | SCOPED_FAMILY_BIT);
    const family = scoped ? 6 : code;
    if (family !== 4 && family !== 6) this.bad(`${what} family ${code}: expected 4, 6 or ${6 | SCOPED_FAMILY_BIT} (6 with a scope id)`, start);
    const port = this.u16(`${what} port`);
    const n = family === 4 ? 4 : 16;
    this.need(n, `${what} IPv${family} address`);
    const address = family === 4 ? formatIPv4(this.buf, this.pos) : formatIPv6(this.buf, this.pos);
    this.pos += n;
    if (!scoped) return { family, address, port };
    const scopeStart = this.pos;
    const scopeId = this.u32(`${what} scope id`);
    if (scopeId === 0) this.bad(`${what} scope id 0: a scoped endpoint names an interface (1..2^32-1); send family 6 for none`, scopeStart);
    return { family, address, port, scopeId };
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
    const m = decodePayload(r, code, type, id, handle, buf[pos + 1] as number);
    if (r.pos !== end) r.bad(`${end - r.pos} unexpected bytes after the last field: payload length must match the fields exactly`);
    r.buf = EMPTY; // do not keep the chunk alive
    return m;
  }
}


const EMPTY = new Uint8Array(0);

/** "4 or 6", "0, 4 or 6". */
function oneOf(values: readonly unknown[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${String(values[values.length - 1])}`;
}

/** One reader per field kind; `label` is what errors call the field. */
const READERS: Record<FieldKind, (r: PayloadReader, label: string, spec: FieldSpec) => unknown> = {
  u16: (r, label) => r.u16(label),
  u32: (r, label) => r.u32(label),
  u64: (r, label) => r.u64(label),
  payloadLimit: (r, label) => r.payloadLimit(label),
  enum: (r, label, spec) => r.enumOf((spec as { values: readonly string[] }).values, label),
  family: (r, label, spec) => {
    const values = (spec as { values: readonly number[] }).values;
    const start = r.pos;
    const family = r.u8(label);
    if (!values.includes(family)) r.bad(`${label} ${family}: expected ${oneOf(values)}`, start);
    return family;
  },
  name: (r, label) => r.str(label, 1),
  text: (r, label) => r.str(label, 0),
  endpoint: (r, label) => r.endpoint(label),
  optionalEndpoint: (r, label) => {
    r.need(1, `${label} family`);
    if (r.buf[r.pos] !== 0) return r.endpoint(label);
    r.pos++;
    return null;
  },
  errno: (r, label) => r.errno(label),
  stampEntries: (r) => {
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
    return entries;
  },
  endpointList: (r) => {
    const start = r.pos;
    const count = r.u8('address count');
    if (count > MAX_LOOKUP_ADDRESSES) r.bad(`address count ${count}: expected at most ${MAX_LOOKUP_ADDRESSES}`, start);
    if (r.end - r.pos < count * ENDPOINT_MIN) r.bad(`${count} addresses need at least ${count * ENDPOINT_MIN} bytes, ${r.end - r.pos} left`, start);
    const addresses: Endpoint[] = new Array(count);
    for (let i = 0; i < count; i++) addresses[i] = r.endpoint(`address ${i}`);
    return addresses;
  },
  bytes: (r) => r.rest(),
  bufferList: (r, label) => {
    const start = r.pos;
    const count = r.u16(`${label} count`);
    if (count > MAX_SENDMSG_BUFFERS) r.bad(`${label} count ${count}: expected at most ${MAX_SENDMSG_BUFFERS}`, start);
    r.need(4 * count, `${label} lengths`);
    const lengths: number[] = new Array(count);
    let total = 0;
    for (let i = 0; i < count; i++) total += lengths[i] = r.u32(`${label} length`);
    // The buffers must fill the payload exactly: checked before any view is made.
    if (total !== r.end - r.pos) r.bad(`${label} lengths add up to ${total} bytes, the payload has ${r.end - r.pos} after them`, start);
    const buffers: Uint8Array[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const n = lengths[i] as number;
      buffers[i] = r.buf.subarray(r.pos, r.pos + n);
      r.pos += n;
    }
    return buffers;
  },
};

function decodePayload(r: PayloadReader, code: number, type: WireType, id: number, handle: number, flags: number): WireMessage {
  const m: Record<string, unknown> = { type, id, handle };
  if (ALLOWED_FLAGS[code] === Flag.noReply) m.noReply = (flags & Flag.noReply) !== 0;
  for (const f of FIELDS_BY_CODE[code] as readonly FieldEntry[]) m[f.key] = READERS[f.spec.kind](r, f.label, f.spec);
  return m as unknown as WireMessage;
}
