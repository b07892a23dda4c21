// Draws the timeline onto a canvas, Perfetto-style: only the visible rows and time window; per track,
// every call and stage is reduced to pixel columns of one colour each, then drawn as runs of equal
// colour, batched by colour across all rows. Cost is bounded by pixels, not by calls.

import type { CallStore, Track } from './call-store';
import { OPS } from '../protocol/trace';
import { DIMMED_COLOURS, FRAME_COLOURS, RANK, STAGE_COLOURS, COLOUR_COUNT, type Palette } from './palette';
import { ensureCapacity } from './growable';
import { BLOCK_SHIFT, blockMaxima } from './call-track';
import { LANE_HEADER, levelBox, rowOfTrack, type Layout, type Row } from './track-layout';

export const GUTTER = 120;
const OP_NAMES: readonly string[] = OPS;

export interface View {
  width: number;
  height: number;
  dpr: number;
  /** Visible window, ns relative to the store's base. */
  t0: number;
  t1: number;
  scrollY: number;
  /** Top of the track area in canvas px (the axis sits above it in its own SVG). */
  top: number;
  /** Each path's part of a run drawn from its own start (t0, t1 relative to it) rather than on host time. */
  aligned: boolean;
}

/** Store time at display time 0 for a row: its segment's start when aligned. */
export function rowOrigin(row: Row, aligned: boolean): number {
  return aligned && row.kind !== 'run' ? row.segment.origin : 0;
}

export interface Marks {
  selected: number;
  /** Frame slots linked to the selected call, highlighted and joined to it. */
  linkedFrames: number[];
  brush: [number, number] | null;
  mask: Uint8Array | null;
  /** A frame slot to outline (hovered or picked), or -1. */
  frame?: number;
}

export interface FrameStats {
  /** Calls and frames inside the window. */
  visible: number;
  /** Items narrower than a pixel that were merged into pixel columns. */
  merged: number;
  rects: number;
  /** Loop iterations spent (skipping merged columns keeps this near tracks x pixel columns). */
  visited: number;
}

/** Reusable buffers, so a frame allocates nothing proportional to the data. */
export class RenderBuffers {
  cols = new Uint8Array(0);
  runs: Float32Array[] = Array.from({ length: COLOUR_COUNT }, () => new Float32Array(1024));
  runLen = new Uint32Array(COLOUR_COUNT);
  labels: { x: number; y: number; w: number; text: string }[] = [];
  /** The font last set on the context: setting one parses it anew, the frame's dearest line. The owner
   *  clears this when the canvas is resized (which resets the context's state). */
  font = '';

  reset(width: number): void {
    if (this.cols.length < width) this.cols = new Uint8Array(width);
    this.runLen.fill(0);
    this.labels.length = 0;
  }

  pushRun(c: number, x: number, y: number, w: number, h: number): void {
    const n = this.runLen[c]!;
    let a = this.runs[c]!;
    if (n + 4 > a.length) a = this.runs[c] = ensureCapacity(a, n + 4);
    a[n] = x;
    a[n + 1] = y;
    a[n + 2] = w;
    a[n + 3] = h;
    this.runLen[c] = n + 4;
  }
}

