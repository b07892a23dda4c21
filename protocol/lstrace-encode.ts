// Writes .lstrace bytes: the file header and self-contained chunks of records (layout in README.md).
// Records come from our own code, so a value that cannot be encoded losslessly throws a RangeError naming
// the field (lstrace-encode-check.ts). The hot path (call records) does no per-record allocation: each
// ChunkWriter writes into one growing scratch buffer. Run records are written by lstrace-run-write.ts.

import { concatBytes } from './bytes';
import { crc32 } from './crc32';
import { errnoCode, isErrnoName } from './errno';
import * as check from './lstrace-encode-check';
import {
  CHUNK_HEADER_BYTES, CHUNK_MAGIC, CallBit, CallExtra, DEFAULT_RECORDS_PER_CHUNK, FILE_HEADER_BYTES, FrameBit, Kind,
  LSTRACE_MAGIC, LSTRACE_VERSION, MAX_CHUNK_BODY, MAX_FLOW_ADDRESS, MAX_RECORD_NAME, MAX_TRACE_STRING_BYTES, STAGE_LIST_EXTRA,
} from './lstrace-format';
import { writeRun, type RecordSink } from './lstrace-run-write';
import {
  FRAME_CONTENTS, FRAME_DIRECTIONS, FRAME_DROP_CAUSES, OPS, PATHS, STAGES,
  type CallRecord, type DroppedRecord, type FrameRecord, type TraceRecord,
} from './trace';
import { utf8Length, writeUtf8 } from './utf8';

// Module-local copies of the checks: a CommonJS build reads imports through getters, on every call record.
// Typed explicitly so that a call to fail still ends control flow.
const fail: typeof check.fail = check.fail;
const nat: typeof check.nat = check.nat;
const short: typeof check.short = check.short;
const indexOf = check.indexOf;

const PATH_INDEX = indexOf(PATHS);
const OP_INDEX = indexOf(OPS);
const STAGE_INDEX = indexOf(STAGES);
const DIRECTION_INDEX = indexOf(FRAME_DIRECTIONS);
const CONTENT_INDEX = indexOf(FRAME_CONTENTS);
const DROP_INDEX = indexOf(FRAME_DROP_CAUSES);

export function encodeFileHeader(): Uint8Array {
  const h = new Uint8Array(FILE_HEADER_BYTES);
  h.set(LSTRACE_MAGIC, 0);
  h[8] = LSTRACE_VERSION >> 8;
  h[9] = LSTRACE_VERSION & 0xff;
  return h; // flags (bytes 10-11) stay 0
}

// Module-local copies of imported constants (a CommonJS build reads imports through getters).
const STAGE_COUNT = STAGES.length;
const KIND_CALL = Kind.call;
const BIT_ERRNO = CallBit.errno;
const BIT_FRAMES = CallBit.frames;
const BIT_STAGE_LIST = CallBit.stageList;
const BIT_NEXT_SEQ = CallBit.nextSeq;
const stageIdx = new Uint8Array(STAGES.length);

/**
 * One chunk being written, a record at a time: `add` encodes a record into a growing scratch buffer (so a
 * producer's record objects die young instead of waiting for their batch), `finish` returns the chunk and
 * starts the next. A record that cannot be encoded throws a RangeError and leaves the chunk as it was.
 */
export class ChunkWriter {
  private buf = new Uint8Array(64 * 1024);
  private at = 0;
  private records = 0;
  // the chunk's string table, and the last run and guest looked up in it
  private readonly table = new Map<string, number>();
  private readonly strings: string[] = [];
  private lastRun = '';
  private lastRunIndex = -1;
  private lastGuest = '';
  private lastGuestIndex = -1;
  // delta bases: the previous record's seq and start time
  private prevSeq = -1;
  private prevStart = 0;
  /** The scratch buffer as the run record writer sees it (run records are rare: closures cost nothing). */
  private readonly sink: RecordSink = {
    room: (n) => this.room(n),
    byte: (b) => this.byte(b),
    uv: (v) => this.uv(v),
    float64: (v) => {
      new DataView(this.buf.buffer, this.buf.byteOffset + this.at, 8).setFloat64(0, v);
      this.at += 8;
    },
    intern: (s, what) => this.intern(s, what),
  };

  /** Records written since the last finish. */
  get count(): number {
    return this.records;
  }

