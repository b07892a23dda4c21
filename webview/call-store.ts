// The viewer's model: calls and frames held column by column in typed arrays, times relative to a base,
// strings interned, tracks (path, guest, socket) indexed by start for binary search of the visible window.
// A record limit bounds memory: past it, the oldest calls are dropped in batches and counted.

import { PATHS, OPS, STAGES, FRAME_DIRECTIONS, type Path, type Op, type StageName, type FrameDirection, type RunInfo } from '../protocol/trace';
import { ensureCapacity, reserveCapacity, U32List, lowerBound, type TypedArray } from './growable';
import { DERIVED } from './view-stages';

/** What the store reads of a call: a CallRecord, or a decoder's reused flyweight view of one. */
export interface CallInput {
  readonly seq: number;
  readonly run?: string;
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
  readonly runIndex: number;
  readonly run: string;
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
  readonly run?: string;
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
const EMULATED = PATHS.indexOf('emulated');
const HOST_TO_GUEST = FRAME_DIRECTIONS.indexOf('host-to-guest');

/** Overlapping calls of one track stack in at most this many levels (the deepest takes the rest). */
export const MAX_LEVELS = 6;

export interface Track {
  id: number;
  /** Index into CallStore.runs: a path's part of one run is its own set of tracks. */
  readonly run: number;
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
  /** Stack level of each item (list order): calls that overlap in time sit on different levels. */
  levels: Uint8Array;
  /** Levels in use (1 when nothing overlaps). */
  depth: number;
  /** End of the last item placed on each level, for placing the next appended one. */
  readonly levelEnds: Float64Array;
  /** The longest item, so a window query can start early enough to catch calls that began before it. */
  maxDur: number;
  sorted: boolean;
  /** Levels must be recomputed: an item was inserted before others (out of order). */
  levelsStale: boolean;
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
const CALL_COLUMNS = ['start', 'end', 'seq', 'socket', 'bytes', 'track', 'stageFirst', 'linkFirst', 'guest', 'result', 'run', 'path', 'op', 'stageCount', 'dominant', 'linkCount'] as const;
const STAGE_COLUMNS = ['stageName', 'stageStart', 'stageEnd'] as const;
const FRAME_COLUMNS = ['frameSeq', 'frameIn', 'frameOut', 'frameLength', 'frameGuest', 'frameRun', 'frameDirection'] as const;
type ColumnName = (typeof CALL_COLUMNS)[number] | (typeof STAGE_COLUMNS)[number] | (typeof FRAME_COLUMNS)[number] | 'linkSeq';

/** path: 2 bits, guest: 16 bits, socket: up to 2^32 — a number key stays exact below 2^53 (one map per run). */
function trackKey(path: number, guest: number, socket: number): number {
  return (socket * 65536 + guest) * 4 + path;
}

function newTrack(id: number, run: number, path: number, guest: number, socket: number): Track {
  return {
    id, run, path, guest, socket, list: new U32List(), starts: new Float64Array(16), durs: new Float32Array(16), keys: new Uint8Array(16),
    levels: new Uint8Array(16), depth: 1, levelEnds: new Float64Array(MAX_LEVELS).fill(-Infinity), maxDur: 0, sorted: true, levelsStale: false,
  };
}

/** Places an item on the first level free at `start` (or a new one, or the level that frees first). */
function placeLevel(t: Track, start: number, end: number): number {
  const ends = t.levelEnds;
  let best = 0;
  for (let l = 0; l < t.depth; l++) {
    if (ends[l]! <= start) {
      ends[l] = end;
      return l;
    }
    if (ends[l]! < ends[best]!) best = l;
  }
  if (t.depth < MAX_LEVELS) best = t.depth++;
  ends[best] = Math.max(ends[best]!, end);
  return best;
}

/** Frame tracks are keyed run * this + guest (guests are u16). */
const FRAME_TRACK_RUN = 65536;

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
  readonly runs = new Interned();
  /** What the trace said about each run (workload, paths, mode), by run id. */
  readonly runInfo = new Map<string, RunInfo>();
  readonly tracks: Track[] = [];
  /** Socket tracks by run index, then trackKey. */
  private readonly trackByKey: Map<number, Track>[] = [];
  /** A guest's frame track by run * 65536 + guest. */
  private readonly frameTrackByGuest = new Map<number, Track>();
  /** Bumps when a track's stack depth grows (the layout's row heights change). */
  depthVersion = 0;
  /** Bit per view stage (view-stages.ts) that some call holds: the legend lists these. */
  stagesSeen = 0;