export function drawTimeline(ctx: CanvasRenderingContext2D, store: CallStore, layout: Layout, view: View, palette: Palette, marks: Marks, buf: RenderBuffers): FrameStats {
  const { width, height, dpr, t0, t1, scrollY, top } = view;
  const plotW = Math.max(1, Math.floor(width - GUTTER));
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = palette.background;
  ctx.fillRect(0, 0, width, height);
  const stats: FrameStats = { visible: 0, merged: 0, rects: 0, visited: 0 };
  buf.reset(plotW);
  const k = plotW / (t1 - t0);
  store.ensureSorted();

  if (buf.font !== palette.font) ctx.font = buf.font = palette.font;
  ctx.textBaseline = 'middle';
  const visTop = scrollY;
  const visBottom = scrollY + height - top;
  for (const row of layout.rows) {
    if (row.y + row.h < visTop) continue;
    if (row.y > visBottom) break;
    const y = top + row.y - scrollY;
    if (row.kind === 'run') {
      // a run separator: a rule across and the run's name
      ctx.fillStyle = palette.foreground;
      ctx.fillRect(0, y + 1, width, 1);
      ctx.fillText(row.label, 4, y + row.h / 2 + 1);
      continue;
    }
    if (row.kind === 'lane') {
      ctx.fillStyle = palette.laneBackground;
      ctx.fillRect(0, y, width, row.h);
      ctx.fillStyle = palette.foreground;
      ctx.fillText(`${row.label} (${row.tracks} track${row.tracks === 1 ? '' : 's'})`, 4, y + LANE_HEADER / 2);
      continue;
    }
    ctx.fillStyle = palette.muted;
    ctx.fillText(row.label, 10, y + row.h / 2, GUTTER - 14);
    const o = rowOrigin(row, view.aligned);
    const t = row.track;
    if (t.socket < 0) drawFrameTrack(store, t, y + 3, row.h - 6, t0 + o, t1 + o, k, plotW, buf, stats);
    else if (t.depth <= 1) drawCallTrack(store, t, y + 1, row.h - 2, t0 + o, t1 + o, k, plotW, marks.mask, buf, stats, -1);
    else
      for (let l = 0; l < t.depth; l++) {
        const [ly, lh] = levelBox(t, l, y, row.h);
        drawCallTrack(store, t, ly, lh, t0 + o, t1 + o, k, plotW, marks.mask, buf, stats, l);
      }
  }

  ctx.save();
  ctx.beginPath();
  ctx.rect(GUTTER, top, plotW, height - top);
  ctx.clip();
  for (let c = 1; c < COLOUR_COUNT; c++) {
    const n = buf.runLen[c]!;
    if (n === 0) continue;
    ctx.fillStyle = palette.fills[c]!;
    const a = buf.runs[c]!;
    for (let i = 0; i < n; i += 4) ctx.fillRect(GUTTER + a[i]!, a[i + 1]!, a[i + 2]!, a[i + 3]!);
    stats.rects += n / 4;
  }
  ctx.fillStyle = palette.background;
  for (const l of buf.labels) ctx.fillText(l.text, GUTTER + l.x + 3, l.y, l.w - 6);
  drawMarks(ctx, store, layout, view, palette, marks, k, plotW);
  ctx.restore();
  return stats;
}

