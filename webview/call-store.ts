// The viewer's model: calls and frames held column by column in typed arrays, times relative to a base,
// strings interned, tracks (path, guest, socket) indexed by start for binary search of the visible window.
// A record limit bounds memory: past it, the oldest calls are dropped in batches and counted.

import { PATHS, OPS, STAGES, FRAME_DIRECTIONS, type Path, type Op, type StageName, type FrameDirection } from '../protocol/trace';
import { ensureCapacity, U32List, lowerBound, type TypedArray } from './growable';

/** What the store reads of a call: a CallRecord, or a decoder's reused flyweight view of one. */
export interface CallInput {
  readonly seq: number;
  readonly guest: string;
  readonly path: Path;
  readonly socket: number;
  readonly op: Op;
  readonly bytes: number;
  readonly result: string;
  readonly stages: ArrayLike<{ readonly name: StageName; readonly start: number; readonly end: number }>;
  readonly frames?: ArrayLike<number> | undefined;
}

/** The decoder's flyweight call (protocol/lstrace-decode.ts CallView): enumerations as indexes. */
export interface CallViewInput {
  readonly seq: number;
  readonly strings: readonly string[];
  readonly guestIndex: number;
  readonly guest: string;
  readonly path: number;
  readonly op: number;
  readonly socket: number;
  readonly bytes: number;
  readonly errno: number;
  readonly result: string;
  readonly stageCount: number;
  readonly stageNames: Uint8Array;
  readonly stageStarts: Float64Array;
  readonly stageEnds: Float64Array;
  readonly frameCount: number;
  readonly frames: Float64Array;
}

export interface FrameInput {
  readonly seq: number;
  readonly guest: string;
  readonly direction: FrameDirection;
  readonly length: number;
  readonly payload: number;
  readonly tIn: number;
  readonly tOut: number;
}

export const PATH_INDEX: Record<Path, number> = Object.fromEntries(PATHS.map((p, i) => [p, i])) as Record<Path, number>;
const OP_INDEX = new Map<string, number>(OPS.map((o, i) => [o, i]));
const STAGE_INDEX = new Map<string, number>(STAGES.map((s, i) => [s, i]));
const DIRECTION_INDEX = new Map<string, number>(FRAME_DIRECTIONS.map((d, i) => [d, i]));

export interface Track {
  id: number;
  readonly path: number;
  readonly guest: number;
  /** Socket handle, or -1 for a guest's frame track (emulated path). */
  readonly socket: number;
  /** Call slots (or frame slots for a frame track), ordered by start. */
  list: U32List;
  /** Start of each listed item, in list order: window queries and skips search this contiguous copy, not
   *  the global column where a track's calls lie far apart (a cache miss per probe). */
  starts: Float64Array;
  /** Duration and colour key (dominant stage of a call, direction of a frame) in list order, for the same
   *  reason: drawing a zoomed-out track reads only these contiguous arrays. */
  durs: Float32Array;
  keys: Uint8Array;
  /** The longest item, so a window query can start early enough to catch calls that began before it. */
  maxDur: number;
  sorted: boolean;
}

/** Interns strings into small indices so each call stores a u16. */
class Interned {
  readonly values: string[] = [];
  private readonly index = new Map<string, number>();
  /** Indices are stored as u16: past this many distinct names, the rest share one "(other)" entry. */
  static readonly MAX = 65535;
  of(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      if (this.values.length === Interned.MAX - 1) s = '(other)';
      if (this.values.length >= Interned.MAX) return this.index.get('(other)') ?? Interned.MAX - 1;
      i = this.values.length;
      this.values.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}

const INITIAL = 1024;

/** The columns that move together: grown, shifted past the record limit, trimmed and measured as a set. */
const CALL_COLUMNS = ['start', 'end', 'seq', 'socket', 'bytes', 'track', 'stageFirst', 'linkFirst', 'guest', 'result', 'path', 'op', 'stageCount', 'dominant', 'linkCount'] as const;
const STAGE_COLUMNS = ['stageName', 'stageStart', 'stageEnd'] as const;
const FRAME_COLUMNS = ['frameSeq', 'frameIn', 'frameOut', 'frameLength', 'frameGuest', 'frameDirection'] as const;
type ColumnName = (typeof CALL_COLUMNS)[number] | (typeof STAGE_COLUMNS)[number] | (typeof FRAME_COLUMNS)[number] | 'linkSeq';

/** path: 2 bits, guest: 16 bits, socket: up to 2^32 — a number key stays exact below 2^53. */
function trackKey(path: number, guest: number, socket: number): number {
  return (socket * 65536 + guest) * 4 + path;
}

function newTrack(id: number, path: number, guest: number, socket: number): Track {
  return { id, path, guest, socket, list: new U32List(), starts: new Float64Array(16), durs: new Float32Array(16), keys: new Uint8Array(16), maxDur: 0, sorted: true };
}

export class CallStore {
  /** Host ns that relative time 0 stands for: the first call's start. */
  base: number | null = null;
  count = 0;
  /** Calls dropped to honour the record limit, and records the daemon said it lost. */
  droppedByLimit = 0;
  droppedBySource = 0;
  /** Bumps on every change, so views can tell when to recompute. */
  version = 0;

