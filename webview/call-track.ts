// One track of the call store (a run's path, guest and socket, or a guest's frames): its items ordered by
// start in contiguous arrays, and their stacking into levels. These functions touch one track only, so the
// ordering and stacking rules live here, apart from the store's columns and memory caps.

import { ensureCapacity, reserveCapacity, U32List, lowerBound } from './growable';

/** Overlapping calls of one track stack in at most this many levels (the deepest takes the rest). */
export const MAX_LEVELS = 6;

/** Frame tracks are keyed run * this + guest (guests are u16). */
export const FRAME_TRACK_RUN = 65536;

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

/** path: 2 bits, guest: 16 bits, socket: up to 2^32 — a number key stays exact below 2^53 (one map per run). */
export function trackKey(path: number, guest: number, socket: number): number {
  return (socket * 65536 + guest) * 4 + path;
}

export function newTrack(id: number, run: number, path: number, guest: number, socket: number): Track {
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

/**
 * Keeps a track's list ordered by start; a few steps back at most, else the track is re-sorted later.
 * Returns true when the track's stack depth grew (the layout's row heights change).
 */
export function insertSorted(t: Track, slot: number, start: number, dur: number, key: number): boolean {
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
  if (!t.sorted) return false;
  if (j === 0 || ts[j - 1]! <= start) {
    // frames of a guest overlap in the device model all the time: their track does not stack
    if (t.socket < 0) return false;
    const depth = t.depth;
    tl[j] = placeLevel(t, start, start + dur);
    return t.depth !== depth;
  }
  // out of order: the levels of this track are recomputed before the next draw
  t.levelsStale = t.socket >= 0;
  let steps = 0;
  while (j > 0 && ts[j - 1]! > start) {
    if (++steps > 32) {
      t.sorted = false;
      return false;
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
  return false;
}

/** Stacks a track's items again from scratch, in start order; returns true when its depth changed. */
export function relevel(t: Track): boolean {
  const depth = t.depth;
  t.depth = 1;
  t.levelEnds.fill(-Infinity);
  for (let i = 0; i < t.list.length; i++) t.levels[i] = placeLevel(t, t.starts[i]!, t.starts[i]! + t.durs[i]!);
  t.levelsStale = false;
  return t.depth !== depth;
}

/** Sorts a track whose appends arrived too far out of order, from the store's start, end and key columns. */
export function sortTrack(t: Track, starts: ArrayLike<number>, ends: ArrayLike<number>, keys: ArrayLike<number>): void {
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

/** The range [from, to) of a track's list whose items may overlap [t0, t1]. */
export function trackWindow(t: Track, t0: number, t1: number): [number, number] {
  const ts = t.starts;
  const from = lowerBound(0, t.list.length, t0 - t.maxDur, (i) => ts[i]!);
  const to = lowerBound(from, t.list.length, t1 + 1e-9, (i) => ts[i]!);
  return [from, to];
}

/** The extent of one track (relative ns), or null when empty. */
export function trackSpan(t: Track): [number, number] | null {
  if (t.list.length === 0) return null;
  const i = t.list.length - 1;
  return [t.starts[0]!, Math.max(t.starts[i]! + t.durs[i]!, t.starts[0]! + t.maxDur)];
}

/** Removes slots below `d` from a track's list and renumbers the rest; order by start is kept. */
export function shiftTrack(t: Track, d: number): void {
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

/** Resizes a track's arrays with `f` (a trim to what it holds, or a reservation for what will come). */
export function resizeTrack(t: Track, m: number, f: typeof reserveCapacity): void {
  t.list.data = f(t.list.data, m);
  t.starts = f(t.starts, m);
  t.durs = f(t.durs, m);
  t.keys = f(t.keys, m);
  t.levels = f(t.levels, m);
}

/** Bytes held by a track's arrays. */
export function trackBytes(t: Track): number {
  return t.list.bytes + t.starts.byteLength + t.durs.byteLength + t.keys.byteLength + t.levels.byteLength;
}
