// The viewer's model: calls and frames held column by column in typed arrays (call-columns.ts), times
// relative to a base, strings interned, tracks (path, guest, socket) indexed by start for binary search of
// the visible window (call-track.ts). A record limit bounds memory: past it, the oldest calls are dropped in
// batches and counted (call-memory.ts). This file ingests records and keeps the track indexes.

import type { RunInfo } from '../protocol/trace';
import { STAGES } from '../protocol/trace';
import { ensureCapacity } from './growable';
import { CallColumns, CALL_COLUMNS, STAGE_COLUMNS, FRAME_COLUMNS } from './call-columns';
import { PATH_INDEX, OP_INDEX, STAGE_INDEX, DIRECTION_INDEX, EMULATED, type CallInput, type CallViewInput, type FrameInput } from './call-input';
import { Interned } from './interned';
import { FRAME_TRACK_RUN, insertSorted, newTrack, relevel, sortTrack, trackKey, trackSpan, trackWindow, type Track } from './call-track';
import { dropOldestCalls, dropOldestFrames, heldBytes, keptAfterDrop, reserveFor, trimToHeld } from './call-memory';
import { FrameSplitter } from './frame-split';

export { PATH_INDEX, type CallInput, type CallViewInput, type FrameInput } from './call-input';
export { MAX_LEVELS, type Track } from './call-track';

/** Entries of the store's track cache (a power of two). */
const TRACK_CACHE = 256;

export class CallStore extends CallColumns {
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

  droppedFrames = 0;

  constructor(public recordLimit = 2_000_000) {
    super();
  }

  get paths(): Set<number> {
    return new Set(this.tracks.filter((t) => t.socket >= 0 && t.list.length > 0).map((t) => t.path));
  }

