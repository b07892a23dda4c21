// Writes .lstrace bytes: the file header and self-contained chunks of records (layout in README.md).
// Records come from our own code, so a value that cannot be encoded losslessly throws a RangeError naming
// the field. The hot path (call records) does no per-record allocation: one growing scratch buffer.

import { concatBytes } from './bytes';
import { crc32 } from './crc32';
import { errnoCode, isErrnoName } from './errno';
import {
  CHUNK_HEADER_BYTES, CHUNK_MAGIC, CallBit, DEFAULT_RECORDS_PER_CHUNK, FILE_HEADER_BYTES, FrameBit, Kind,
  LSTRACE_MAGIC, LSTRACE_VERSION, MAX_CHUNK_BODY, MAX_FLOW_ADDRESS, MAX_RECORD_NAME, MAX_TRACE_STRING_BYTES, MODES, ValueTag,
} from './lstrace-format';
import {
  FRAME_DIRECTIONS, OPS, PATHS, STAGES,
  type CallRecord, type DroppedRecord, type FrameRecord, type RunInfo, type TraceRecord,
} from './trace';
import { utf8Length, writeUtf8 } from './utf8';

const indexOf = <T extends string>(list: readonly T[]) => new Map<string, number>(list.map((v, i) => [v, i]));
const PATH_INDEX = indexOf(PATHS);
const OP_INDEX = indexOf(OPS);
const STAGE_INDEX = indexOf(STAGES);
const DIRECTION_INDEX = indexOf(FRAME_DIRECTIONS);

export function encodeFileHeader(): Uint8Array {
  const h = new Uint8Array(FILE_HEADER_BYTES);
  h.set(LSTRACE_MAGIC, 0);
  h[8] = LSTRACE_VERSION >> 8;
  h[9] = LSTRACE_VERSION & 0xff;
  return h; // flags (bytes 10-11) stay 0
}

// ---- the scratch buffer and its writers ----

