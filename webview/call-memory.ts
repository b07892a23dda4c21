// The call store's memory caps and sizing: dropping the oldest calls or frames in batches past the record
// limit, trimming doubling's slack once a file has loaded, reserving the columns for a whole file at once,
// and measuring what the typed arrays hold. Apart from ingest so the store's bounds can be read in one place.

import { reserveCapacity, type TypedArray } from './growable';
import { CALL_COLUMNS, STAGE_COLUMNS, FRAME_COLUMNS, type CallColumns } from './call-columns';
import { resizeTrack, shiftTrack, trackBytes, type Track } from './call-track';

/** How many records a drop keeps: it drops a tenth of the limit at once, so the cost is paid rarely. */
export function keptAfterDrop(recordLimit: number): number {
  return Math.max(1, recordLimit - Math.ceil(recordLimit / 10));
}

/** Drops the oldest calls down to `keep`, shifting every call column, pool and call track; returns how many. */
export function dropOldestCalls(c: CallColumns, tracks: readonly Track[], keep: number): number {
  const d = c.count - keep;
  if (d <= 0) return 0;
  const sShift = c.stageFirst[d]!;
  const lShift = c.linkFirst[d]!;
  c.updateColumns(CALL_COLUMNS, (a) => a.copyWithin(0, d, c.count));
  c.updateColumns(STAGE_COLUMNS, (a) => a.copyWithin(0, sShift, c.stagePoolLength));
  c.stagePoolLength -= sShift;
  c.linkSeq.copyWithin(0, lShift, c.linkPoolLength);
  c.linkPoolLength -= lShift;
  for (let i = 0; i < keep; i++) {
    c.stageFirst[i] = c.stageFirst[i]! - sShift;
    c.linkFirst[i] = c.linkFirst[i]! - lShift;
  }
  c.count = keep;
  for (const t of tracks) if (t.socket >= 0) shiftTrack(t, d);
  return d;
}

/** Drops the oldest frames down to `keep`, shifting the frame columns and frame tracks; returns how many. */
export function dropOldestFrames(c: CallColumns, tracks: readonly Track[], keep: number): number {
  const d = c.frameCount - keep;
  c.updateColumns(FRAME_COLUMNS, (a) => a.copyWithin(0, d, c.frameCount));
  c.frameCount = keep;
  for (const t of tracks) if (t.socket < 0) shiftTrack(t, d);
  return d;
}

/** Trims every column, pool and track array to what it holds. */
export function trimToHeld(c: CallColumns, tracks: readonly Track[]): void {
  const trim = <T extends TypedArray>(a: T, n: number): T => (a.length > n ? (a.slice(0, n) as T) : a);
  c.updateColumns(CALL_COLUMNS, (a) => trim(a, c.count));
  c.updateColumns(STAGE_COLUMNS, (a) => trim(a, c.stagePoolLength));
  c.updateColumns(FRAME_COLUMNS, (a) => trim(a, c.frameCount));
  c.linkSeq = trim(c.linkSeq, c.linkPoolLength);
  for (const t of tracks) resizeTrack(t, t.list.length, trim);
}

/**
 * Sizes every column for `calls` calls and `frames` frames, and the pools and tracks by `grow` (the factor
 * by which the calls held so far will multiply), each in one allocation.
 */
export function reserveFor(c: CallColumns, tracks: readonly Track[], calls: number, frames: number, grow: number): void {
  c.updateColumns(CALL_COLUMNS, (a) => reserveCapacity(a, calls));
  c.updateColumns(STAGE_COLUMNS, (a) => reserveCapacity(a, Math.ceil(c.stagePoolLength * grow)));
  c.linkSeq = reserveCapacity(c.linkSeq, Math.ceil(c.linkPoolLength * grow));
  c.updateColumns(FRAME_COLUMNS, (a) => reserveCapacity(a, frames));
  for (const t of tracks) resizeTrack(t, Math.ceil(t.list.length * grow), reserveCapacity);
}

/** Bytes held by the typed arrays (what the heap figure adds to the JS heap). */
export function heldBytes(c: CallColumns, tracks: readonly Track[]): number {
  let b = 0;
  for (const k of [...CALL_COLUMNS, ...STAGE_COLUMNS, ...FRAME_COLUMNS, 'linkSeq'] as const) b += c.columns[k].byteLength;
  for (const t of tracks) b += trackBytes(t);
  return b;
}