  /** Encoded bytes so far (records only, without the string table and header). */
  get bytes(): number {
    return this.at;
  }

  add(r: TraceRecord): void {
    const at = this.at;
    const strings = this.strings.length;
    const { prevSeq, prevStart, lastRun, lastRunIndex, lastGuest, lastGuestIndex } = this;
    try {
      switch (r?.kind) {
        case 'call': this.call(r); break;
        case 'frame': this.frame(r); break;
        case 'run': writeRun(this.sink, r); break;
        case 'dropped': this.dropped(r); break;
        default: fail('record.kind', 'call | frame | run | dropped', (r as { kind?: unknown } | null)?.kind);
      }
    } catch (e) {
      // Undo the partial record, and the names it added to the table.
      this.at = at;
      for (const s of this.strings.splice(strings)) this.table.delete(s);
      this.prevSeq = prevSeq;
      this.prevStart = prevStart;
      this.lastRun = lastRun;
      this.lastRunIndex = lastRunIndex;
      this.lastGuest = lastGuest;
      this.lastGuestIndex = lastGuestIndex;
      throw e;
    }
    this.records++;
  }

  /**
   * The chunk holding the records added since the last finish, in order: its own string table, record
   * count and CRC-32. The same bytes are a binary WebSocket message of the trace stream, a postMessage to
   * the viewer, and a piece of a .lstrace file after encodeFileHeader().
   */
  finish(): Uint8Array {
    try {
      const recordBytes = this.at;
      const strings = this.strings;
      // The string table goes first in the body so that a reader resolves names as it meets them.
      let tableBytes = varintBytes(strings.length);
      const lengths = strings.map((s) => utf8Length(s));
      for (const n of lengths) tableBytes += varintBytes(n) + n;
      const bodyBytes = tableBytes + recordBytes;
      if (bodyBytes > MAX_CHUNK_BODY) fail('chunk', `a body of at most ${MAX_CHUNK_BODY} bytes: split the records over more chunks`, bodyBytes);
      const chunk = new Uint8Array(CHUNK_HEADER_BYTES + bodyBytes);
      chunk.set(this.buf.subarray(0, recordBytes), CHUNK_HEADER_BYTES + tableBytes);
      const scratch = this.buf;
      this.buf = chunk;
      this.at = CHUNK_HEADER_BYTES;
      this.uv(strings.length);
      for (let i = 0; i < strings.length; i++) {
        this.uv(lengths[i] as number);
        this.at = writeUtf8(strings[i] as string, chunk, this.at);
      }
      this.buf = scratch;
      writeU32(chunk, 0, CHUNK_MAGIC);
      writeU32(chunk, 4, bodyBytes);
      writeU32(chunk, 8, this.records);
      writeU32(chunk, 12, crc32(chunk, CHUNK_HEADER_BYTES, chunk.length));
      return chunk;
    } finally {
      this.reset();
    }
  }

  /** Drops what was added since the last finish. */
  reset(): void {
    this.at = 0;
    this.records = 0;
    this.table.clear();
    this.strings.length = 0;
    this.lastRunIndex = -1;
    this.lastGuestIndex = -1;
    this.prevSeq = -1;
    this.prevStart = 0;
    if (this.buf.length > 8 * 1024 * 1024) this.buf = new Uint8Array(64 * 1024); // do not hold a one-off giant
  }