  readonly guests = new Interned();
  readonly results = new Interned();
  readonly tracks: Track[] = [];
  private readonly trackByKey = new Map<number, Track>();
  private readonly frameTrackByGuest = new Map<number, Track>();

  // call columns, by slot (0 = oldest kept)
  start = new Float64Array(INITIAL);
  end = new Float64Array(INITIAL);
  seq = new Float64Array(INITIAL);
  socket = new Uint32Array(INITIAL);
  bytes = new Uint32Array(INITIAL);
  track = new Uint32Array(INITIAL);
  stageFirst = new Uint32Array(INITIAL);
  linkFirst = new Uint32Array(INITIAL);
  guest = new Uint16Array(INITIAL);
  result = new Uint16Array(INITIAL);
  path = new Uint8Array(INITIAL);
  op = new Uint8Array(INITIAL);
  stageCount = new Uint8Array(INITIAL);
  dominant = new Uint8Array(INITIAL);
  linkCount = new Uint8Array(INITIAL);

  // stages, pooled: a call owns [stageFirst, stageFirst + stageCount); offsets are ns from the call's start
  stagePoolLength = 0;
  stageName = new Uint8Array(INITIAL * 2);
  stageStart = new Float32Array(INITIAL * 2);
  stageEnd = new Float32Array(INITIAL * 2);

  // frame seqs linked from calls, pooled like stages
  linkPoolLength = 0;
  linkSeq = new Float64Array(64);

  // frame columns
  frameCount = 0;
  frameSeq = new Float64Array(64);
  frameIn = new Float64Array(64);
  frameOut = new Float64Array(64);
  frameLength = new Uint32Array(64);
  frameGuest = new Uint16Array(64);
  frameDirection = new Uint8Array(64);
  droppedFrames = 0;

  constructor(public recordLimit = 2_000_000) {}

  get paths(): Set<number> {
    return new Set(this.tracks.filter((t) => t.socket >= 0 && t.list.length > 0).map((t) => t.path));
  }

  private get columns(): Record<ColumnName, TypedArray> {
    return this as unknown as Record<ColumnName, TypedArray>;
  }

  /** Replaces each named column with `f` of it. */
  private update(names: readonly ColumnName[], f: (a: TypedArray) => TypedArray): void {
    const cols = this.columns;
    for (const k of names) cols[k] = f(cols[k]);
  }

  private trackFor(path: number, guest: number, socket: number): Track {
    const key = trackKey(path, guest, socket);
    let t = this.trackByKey.get(key);
    if (!t) {
      t = newTrack(this.tracks.length, path, guest, socket);
      this.tracks.push(t);
      this.trackByKey.set(key, t);
    }
    return t;
  }

  frameTrack(guest: number): Track | undefined {
    return this.frameTrackByGuest.get(guest);
  }

  private readonly scratchNames = new Uint8Array(STAGES.length);
  private readonly scratchStarts = new Float64Array(STAGES.length);
  private readonly scratchEnds = new Float64Array(STAGES.length);
  private scratchFrames = new Float64Array(16);

  /** Appends one call record; returns its slot, or -1 for a call without stages. */
  addCall(c: CallInput): number {
    const n = Math.min(c.stages.length, STAGES.length);
    for (let i = 0; i < n; i++) {
      const st = c.stages[i]!;
      this.scratchNames[i] = STAGE_INDEX.get(st.name) ?? 0;
      this.scratchStarts[i] = st.start;
      this.scratchEnds[i] = st.end;
    }
    const fn = c.frames ? c.frames.length : 0;
    if (fn > this.scratchFrames.length) this.scratchFrames = new Float64Array(fn);
    for (let i = 0; i < fn; i++) this.scratchFrames[i] = c.frames![i]!;
    return this.append(c.seq, this.guests.of(c.guest), PATH_INDEX[c.path] ?? 0, OP_INDEX.get(c.op) ?? 0, c.socket, c.bytes, this.results.of(c.result), n, this.scratchNames, this.scratchStarts, this.scratchEnds, this.scratchFrames, fn);
  }

