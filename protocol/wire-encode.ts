// Encodes delegation wire protocol v1 messages into frames (encodeMessage, encodeFrameParts), driven by the
// layout table (wire-layout.ts): one writer per field kind. Messages come from our own code, so a value
// that cannot be encoded is a programming error: it throws a RangeError naming the field. Free text (error
// messages, goodbye reasons) is clamped to MAX_NAME_BYTES instead, so that reporting an error can never fail.

import { errnoCode, isErrnoName } from './errno';
import { parseIPv4, parseIPv6 } from './ip-address';
import { clampUtf8, utf8Length, writeUtf8 } from './utf8';
import {
  Flag, FrameType, HEADER_BYTES, MAX_LOOKUP_ADDRESSES, MAX_NAME_BYTES, MAX_PAYLOAD_CEILING, MAX_SENDMSG_BUFFERS,
  MAX_STAMP_ENTRIES, SCOPED_FAMILY_BIT,
  type Endpoint, type StampEntry, type WireMessage, type WireType,
} from './wire';
import {
  ENDPOINT_MIN, ENDPOINT_V6, fieldsOf, MIN_MAX_PAYLOAD, STAMP_ENTRY_BYTES, TAIL_KINDS, WIRE_LAYOUT, type FieldKind, type FieldSpec,
} from './wire-layout';

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
function str(s: string): void {
  const n = utf8Length(s); // checked (or clamped) when the size was taken
  out[at++] = n;
  at = writeUtf8(s, out, at);
}

/** Whether `e` carries a scope id (0 and absent are none). */
function scoped(e: Endpoint): boolean {
  return e.scopeId !== undefined && e.scopeId !== 0;
}
function endpointBytes(e: Endpoint, what: string): number {
  if (e === null || typeof e !== 'object') fail(what, 'an endpoint', e);
  if (scoped(e)) {
    if (e.family !== 6) fail(`${what}.scopeId`, 'no scope id on an IPv4 endpoint', e.scopeId);
    if (!Number.isInteger(e.scopeId) || (e.scopeId as number) < 0 || (e.scopeId as number) > 0xffffffff) fail(`${what}.scopeId`, 'an interface index in 1..2^32-1', e.scopeId);
    return ENDPOINT_V6 + 4;
  }
  if (e.family === 4) return ENDPOINT_MIN;
  if (e.family === 6) return ENDPOINT_V6;
  return fail(`${what}.family`, '4 or 6', e.family);
}
function endpoint(e: Endpoint, what: string): void {
  if (!Number.isInteger(e.port) || e.port < 0 || e.port > 65535) fail(`${what}.port`, 'a port in 0..65535', e.port);
  const withScope = scoped(e);
  out[at++] = withScope ? e.family | SCOPED_FAMILY_BIT : e.family;
  u16(e.port);
  const ok = typeof e.address === 'string' && (e.family === 4 ? parseIPv4(e.address, out, at) : parseIPv6(e.address, out, at));
  if (!ok) fail(`${what}.address`, `an IPv${e.family} address`, e.address);
  at += e.family === 4 ? 4 : 16;
  if (withScope) u32(e.scopeId as number, `${what}.scopeId`);
}

function bytesOf(data: Uint8Array, what: string): Uint8Array {
  if (!(data instanceof Uint8Array)) fail(what, 'a Uint8Array', typeof data);
  return data;
}

function indexIn(list: readonly unknown[], v: unknown, what: string): number {
  const i = list.indexOf(v);
  if (i < 0) fail(what, list.join(' | '), v);
  return i;
}