  // ---- the scratch buffer's writers ----

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    bigger.set(this.buf.subarray(0, this.at));
    this.buf = bigger;
  }
  /** Unsigned LEB128 of 0 <= v <= 2^53-1 (at most 8 bytes). */
  private uv(v: number): void {
    const buf = this.buf;
    let at = this.at;
    while (v > 0x7fffffff) {
      buf[at++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    while (v > 0x7f) {
      buf[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[at++] = v;
    this.at = at;
  }
  /** Signed varint, sign-magnitude: first byte = continue | sign | 6 low bits, then LEB128 of the rest. */
  private sv(d: number): void {
    const neg = d < 0;
    const m = neg ? -d : d;
    if (m <= 0x3f) {
      this.buf[this.at++] = m | (neg ? 0x40 : 0);
      return;
    }
    this.buf[this.at++] = (m % 64) | (neg ? 0x40 : 0) | 0x80;
    this.uv(Math.floor(m / 64));
  }
  private byte(b: number): void {
    this.buf[this.at++] = b;
  }

  private intern(s: string, what: string): number {
    let i = this.table.get(s);
    if (i === undefined) {
      if (typeof s !== 'string') fail(what, 'a string', s);
      const n = utf8Length(s);
      if (n < 0 || n > MAX_TRACE_STRING_BYTES) fail(what, `well-formed text of at most ${MAX_TRACE_STRING_BYTES} UTF-8 bytes`, s);
      i = this.strings.length;
      this.strings.push(s);
      this.table.set(s, i);
    }
    return i;
  }

  // ---- records ----

  /** What calls and frames begin with: the tag, the seq (unless it is the next one), the run and the guest. */
  private recordHead(tag: number, nextSeqBit: number, seq: number, run: string, guest: string): void {
    const next = seq === this.prevSeq + 1;
    this.byte(next ? tag | nextSeqBit : tag);
    if (!next) this.sv(seq - this.prevSeq);
    this.prevSeq = seq;
    // consecutive records mostly share their run and guest: skip the table lookup then
    if (run !== this.lastRun || this.lastRunIndex < 0) {
      this.lastRunIndex = this.intern(short(run, MAX_RECORD_NAME, 'record.run'), 'record.run');
      this.lastRun = run;
    }
    if (guest !== this.lastGuest || this.lastGuestIndex < 0) {
      this.lastGuestIndex = this.intern(short(guest, MAX_RECORD_NAME, 'record.guest'), 'record.guest');
      this.lastGuest = guest;
    }
    this.uv(this.lastRunIndex);
    this.uv(this.lastGuestIndex);
  }

  private call(c: CallRecord): void {
    this.room(320);
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
    let unmeasured = 0;
    let shared = 0;
    for (let i = 0; i < n; i++) {
      const st = stages[i] as CallRecord['stages'][number];
      const s = STAGE_INDEX.get(st.name);
      if (s === undefined) fail('call.stages[].name', 'a stage of STAGES (trace.ts)', stages[i]?.name);
      stageIdx[i] = s;
      if (s <= last) list = true; // repeated or out of the canonical order: spell the names out
      last = s;
      mask |= 1 << s;
      if (st.unmeasured) unmeasured |= 1 << s;
      if (st.shared) shared |= 1 << s;
    }
    if ((unmeasured || shared) && list) fail('call.stages', 'flagged stages named once each, in order', stages);
    const extra = (unmeasured ? CallExtra.unmeasured : 0) | (shared ? CallExtra.shared : 0) | (c.calls !== undefined ? CallExtra.calls : 0)
      | (c.waitedNs !== undefined ? CallExtra.waited : 0) | (c.clockShiftNs !== undefined ? CallExtra.shift : 0) | (c.disorderNs !== undefined ? CallExtra.disorder : 0);
    const seq = nat(c.seq, 'call.seq');
    let tag = KIND_CALL | (path << 2);
    if (c.result !== 'ok') {
      if (!isErrnoName(c.result)) fail('call.result', "'ok' or an errno name", c.result);
      tag |= BIT_ERRNO;
    }
    if (c.frames !== undefined) tag |= BIT_FRAMES;
    if (list) tag |= BIT_STAGE_LIST;
    this.recordHead(tag, BIT_NEXT_SEQ, seq, c.run, c.guest);
    this.uv(nat(c.socket, 'call.socket'));
    this.byte(op);
    this.uv(nat(c.bytes, 'call.bytes'));
    if (c.result !== 'ok') this.byte(errnoCode(c.result));
    if (extra !== 0) {
      this.byte(list ? n | STAGE_LIST_EXTRA : 0);
      this.uv(extra);
      if (unmeasured) this.byte(unmeasured);
      if (shared) this.byte(shared);
      if (c.calls !== undefined) this.uv(nat(c.calls, 'call.calls'));
      if (c.waitedNs !== undefined) this.uv(nat(c.waitedNs, 'call.waitedNs'));
      if (c.clockShiftNs !== undefined) {
        if (!Number.isSafeInteger(c.clockShiftNs)) fail('call.clockShiftNs', 'an integer', c.clockShiftNs);
        this.sv(c.clockShiftNs);
      }
      if (c.disorderNs !== undefined) this.uv(nat(c.disorderNs, 'call.disorderNs'));
    }
    if (list) {
      if (extra === 0) this.byte(n);
      for (let i = 0; i < n; i++) this.byte(stageIdx[i] as number);
    } else this.byte(mask);
    // Times: the first start relative to the previous record's start, then per stage its duration and the
    // gap from the previous stage's end (0 for contiguous delegated stages: one byte).
    let prevEnd = 0;
    let prevStageStart = 0;
    for (let i = 0; i < n; i++) {
      const st = stages[i] as CallRecord['stages'][number];
      const start = nat(st.start, 'call.stages[].start');
      const end = nat(st.end, 'call.stages[].end');
      if (end < start) fail('call.stages[].end', `>= its start ${start}`, end);
      if (st.unmeasured && end !== start) fail('call.stages[].end', `its start ${start}: an unmeasured stage has no length`, end);
      if (i === 0) {
        this.sv(start - this.prevStart);
        this.prevStart = start;
      } else {
        if (start < prevStageStart) fail('call.stages[].start', 'stages ordered by start', start);
        this.sv(start - prevEnd);
      }
      this.uv(end - start);
      prevEnd = end;
      prevStageStart = start;
    }
    if (c.frames !== undefined) {
      const frames = c.frames;
      if (!Array.isArray(frames)) fail('call.frames', 'a list of frame seq numbers', frames);
      this.room(8 + 9 * frames.length);
      this.uv(frames.length);
      let prev = seq;
      for (const f of frames) {
        this.sv(nat(f, 'call.frames[]') - prev);
        prev = f;
      }
    }
  }

  private frame(f: FrameRecord): void {
    this.room(128);
    const dir = DIRECTION_INDEX.get(f.direction);
    if (dir === undefined) fail('frame.direction', FRAME_DIRECTIONS.join(' | '), f.direction);
    const seq = nat(f.seq, 'frame.seq');
    let tag = Kind.frame | (dir << 2);
    const flow = f.flow;
    if (flow !== null) {
      if (typeof flow !== 'object' || (flow.protocol !== 'tcp' && flow.protocol !== 'udp')) fail('frame.flow', 'null or a tcp/udp flow', flow);
      tag |= FrameBit.flow | (flow.protocol === 'udp' ? FrameBit.udp : 0);
    }
    // Each byte is 0 for absent, else 1 + the index: frames of older writers have neither and no byte.
    let content = 0;
    let dropped = 0;
    if (f.content !== undefined) content = 1 + (CONTENT_INDEX.get(f.content) ?? fail('frame.content', FRAME_CONTENTS.join(' | '), f.content));
    if (f.dropped !== undefined) dropped = 1 + (DROP_INDEX.get(f.dropped) ?? fail('frame.dropped', FRAME_DROP_CAUSES.join(' | '), f.dropped));
    if (content || dropped) tag |= FrameBit.detail;
    this.recordHead(tag, FrameBit.nextSeq, seq, f.run, f.guest);
    this.uv(nat(f.length, 'frame.length'));
    this.uv(nat(f.payload, 'frame.payload'));
    const tIn = nat(f.tIn, 'frame.tIn');
    const tOut = nat(f.tOut, 'frame.tOut');
    if (tOut < tIn) fail('frame.tOut', `>= tIn ${tIn}`, tOut);
    this.sv(tIn - this.prevStart);
    this.prevStart = tIn;
    this.uv(tOut - tIn);
    if (flow !== null) {
      this.uv(this.intern(short(flow.src, MAX_FLOW_ADDRESS, 'frame.flow.src'), 'frame.flow.src'));
      this.uv(nat(flow.srcPort, 'frame.flow.srcPort'));
      this.uv(this.intern(short(flow.dst, MAX_FLOW_ADDRESS, 'frame.flow.dst'), 'frame.flow.dst'));
      this.uv(nat(flow.dstPort, 'frame.flow.dstPort'));
    }
    if (content || dropped) {
      this.byte(content);
      this.byte(dropped);
    }
  }

  private dropped(d: DroppedRecord): void {
    this.room(20);
    this.byte(Kind.dropped);
    this.uv(nat(d.count, 'dropped.count'));
    this.uv(nat(d.atNs, 'dropped.atNs'));
  }
}

const shared = new ChunkWriter();

/** One self-contained chunk holding `records` in order (ChunkWriter.finish). */
export function encodeChunk(records: readonly TraceRecord[]): Uint8Array {
  try {
    for (const r of records) shared.add(r);
  } catch (e) {
    shared.reset();
    throw e;
  }
  return shared.finish();
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
