// Parses one chunk of .lstrace bytes: the chunk header and checksum, the string table, and the call, frame
// and dropped records, driving a visitor (lstrace-call-view.ts). It is the hot path of every reader
// (lstrace-decode.ts wraps it for whole files and streams), so its cursor is module-local state and the
// rare run records are read elsewhere (lstrace-run-read.ts) through a RecordSource.

import { crc32 } from './crc32';
import { ERRNO_NAMES } from './errno';
import { CallView, type ChunkVisitor } from './lstrace-call-view';
import {
  CHUNK_HEADER_BYTES, CHUNK_MAGIC, CallBit, CallExtra, FrameBit, Kind, MAX_CHUNK_BODY, MAX_FLOW_ADDRESS, MAX_RECORD_NAME,
  STAGE_LIST_EXTRA, TraceFileError,
} from './lstrace-format';
import { readRun, type RecordSource } from './lstrace-run-read';
import { FRAME_CONTENTS, FRAME_DIRECTIONS, FRAME_DROP_CAUSES, OPS, PATHS, STAGES, type DroppedRecord, type FrameRecord } from './trace';
import { readUtf8 } from './utf8';

// Module-local copies of imported constants: a CommonJS build (tsx, tests) reads imports through getters,
// which costs as much as the parsing itself in the per-call loop.
const STAGE_COUNT = STAGES.length;
const PATH_COUNT = PATHS.length;
const OP_COUNT = OPS.length;
const ERRNO_COUNT = ERRNO_NAMES.length;
const BIT_NEXT_SEQ = CallBit.nextSeq;
const BIT_ERRNO = CallBit.errno;
const BIT_STAGE_LIST = CallBit.stageList;
const BIT_FRAMES = CallBit.frames;
const KIND_CALL = Kind.call;
const KIND_FRAME = Kind.frame;
const KIND_RUN = Kind.run;

// ---- the parser's state: the chunk body being read ----

let B: Uint8Array = new Uint8Array(0);
let P = 0;
let END = 0;
/** File offset of B[0], for error offsets. */
let BASE = 0;
/** True when the body is cut short (a truncated file): running out of bytes is then truncation, not damage. */
let CUT = false;

/** Thrown when the bytes run out inside a record: damage when the chunk was whole, truncation when not. */
const SHORT = { short: true };

function bad(what: string, expected: string, at = P): never {
  throw new TraceFileError(BASE + at, what, expected);
}
function byte(): number {
  if (P >= END) throw SHORT;
  return B[P++] as number;
}
function uv(): number {
  if (P >= END) throw SHORT;
  let b = B[P++] as number;
  if (b < 0x80) return b;
  let v = b & 0x7f;
  let scale = 128;
  for (let i = 1; ; i++) {
    if (P >= END) throw SHORT;
    b = B[P++] as number;
    // The 8th byte may carry only bits 49..52: a varint is at most 2^53-1.
    if (i === 7 && b > 0x0f) bad('malformed varint', 'at most 8 bytes and 2^53-1', P - 1);
    v += (b & 0x7f) * scale;
    if (b < 0x80) return v;
    scale *= 128;
  }
}
/** Signed varint (sign-magnitude, magnitude at most 2^53). */
function sv(): number {
  if (P >= END) throw SHORT;
  const b = B[P++] as number;
  let m = b & 0x3f;
  if (b & 0x80) {
    const start = P;
    const rest = uv();
    if (rest > 2 ** 47 || (rest === 2 ** 47 && m !== 0)) bad('malformed signed varint', 'a magnitude of at most 2^53', start);
    m += rest * 64;
  }
  return b & 0x40 ? -m : m;
}
/** Checks that `n` items of at least a byte each can fit what is left of the body. */
function fits(n: number, what: string, at: number): void {
  if (n <= END - P) return;
  if (CUT) throw SHORT;
  bad(`bad ${what}`, `a count that fits the ${END - P} bytes left, got ${n}`, at);
}
function time(v: number, what: string, at: number): number {
  if (v < 0 || v > Number.MAX_SAFE_INTEGER) bad(`bad ${what}`, `a time in 0..2^53-1 ns, got ${v}`, at);
  return v;
}

let strings: string[] = [];
function str(what: string, maxLength = Infinity): string {
  const at = P;
  const i = uv();
  if (i >= strings.length) bad(`bad ${what}`, `a string index below ${strings.length}, got ${i}`, at);
  const s = strings[i] as string;
  if (s.length > maxLength) bad(`bad ${what}`, `at most ${maxLength} characters, got ${s.length}`, at);
  return s;
}