/** One track of calls: each call becomes pixel columns of its stage colours (or its dominant stage when sub-pixel). */
function drawCallTrack(store: CallStore, t: Track, y: number, h: number, t0: number, t1: number, k: number, w: number, mask: Uint8Array | null, buf: RenderBuffers, stats: FrameStats, level: number): void {
  const [from, to] = store.window(t, t0, t1);
  if (from >= to) return;
  const cols = buf.cols;
  cols.fill(0, 0, w);
  const list = t.list.data;
  const { stageFirst, stageCount, stageName, stageStart, stageEnd } = store;
  // stacked levels are drawn one pass each: a pass skips the other levels' calls, and cannot jump columns
  const allThin = level < 0 && t.maxDur * k < 1;
  const { starts: ts, durs, keys, levels } = t;
  // Zoomed out but with a few long calls, whole blocks of sub-pixel calls can still be jumped: the block
  // maxima say where the next call that may be wide is (a margin under 2 px absorbs rounding).
  const blockMax = level < 0 && !allThin ? blockMaxima(t) : null;
  const wide = 1.999 / k;
  let merged = 0;
  let visited = 0;
  let hint = 0;
  for (let i = from; i < to; i++) {
    visited++;
    if (level >= 0 && levels[i] !== level) continue;
    // the track's own contiguous arrays first: the global columns are touched only for wide calls
    const st = ts[i]!;
    const dur = durs[i]!;
    if (st + dur < t0) continue;
    const x0 = (st - t0) * k;
    const x1 = x0 + dur * k;
    if (x1 - x0 < 2) {
      // sub-pixel: the call's column takes its dominant stage's colour (dimmed when filtered out)
      merged++;
      const c = x0 < 0 ? 0 : x0 | 0;
      if (c >= w) continue;
      const colour = (mask !== null && mask[list[i]!] === 0 ? DIMMED_COLOURS : STAGE_COLOURS) + keys[i]!;
      const old = cols[c]!;
      if (old === 0 || RANK[colour]! > RANK[old]!) cols[c] = colour;
      // When the column already holds a top-rank colour, the rest of this column's sub-pixel calls cannot
      // change it: jump to the next column, over every call when all are sub-pixel at this zoom, else up
      // to the first block that holds a wide one (from t0 on: earlier calls may end before the window).
      if (RANK[cols[c]!] === 2 && i + 1 < to && ts[i + 1]! < t0 + (c + 1) / k && (allThin || (blockMax !== null && ts[i + 1]! >= t0))) {
        let lo = skipTo(ts, i + 1, to, t0 + (c + 1) / k, hint);
        hint = lo - i - 1;
        if (blockMax !== null)
          for (let b = (i + 1) >> BLOCK_SHIFT, last = (lo - 1) >> BLOCK_SHIFT; b <= last; b++)
            if (blockMax[b]! >= wide) {
              lo = Math.max(i + 1, b << BLOCK_SHIFT);
              break;
            }
        merged += lo - 1 - i;
        i = lo - 1;
      }
      continue;
    }
    const s = list[i]!;
    const base = mask !== null && mask[s] === 0 ? DIMMED_COLOURS : STAGE_COLOURS;
    const f = stageFirst[s]!;
    const n = stageCount[s]!;
    // a one-pixel gap after each wide call keeps neighbours apart
    const last = Math.min(w, Math.floor(x1) - (x1 - x0 > 4 ? 1 : 0));
    for (let j = 0; j < n; j++) {
      const a = Math.max(0, Math.floor(x0 + stageStart[f + j]! * k));
      const b = Math.min(last, Math.max(a + 1, Math.floor(x0 + stageEnd[f + j]! * k)));
      const colour = base + stageName[f + j]!;
      for (let c = a; c < b; c++) {
        const old = cols[c]!;
        if (old === 0 || RANK[colour]! >= RANK[old]!) cols[c] = colour;
      }
    }
    if (x1 - x0 > 70 && buf.labels.length < 400) buf.labels.push({ x: Math.max(0, x0), y: y + h / 2, w: Math.min(w, x1) - Math.max(0, x0), text: opLabel(store, s) });
  }
  if (level <= 0) stats.visible += to - from;
  stats.merged += merged;
  stats.visited += visited;
  emitRuns(cols, w, y, h, buf);
}

function opLabel(store: CallStore, s: number): string {
  const r = store.results.values[store.result[s]!];
  return `${OP_NAMES[store.op[s]!]}${r === 'ok' ? '' : ' ' + r}`;
}

function drawFrameTrack(store: CallStore, t: Track, y: number, h: number, t0: number, t1: number, k: number, w: number, buf: RenderBuffers, stats: FrameStats): void {
  const [from, to] = store.window(t, t0, t1);
  if (from >= to) return;
  const cols = buf.cols;
  cols.fill(0, 0, w);
  const { starts: ts, durs, keys } = t;
  const allThin = t.maxDur * k < 1;
  let merged = 0;
  let hint = 0;
  for (let i = from; i < to; i++) {
    const x0 = (ts[i]! - t0) * k;
    const x1 = x0 + durs[i]! * k;
    if (x1 < 0) continue;
    const a = Math.max(0, Math.floor(x0));
    const b = Math.min(w, Math.max(a + 1, Math.floor(x1)));
    const colour = FRAME_COLOURS + keys[i]!;
    for (let c = a; c < b; c++) cols[c] = colour;
    if (x1 - x0 >= 1) continue;
    merged++;
    // as for calls: once a column is coloured, skip the rest of its sub-pixel frames
    const next = t0 + (a + 1) / k;
    if (allThin && i + 1 < to && ts[i + 1]! < next) {
      const lo = skipTo(ts, i + 1, to, next, hint);
      hint = lo - i - 1;
      merged += lo - 1 - i;
      i = lo - 1;
    }
  }
  stats.visible += to - from;
  stats.merged += merged;
  emitRuns(cols, w, y, h, buf);
}

