// Vertical layout of the timeline. Records group by run, then by path: a path's part of one run is a
// segment with its own lane (header) and tracks (a track per guest and socket; for an emulated guest its
// frame track beneath its calls). Paths of a comparison run one after another, so each segment carries
// the relative time of its first record: the aligned view draws every segment from its own start, on one
// shared axis, so the same moment of each path sits one above the other. A separator row opens each run
// when there are several.

import { PATHS } from '../protocol/trace';
import { PATH_INDEX, type CallStore, type Track } from './call-store';

export const LANE_ORDER = [PATH_INDEX.emulated, PATH_INDEX.delegated, PATH_INDEX.direct];
export const LANE_HEADER = 18;
export const RUN_HEADER = 20;
export const TRACK_HEIGHT = 16;
/** Height of one stack level in a track whose calls overlap. */
export const LEVEL_HEIGHT = 11;

/** A path's part of one run. */
export interface Segment {
  run: number;
  path: number;
  /** Relative ns (store time) of the segment's first record: time 0 of its lane in the aligned view. */
  origin: number;
  /** Relative ns of its last end when laid out (segmentEnd reads the current one). */
  end: number;
  readonly tracks: readonly Track[];
  /** "delegated · stream", "emulated · e1000 · stream". */
  label: string;
}

export type Row =
  | { kind: 'run'; run: number; y: number; h: number; label: string }
  | { kind: 'lane'; segment: Segment; y: number; h: number; tracks: number; label: string }
  | { kind: 'track'; track: Track; segment: Segment; y: number; h: number; label: string };

export interface Layout {
  rows: Row[];
  segments: Segment[];
  height: number;
  /** What it was built for: rebuild when the store has more tracks or a track stacks deeper. */
  trackCount: number;
  depthVersion: number;
}

export const EMPTY_LAYOUT: Layout = { rows: [], segments: [], height: 0, trackCount: -1, depthVersion: -1 };

/** Row height of a track: stacked levels when its calls overlap. */
export function trackHeight(t: Track): number {
  return t.depth <= 1 ? TRACK_HEIGHT : t.depth * LEVEL_HEIGHT + 2;
}

/** Top and height of stack level `level` inside a track row at `y` of height `h`. */
export function levelBox(t: Track, level: number, y: number, h: number): [number, number] {
  if (t.depth <= 1) return [y + 1, h - 2];
  return [y + 1 + level * LEVEL_HEIGHT, LEVEL_HEIGHT - 1];
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** A name without UUIDs in full: the first 8 hex digits identify a run well enough on screen. */
export function shortName(s: string): string {
  return s.replace(UUID, (u) => u.slice(0, 8));
}

function segmentLabel(store: CallStore, run: number, path: number): string {
  const info = store.runInfo.get(store.runs.values[run] ?? '');
  const parts: string[] = [PATHS[path] ?? '?'];
  if (path === PATH_INDEX.emulated) {
    const mode = info?.host.mode ?? info?.params['mode'];
    if (typeof mode === 'string' && mode) parts.push(mode);
  }
  if (info?.workload) parts.push(info.workload);
  return parts.join(' · ');
}

/** A track's role and socket: the guest name without its run id ("emu", "a"), or nothing when it only repeats the path. */
function trackLabel(store: CallStore, t: Track): string {
  const runId = store.runs.values[t.run] ?? '';
  let role = store.guests.values[t.guest] ?? '?';
  if (runId && role.startsWith(`${runId}-`)) role = role.slice(runId.length + 1);
  role = shortName(role);
  if (role === PATHS[t.path]) role = '';
  if (t.socket < 0) return role ? `${role} · frames` : 'frames';
  return role ? `${role} · socket ${t.socket}` : `socket ${t.socket}`;
}

function runLabel(store: CallStore, run: number, ordinal: number, paths: number[]): string {
  const id = store.runs.values[run] ?? '';
  const info = store.runInfo.get(id);
  const parts = [`run ${ordinal}`];
  if (info?.workload) parts.push(info.workload);
  parts.push(paths.map((p) => PATHS[p]).join(', '));
  if (id) parts.push(shortName(id).slice(0, 12));
  return parts.join(' · ');
}

export function layoutTracks(store: CallStore): Layout {
  const rows: Row[] = [];
  const segments: Segment[] = [];
  // runs in the order they first appear among the tracks
  const runs: number[] = [];
  for (const t of store.tracks) if (t.list.length > 0 && !runs.includes(t.run)) runs.push(t.run);
  runs.sort((a, b) => a - b);
  let y = 0;
  runs.forEach((run, ri) => {
    const groups = LANE_ORDER.map((path) => ({ path, tracks: store.tracks.filter((t) => t.run === run && t.path === path && t.list.length > 0) })).filter((g) => g.tracks.length > 0);
    if (runs.length > 1) {
      rows.push({ kind: 'run', run, y, h: RUN_HEADER, label: runLabel(store, run, ri + 1, groups.map((g) => g.path)) });
      y += RUN_HEADER;
    }
    for (const { path, tracks } of groups) {
      tracks.sort((a, b) => a.guest - b.guest || frameLast(a) - frameLast(b) || a.socket - b.socket);
      let origin = Infinity;
      let end = -Infinity;
      for (const t of tracks) {
        const span = store.trackSpan(t);
        if (!span) continue;
        origin = Math.min(origin, span[0]);
        end = Math.max(end, span[1]);
      }
      const segment: Segment = { run, path, origin, end, tracks, label: segmentLabel(store, run, path) };
      segments.push(segment);
      rows.push({ kind: 'lane', segment, y, h: LANE_HEADER, tracks: tracks.length, label: segment.label });
      y += LANE_HEADER;
      for (const track of tracks) {
        const h = trackHeight(track);
        rows.push({ kind: 'track', track, segment, y, h, label: trackLabel(store, track) });
        y += h;
      }
    }
  });
  return { rows, segments, height: y, trackCount: store.tracks.length, depthVersion: store.depthVersion };
}

/** Where a segment ends now: records keep arriving after the layout was made. */
export function segmentEnd(store: CallStore, segment: Segment): number {
  let end = segment.end;
  for (const t of segment.tracks) {
    const span = store.trackSpan(t);
    if (span && span[1] > end) end = span[1];
  }
  return end;
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

/** The row of track `t`, if laid out. */
export function rowOfTrack(layout: Layout, t: Track | undefined): Extract<Row, { kind: 'track' }> | undefined {
  if (!t) return undefined;
  return layout.rows.find((r): r is Extract<Row, { kind: 'track' }> => r.kind === 'track' && r.track === t);
}
