// The call store's storage: calls, their stages, their frame links and frames held column by column in
// typed arrays (times relative to a base), with the lookups by seq that read only the columns. The store
// (call-store.ts) builds on this with ingest and track indexes; call-memory.ts resizes these columns.

import { lowerBound, type TypedArray } from './growable';
import { EMULATED } from './call-input';

const INITIAL = 1024;

/** The columns that move together: grown, shifted past the record limit, trimmed and measured as a set. */
export const CALL_COLUMNS = ['start', 'end', 'seq', 'socket', 'bytes', 'track', 'stageFirst', 'linkFirst', 'guest', 'result', 'run', 'path', 'op', 'stageCount', 'dominant', 'linkCount'] as const;
export const STAGE_COLUMNS = ['stageName', 'stageStart', 'stageEnd'] as const;
export const FRAME_COLUMNS = ['frameSeq', 'frameIn', 'frameOut', 'frameLength', 'frameGuest', 'frameRun', 'frameDirection'] as const;
export type ColumnName = (typeof CALL_COLUMNS)[number] | (typeof STAGE_COLUMNS)[number] | (typeof FRAME_COLUMNS)[number] | 'linkSeq';

export class CallColumns {
  /** Host ns that relative time 0 stands for: the first call's start. */
  base: number | null = null;
  count = 0;

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

  /** The columns by name, so a set of them can be grown, shifted or trimmed in one loop. */
  get columns(): Record<ColumnName, TypedArray> {
    return this as unknown as Record<ColumnName, TypedArray>;
  }

  /** Replaces each named column with `f` of it. */
  updateColumns(names: readonly ColumnName[], f: (a: TypedArray) => TypedArray): void {
    const cols = this.columns;
    for (const k of names) cols[k] = f(cols[k]);
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
  recentFrameOfSeq(seq: number): number {
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
}
