// Reads .lstrace bytes: one chunk at a time (visitChunk, decodeChunk), a whole file in memory
// (visitLstrace) or a file streamed in pieces (LstraceReader). One parser serves all: it drives a visitor,
// and call records reach it as a reused flyweight (CallView) so that the viewer can load a million calls
// into its typed arrays without building a million objects.

import { crc32 } from './crc32';
import { ERRNO_NAMES } from './errno';
import {
  CHUNK_HEADER_BYTES, CHUNK_MAGIC, CallBit, CallExtra, FILE_HEADER_BYTES, FrameBit, Kind, LSTRACE_MAGIC, LSTRACE_VERSIONS_READ,
  MAX_CHUNK_BODY, MAX_FLOW_ADDRESS, MAX_RECORD_NAME, MODES, RunBit, STAGE_LIST_EXTRA, TraceFileError, ValueTag,
} from './lstrace-format';
import {
  FRAME_CONTENTS, FRAME_DIRECTIONS, FRAME_DROP_CAUSES, OPS, PATHS, STAGES,
  type CallRecord, type CallResult, type DroppedRecord, type FrameRecord, type HostFacts, type Path, type RunInfo,
  type Stage, type TraceRecord,
} from './trace';
import { readUtf8 } from './utf8';

// Local bindings of the enumerations (see the note on module-local copies below).
const STAGE_LIST = STAGES;
const PATH_LIST = PATHS;
const OP_LIST = OPS;
const ERRNO_LIST = ERRNO_NAMES;

/**
 * A call record as a reused view: valid only during the visitor's `call` callback (copy what you keep).
 * Enumerations are indexes into the lists of trace.ts: `path` into PATHS, `op` into OPS, stage names into
 * STAGES, `errno` into ERRNO_NAMES (-1 = ok).
 */
export class CallView {
  seq = 0;
  /** The chunk's string table; `runIndex` and `guestIndex` point into it (stable for the whole chunk). */
  strings: readonly string[] = [];
  runIndex = 0;
  guestIndex = 0;
  path = 0;
  op = 0;
  socket = 0;
  bytes = 0;
  errno = -1;
  stageCount = 0;
  readonly stageNames = new Uint8Array(STAGE_LIST.length);
  readonly stageStarts = new Float64Array(STAGE_LIST.length);
  readonly stageEnds = new Float64Array(STAGE_LIST.length);
  /** -1 when the record has no frames list; else the number of entries in `frames`. */
  frameCount = -1;
  frames = new Float64Array(16);
  /** Stage flags as masks over STAGES indexes (StageTruth, trace.ts). */
  unmeasuredMask = 0;
  sharedMask = 0;
  /** CallTruth (trace.ts); -1 (and hasShift false) when the record has none. */
  calls = -1;
  waitedNs = -1;
  hasShift = false;
  clockShiftNs = 0;
  disorderNs = -1;

  get run(): string {
    return this.strings[this.runIndex] as string;
  }
  get guest(): string {
    return this.strings[this.guestIndex] as string;
  }
  get result(): CallResult {
    return this.errno < 0 ? 'ok' : (ERRNO_LIST[this.errno] as CallResult);
  }
  get start(): number {
    return this.stageStarts[0] as number;
  }
  get end(): number {
    return this.stageEnds[this.stageCount - 1] as number;
  }

  /** The view as a CallRecord object. */
  toRecord(): CallRecord {
    const stages: Stage[] = new Array(this.stageCount);
    for (let i = 0; i < this.stageCount; i++) {
      const idx = this.stageNames[i] as number;
      const st: Stage = { name: STAGE_LIST[idx] as Stage['name'], start: this.stageStarts[i] as number, end: this.stageEnds[i] as number };
      if (this.unmeasuredMask & (1 << idx)) st.unmeasured = true;
      if (this.sharedMask & (1 << idx)) st.shared = true;
      stages[i] = st;
    }
    const c: CallRecord = {
      kind: 'call', seq: this.seq, run: this.run, guest: this.guest, path: PATH_LIST[this.path] as Path, socket: this.socket,
      op: OP_LIST[this.op] as CallRecord['op'], bytes: this.bytes, result: this.result, stages,
    };
    if (this.frameCount >= 0) c.frames = Array.from(this.frames.subarray(0, this.frameCount));
    if (this.calls >= 0) c.calls = this.calls;
    if (this.waitedNs >= 0) c.waitedNs = this.waitedNs;
    if (this.hasShift) c.clockShiftNs = this.clockShiftNs;
    if (this.disorderNs >= 0) c.disorderNs = this.disorderNs;
    return c;
  }
}

