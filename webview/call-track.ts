// One track of the call store (a run's path, guest and socket, or a guest's frames): its items ordered by
// start in contiguous arrays, and their stacking into levels. These functions touch one track only, so the
// ordering and stacking rules live here, apart from the store's columns and memory caps.

import { ensureCapacity, reserveCapacity, U32List, lowerBound } from './growable';
import { sortOrder } from './sort-order';

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
  /** The longest duration of each BLOCK items (list order), kept by blockMaxima(): where a zoomed-out
   *  draw may jump over a pixel column's items without visiting each, it checks none of them is wide. */
  blockMax: Float32Array;
  /** Blocks of blockMax that hold the maximum of their (whole) block; later ones are computed when asked. */
  blocksValid: number;
}

/** Items per blockMax entry (a power of two: block = index >> BLOCK_SHIFT). */
export const BLOCK_SHIFT = 5;

/** path: 2 bits, guest: 16 bits, socket: up to 2^32 — a number key stays exact below 2^53 (one map per run). */
export function trackKey(path: number, guest: number, socket: number): number {
  return (socket * 65536 + guest) * 4 + path;
}

export function newTrack(id: number, run: number, path: number, guest: number, socket: number): Track {
  return {
    id, run, path, guest, socket, list: new U32List(), starts: new Float64Array(16), durs: new Float32Array(16), keys: new Uint8Array(16),
    levels: new Uint8Array(16), depth: 1, levelEnds: new Float64Array(MAX_LEVELS).fill(-Infinity), maxDur: 0, sorted: true, levelsStale: false,
    blockMax: new Float32Array(1), blocksValid: 0,
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
  const list = t.list;
  if (list.length === list.data.length) list.data = ensureCapacity(list.data, list.length + 1);
  list.data[list.length++] = slot;
  const cap = list.data.length;
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
  t.blocksValid = Math.min(t.blocksValid, Math.max(0, j - 33) >> BLOCK_SHIFT);
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

/** Scratch orders for sortTrack, grown to the largest track sorted (two u32 per item, reused). */
let orderA = new Uint32Array(0);
let orderB = new Uint32Array(0);

/**
 * Sorts a track whose appends arrived too far out of order, by start (ties keep arrival order). It reads
 * the track's own contiguous copies of start, duration and key, which hold what the store's columns do.
 */
export function sortTrack(t: Track): void {
  const n = t.list.length;
  if (orderA.length < n) {
    orderA = new Uint32Array(n);
    orderB = new Uint32Array(n);
  }
  const order = sortOrder(t.starts, n, orderA, orderB);
  const cap = t.list.data.length;
  const list = new Uint32Array(cap);
  const starts = new Float64Array(cap);
  const durs = new Float32Array(cap);
  const keys = new Uint8Array(cap);
  const l0 = t.list.data;
  const { starts: s0, durs: d0, keys: k0 } = t;
  for (let i = 0; i < n; i++) {
    const p = order[i]!;
    list[i] = l0[p]!;
    starts[i] = s0[p]!;
    durs[i] = d0[p]!;
    keys[i] = k0[p]!;
  }
  t.list.data = list;
  t.starts = starts;
  t.durs = durs;
  t.keys = keys;
  t.sorted = true;
  t.blocksValid = 0;
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
  t.blocksValid = 0;
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
  return t.list.bytes + t.starts.byteLength + t.durs.byteLength + t.keys.byteLength + t.levels.byteLength + t.blockMax.byteLength;
}

/** The track's blockMax, brought up to date (only blocks appended or changed since the last call are computed). */
export function blockMaxima(t: Track): Float32Array {
  const n = t.list.length;
  const blocks = (n + (1 << BLOCK_SHIFT) - 1) >> BLOCK_SHIFT;
  if (t.blockMax.length < blocks) {
    const grown = new Float32Array(Math.max(blocks, t.blockMax.length * 2));
    grown.set(t.blockMax.subarray(0, t.blocksValid));
    t.blockMax = grown;
  }
  const bm = t.blockMax;
  const durs = t.durs;
  for (let b = t.blocksValid; b < blocks; b++) {
    let m = 0;
    for (let i = b << BLOCK_SHIFT, e = Math.min(n, (b + 1) << BLOCK_SHIFT); i < e; i++) if (durs[i]! > m) m = durs[i]!;
    bm[b] = m;
  }
  // the last block may still fill up: it is computed again next time
  t.blocksValid = n >> BLOCK_SHIFT;
  return bm;
}