/** The cursor as the run reader sees it: run records are rare, so the indirection costs nothing. */
const SOURCE: RecordSource = {
  pos: () => P,
  peek: () => (P < END ? (B[P] as number) : -1),
  byte,
  uv,
  float64(): number {
    if (END - P < 8) throw SHORT;
    const v = new DataView(B.buffer, B.byteOffset + P, 8).getFloat64(0);
    P += 8;
    return v;
  },
  str,
  counted(what: string): number {
    const at = P;
    const n = uv();
    fits(n, what, at);
    return n;
  },
  bad,
};

// ---- records ----

let prevSeq = -1;
let prevStart = 0;

function readCall(tag: number, v: CallView): void {
  const path = (tag >> 2) & 3;
  if (path >= PATH_COUNT) bad('bad call record', `a path index below ${PATH_COUNT}, got ${path}`, P - 1);
  const at0 = P;
  // The next seq after 2^53-1 is no safe integer either: both forms are checked.
  const seq = tag & BIT_NEXT_SEQ ? prevSeq + 1 : prevSeq + sv();
  if (seq < 0 || seq > Number.MAX_SAFE_INTEGER) bad('bad call seq', `0..2^53-1, got ${seq}`, at0);
  v.seq = seq;
  prevSeq = seq;
  v.path = path;
  let at = P;
  v.runIndex = uv();
  if (v.runIndex >= strings.length || (strings[v.runIndex] as string).length > MAX_RECORD_NAME)
    bad('bad call run', `the index of a name of at most ${MAX_RECORD_NAME} characters, below ${strings.length}`, at);
  at = P;
  v.guestIndex = uv();
  if (v.guestIndex >= strings.length || (strings[v.guestIndex] as string).length > MAX_RECORD_NAME)
    bad('bad call guest', `the index of a name of at most ${MAX_RECORD_NAME} characters, below ${strings.length}`, at);
  v.socket = uv();
  const op = byte();
  if (op >= OP_COUNT) bad('bad call op', `an op index below ${OP_COUNT}, got ${op}`, P - 1);
  v.op = op;
  v.bytes = uv();
  if (tag & BIT_ERRNO) {
    const e = byte();
    if (e >= ERRNO_COUNT) bad('bad call result', `a known errno code, got ${e}`, P - 1);
    v.errno = e;
  } else v.errno = -1;
  const names = v.stageNames;
  let n: number;
  readExtra(tag, v);
  if (tag & BIT_STAGE_LIST) {
    n = listCount >= 0 ? listCount : byte();
    if (n < 1 || n > STAGE_COUNT) bad('bad call stages', `1..${STAGE_COUNT} stages, got ${n}`, P - 1);
    for (let i = 0; i < n; i++) {
      const s = byte();
      if (s >= STAGE_COUNT) bad('bad call stage', `a stage index below ${STAGE_COUNT}, got ${s}`, P - 1);
      names[i] = s;
    }
  } else {
    const mask = byte();
    if (mask === 0) bad('bad call stages', 'a non-empty stage mask', P - 1);
    n = 0;
    for (let s = 0; s < STAGE_COUNT; s++) if (mask & (1 << s)) names[n++] = s;
  }
  v.stageCount = n;
  if (v.unmeasuredMask | v.sharedMask) {
    let present = 0;
    for (let i = 0; i < n; i++) present |= 1 << (names[i] as number);
    if (((v.unmeasuredMask | v.sharedMask) & ~present) !== 0) bad('bad call facts', 'flags on stages the record has', P - 1);
  }
  const starts = v.stageStarts;
  const ends = v.stageEnds;
  let prevEnd = 0;
  for (let i = 0; i < n; i++) {
    at = P;
    const start = i === 0 ? (prevStart = time(prevStart + sv(), 'stage start', at)) : time(prevEnd + sv(), 'stage start', at);
    if (i > 0 && start < (starts[i - 1] as number)) bad('bad call stages', 'stages ordered by start', at);
    at = P;
    const end = time(start + uv(), 'stage end', at);
    if (end !== start && v.unmeasuredMask & (1 << (names[i] as number))) bad('bad call stages', 'an unmeasured stage 0 long', at);
    starts[i] = start;
    ends[i] = end;
    prevEnd = end;
  }
  if (tag & BIT_FRAMES) {
    at = P;
    const count = uv();
    fits(count, 'call frames', at);
    if (v.frames.length < count) v.frames = new Float64Array(Math.max(count, v.frames.length * 2));
    let prev = v.seq;
    for (let i = 0; i < count; i++) {
      at = P;
      prev = time(prev + sv(), 'frame seq', at);
      v.frames[i] = prev;
    }
    v.frameCount = count;
  } else v.frameCount = -1;
}

/** A list count read with the facts that escaped it (-1: none; the count byte is next). */
let listCount = -1;