  /** Appends a call from the decoder's reused view (no objects per call); nothing of the view is kept. */
  addCallView(v: CallViewInput): number {
    const g = v.guestIndex === this.lastGuestIndex && v.strings === this.lastStrings ? this.lastGuest : (this.lastGuest = this.guests.of(v.guest));
    this.lastGuestIndex = v.guestIndex;
    this.lastStrings = v.strings;
    let r = this.resultByErrno[v.errno + 1];
    if (r === undefined) r = this.resultByErrno[v.errno + 1] = this.results.of(v.result);
    return this.append(v.seq, g, v.path, v.op, v.socket, v.bytes, r, v.stageCount, v.stageNames, v.stageStarts, v.stageEnds, v.frames, Math.max(0, v.frameCount));
  }
  private lastGuestIndex = -1;
  private lastStrings: readonly string[] | null = null;
  private lastGuest = 0;
  private readonly resultByErrno: number[] = [];

  private append(seq: number, g: number, p: number, op: number, socket: number, bytes: number, res: number, n: number, names: ArrayLike<number>, starts: ArrayLike<number>, ends: ArrayLike<number>, frames: ArrayLike<number>, fn: number): number {
    if (n === 0) return -1;
    const first = starts[0]!;
    if (this.base === null) this.base = first;
    const slot = this.count;
    if (slot >= this.start.length) this.update(CALL_COLUMNS, (a) => ensureCapacity(a, slot + 1));
    this.start[slot] = first - this.base;
    this.end[slot] = ends[n - 1]! - this.base;
    this.seq[slot] = seq;
    this.socket[slot] = socket;
    this.bytes[slot] = Math.min(bytes, 0xffffffff);
    this.guest[slot] = g;
    this.result[slot] = res;
    this.path[slot] = p;
    this.op[slot] = op;

    const sf = this.stagePoolLength;
    if (sf + n > this.stageName.length) this.update(STAGE_COLUMNS, (a) => ensureCapacity(a, sf + n));
    let best = 0;
    let bestDur = -1;
    for (let i = 0; i < n; i++) {
      const a = starts[i]!;
      const b = ends[i]!;
      const name = names[i]!;
      this.stageName[sf + i] = name;
      this.stageStart[sf + i] = a - first;
      this.stageEnd[sf + i] = b - first;
      if (b - a > bestDur) {
        bestDur = b - a;
        best = name;
      }
    }
    this.stagePoolLength = sf + n;
    this.stageFirst[slot] = sf;
    this.stageCount[slot] = n;
    this.dominant[slot] = best;

    const lf = this.linkPoolLength;
    const ln = Math.min(fn, 255);
    if (ln > 0) {
      this.linkSeq = ensureCapacity(this.linkSeq, lf + ln);
      for (let i = 0; i < ln; i++) this.linkSeq[lf + i] = frames[i]!;
      this.linkPoolLength = lf + ln;
    }
    this.linkFirst[slot] = lf;
    this.linkCount[slot] = ln;

    const t = this.trackFor(p, g, socket);
    this.track[slot] = t.id;
    const dur = ends[n - 1]! - first;
    this.insertSorted(t, slot, this.start[slot]!, dur, best);
    if (dur > t.maxDur) t.maxDur = dur;
    this.count = slot + 1;
    this.version++;
    if (this.count > this.recordLimit) this.dropOldest();
    return this.count - 1;
  }

  addFrame(f: FrameInput): void {
    if (this.base === null) this.base = f.tIn;
    const i = this.frameCount;
    if (i >= this.frameSeq.length) this.update(FRAME_COLUMNS, (a) => ensureCapacity(a, i + 1));
    this.frameSeq[i] = f.seq;
    this.frameIn[i] = f.tIn - this.base;
    this.frameOut[i] = f.tOut - this.base;
    this.frameLength[i] = f.length;
    const g = this.guests.of(f.guest);
    this.frameGuest[i] = g;
    this.frameDirection[i] = DIRECTION_INDEX.get(f.direction) ?? 0;
    let t = this.frameTrackByGuest.get(g);
    if (!t) {
      t = newTrack(this.tracks.length, PATH_INDEX.emulated, g, -1);
      this.tracks.push(t);
      this.frameTrackByGuest.set(g, t);
    }
    this.insertSorted(t, i, this.frameIn[i]!, f.tOut - f.tIn, this.frameDirection[i]!);
    if (f.tOut - f.tIn > t.maxDur) t.maxDur = f.tOut - f.tIn;
    this.frameCount = i + 1;
    this.version++;
    if (this.frameCount > this.recordLimit) this.dropOldestFrames();
  }