  private trackFor(run: number, path: number, guest: number, socket: number): Track {
    const key = trackKey(path, guest, socket);
    // calls take turns between a handful of tracks: a small direct-mapped cache before the maps
    const h = (key ^ (key >>> 7) ^ (key >>> 18) ^ (run * 31)) & (TRACK_CACHE - 1);
    const cached = this.trackCache[h];
    if (cached !== undefined && cached.run === run && this.trackCacheKey[h] === key) return cached;
    const byKey = (this.trackByKey[run] ??= new Map());
    let t = byKey.get(key);
    if (!t) {
      t = newTrack(this.tracks.length, run, path, guest, socket);
      this.tracks.push(t);
      byKey.set(key, t);
    }
    this.trackCache[h] = t;
    this.trackCacheKey[h] = key;
    return t;
  }
  private readonly trackCache: (Track | undefined)[] = new Array<Track | undefined>(TRACK_CACHE).fill(undefined);
  private readonly trackCacheKey = new Float64Array(TRACK_CACHE);

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
    // A chunk names its guests and runs by index into its own string table: intern each index once per
    // table, not each call (calls alternate between guests, so "same as the last call" seldom holds).
    if (v.strings !== this.lastStrings) {
      this.lastStrings = v.strings;
      const n = v.strings.length;
      if (this.guestOfString.length < n) {
        this.guestOfString = new Int32Array(Math.max(n, this.guestOfString.length * 2));
        this.runOfString = new Int32Array(this.guestOfString.length);
      }
      this.guestOfString.fill(-1, 0, n);
      this.runOfString.fill(-1, 0, n);
    }
    let g = this.guestOfString[v.guestIndex]!;
    if (g < 0) g = this.guestOfString[v.guestIndex] = this.guests.of(v.guest);
    let run = this.runOfString[v.runIndex]!;
    if (run < 0) run = this.runOfString[v.runIndex] = this.runs.of(v.run);
    let r = this.resultByErrno[v.errno + 1];
    if (r === undefined) r = this.resultByErrno[v.errno + 1] = this.results.of(v.result);
    return this.append(v.seq, run, g, v.path, v.op, v.socket, v.bytes, r, v.stageCount, v.stageNames, v.stageStarts, v.stageEnds, v.frames, Math.max(0, v.frameCount));
  }
  private lastStrings: readonly string[] | null = null;
  /** Interned guest and run per index of the last string table (-1: not yet looked up). */
  private guestOfString = new Int32Array(64);
  private runOfString = new Int32Array(64);
  private readonly resultByErrno: number[] = [];

  private append(seq: number, run: number, g: number, p: number, op: number, socket: number, bytes: number, res: number, n: number, names: ArrayLike<number>, starts: ArrayLike<number>, ends: ArrayLike<number>, frames: ArrayLike<number>, fn: number): number {
    if (n === 0) return -1;
    if (p === EMULATED && n === 1 && fn > 0) {
      const d = this.splitter.derive(this, starts[0]!, ends[0]!, frames, fn);
      if (d > 0) {
        n = d;
        names = this.splitter.names;
        starts = this.splitter.starts;
        ends = this.splitter.ends;
      }
    }
    const first = starts[0]!;
    if (this.base === null) this.base = first;
    const slot = this.count;
    if (slot >= this.start.length) this.updateColumns(CALL_COLUMNS, (a) => ensureCapacity(a, slot + 1));
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
    if (sf + n > this.stageName.length) this.updateColumns(STAGE_COLUMNS, (a) => ensureCapacity(a, sf + n));
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
      // checked here, not in ensureCapacity: a call there per call costs a megamorphic length read
      if (lf + ln > this.linkSeq.length) this.linkSeq = ensureCapacity(this.linkSeq, lf + ln);
      for (let i = 0; i < ln; i++) this.linkSeq[lf + i] = frames[i]!;
      this.linkPoolLength = lf + ln;
    }
    this.linkFirst[slot] = lf;
    this.linkCount[slot] = ln;

    const t = this.trackFor(run, p, g, socket);
    this.track[slot] = t.id;
    const dur = ends[n - 1]! - first;
    if (insertSorted(t, slot, this.start[slot]!, dur, best)) this.depthVersion++;
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
  private readonly splitter = new FrameSplitter();

  addFrame(f: FrameInput): void {
    if (this.base === null) this.base = f.tIn;
    const i = this.frameCount;
    if (i >= this.frameSeq.length) this.updateColumns(FRAME_COLUMNS, (a) => ensureCapacity(a, i + 1));
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
    if (insertSorted(t, i, this.frameIn[i]!, f.tOut - f.tIn, this.frameDirection[i]!)) this.depthVersion++;
    if (f.tOut - f.tIn > t.maxDur) t.maxDur = f.tOut - f.tIn;
    this.frameCount = i + 1;
    this.version++;
    if (this.frameCount > this.recordLimit) this.dropOldestFrames();
  }

  /** Sorts the tracks whose appends arrived too far out of order (done before a draw, not per append). */
  ensureSorted(): void {
    for (const t of this.tracks) {
      if (t.sorted) {
        if (t.levelsStale && relevel(t)) this.depthVersion++;
        continue;
      }
      sortTrack(t);
      if (t.socket >= 0 && relevel(t)) this.depthVersion++;
    }
  }

  /** The range [from, to) of a track's list whose items may overlap [t0, t1]. */
  window(t: Track, t0: number, t1: number): [number, number] {
    return trackWindow(t, t0, t1);
  }

  /** Drops the oldest calls in one batch (a tenth of the limit) so the cost is paid rarely, not per append. */
  private dropOldest(): void {
    const d = dropOldestCalls(this, this.tracks, keptAfterDrop(this.recordLimit));
    if (d <= 0) return;
    this.droppedByLimit += d;
    this.forgetEmptyTracks();
    this.version++;
  }

  private dropOldestFrames(): void {
    this.droppedFrames += dropOldestFrames(this, this.tracks, keptAfterDrop(this.recordLimit));
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
    this.trackCache.fill(undefined);
    this.frameTrackByGuest.clear();
    for (const t of kept) {
      if (t.socket < 0) this.frameTrackByGuest.set(t.run * FRAME_TRACK_RUN + t.guest, t);
      else (this.trackByKey[t.run] ??= new Map()).set(trackKey(t.path, t.guest, t.socket), t);
    }
  }

  /**
   * Trims every column, pool and track array to what it holds. Doubling leaves up to half of each unused;
   * once a file has finished loading, nothing more arrives and that slack is only memory.
   */
  compact(): void {
    this.compactPending = false;
    const began = performance.now();
    trimToHeld(this, this.tracks);
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
    const frames = Math.min(Math.ceil(this.frameCount * scale), this.recordLimit + 1);
    reserveFor(this, this.tracks, calls, frames, calls / this.count);
  }

  /** Bytes held by the typed arrays (what the heap figure adds to the JS heap). */
  get arrayBytes(): number {
    return heldBytes(this, this.tracks);
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
    return trackSpan(t);
  }
}