/** The call facts of format version 2 (CallExtra, lstrace-format.ts), when the stage field escapes. */
function readExtra(tag: number, v: CallView): void {
  listCount = -1;
  v.unmeasuredMask = v.sharedMask = 0;
  v.calls = v.waitedNs = v.disorderNs = -1;
  v.hasShift = false;
  v.clockShiftNs = 0;
  if (P >= END) throw SHORT;
  const first = B[P] as number;
  if (tag & BIT_STAGE_LIST ? (first & STAGE_LIST_EXTRA) === 0 : first !== 0) return;
  P++;
  if (tag & BIT_STAGE_LIST) listCount = first & ~STAGE_LIST_EXTRA;
  const at = P;
  const extra = uv();
  if (extra === 0 || extra >= CallExtra.disorder * 2) bad('bad call facts', `a non-empty set of known fact bits, got ${extra}`, at);
  const full = (1 << STAGE_COUNT) - 1;
  if (extra & CallExtra.unmeasured) v.unmeasuredMask = byte() & full;
  if (extra & CallExtra.shared) v.sharedMask = byte() & full;
  if (extra & CallExtra.calls) v.calls = uv();
  if (extra & CallExtra.waited) v.waitedNs = uv();
  if (extra & CallExtra.shift) {
    v.hasShift = true;
    v.clockShiftNs = sv();
  }
  if (extra & CallExtra.disorder) v.disorderNs = uv();
}

function readFrame(tag: number): FrameRecord {
  const dir = (tag >> 2) & 3;
  if (dir >= FRAME_DIRECTIONS.length) bad('bad frame record', `a direction index below ${FRAME_DIRECTIONS.length}, got ${dir}`, P - 1);
  if (tag & FrameBit.udp && !(tag & FrameBit.flow)) bad('bad frame record', 'the udp bit only with the flow bit', P - 1);
  const at0 = P;
  const seq = tag & FrameBit.nextSeq ? prevSeq + 1 : prevSeq + sv();
  if (seq < 0 || seq > Number.MAX_SAFE_INTEGER) bad('bad frame seq', `0..2^53-1, got ${seq}`, at0);
  prevSeq = seq;
  const run = str('frame run', MAX_RECORD_NAME);
  const guest = str('frame guest', MAX_RECORD_NAME);
  const length = uv();
  const payload = uv();
  let at = P;
  const tIn = (prevStart = time(prevStart + sv(), 'frame tIn', at));
  at = P;
  const tOut = time(tIn + uv(), 'frame tOut', at);
  let flow: FrameRecord['flow'] = null;
  if (tag & FrameBit.flow) {
    const src = str('flow src', MAX_FLOW_ADDRESS);
    const srcPort = uv();
    const dst = str('flow dst', MAX_FLOW_ADDRESS);
    const dstPort = uv();
    flow = { protocol: tag & FrameBit.udp ? 'udp' : 'tcp', src, srcPort, dst, dstPort };
  }
  const f: FrameRecord = { kind: 'frame', seq, run, guest, direction: FRAME_DIRECTIONS[dir] as FrameRecord['direction'], length, payload, flow, tIn, tOut };
  if (tag & FrameBit.detail) {
    const content = byte();
    if (content > FRAME_CONTENTS.length) bad('bad frame content', `0..${FRAME_CONTENTS.length}, got ${content}`, P - 1);
    const dropped = byte();
    if (dropped > FRAME_DROP_CAUSES.length) bad('bad frame drop cause', `0..${FRAME_DROP_CAUSES.length}, got ${dropped}`, P - 1);
    if (content === 0 && dropped === 0) bad('bad frame record', 'the detail bit with a content or a drop cause', P - 2);
    if (content) f.content = FRAME_CONTENTS[content - 1];
    if (dropped) f.dropped = FRAME_DROP_CAUSES[dropped - 1];
  }
  return f;
}

function readDropped(tag: number): DroppedRecord {
  if (tag !== Kind.dropped) bad('bad dropped record', 'reserved tag bits 0', P - 1);
  const count = uv();
  return { kind: 'dropped', count, atNs: uv() };
}

// ---- chunks ----

