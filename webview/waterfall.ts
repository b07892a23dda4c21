// The stage waterfall beneath the timeline: a typical call of each path's part of a run, set one above
// the other stage by stage on one time scale, so where each path spends its time reads side by side. A
// typical call is the one of median duration among the segment's calls of one op (the picked call's op,
// else the commonest data op); the picked call itself stands in for its own segment.

import { select } from 'd3';
import { OPS } from '../protocol/trace';
import type { CallStore } from './call-store';
import { formatDuration } from './format';
import type { Segment } from './track-layout';
import { VIEW_STAGES } from './view-stages';

/** Recomputing medians over a million calls costs milliseconds: at most this often while records stream. */
const REFRESH_MS = 500;
const ROW = 14;
const LABEL_W = 170;
const DUR_W = 70;

export interface WaterfallCall {
  segment: Segment;
  slot: number;
  /** 'median' of `of` calls, or 'picked'. */
  kind: 'median' | 'picked';
  of: number;
}

/** Calls of `segment` with op `op` (-1: any): the one of median duration, and how many there were. */
export function medianCall(store: CallStore, segment: Segment, op: number): { slot: number; of: number } {
  let n = 0;
  for (const t of store.tracks) if (t.run === segment.run && t.path === segment.path && t.socket >= 0) n += t.list.length;
  const durs = new Float64Array(n);
  const slots = new Uint32Array(n);
  let m = 0;
  for (const t of store.tracks) {
    if (t.run !== segment.run || t.path !== segment.path || t.socket < 0) continue;
    const list = t.list.data;
    for (let i = 0; i < t.list.length; i++) {
      const s = list[i]!;
      if (op >= 0 && store.op[s] !== op) continue;
      durs[m] = t.durs[i]!;
      slots[m++] = s;
    }
  }
  if (m === 0) return { slot: -1, of: 0 };
  // select on a copy: `durs` must stay aligned with `slots` to find the call of that duration
  const v = selectK(durs.slice(0, m), m >> 1);
  for (let i = 0; i < m; i++) if (durs[i] === v) return { slot: slots[i]!, of: m };
  return { slot: slots[0]!, of: m };
}