  /** Keeps a track's list ordered by start; a few steps back at most, else the track is re-sorted later. */
  private insertSorted(t: Track, slot: number, start: number, dur: number, key: number): void {
    t.list.push(slot);
    const cap = t.list.data.length;
    if (t.starts.length < cap) {
      t.starts = ensureCapacity(t.starts, cap);
      t.durs = ensureCapacity(t.durs, cap);
      t.keys = ensureCapacity(t.keys, cap);
    }
    const d = t.list.data;
    const ts = t.starts;
    const td = t.durs;
    const tk = t.keys;
    let j = t.list.length - 1;
    ts[j] = start;
    td[j] = dur;
    tk[j] = key;
    if (!t.sorted) return;
    let steps = 0;
    while (j > 0 && ts[j - 1]! > start) {
      if (++steps > 32) {
        t.sorted = false;
        return;
      }
      d[j] = d[j - 1]!;
      ts[j] = ts[j - 1]!;
      td[j] = td[j - 1]!;
      tk[j] = tk[j - 1]!;
      d[j - 1] = slot;
      ts[j - 1] = start;
      td[j - 1] = dur;
      tk[j - 1] = key;
      j--;
    }
  }

  /** Sorts the tracks whose appends arrived too far out of order (done before a draw, not per append). */
  ensureSorted(): void {
    for (const t of this.tracks) {
      if (t.sorted) continue;
      const calls = t.socket >= 0;
      const starts = calls ? this.start : this.frameIn;
      const ends = calls ? this.end : this.frameOut;
      const keys = calls ? this.dominant : this.frameDirection;
      const view = Array.from(t.list.data.subarray(0, t.list.length));
      view.sort((a, b) => starts[a]! - starts[b]!);
      t.list.data.set(view);
      for (let i = 0; i < view.length; i++) {
        const v = view[i]!;
        t.starts[i] = starts[v]!;
        t.durs[i] = ends[v]! - starts[v]!;
        t.keys[i] = keys[v]!;
      }
      t.sorted = true;
    }
  }

  /** The range [from, to) of a track's list whose items may overlap [t0, t1]. */
  window(t: Track, t0: number, t1: number): [number, number] {
    const ts = t.starts;
    const from = lowerBound(0, t.list.length, t0 - t.maxDur, (i) => ts[i]!);
    const to = lowerBound(from, t.list.length, t1 + 1e-9, (i) => ts[i]!);
    return [from, to];
  }

  /** Drops the oldest calls in one batch (a tenth of the limit) so the cost is paid rarely, not per append. */
  private dropOldest(): void {
    const keep = Math.max(1, this.recordLimit - Math.ceil(this.recordLimit / 10));
    const d = this.count - keep;
    if (d <= 0) return;
    const sShift = this.stageFirst[d]!;
    const lShift = this.linkFirst[d]!;
    this.update(CALL_COLUMNS, (a) => a.copyWithin(0, d, this.count));
    this.update(STAGE_COLUMNS, (a) => a.copyWithin(0, sShift, this.stagePoolLength));
    this.stagePoolLength -= sShift;
    this.linkSeq.copyWithin(0, lShift, this.linkPoolLength);
    this.linkPoolLength -= lShift;
    for (let i = 0; i < keep; i++) {
      this.stageFirst[i] = this.stageFirst[i]! - sShift;
      this.linkFirst[i] = this.linkFirst[i]! - lShift;
    }
    this.count = keep;
    this.droppedByLimit += d;
    for (const t of this.tracks) if (t.socket >= 0) this.shiftTrack(t, d);
    this.forgetEmptyTracks();
    this.version++;
  }

  private dropOldestFrames(): void {
    const keep = Math.max(1, this.recordLimit - Math.ceil(this.recordLimit / 10));
    const d = this.frameCount - keep;
    this.update(FRAME_COLUMNS, (a) => a.copyWithin(0, d, this.frameCount));
    this.frameCount = keep;
    this.droppedFrames += d;
    for (const t of this.tracks) if (t.socket < 0) this.shiftTrack(t, d);
    this.forgetEmptyTracks();
  }