export interface ChunkVisitor {
  call?(c: CallView): void;
  frame?(f: FrameRecord): void;
  run?(r: RunInfo): void;
  dropped?(d: DroppedRecord): void;
}

// Module-local copies of imported constants: a CommonJS build (tsx, tests) reads imports through getters,
// which costs as much as the parsing itself in the per-call loop.
const STAGE_COUNT = STAGE_LIST.length;
const PATH_COUNT = PATH_LIST.length;
const OP_COUNT = OP_LIST.length;
const ERRNO_COUNT = ERRNO_LIST.length;
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

function numberValue(what: string): number {
  const tag = byte();
  if (tag === ValueTag.nat) return uv();
  if (tag !== ValueTag.float) bad(`bad ${what}`, `a number tag (1 or 4), got ${tag}`, P - 1);
  if (END - P < 8) throw SHORT;
  const v = new DataView(B.buffer, B.byteOffset + P, 8).getFloat64(0);
  P += 8;
  return v;
}
function anyValue(what: string): string | number | boolean {
  if (P >= END) throw SHORT;
  const tag = B[P];
  if (tag === ValueTag.string) {
    P++;
    return str(what);
  }
  if (tag === ValueTag.true || tag === ValueTag.false) {
    P++;
    return tag === ValueTag.true;
  }
  return numberValue(what);
}
function counted(what: string): number {
  const at = P;
  const n = uv();
  fits(n, what, at);
  return n;
}
/** Sets own property `k` even when it is "__proto__", without touching the prototype. */
function setOwn<T>(o: Record<string, T>, k: string, v: T): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

function readRun(tag: number): RunInfo {
  if ((tag & ~RunBit.pathMtu) !== Kind.run) bad('bad run record', 'reserved tag bits 0', P - 1);
  // The model's limits (invalidRecord, trace.ts): every decoded record must pass it.
  const id = str('run id', MAX_RECORD_NAME);
  const workload = str('run workload', MAX_RECORD_NAME);
  const np = byte();
  const paths: Path[] = [];
  for (let i = 0; i < np; i++) {
    const p = byte();
    if (p >= PATHS.length) bad('bad run path', `a path index below ${PATHS.length}, got ${p}`, P - 1);
    paths.push(PATHS[p] as Path);
  }
  const params: RunInfo['params'] = {};
  for (let i = counted('run params'); i > 0; i--) {
    const k = str('run param key');
    setOwn(params, k, anyValue(`run param ${k}`));
  }
  const kernel = str('host kernel');
  const cpu = str('host cpu');
  const cpus = numberValue('host cpus');
  const mtu = numberValue('host mtu');
  const m = byte();
  if (m >= MODES.length) bad('bad host mode', `0..${MODES.length - 1}, got ${m}`, P - 1);
  const offloads: string[] = [];
  for (let i = counted('host offloads'); i > 0; i--) offloads.push(str('host offload'));
  const host: HostFacts = { kernel, cpu, cpus, mtu, mode: MODES[m] as HostFacts['mode'], offloads };
  if (tag & RunBit.pathMtu) {
    const n = byte();
    if (n > PATHS.length) bad('bad host path MTUs', `at most ${PATHS.length}, got ${n}`, P - 1);
    const pathMtu: HostFacts['pathMtu'] = {};
    for (let i = 0; i < n; i++) {
      const p = byte();
      if (p >= PATHS.length) bad('bad host path MTU', `a path index below ${PATHS.length}, got ${p}`, P - 1);
      const at = P;
      const v = numberValue('host path MTU');
      if (!Number.isSafeInteger(v) || v < 0) bad('bad host path MTU', `a non-negative integer, got ${v}`, at);
      pathMtu[PATHS[p] as Path] = v;
    }
    host.pathMtu = pathMtu;
  }
  const at = P;
  const startedNs = numberValue('run startedNs');
  if (!Number.isSafeInteger(startedNs) || startedNs < 0) bad('bad run startedNs', `a time in 0..2^53-1 ns, got ${startedNs}`, at);
  const clockErrorNs: RunInfo['clockErrorNs'] = {};
  let clockOffsetNs: Record<string, number> | null = null;
  for (let i = counted('run clock errors'); i > 0; i--) {
    const k = str('clock error key');
    // ValueTag.clock: the error, then the guest's clock offset (format version 2).
    const withOffset = P < END && B[P] === ValueTag.clock;
    if (withOffset) P++;
    setOwn(clockErrorNs, k, numberValue(`clock error ${k}`));
    if (withOffset) setOwn((clockOffsetNs ??= {}), k, numberValue(`clock offset ${k}`));
  }
  const run: RunInfo = { kind: 'run', id, workload, paths, params, host, startedNs, clockErrorNs };
  if (clockOffsetNs) run.clockOffsetNs = clockOffsetNs;
  return run;
}