/**
 * First index in [from, to) whose start is >= t. Zoomed out, a column holds about as many items as the one
 * before it, so the search starts `hint` items ahead and gallops from there either way: a few probes per
 * column instead of a dozen.
 */
function skipTo(ts: Float64Array, from: number, to: number, t: number, hint: number): number {
  // invariant: the answer lies in [lo, hi]
  let lo = from;
  let hi = to;
  let p = Math.min(from + hint, to - 1);
  if (p >= from && ts[p]! >= t) {
    // at or past the answer: gallop back
    for (let step = 1; ; step *= 2) {
      hi = p;
      p = hi - step;
      if (p < from) break;
      if (ts[p]! < t) {
        lo = p + 1;
        break;
      }
    }
  } else {
    for (let step = 1; p < to; step *= 2) {
      if (ts[p]! >= t) {
        hi = p;
        break;
      }
      lo = p + 1;
      p = lo + step;
    }
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function emitRuns(cols: Uint8Array, w: number, y: number, h: number, buf: RenderBuffers): void {
  let c = 0;
  while (c < w) {
    const colour = cols[c]!;
    if (colour === 0) {
      c++;
      continue;
    }
    let e = c + 1;
    while (e < w && cols[e] === colour) e++;
    buf.pushRun(colour, c, y, e - c, h);
    c = e;
  }
}

/** Selection outline, links from the selected call to its frames, and the brushed range. */
function drawMarks(ctx: CanvasRenderingContext2D, store: CallStore, layout: Layout, view: View, palette: Palette, marks: Marks, k: number, plotW: number): void {
  const { t0, top, scrollY, height } = view;
  if (marks.brush) {
    const a = GUTTER + (marks.brush[0] - t0) * k;
    const b = GUTTER + (marks.brush[1] - t0) * k;
    ctx.fillStyle = palette.brush;
    ctx.fillRect(a, top, Math.max(1, b - a), height - top);
  }
  const f = marks.frame ?? -1;
  if (f >= 0 && f < store.frameCount) {
    const frow = rowOfTrack(layout, store.frameTrack(store.frameRun[f]!, store.frameGuest[f]!));
    if (frow) {
      const o = rowOrigin(frow, view.aligned);
      const fx0 = GUTTER + (store.frameIn[f]! - o - t0) * k;
      const fx1 = GUTTER + (store.frameOut[f]! - o - t0) * k;
      ctx.strokeStyle = palette.selection;
      ctx.lineWidth = 2;
      ctx.strokeRect(fx0 - 2, top + frow.y - scrollY, Math.max(4, fx1 - fx0 + 4), frow.h);
    }
  }
  const s = marks.selected;
  if (s < 0 || s >= store.count) return;
  const row = rowOfTrack(layout, store.tracks[store.track[s]!]);
  if (!row) return;
  const o = rowOrigin(row, view.aligned);
  const x0 = GUTTER + (store.start[s]! - o - t0) * k;
  const x1 = GUTTER + (store.end[s]! - o - t0) * k;
  const y = top + row.y - scrollY;
  ctx.strokeStyle = palette.selection;
  ctx.lineWidth = 2;
  ctx.strokeRect(Math.max(GUTTER - 2, x0 - 1), y, Math.min(plotW + 4, Math.max(3, x1 - x0 + 2)), row.h);
  if (marks.linkedFrames.length === 0) return;
  const frow = rowOfTrack(layout, store.frameTrack(store.run[s]!, store.guest[s]!));
  if (!frow) return;
  const fo = rowOrigin(frow, view.aligned);
  const fy = top + frow.y - scrollY;
  ctx.strokeStyle = palette.link;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const lf of marks.linkedFrames) {
    const fx0 = GUTTER + (store.frameIn[lf]! - fo - t0) * k;
    const fx1 = GUTTER + (store.frameOut[lf]! - fo - t0) * k;
    ctx.rect(fx0 - 1, fy + 1, Math.max(2, fx1 - fx0 + 2), frow.h - 2);
    ctx.moveTo(Math.max(x0, Math.min(x1, fx0)), y + row.h);
    ctx.lineTo(fx0, fy + 1);
  }
  ctx.stroke();
}