  /** Bytes the whole source will hold (a file's size), if the host said: sizes the columns once. */
  expectedBytes = 0;
  private ingestedBytes = 0;
  private reserved = false;
  /** A finished file waits for its trim (compact) until the viewer has drawn and is idle. */
  compactPending = false;

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
  run = new Uint16Array(INITIAL);
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
  frameRun = new Uint16Array(64);
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

  private trackFor(run: number, path: number, guest: number, socket: number): Track {
    const key = trackKey(path, guest, socket);
    const byKey = (this.trackByKey[run] ??= new Map());
    let t = byKey.get(key);
    if (!t) {
      t = newTrack(this.tracks.length, run, path, guest, socket);
      this.tracks.push(t);
      byKey.set(key, t);
    }
    return t;
  }

  frameTrack(run: number, guest: number): Track | undefined {
    return this.frameTrackByGuest.get(run * FRAME_TRACK_RUN + guest);
  }

  addRun(r: RunInfo): void {
    this.runs.of(r.id);
    this.runInfo.set(r.id, r);
    this.version++;
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
    return this.append(c.seq, this.runs.of(c.run ?? ''), this.guests.of(c.guest), PATH_INDEX[c.path] ?? 0, OP_INDEX.get(c.op) ?? 0, c.socket, c.bytes, this.results.of(c.result), n, this.scratchNames, this.scratchStarts, this.scratchEnds, this.scratchFrames, fn);
  }

  /** Appends a call from the decoder's reused view (no objects per call); nothing of the view is kept. */
  addCallView(v: CallViewInput): number {
    const sameTable = v.strings === this.lastStrings;
    const g = sameTable && v.guestIndex === this.lastGuestIndex ? this.lastGuest : (this.lastGuest = this.guests.of(v.guest));
    const run = sameTable && v.runIndex === this.lastRunIndex ? this.lastRun : (this.lastRun = this.runs.of(v.run));
    this.lastGuestIndex = v.guestIndex;
    this.lastRunIndex = v.runIndex;
    this.lastStrings = v.strings;
    let r = this.resultByErrno[v.errno + 1];
    if (r === undefined) r = this.resultByErrno[v.errno + 1] = this.results.of(v.result);
    return this.append(v.seq, run, g, v.path, v.op, v.socket, v.bytes, r, v.stageCount, v.stageNames, v.stageStarts, v.stageEnds, v.frames, Math.max(0, v.frameCount));
  }
  private lastRunIndex = -1;
  private lastRun = 0;
  private lastGuestIndex = -1;
  private lastStrings: readonly string[] | null = null;
  private lastGuest = 0;
  private readonly resultByErrno: number[] = [];

  private append(seq: number, run: number, g: number, p: number, op: number, socket: number, bytes: number, res: number, n: number, names: ArrayLike<number>, starts: ArrayLike<number>, ends: ArrayLike<number>, frames: ArrayLike<number>, fn: number): number {
    if (n === 0) return -1;
    if (p === EMULATED && n === 1 && fn > 0) {
      const d = this.deriveFromFrames(starts[0]!, ends[0]!, frames, fn);
      if (d > 0) {
        n = d;
        names = this.derivedNames;
        starts = this.derivedStarts;
        ends = this.derivedEnds;
      }
    }
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
    this.run[slot] = run;
    this.path[slot] = p;
    this.op[slot] = op;

    const sf = this.stagePoolLength;
    if (sf + n > this.stageName.length) this.update(STAGE_COLUMNS, (a) => ensureCapacity(a, sf + n));
    let best = 0;
    let bestDur = -1;
    let seen = this.stagesSeen;
    for (let i = 0; i < n; i++) {
      const a = starts[i]!;
      const b = ends[i]!;
      const name = names[i]!;
      seen |= 1 << name;
      this.stageName[sf + i] = name;
      this.stageStart[sf + i] = a - first;
      this.stageEnd[sf + i] = b - first;
      if (b - a > bestDur) {
        bestDur = b - a;
        best = name;
      }
    }
    this.stagesSeen = seen;
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

    const t = this.trackFor(run, p, g, socket);
    this.track[slot] = t.id;
    const dur = ends[n - 1]! - first;
    this.insertSorted(t, slot, this.start[slot]!, dur, best);
    if (dur > t.maxDur) t.maxDur = dur;
    this.count = slot + 1;
    this.version++;
    if (this.count > this.recordLimit) this.dropOldest();
    return this.count - 1;
  }