function readDropped(tag: number): DroppedRecord {
  if (tag !== Kind.dropped) bad('bad dropped record', 'reserved tag bits 0', P - 1);
  const count = uv();
  return { kind: 'dropped', count, atNs: uv() };
}

// ---- chunks ----

function u32(b: Uint8Array, o: number): number {
  return (((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number)) >>> 0;
}

/** Checks a chunk header at bytes[start] (16 bytes present); returns the body length. */
function chunkBodyLength(bytes: Uint8Array, start: number, base: number): number {
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
function parseChunk(bytes: Uint8Array, start: number, end: number, base: number, visitor: ChunkVisitor, view: CallView): TraceFileError | null {
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
            const run = readRun(tag);
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

export interface TraceReadResult {
  records: TraceRecord[];
  error: TraceFileError | null;
}

/** A visitor that collects records as objects. */
function collector(records: TraceRecord[]): ChunkVisitor {
  return {
    call: (c) => records.push(c.toRecord()),
    frame: (f) => records.push(f),
    run: (r) => records.push(r),
    dropped: (d) => records.push(d),
  };
}

export function decodeChunk(bytes: Uint8Array): TraceReadResult {
  const records: TraceRecord[] = [];
  const error = visitChunk(bytes, collector(records));
  return { records, error };
}

/** True when `bytes` start like a .lstrace file (its magic). */
export function isLstrace(bytes: Uint8Array): boolean {
  if (bytes.length < LSTRACE_MAGIC.length) return false;
  for (let i = 0; i < LSTRACE_MAGIC.length; i++) if (bytes[i] !== LSTRACE_MAGIC[i]) return false;
  return true;
}

function notLstrace(): TraceFileError {
  return new TraceFileError(0, 'not an .lstrace file', 'expected the magic 89 4C 53 54 0D 0A 1A 0A');
}

/** Checks the file header at bytes[0..12); null when it is good. */
function checkFileHeader(bytes: Uint8Array): TraceFileError | null {
  if (!isLstrace(bytes)) return notLstrace();
  const version = ((bytes[8] as number) << 8) | (bytes[9] as number);
  if (!LSTRACE_VERSIONS_READ.includes(version)) return new TraceFileError(8, 'unsupported .lstrace version', `expected one of ${LSTRACE_VERSIONS_READ.join(', ')}, got ${version}`);
  if (bytes[10] !== 0 || bytes[11] !== 0) return new TraceFileError(10, 'bad file header', `flags must be 0 in version ${version}`);
  return null;
}

function truncatedHeader(got: number): TraceFileError {
  return got === 0
    ? new TraceFileError(0, 'empty file', `expected the ${FILE_HEADER_BYTES}-byte .lstrace header`)
    : new TraceFileError(0, 'truncated file header', `expected ${FILE_HEADER_BYTES} bytes, file ended after ${got}`);
}

/**
 * Visits every record of a whole .lstrace file held in memory (header + chunks). On damage or truncation,
 * visits every whole record before it and returns the error.
 */
export function visitLstrace(bytes: Uint8Array, visitor: ChunkVisitor): TraceFileError | null {
  if (bytes.length < FILE_HEADER_BYTES) return isLstrace(bytes) || bytes.length < LSTRACE_MAGIC.length ? truncatedHeader(bytes.length) : checkFileHeader(bytes);
  const headerError = checkFileHeader(bytes);
  if (headerError) return headerError;
  const view = new CallView();
  let pos = FILE_HEADER_BYTES;
  while (pos < bytes.length) {
    let end = bytes.length;
    if (bytes.length - pos >= CHUNK_HEADER_BYTES) {
      try {
        end = Math.min(bytes.length, pos + CHUNK_HEADER_BYTES + chunkBodyLength(bytes, pos, 0));
      } catch (e) {
        return e as TraceFileError;
      }
    }
    const error = parseChunk(bytes, pos, end, 0, visitor, view);
    if (error) return fileEnded(error, bytes.length);
    pos = end;
  }
  return null;
}

/** Adds "file ended after N" to truncation errors: N = the bytes of the chunk that were present. */
function fileEnded(e: TraceFileError, fileLength: number): TraceFileError {
  if (!e.reason.startsWith('truncated')) return e;
  const [what, expected] = e.reason.split(': ') as [string, string];
  return new TraceFileError(e.offset, what, `${expected.replace(/, got \d+$/, '')}, file ended after ${fileLength - e.offset}`);
}

/**
 * Reads a .lstrace file streamed in pieces of any size. push() returns the records of every chunk completed
 * (and verified) by those bytes; end() says whether the file ended cleanly. After an error the reader is
 * poisoned: push() returns the same error again.
 */
export class LstraceReader {
  /** Bytes not yet parsed: part of the header or of one chunk (never more than one chunk, <= 16 MiB). */
  private pending = new Uint8Array(0);
  private pendingLength = 0;
  /** File offset of pending[0]. */
  private offset = 0;
  private headerDone = false;
  private error: TraceFileError | null = null;
  private readonly view = new CallView();

  push(bytes: Uint8Array): TraceReadResult {
    const records: TraceRecord[] = [];
    if (this.error) return { records, error: this.error };
    let data = bytes;
    let length = bytes.length;
    if (this.pendingLength > 0) {
      this.append(bytes);
      data = this.pending;
      length = this.pendingLength;
    }
    const visitor = collector(records);
    let pos = 0;
    if (!this.headerDone) {
      if (length < FILE_HEADER_BYTES) {
        // Refuse a wrong magic as soon as its first byte is here, not at end().
        for (let i = 0; i < Math.min(length, LSTRACE_MAGIC.length); i++)
          if (data[i] !== LSTRACE_MAGIC[i]) return this.fail(notLstrace(), records);
        return this.keep(data, 0, length, records);
      }
      const e = checkFileHeader(data);
      if (e) return this.fail(e, records);
      this.headerDone = true;
      pos = FILE_HEADER_BYTES;
    }
    while (length - pos >= CHUNK_HEADER_BYTES) {
      let body: number;
      try {
        body = chunkBodyLength(data, pos, this.offset);
      } catch (e) {
        return this.fail(e as TraceFileError, records);
      }
      if (length - pos < CHUNK_HEADER_BYTES + body) break;
      const error = parseChunk(data, pos, pos + CHUNK_HEADER_BYTES + body, this.offset, visitor, this.view);
      if (error) return this.fail(error, records);
      pos += CHUNK_HEADER_BYTES + body;
    }
    return this.keep(data, pos, length, records);
  }

  /** The end of the file: null when it ended after a whole chunk, else what is missing. */
  end(): TraceFileError | null {
    return this.finish().error;
  }

  /** Like end(), and also returns the whole records of a truncated last chunk (unverified: no checksum). */
  finish(): TraceReadResult {
    const records: TraceRecord[] = [];
    if (this.error) return { records, error: this.error };
    if (!this.headerDone) return this.fail(truncatedHeader(this.pendingLength), records);
    if (this.pendingLength === 0) return { records, error: null };
    const e = parseChunk(this.pending, 0, this.pendingLength, this.offset, collector(records), this.view);
    return this.fail(fileEnded(e ?? new TraceFileError(this.offset, 'truncated chunk', 'expected more bytes'), this.offset + this.pendingLength), records);
  }

  private fail(error: TraceFileError, records: TraceRecord[]): TraceReadResult {
    this.error = error;
    this.pending = new Uint8Array(0);
    this.pendingLength = 0;
    return { records, error };
  }

  /** Keeps data[pos, length) for the next push. */
  private keep(data: Uint8Array, pos: number, length: number, records: TraceRecord[]): TraceReadResult {
    const left = length - pos;
    this.offset += pos;
    if (data === this.pending) {
      this.pending.copyWithin(0, pos, length);
      this.pendingLength = left;
    } else {
      this.pendingLength = 0;
      this.append(data.subarray(pos, length));
    }
    return { records, error: null };
  }

  private append(bytes: Uint8Array): void {
    const need = this.pendingLength + bytes.length;
    if (need > this.pending.length) {
      const bigger = new Uint8Array(Math.max(need, Math.min(this.pending.length * 2, MAX_CHUNK_BODY + CHUNK_HEADER_BYTES)));
      bigger.set(this.pending.subarray(0, this.pendingLength));
      this.pending = bigger;
    }
    this.pending.set(bytes, this.pendingLength);
    this.pendingLength = need;
  }
}