/** The k-th smallest of `a` (reorders `a`): Hoare's selection, linear on average. */
function selectK(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** The op the waterfall compares: the picked call's, else the commonest of send, recv, connect. */
export function waterfallOp(store: CallStore, picked: number): number {
  if (picked >= 0 && picked < store.count) return store.op[picked]!;
  const counts = new Uint32Array(OPS.length);
  const step = Math.max(1, Math.floor(store.count / 20_000));
  for (let s = 0; s < store.count; s += step) counts[store.op[s]!]!++;
  let best = -1;
  for (const name of ['send', 'recv', 'sendto', 'recvfrom', 'connect'] as const) {
    const o = OPS.indexOf(name);
    if (counts[o]! > 0 && (best < 0 || counts[o]! > counts[best]!)) best = o;
  }
  return best;
}

export class Waterfall {
  readonly element = document.createElement('div');
  private readonly heading = document.createElement('h4');
  private readonly svg: SVGSVGElement;
  private lastKey = '';
  private lastAt = 0;
  calls: WaterfallCall[] = [];

  constructor() {
    this.element.className = 'waterfall';
    this.svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    this.element.append(this.heading, this.svg);
  }

  /** Redraws when the segments, the picked call or (at most every REFRESH_MS) the records changed. */
  update(store: CallStore, segments: readonly Segment[], picked: number, width: number): void {
    const segKey = segments.map((s) => `${s.run}.${s.path}`).join(',');
    const key = `${segKey}|${picked}|${width}`;
    const now = performance.now();
    if (key === this.lastKey && (now - this.lastAt < REFRESH_MS || this.version === store.version)) return;
    this.lastKey = key;
    this.lastAt = now;
    this.version = store.version;
    // the medians scan every call: after the frame that asked, when the page is idle (a loaded file's
    // first frame does not wait for them)
    const token = ++this.pending;
    const run = () => {
      if (token === this.pending) this.compute(store, segments, picked, width);
    };
    if (typeof requestIdleCallback === 'function') requestIdleCallback(run, { timeout: 300 });
    else setTimeout(run, 0);
  }
  private pending = 0;

  private compute(store: CallStore, segments: readonly Segment[], picked: number, width: number): void {
    if (picked >= store.count) picked = -1;
    const op = waterfallOp(store, picked);
    this.calls = segments.map((segment): WaterfallCall => {
      const own = picked >= 0 && picked < store.count && store.run[picked] === segment.run && store.path[picked] === segment.path;
      if (own) return { segment, slot: picked, kind: 'picked', of: 1 };
      const m = medianCall(store, segment, op);
      return { segment, slot: m.slot, kind: 'median', of: m.of };
    }).filter((c) => c.slot >= 0);
    this.render(store, op, Math.max(320, width));
  }
  private version = -1;

  private render(store: CallStore, op: number, width: number): void {
    const opName = op >= 0 ? OPS[op] : 'call';
    this.heading.textContent = this.calls.length === 0
      ? 'Stage waterfall: no calls yet.'
      : `Stage waterfall: a typical ${opName} of each path (the median by duration; click a call to put it in its path's place), to one scale.`;
    const longest = Math.max(1, ...this.calls.map((c) => store.end[c.slot]! - store.start[c.slot]!));
    const plot = width - LABEL_W - DUR_W - 16;
    const x = (ns: number) => LABEL_W + (ns / longest) * plot;
    let height = 16;
    for (const c of this.calls) height += ROW + 2 + store.stageCount[c.slot]! * ROW + 6;
    const svg = select(this.svg).attr('width', width).attr('height', height);
    svg.selectAll('*').remove();
    // a few grid lines in time from the call's start
    const grid = svg.append('g').attr('class', 'grid');
    for (let i = 0; i <= 4; i++) {
      const gx = x((longest * i) / 4);
      grid.append('line').attr('x1', gx).attr('x2', gx).attr('y1', 12).attr('y2', height);
      grid.append('text').attr('x', gx).attr('y', 10).attr('text-anchor', 'middle').text(formatDuration((longest * i) / 4, longest));
    }
    let y = 16;
    for (const c of this.calls) {
      const s = c.slot;
      const total = store.end[s]! - store.start[s]!;
      const g = svg.append('g').attr('class', 'waterfall-path').attr('data-path', c.segment.label).attr('data-kind', c.kind);
      const what = c.kind === 'picked' ? `picked ${OPS[store.op[s]!]} #${store.seq[s]}` : `median of ${c.of.toLocaleString('en')}`;
      g.append('text').attr('class', 'path-name').attr('x', 0).attr('y', y + ROW - 3).text(`${c.segment.label} — ${formatDuration(total)} (${what})`);
      y += ROW + 2;
      const f = store.stageFirst[s]!;
      for (let j = 0; j < store.stageCount[s]!; j++) {
        const stage = VIEW_STAGES[store.stageName[f + j]!];
        const a = store.stageStart[f + j]!;
        const b = store.stageEnd[f + j]!;
        const row = g.append('g').attr('class', 'waterfall-stage').attr('data-stage', stage?.name ?? '?');
        row.append('text').attr('x', 12).attr('y', y + ROW - 3).text(stage?.label ?? '?');
        row.append('rect').attr('class', `bar stage-${stage?.name ?? ''}`).attr('x', x(a)).attr('y', y + 1).attr('height', ROW - 3)
          .attr('width', Math.max(1, x(b) - x(a)));
        row.append('text').attr('x', width - DUR_W).attr('y', y + ROW - 3).text(formatDuration(b - a));
        y += ROW;
      }
      y += 6;
    }
  }
}