/** "4 or 6", "0, 4 or 6". */
function oneOf(values: readonly unknown[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${String(values[values.length - 1])}`;
}

/**
 * One writer per field kind: `size` checks the value and returns its bytes before the tail (the raw data
 * that encodeFrameParts hands on uncopied), `write` writes those bytes, `tail` returns the data parts.
 */
interface Writer {
  size(v: never, what: string, spec: FieldSpec): number;
  write(v: never, what: string, spec: FieldSpec): void;
  tail?(v: never): Uint8Array[];
}
const writer = <V>(w: { size(v: V, what: string, spec: FieldSpec): number; write(v: V, what: string, spec: FieldSpec): void; tail?(v: V): Uint8Array[] }): Writer => w as Writer;

const WRITERS: Record<FieldKind, Writer> = {
  u16: writer<number>({
    size: (v, what) => (Number.isInteger(v) && v >= 0 && v <= 0xffff ? 2 : fail(what, 'an integer in 0..65535', v)),
    write: (v) => u16(v),
  }),
  u32: writer<number>({ size: () => 4, write: (v, what) => u32(v, what) }),
  u64: writer<number>({ size: () => 8, write: (v, what) => u64(v, what) }),
  payloadLimit: writer<number>({
    size: (v, what) => (Number.isInteger(v) && v >= MIN_MAX_PAYLOAD && v <= MAX_PAYLOAD_CEILING ? 4 : fail(what, `${MIN_MAX_PAYLOAD}..${MAX_PAYLOAD_CEILING}`, v)),
    write: (v, what) => u32(v, what),
  }),
  enum: writer<string>({
    size: (v, what, spec) => (indexIn((spec as { values: readonly string[] }).values, v, what), 1),
    write: (v, what, spec) => u8(indexIn((spec as { values: readonly string[] }).values, v, what)),
  }),
  family: writer<number>({
    size: (v, what, spec) => {
      const values = (spec as { values: readonly number[] }).values;
      return values.includes(v) ? 1 : fail(what, oneOf(values), v);
    },
    write: (v) => u8(v),
  }),
  name: writer<string>({ size: (v, what) => 1 + nameBytes(v, what), write: (v) => str(v) }),
  text: writer<string>({ size: (v) => 1 + utf8Length(v), write: (v) => str(v) }),
  endpoint: writer<Endpoint>({ size: (v, what) => endpointBytes(v, what), write: (v, what) => endpoint(v, what) }),
  optionalEndpoint: writer<Endpoint | null>({
    size: (v, what) => (v === null ? 1 : endpointBytes(v, what)),
    write: (v, what) => (v === null ? u8(0) : endpoint(v, what)),
  }),
  errno: writer<string>({
    size: (v, what) => (isErrnoName(v) ? 1 : fail(what, 'a known errno name (errno.ts)', v)),
    write: (v) => u8(errnoCode(v as Parameters<typeof errnoCode>[0])),
  }),
  stampEntries: writer<StampEntry[]>({
    size: (v, what) => {
      if (!Array.isArray(v) || v.length > MAX_STAMP_ENTRIES) fail(what, `at most ${MAX_STAMP_ENTRIES} entries`, v?.length);
      return 2 + STAMP_ENTRY_BYTES * v.length;
    },
    write: (v, what) => {
      u16(v.length);
      for (const e of v) {
        u32(e.id, `${what}[].id`);
        u64(e.enter, `${what}[].enter`);
        u64(e.channelOut, `${what}[].channelOut`);
        u64(e.replyIn, `${what}[].replyIn`);
        u64(e.return, `${what}[].return`);
      }
    },
  }),
  endpointList: writer<Endpoint[]>({
    size: (v, what) => {
      if (!Array.isArray(v) || v.length > MAX_LOOKUP_ADDRESSES) fail(what, `at most ${MAX_LOOKUP_ADDRESSES} addresses`, v?.length);
      let n = 1;
      for (const a of v) n += endpointBytes(a, `${what}[]`);
      return n;
    },
    write: (v, what) => {
      u8(v.length);
      for (const a of v) endpoint(a, `${what}[]`);
    },
  }),
  bytes: writer<Uint8Array>({ size: (v, what) => (bytesOf(v, what), 0), write: () => undefined, tail: (v) => [v] }),
  bufferList: writer<Uint8Array[]>({
    size: (v, what) => {
      if (!Array.isArray(v) || v.length > MAX_SENDMSG_BUFFERS) fail(what, `at most ${MAX_SENDMSG_BUFFERS} buffers`, v?.length);
      for (const b of v) bytesOf(b, `${what}[]`);
      return 2 + 4 * v.length;
    },
    write: (v, what) => {
      u16(v.length);
      for (const b of v) u32(b.byteLength, `${what}[].length`);
    },
    tail: (v) => v,
  }),
};

/** A row's fields with their writers and the names encode errors give them, in wire order. */
interface Plan {
  code: number;
  noReply: boolean;
  fields: { key: string; spec: FieldSpec; w: Writer; what: string }[];
  /** The field whose value is the raw data after the fixed bytes, if any. */
  tail: { key: string; w: Writer; single: boolean } | null;
  /** Keys of free text fields (clamped, never refused). */
  text: string[];
}
const PLANS = {} as Record<WireType, Plan>;
for (const type of Object.keys(WIRE_LAYOUT) as WireType[]) {
  const fields = fieldsOf(type).map((f) => ({ key: f.key, spec: f.spec, w: WRITERS[f.spec.kind], what: `${type}.${f.key}` }));
  const last = fields[fields.length - 1];
  PLANS[type] = {
    code: FrameType[type],
    noReply: WIRE_LAYOUT[type].noReply === true,
    fields,
    tail: last && TAIL_KINDS.has(last.spec.kind) ? { key: last.key, w: last.w, single: last.spec.kind === 'bytes' } : null,
    text: fields.filter((f) => f.spec.kind === 'text').map((f) => f.key),
  };
}

function planOf(m: WireMessage): Plan {
  const plan = m !== null && typeof m === 'object' ? PLANS[m.type] : undefined;
  return plan ?? fail('type', 'a wire message type (wire.ts)', (m as { type?: unknown } | null)?.type);
}

/** Free text fit for the wire: well-formed, at most MAX_NAME_BYTES. Returns the message unchanged if it was. */
function withFitText(m: WireMessage, plan: Plan): WireMessage {
  let fit: Record<string, unknown> | null = null;
  for (const key of plan.text) {
    const v = (m as unknown as Record<string, string>)[key] as string;
    const n = utf8Length(v);
    if (n < 0 || n > MAX_NAME_BYTES) (fit ??= { ...m })[key] = clampUtf8(String(v), MAX_NAME_BYTES);
  }
  return (fit as WireMessage | null) ?? m;
}

const fieldsOfMessage = (m: WireMessage): Record<string, unknown> => m as unknown as Record<string, unknown>;

/** Payload bytes of `m` before its tail data (checking every field on the way). */
function fixedBytes(m: WireMessage, plan: Plan): number {
  const v = fieldsOfMessage(m);
  let n = 0;
  for (const f of plan.fields) n += f.w.size(v[f.key] as never, f.what, f.spec);
  return n;
}

function tailOf(m: WireMessage, plan: Plan): Uint8Array[] | null {
  const t = plan.tail;
  return t ? (t.w.tail as (v: never) => Uint8Array[])(fieldsOfMessage(m)[t.key] as never) : null;
}

function tailBytes(parts: Uint8Array[] | null): number {
  let n = 0;
  if (parts) for (const p of parts) n += p.byteLength;
  return n;
}

function writeHeaderAndFixed(m: WireMessage, plan: Plan, payload: number): void {
  if (payload > MAX_PAYLOAD_CEILING) fail(`${m.type} payload length`, `at most ${MAX_PAYLOAD_CEILING} bytes`, payload);
  out[at++] = plan.code;
  out[at++] = plan.noReply && (m as { noReply?: boolean }).noReply ? Flag.noReply : 0;
  u16(0);
  u32(m.id, `${m.type}.id`);
  u32(m.handle, `${m.type}.handle`);
  u32(payload, `${m.type} payload length`);
  const v = fieldsOfMessage(m);
  for (const f of plan.fields) f.w.write(v[f.key] as never, f.what, f.spec);
}

/** One whole frame for `m` (its data copied in). */
export function encodeMessage(m: WireMessage): Uint8Array {
  const plan = planOf(m);
  m = withFitText(m, plan);
  const fixed = fixedBytes(m, plan);
  const tail = tailOf(m, plan);
  const tailLength = tailBytes(tail);
  out = new Uint8Array(HEADER_BYTES + fixed + tailLength);
  at = 0;
  writeHeaderAndFixed(m, plan, fixed + tailLength);
  if (tail) for (const p of tail) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * The frame for `m` as parts to write in order (socket.cork + write, or writev): for a type with data
 * (send, sendto, data, datagram, sendmsg), [header and fixed fields, then the data itself, uncopied: one
 * part, or one per sendmsg buffer]; for every other type, [the whole frame].
 */
export function encodeFrameParts(m: WireMessage): Uint8Array[] {
  const plan = planOf(m);
  const t = plan.tail;
  if (!t) return [encodeMessage(m)];
  const fixed = fixedBytes(m, plan);
  if (t.single) {
    // The hot case (send, data): no list of parts to build for one part.
    const data = fieldsOfMessage(m)[t.key] as Uint8Array;
    out = new Uint8Array(HEADER_BYTES + fixed);
    at = 0;
    writeHeaderAndFixed(m, plan, fixed + data.byteLength);
    return [out, data];
  }
  const tail = tailOf(m, plan) as Uint8Array[];
  out = new Uint8Array(HEADER_BYTES + fixed);
  at = 0;
  writeHeaderAndFixed(m, plan, fixed + tailBytes(tail));
  const parts: Uint8Array[] = [out];
  for (const p of tail) parts.push(p);
  return parts;
}