  private lastFrameGuestName: string | null = null;
  private lastFrameGuest = 0;
  private lastFrameRunName: string | null = null;
  private lastFrameRun = 0;
  private readonly derivedNames = new Uint8Array(3);
  private readonly derivedStarts = new Float64Array(3);
  private readonly derivedEnds = new Float64Array(3);

  /**
   * An emulated call's one kernel stage split at its linked frames (those already received: the lab
   * publishes frames before the calls that link them): the side the data leaves from until the first frame
   * enters the device model, the device model until the last frame leaves it, the receiving side after.
   * Returns how many stages it wrote to the derived scratch arrays (0: no linked frame is known).
   */
  private deriveFromFrames(start: number, end: number, frames: ArrayLike<number>, fn: number): number {
    let firstIn = Infinity;
    let lastOut = -Infinity;
    let dir = 0;
    const base = this.base ?? 0;
    for (let i = 0; i < fn; i++) {
      const f = this.recentFrameOfSeq(frames[i]!);
      if (f < 0) continue;
      const tIn = this.frameIn[f]! + base;
      if (tIn < firstIn) {
        firstIn = tIn;
        dir = this.frameDirection[f]!;
      }
      lastOut = Math.max(lastOut, this.frameOut[f]! + base);
    }
    if (firstIn === Infinity) return 0;
    const b = Math.min(end, Math.max(start, firstIn));
    const c = Math.min(end, Math.max(b, lastOut));
    // received data (host-to-guest) crosses the other way: the host side first
    const inbound = dir === HOST_TO_GUEST;
    let n = 0;
    n = this.pushDerived(n, inbound ? DERIVED.hostSide : DERIVED.guestTap, start, b, end);
    n = this.pushDerived(n, DERIVED.deviceModel, b, c, end);
    n = this.pushDerived(n, inbound ? DERIVED.guestTap : DERIVED.hostSide, c, end, end);
    return n;
  }

  /** Writes derived stage `n` unless it is empty (a call's last stage is kept so it ends at its end). */
  private pushDerived(n: number, name: number, a: number, z: number, end: number): number {
    if (z <= a && !(n === 0 && z === end)) return n;
    this.derivedNames[n] = name;
    this.derivedStarts[n] = a;
    this.derivedEnds[n] = z;
    return n + 1;
  }

  /** The call that links frame slot `f` (emulated calls follow their frames closely in seq), or -1. */
  callOfFrame(f: number): number {
    const fs = this.frameSeq[f]!;
    const from = lowerBound(0, this.count, fs, (k) => this.seq[k]!);
    const to = Math.min(this.count, from + 20_000);
    for (let s = from; s < to; s++) {
      if (this.path[s] !== EMULATED) continue;
      const lf = this.linkFirst[s]!;
      for (let i = 0; i < this.linkCount[s]!; i++) if (this.linkSeq[lf + i] === fs) return s;
    }
    return -1;
  }

  addFrame(f: FrameInput): void {
    if (this.base === null) this.base = f.tIn;
    const i = this.frameCount;
    if (i >= this.frameSeq.length) this.update(FRAME_COLUMNS, (a) => ensureCapacity(a, i + 1));
    this.frameSeq[i] = f.seq;
    this.frameIn[i] = f.tIn - this.base;
    this.frameOut[i] = f.tOut - this.base;
    this.frameLength[i] = f.length;
    // frames of one guest and run come in long series: skip the string lookups while they repeat
    const g = f.guest === this.lastFrameGuestName ? this.lastFrameGuest : (this.lastFrameGuest = this.guests.of((this.lastFrameGuestName = f.guest)));
    const runName = f.run ?? '';
    const run = runName === this.lastFrameRunName ? this.lastFrameRun : (this.lastFrameRun = this.runs.of((this.lastFrameRunName = runName)));
    this.frameGuest[i] = g;
    this.frameRun[i] = run;
    this.frameDirection[i] = DIRECTION_INDEX.get(f.direction) ?? 0;
    let t = this.frameTrackByGuest.get(run * FRAME_TRACK_RUN + g);
    if (!t) {
      t = newTrack(this.tracks.length, run, PATH_INDEX.emulated, g, -1);
      this.tracks.push(t);
      this.frameTrackByGuest.set(run * FRAME_TRACK_RUN + g, t);
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
      t.levels = ensureCapacity(t.levels, cap);
    }
    const d = t.list.data;
    const ts = t.starts;
    const td = t.durs;
    const tk = t.keys;
    const tl = t.levels;
    let j = t.list.length - 1;
    ts[j] = start;
    td[j] = dur;
    tk[j] = key;
    if (!t.sorted) return;
    if (j === 0 || ts[j - 1]! <= start) {
      // frames of a guest overlap in the device model all the time: their track does not stack
      if (t.socket < 0) return;
      const depth = t.depth;
      tl[j] = placeLevel(t, start, start + dur);
      if (t.depth !== depth) this.depthVersion++;
      return;
    }
    // out of order: the levels of this track are recomputed before the next draw
    t.levelsStale = t.socket >= 0;
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
      tl[j] = tl[j - 1]!;
      d[j - 1] = slot;
      ts[j - 1] = start;
      td[j - 1] = dur;
      tk[j - 1] = key;
      j--;
    }
  }