export function u32(b: Uint8Array, o: number): number {
  return (((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number)) >>> 0;
}

/** Checks a chunk header at bytes[start] (16 bytes present); returns the body length. */
export function chunkBodyLength(bytes: Uint8Array, start: number, base: number): number {
  if (u32(bytes, start) !== CHUNK_MAGIC) throw new TraceFileError(base + start, 'bad chunk', "expected the chunk magic 'LSCK'");
  const body = u32(bytes, start + 4);
  if (body > MAX_CHUNK_BODY) throw new TraceFileError(base + start + 4, 'bad chunk', `body length ${body}: expected at most ${MAX_CHUNK_BODY}`);
  const count = u32(bytes, start + 8);
  if (count > body) throw new TraceFileError(base + start + 8, 'bad chunk', `${count} records cannot fit ${body} bytes`);
  return body;
}

/**
 * Parses the chunk at bytes[start, end). When `end` cuts the chunk short (`salvage`: a truncated file),
 * visits the whole records that are there and reports the truncation; else the chunk must be whole.
 * Never throws; returns the first problem.
 */
export function parseChunk(bytes: Uint8Array, start: number, end: number, base: number, visitor: ChunkVisitor, view: CallView): TraceFileError | null {
  if (end - start < CHUNK_HEADER_BYTES)
    return new TraceFileError(base + start, 'truncated chunk header', `expected ${CHUNK_HEADER_BYTES} bytes, got ${end - start}`);
  const saved = [B, P, END, BASE, CUT, strings, prevSeq, prevStart] as const;
  try {
    const bodyLength = chunkBodyLength(bytes, start, base);
    const count = u32(bytes, start + 8);
    const bodyStart = start + CHUNK_HEADER_BYTES;
    const whole = end - bodyStart >= bodyLength;
    const truncated = whole ? null : new TraceFileError(base + start, 'truncated chunk', `expected ${CHUNK_HEADER_BYTES + bodyLength} bytes, got ${end - start}`);
    if (whole) {
      const want = u32(bytes, start + 12);
      const got = crc32(bytes, bodyStart, bodyStart + bodyLength);
      if (want !== got)
        return new TraceFileError(base + start, 'damaged chunk', `CRC-32 of its ${bodyLength}-byte body is 0x${got.toString(16).padStart(8, '0')}, expected 0x${want.toString(16).padStart(8, '0')}`);
    }
    B = bytes;
    P = bodyStart;
    END = whole ? bodyStart + bodyLength : end;
    BASE = base;
    CUT = !whole;
    prevSeq = -1;
    prevStart = 0;
    let at = P;
    let n: number;
    try {
      n = uv();
      fits(n, 'string table', at);
      strings = new Array(n);
      for (let i = 0; i < n; i++) {
        at = P;
        const len = uv();
        if (len > END - P) throw SHORT;
        const s = readUtf8(B, P, P + len);
        if (s === null) bad('bad string table', `string ${i} is not valid UTF-8`, P);
        strings[i] = s;
        P += len;
      }
    } catch (e) {
      if (e === SHORT) return truncated ?? new TraceFileError(base + at, 'damaged chunk', 'the string table runs past the body');
      throw e;
    }
    view.strings = strings;
    for (let r = 0; r < count; r++) {
      at = P;
      try {
        const tag = byte();
        switch (tag & 3) {
          case KIND_CALL:
            readCall(tag, view);
            visitor.call?.(view);
            break;
          case KIND_FRAME: {
            const f = readFrame(tag);
            visitor.frame?.(f);
            break;
          }
          case KIND_RUN: {
            const run = readRun(tag, SOURCE);
            visitor.run?.(run);
            break;
          }
          default: {
            const d = readDropped(tag);
            visitor.dropped?.(d);
          }
        }
      } catch (e) {
        if (e === SHORT) return truncated ?? new TraceFileError(base + at, 'damaged chunk', `record ${r} of ${count} runs past the body`);
        throw e;
      }
    }
    if (truncated) return truncated;
    if (P !== END) return new TraceFileError(base + P, 'damaged chunk', `${END - P} bytes after its last record: expected exactly ${count} records`);
    return null;
  } catch (e) {
    if (e instanceof TraceFileError) return e;
    throw e; // the visitor's own exception: not ours to swallow
  } finally {
    [B, P, END, BASE, CUT, strings, prevSeq, prevStart] = saved;
  }
}

/**
 * Visits the records of one chunk (exactly the bytes of one chunk) in order. `offset`: where the chunk sits
 * in its file, for error offsets. Returns null, or the first problem (records before it were visited; a
 * chunk that fails its checksum visits none).
 */
export function visitChunk(bytes: Uint8Array, visitor: ChunkVisitor, offset = 0): TraceFileError | null {
  const view = new CallView();
  if (bytes.length >= CHUNK_HEADER_BYTES) {
    const body = u32(bytes, 4);
    if (bytes.length > CHUNK_HEADER_BYTES + body && body <= MAX_CHUNK_BODY && u32(bytes, 0) === CHUNK_MAGIC)
      return new TraceFileError(offset + CHUNK_HEADER_BYTES + body, 'bad chunk', `${bytes.length - CHUNK_HEADER_BYTES - body} bytes after the chunk: expected exactly one chunk`);
  }
  return parseChunk(bytes, 0, bytes.length, offset, visitor, view);
}
