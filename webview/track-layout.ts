// Vertical layout of the timeline: a lane per path (emulated, delegated, direct, in that order),
// inside it a track per guest and socket, and for an emulated guest its frame track beneath its calls.

import { PATH_INDEX, type CallStore, type Track } from './call-store';

export const LANE_ORDER = [PATH_INDEX.emulated, PATH_INDEX.delegated, PATH_INDEX.direct];
export const LANE_HEADER = 18;
export const TRACK_HEIGHT = 16;

export type Row = { kind: 'lane'; path: number; y: number; h: number; tracks: number } | { kind: 'track'; track: Track; y: number; h: number };

export interface Layout {
  rows: Row[];
  height: number;
  /** Track count it was built for: rebuild when the store has more. */
  trackCount: number;
}

export function layoutTracks(store: CallStore): Layout {
  const rows: Row[] = [];
  let y = 0;
  for (const path of LANE_ORDER) {
    const tracks = store.tracks.filter((t) => t.path === path && t.list.length > 0);
    if (tracks.length === 0) continue;
    tracks.sort((a, b) => a.guest - b.guest || frameLast(a) - frameLast(b) || a.socket - b.socket);
    rows.push({ kind: 'lane', path, y, h: LANE_HEADER, tracks: tracks.length });
    y += LANE_HEADER;
    for (const track of tracks) {
      rows.push({ kind: 'track', track, y, h: TRACK_HEIGHT });
      y += TRACK_HEIGHT;
    }
  }
  return { rows, height: y, trackCount: store.tracks.length };
}

/** A guest's frame track sorts after its socket tracks: frames sit beneath the calls that caused them. */
function frameLast(t: Track): number {
  return t.socket < 0 ? 1 : 0;
}

/** The row at content y (already offset by the scroll), by binary search. */
export function rowAt(layout: Layout, y: number): Row | undefined {
  let lo = 0;
  let hi = layout.rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = layout.rows[mid]!;
    if (y < r.y) hi = mid - 1;
    else if (y >= r.y + r.h) lo = mid + 1;
    else return r;
  }
  return undefined;
}