  /** Stacks a track's items again from scratch, in start order. */
  private relevel(t: Track): void {
    const depth = t.depth;
    t.depth = 1;
    t.levelEnds.fill(-Infinity);
    for (let i = 0; i < t.list.length; i++) t.levels[i] = placeLevel(t, t.starts[i]!, t.starts[i]! + t.durs[i]!);
    t.levelsStale = false;
    if (t.depth !== depth) this.depthVersion++;
  }

  /** Sorts the tracks whose appends arrived too far out of order (done before a draw, not per append). */
  ensureSorted(): void {
    for (const t of this.tracks) {
      if (t.sorted) {
        if (t.levelsStale) this.relevel(t);
        continue;
      }
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
      if (t.socket >= 0) this.relevel(t);
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
    this.trackByKey.length = 0;
    this.frameTrackByGuest.clear();
    for (const t of kept) {
      if (t.socket < 0) this.frameTrackByGuest.set(t.run * FRAME_TRACK_RUN + t.guest, t);
      else (this.trackByKey[t.run] ??= new Map()).set(trackKey(t.path, t.guest, t.socket), t);
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
        t.levels[w] = t.levels[i]!;
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
    this.compactPending = false;
    const began = performance.now();
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
      t.levels = trim(t.levels, m);
    }
    this.compactMs = performance.now() - began;
  }
  /** How long the last trim took (the benchmark reports it apart from the load). */
  compactMs = 0;

  /**
   * Counts a chunk's bytes. Once the first chunk shows how many bytes a record takes and the host said how
   * many bytes the source holds (expectedBytes), sizes every column for the whole source in one step: a
   * million calls then cost one allocation per column instead of ten doublings, each copying and leaving
   * garbage. An estimate over the mark costs only the trim after loading; under it, doubling takes over.
   */
  noteIngested(bytes: number): void {
    this.ingestedBytes += bytes;
    if (this.reserved || this.expectedBytes <= this.ingestedBytes * 2 || this.count === 0) return;
    this.reserved = true;
    const scale = (this.expectedBytes / this.ingestedBytes) * 1.05;
    const calls = Math.min(Math.ceil(this.count * scale), this.recordLimit + 1);
    const grow = calls / this.count;
    this.update(CALL_COLUMNS, (a) => reserveCapacity(a, calls));
    this.update(STAGE_COLUMNS, (a) => reserveCapacity(a, Math.ceil(this.stagePoolLength * grow)));
    this.linkSeq = reserveCapacity(this.linkSeq, Math.ceil(this.linkPoolLength * grow));
    this.update(FRAME_COLUMNS, (a) => reserveCapacity(a, Math.min(Math.ceil(this.frameCount * scale), this.recordLimit + 1)));
    for (const t of this.tracks) {
      const m = Math.ceil(t.list.length * grow);
      t.list.data = reserveCapacity(t.list.data, m);
      t.starts = reserveCapacity(t.starts, m);
      t.durs = reserveCapacity(t.durs, m);
      t.keys = reserveCapacity(t.keys, m);
      t.levels = reserveCapacity(t.levels, m);
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

  /** frameOfSeq for a frame received moments ago: a few steps back from the newest, else the binary search. */
  private recentFrameOfSeq(seq: number): number {
    const fs = this.frameSeq;
    for (let i = this.frameCount - 1, stop = Math.max(0, this.frameCount - 8); i >= stop; i--) if (fs[i] === seq) return i;
    return this.frameOfSeq(seq);
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
    for (const t of this.tracks) b += t.list.bytes + t.starts.byteLength + t.durs.byteLength + t.keys.byteLength + t.levels.byteLength;
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

  /** The extent of one track (relative ns), or null when empty. */
  trackSpan(t: Track): [number, number] | null {
    if (t.list.length === 0) return null;
    const i = t.list.length - 1;
    return [t.starts[0]!, Math.max(t.starts[i]! + t.durs[i]!, t.starts[0]! + t.maxDur)];
  }
}