  /**
   * Drops tracks left empty by dropping old records and renumbers the rest: a long live session of
   * short-lived sockets (crr) would otherwise keep one track per socket ever seen.
   */
  private forgetEmptyTracks(): void {
    if (this.tracks.every((t) => t.list.length > 0)) return;
    const newId = new Int32Array(this.tracks.length).fill(-1);
    const kept = this.tracks.filter((t) => t.list.length > 0);
    kept.forEach((t, i) => {
      newId[t.id] = i;
      t.id = i;
    });
    for (let s = 0; s < this.count; s++) this.track[s] = newId[this.track[s]!]!;
    this.tracks.length = 0;
    this.tracks.push(...kept);
    this.trackByKey.clear();
    this.frameTrackByGuest.clear();
    for (const t of kept) {
      if (t.socket < 0) this.frameTrackByGuest.set(t.guest, t);
      else this.trackByKey.set(trackKey(t.path, t.guest, t.socket), t);
    }
  }

  /** Removes slots below `d` from a track's list and renumbers the rest; order by start is kept. */
  private shiftTrack(t: Track, d: number): void {
    const a = t.list.data;
    const ts = t.starts;
    let w = 0;
    for (let i = 0; i < t.list.length; i++) {
      const v = a[i]!;
      if (v >= d) {
        ts[w] = ts[i]!;
        t.durs[w] = t.durs[i]!;
        t.keys[w] = t.keys[i]!;
        a[w++] = v - d;
      }
    }
    t.list.length = w;
  }

  /**
   * Trims every column, pool and track array to what it holds. Doubling leaves up to half of each unused;
   * once a file has finished loading, nothing more arrives and that slack is only memory.
   */
  compact(): void {
    const trim = <T extends TypedArray>(a: T, n: number): T => (a.length > n ? (a.slice(0, n) as T) : a);
    this.update(CALL_COLUMNS, (a) => trim(a, this.count));
    this.update(STAGE_COLUMNS, (a) => trim(a, this.stagePoolLength));
    this.update(FRAME_COLUMNS, (a) => trim(a, this.frameCount));
    this.linkSeq = trim(this.linkSeq, this.linkPoolLength);
    for (const t of this.tracks) {
      const m = t.list.length;
      t.list.data = trim(t.list.data, m);
      t.starts = trim(t.starts, m);
      t.durs = trim(t.durs, m);
      t.keys = trim(t.keys, m);
    }
  }

  /** Slot of the call with this seq, or -1 (seqs are unique; calls arrive roughly in seq order). */
  slotOfSeq(seq: number, scan = true): number {
    const n = this.count;
    const i = lowerBound(0, n, seq, (k) => this.seq[k]!);
    if (i < n && this.seq[i] === seq) return i;
    // seqs out of order (records merged from several sources): a linear scan, unless the caller is hot
    if (scan) for (let k = 0; k < n; k++) if (this.seq[k] === seq) return k;
    return -1;
  }

  /** Slot of the frame with this seq, or -1. */
  frameOfSeq(seq: number): number {
    const n = this.frameCount;
    const i = lowerBound(0, n, seq, (k) => this.frameSeq[k]!);
    if (i < n && this.frameSeq[i] === seq) return i;
    return -1;
  }

  /** Bytes held by the typed arrays (what the heap figure adds to the JS heap). */
  get arrayBytes(): number {
    let b = 0;
    for (const k of [...CALL_COLUMNS, ...STAGE_COLUMNS, ...FRAME_COLUMNS, 'linkSeq'] as const) b += this.columns[k].byteLength;
    for (const t of this.tracks) b += t.list.bytes + t.starts.byteLength + t.durs.byteLength + t.keys.byteLength;
    return b;
  }

  /** The time span of everything held, relative to base. */
  extent(): [number, number] {
    let lo = Infinity;
    let hi = -Infinity;
    for (const t of this.tracks) {
      if (t.list.length === 0) continue;
      const starts = t.socket >= 0 ? this.start : this.frameIn;
      const ends = t.socket >= 0 ? this.end : this.frameOut;
      const a = starts[t.list.data[0]!]!;
      if (a < lo) lo = a;
      // the last by start need not end last; the track's longest item bounds the error
      const z = ends[t.list.data[t.list.length - 1]!]!;
      if (z > hi) hi = z;
    }
    if (lo === Infinity) return [0, 1e6];
    return [lo, Math.max(hi, lo + 1000)];
  }

  clear(): void {
    const limit = this.recordLimit;
    Object.assign(this, new CallStore(limit));
  }

  label(t: Track): string {
    const g = this.guests.values[t.guest] ?? '?';
    return t.socket < 0 ? `${g} frames` : `${g} #${t.socket}`;
  }
}