let buf = new Uint8Array(64 * 1024);
let at = 0;
function room(n: number): void {
  if (at + n <= buf.length) return;
  const bigger = new Uint8Array(Math.max(buf.length * 2, at + n));
  bigger.set(buf.subarray(0, at));
  buf = bigger;
}
function fail(what: string, expected: string, v: unknown): never {
  let shown: string;
  try {
    shown = JSON.stringify(v) ?? String(v);
  } catch {
    shown = String(v);
  }
  throw new RangeError(`cannot encode ${what} = ${shown}: expected ${expected}`);
}
function nat(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < 0) fail(what, 'an integer in 0..2^53-1', v);
  return v;
}
/** Unsigned LEB128 of 0 <= v <= 2^53-1 (at most 8 bytes). */
function uv(v: number): void {
  while (v > 0x7fffffff) {
    buf[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  while (v > 0x7f) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at++] = v;
}
/** Signed varint, sign-magnitude: first byte = continue | sign | 6 low bits, then LEB128 of the rest. */
function sv(d: number): void {
  const neg = d < 0;
  const m = neg ? -d : d;
  if (m <= 0x3f) {
    buf[at++] = m | (neg ? 0x40 : 0);
    return;
  }
  buf[at++] = (m % 64) | (neg ? 0x40 : 0) | 0x80;
  uv(Math.floor(m / 64));
}

// ---- the chunk's string table ----

const table = new Map<string, number>();
const strings: string[] = [];
let lastRun = '';
let lastRunIndex = -1;
let lastGuest = '';
let lastGuestIndex = -1;

function intern(s: string, what: string): number {
  let i = table.get(s);
  if (i === undefined) {
    if (typeof s !== 'string') fail(what, 'a string', s);
    const n = utf8Length(s);
    if (n < 0 || n > MAX_TRACE_STRING_BYTES) fail(what, `well-formed text of at most ${MAX_TRACE_STRING_BYTES} UTF-8 bytes`, s);
    i = strings.length;
    strings.push(s);
    table.set(s, i);
  }
  return i;
}
/** A name with the length limit of invalidRecord (trace.ts), so that what is written reads back valid. */
function short(s: string, max: number, what: string): string {
  if (typeof s !== 'string' || s.length > max) fail(what, `a string of at most ${max} characters`, s);
  return s;
}

// ---- records ----

// Module-local copies of imported constants (a CommonJS build reads imports through getters).
const STAGE_COUNT = STAGES.length;
const KIND_CALL = Kind.call;
const BIT_ERRNO = CallBit.errno;
const BIT_FRAMES = CallBit.frames;
const BIT_STAGE_LIST = CallBit.stageList;
const BIT_NEXT_SEQ = CallBit.nextSeq;

let prevSeq = -1;
let prevStart = 0;
const stageIdx = new Uint8Array(STAGES.length);

/** What calls and frames begin with: the tag, the seq (unless it is the next one), the run and the guest. */
function recordHead(tag: number, nextSeqBit: number, seq: number, run: string, guest: string): void {
  const next = seq === prevSeq + 1;
  buf[at++] = next ? tag | nextSeqBit : tag;
  if (!next) sv(seq - prevSeq);
  prevSeq = seq;
  // consecutive records mostly share their run and guest: skip the table lookup then
  if (run !== lastRun || lastRunIndex < 0) {
    lastRunIndex = intern(short(run, MAX_RECORD_NAME, 'record.run'), 'record.run');
    lastRun = run;
  }
  if (guest !== lastGuest || lastGuestIndex < 0) {
    lastGuestIndex = intern(short(guest, MAX_RECORD_NAME, 'record.guest'), 'record.guest');
    lastGuest = guest;
  }
  uv(lastRunIndex);
  uv(lastGuestIndex);
}

function encodeCall(c: CallRecord): void {
  room(256);
  const path = PATH_INDEX.get(c.path);
  if (path === undefined) fail('call.path', PATHS.join(' | '), c.path);
  const op = OP_INDEX.get(c.op);
  if (op === undefined) fail('call.op', 'an op of OPS (trace.ts)', c.op);
  const stages = c.stages;
  const n = Array.isArray(stages) ? stages.length : 0;
  if (n < 1 || n > STAGE_COUNT) fail('call.stages', `1..${STAGE_COUNT} stages`, n);
  let list = false;
  let mask = 0;
  let last = -1;
  for (let i = 0; i < n; i++) {
    const s = STAGE_INDEX.get((stages[i] as CallRecord['stages'][number]).name);
    if (s === undefined) fail('call.stages[].name', 'a stage of STAGES (trace.ts)', stages[i]?.name);
    stageIdx[i] = s;
    if (s <= last) list = true; // repeated or out of the canonical order: spell the names out
    last = s;
    mask |= 1 << s;
  }
  const seq = nat(c.seq, 'call.seq');
  let tag = KIND_CALL | (path << 2);
  if (c.result !== 'ok') {
    if (!isErrnoName(c.result)) fail('call.result', "'ok' or an errno name", c.result);
    tag |= BIT_ERRNO;
  }
  if (c.frames !== undefined) tag |= BIT_FRAMES;
  if (list) tag |= BIT_STAGE_LIST;
  recordHead(tag, BIT_NEXT_SEQ, seq, c.run, c.guest);
  uv(nat(c.socket, 'call.socket'));
  buf[at++] = op;
  uv(nat(c.bytes, 'call.bytes'));
  if (c.result !== 'ok') buf[at++] = errnoCode(c.result);
  if (list) {
    buf[at++] = n;
    for (let i = 0; i < n; i++) buf[at++] = stageIdx[i] as number;
  } else buf[at++] = mask;
  // Times: the first start relative to the previous record's start, then per stage its duration and the
  // gap from the previous stage's end (0 for contiguous delegated stages: one byte).
  let prevEnd = 0;
  let prevStageStart = 0;
  for (let i = 0; i < n; i++) {
    const st = stages[i] as CallRecord['stages'][number];
    const start = nat(st.start, 'call.stages[].start');
    const end = nat(st.end, 'call.stages[].end');
    if (end < start) fail('call.stages[].end', `>= its start ${start}`, end);
    if (i === 0) {
      sv(start - prevStart);
      prevStart = start;
    } else {
      if (start < prevStageStart) fail('call.stages[].start', 'stages ordered by start', start);
      sv(start - prevEnd);
    }
    uv(end - start);
    prevEnd = end;
    prevStageStart = start;
  }
  if (c.frames !== undefined) {
    const frames = c.frames;
    if (!Array.isArray(frames)) fail('call.frames', 'a list of frame seq numbers', frames);
    room(8 + 9 * frames.length);
    uv(frames.length);
    let prev = seq;
    for (const f of frames) {
      sv(nat(f, 'call.frames[]') - prev);
      prev = f;
    }
  }
}

function encodeFrame(f: FrameRecord): void {
  room(128);
  const dir = DIRECTION_INDEX.get(f.direction);
  if (dir === undefined) fail('frame.direction', FRAME_DIRECTIONS.join(' | '), f.direction);
  const seq = nat(f.seq, 'frame.seq');
  let tag = Kind.frame | (dir << 2);
  const flow = f.flow;
  if (flow !== null) {
    if (typeof flow !== 'object' || (flow.protocol !== 'tcp' && flow.protocol !== 'udp')) fail('frame.flow', 'null or a tcp/udp flow', flow);
    tag |= FrameBit.flow | (flow.protocol === 'udp' ? FrameBit.udp : 0);
  }
  recordHead(tag, FrameBit.nextSeq, seq, f.run, f.guest);
  uv(nat(f.length, 'frame.length'));
  uv(nat(f.payload, 'frame.payload'));
  const tIn = nat(f.tIn, 'frame.tIn');
  const tOut = nat(f.tOut, 'frame.tOut');
  if (tOut < tIn) fail('frame.tOut', `>= tIn ${tIn}`, tOut);
  sv(tIn - prevStart);
  prevStart = tIn;
  uv(tOut - tIn);
  if (flow !== null) {
    uv(intern(short(flow.src, MAX_FLOW_ADDRESS, 'frame.flow.src'), 'frame.flow.src'));
    uv(nat(flow.srcPort, 'frame.flow.srcPort'));
    uv(intern(short(flow.dst, MAX_FLOW_ADDRESS, 'frame.flow.dst'), 'frame.flow.dst'));
    uv(nat(flow.dstPort, 'frame.flow.dstPort'));
  }
}

/** A number, losslessly: a varint when it is a non-negative safe integer, else its IEEE-754 double. */
function numberValue(v: number, what: string): void {
  room(9);
  if (typeof v !== 'number') fail(what, 'a number', v);
  if (Number.isSafeInteger(v) && v >= 0 && !Object.is(v, -0)) {
    buf[at++] = ValueTag.nat;
    uv(v);
  } else {
    buf[at++] = ValueTag.float;
    new DataView(buf.buffer, buf.byteOffset + at, 8).setFloat64(0, v);
    at += 8;
  }
}
function anyValue(v: string | number | boolean, what: string): void {
  room(9);
  if (typeof v === 'string') {
    buf[at++] = ValueTag.string;
    uv(intern(v, what));
  } else if (typeof v === 'boolean') buf[at++] = v ? ValueTag.true : ValueTag.false;
  else numberValue(v, what);
}
function count(n: number, what: string): void {
  room(9);
  uv(nat(n, what));
}
function str(s: string, what: string): void {
  room(9);
  uv(intern(s, what));
}

function encodeRun(r: RunInfo): void {
  room(16);
  buf[at++] = Kind.run;
  str(r.id, 'run.id');
  str(r.workload, 'run.workload');
  if (!Array.isArray(r.paths) || r.paths.length > 255) fail('run.paths', 'at most 255 paths', r.paths);
  room(1 + r.paths.length);
  buf[at++] = r.paths.length;
  for (const p of r.paths) {
    const i = PATH_INDEX.get(p);
    if (i === undefined) fail('run.paths[]', PATHS.join(' | '), p);
    buf[at++] = i;
  }
  const params = Object.entries(r.params ?? fail('run.params', 'an object', r.params));
  count(params.length, 'run.params');
  for (const [k, v] of params) {
    str(k, 'run.params key');
    anyValue(v, `run.params.${k}`);
  }
  const h = r.host ?? fail('run.host', 'host facts', r.host);
  str(h.kernel, 'run.host.kernel');
  str(h.cpu, 'run.host.cpu');
  numberValue(h.cpus, 'run.host.cpus');
  numberValue(h.mtu, 'run.host.mtu');
  const mode = MODES.indexOf(h.mode);
  if (mode < 0) fail('run.host.mode', 'null | e1000 | virtio', h.mode);
  room(1);
  buf[at++] = mode;
  if (!Array.isArray(h.offloads)) fail('run.host.offloads', 'a list of strings', h.offloads);
  count(h.offloads.length, 'run.host.offloads');
  for (const o of h.offloads) str(o, 'run.host.offloads[]');
  numberValue(r.startedNs, 'run.startedNs');
  const errors = Object.entries(r.clockErrorNs ?? fail('run.clockErrorNs', 'an object', r.clockErrorNs));
  count(errors.length, 'run.clockErrorNs');
  for (const [k, v] of errors) {
    str(k, 'run.clockErrorNs key');
    numberValue(v, `run.clockErrorNs.${k}`);
  }
}

function encodeDropped(d: DroppedRecord): void {
  room(20);
  buf[at++] = Kind.dropped;
  uv(nat(d.count, 'dropped.count'));
  uv(nat(d.atNs, 'dropped.atNs'));
}

/**
 * One self-contained chunk holding `records` in order: its own string table, record count and CRC-32. The
 * same bytes are a binary WebSocket message of the trace stream, a postMessage to the viewer, and a piece
 * of a .lstrace file after encodeFileHeader().
 */
export function encodeChunk(records: readonly TraceRecord[]): Uint8Array {
  at = 0;
  table.clear();
  strings.length = 0;
  lastRunIndex = -1;
  lastGuestIndex = -1;
  prevSeq = -1;
  prevStart = 0;
  try {
    for (const r of records) {
      switch (r?.kind) {
        case 'call': encodeCall(r); break;
        case 'frame': encodeFrame(r); break;
        case 'run': encodeRun(r); break;
        case 'dropped': encodeDropped(r); break;
        default: fail('record.kind', 'call | frame | run | dropped', (r as { kind?: unknown } | null)?.kind);
      }
    }
    const recordBytes = at;
    // The string table goes first in the body so that a reader resolves names as it meets them.
    let tableBytes = varintBytes(strings.length);
    const lengths = strings.map((s) => utf8Length(s));
    for (const n of lengths) tableBytes += varintBytes(n) + n;
    const bodyBytes = tableBytes + recordBytes;
    if (bodyBytes > MAX_CHUNK_BODY) fail('chunk', `a body of at most ${MAX_CHUNK_BODY} bytes: split the records over more chunks`, bodyBytes);
    const chunk = new Uint8Array(CHUNK_HEADER_BYTES + bodyBytes);
    chunk.set(buf.subarray(0, recordBytes), CHUNK_HEADER_BYTES + tableBytes);
    const saved = buf;
    buf = chunk;
    at = CHUNK_HEADER_BYTES;
    uv(strings.length);
    for (let i = 0; i < strings.length; i++) {
      uv(lengths[i] as number);
      at = writeUtf8(strings[i] as string, chunk, at);
    }
    buf = saved;
    writeU32(chunk, 0, CHUNK_MAGIC);
    writeU32(chunk, 4, bodyBytes);
    writeU32(chunk, 8, records.length);
    writeU32(chunk, 12, crc32(chunk, CHUNK_HEADER_BYTES, chunk.length));
    return chunk;
  } finally {
    at = 0;
    table.clear();
    strings.length = 0;
    if (buf.length > 8 * 1024 * 1024) buf = new Uint8Array(64 * 1024); // do not hold a one-off giant
  }
}

/** A whole .lstrace file: the header, then chunks of at most `recordsPerChunk` records. */
export function encodeFile(records: readonly TraceRecord[], recordsPerChunk = DEFAULT_RECORDS_PER_CHUNK): Uint8Array {
  const parts = [encodeFileHeader()];
  for (let i = 0; i < records.length; i += recordsPerChunk) parts.push(encodeChunk(records.slice(i, i + recordsPerChunk)));
  return concatBytes(parts);
}

function varintBytes(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}
function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
