// The timeline view: canvas for the calls, d3 for the time scale, the axis (SVG), zoom and pan
// (wheel, drag) and the brush; its keys are in timeline-keys.ts. Handlers only change the window or the
// selection and ask for a frame; drawing happens in `draw`, called by the frame scheduler.

import { brushX, scaleLinear, select, zoom, zoomIdentity, type D3BrushEvent, type D3ZoomEvent, type ZoomTransform } from 'd3';
import type { CallStore } from './call-store';
import { drawTimeline, GUTTER, RenderBuffers, rowOrigin, type FrameStats, type View } from './timeline-render';
import { EMPTY_LAYOUT, LEVEL_HEIGHT, layoutTracks, rowAt, rowOfTrack, segmentEnd, type Layout } from './track-layout';
import type { Palette } from './palette';
import { tickFormat } from './timeline-axis';
import { TimeAxis } from './time-axis';
import { StageLegend } from './timeline-legend';

const AXIS_H = 26;
const MIN_WINDOW_NS = 200;

/** What is under the pointer: a call slot or a frame slot. */
export type Hit = { kind: 'call'; slot: number } | { kind: 'frame'; slot: number };

export interface TimelineEvents {
  select(hit: Hit | null): void;
  /** The user moved the view (a zoom keeps following live; a pan stops it); state is saved. */
  moved(how: 'zoom' | 'pan'): void;
  /** The pointer is over `hit` (null: over nothing) at client point (x, y); also after the view moved under it. */
  hover(hit: Hit | null, x: number, y: number): void;
  request(): void;
}

export class Timeline {
  t0 = 0;
  t1 = 1e6;
  scrollY = 0;
  selected = -1;
  brush: [number, number] | null = null;
  linkedFrames: number[] = [];
  mask: Uint8Array | null = null;
  stats: FrameStats = { visible: 0, merged: 0, rects: 0, visited: 0 };
  /** True once a window was set (restored, zoomed, or fitted); until then the view fits all. */
  placed = false;
  /** The window fits everything as records arrive, until the user moves it (or a saved window is restored). */
  autoFit = true;
  /** Each path's part of a run from its own start on one relative axis; off: host time. */
  aligned = true;
  /** A frame to outline (hovered or picked), or -1. */
  frame = -1;

  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly axisSvg: SVGSVGElement;
  private readonly buffers = new RenderBuffers();
  private layout: Layout = EMPTY_LAYOUT;
  private lastTransform: ZoomTransform = zoomIdentity;
  private layoutVersion = -1;
  private readonly legend: StageLegend;
  /** Where the pointer is over the canvas (offset and client coordinates), to refresh the hover as the view moves. */
  private pointer: { x: number; y: number; cx: number; cy: number } | null = null;
  private fittedTo = '';
  /** Width of the last frame drawn (CSS px): read once per frame, so nothing after the draw forces a layout. */
  width = 0;

  constructor(
    readonly root: HTMLElement,
    private readonly store: CallStore,
    private readonly events: TimelineEvents,
  ) {
    root.classList.add('timeline');
    root.tabIndex = 0;
    root.setAttribute('aria-label', 'Timeline of socket calls; keys: W S zoom, A D pan, question mark for help');
    this.axisSvg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    this.axisSvg.classList.add('axis');
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'tracks';
    this.legend = new StageLegend();
    root.append(this.legend.element, this.axisSvg, this.canvas);
    const ctx = this.canvas.getContext('2d', { alpha: false });
    if (!ctx) throw new Error('this webview cannot draw on a 2D canvas');
    this.ctx = ctx;
    this.installZoom();
    this.installBrush();
    this.installPointer();
    new ResizeObserver(() => this.events.request()).observe(root);
  }

  get plotWidth(): number {
    return Math.max(1, this.root.clientWidth - GUTTER);
  }

  timeAt(x: number): number {
    return this.t0 + ((x - GUTTER) / this.plotWidth) * (this.t1 - this.t0);
  }

  /** The span of everything on the current axis: from 0 to the longest segment when aligned. */
  extent(): [number, number] {
    this.refreshLayout();
    if (!this.aligned) return this.store.extent();
    let hi = -Infinity;
    for (const s of this.layout.segments) hi = Math.max(hi, segmentEnd(this.store, s) - s.origin);
    return hi === -Infinity ? [0, 1e6] : [0, Math.max(hi, 1000)];
  }

  /** Switches between the aligned axis and host time, keeping the first segment's view where it was. */
  setAligned(on: boolean): void {
    if (on === this.aligned) return;
    const o = this.layout.segments[0]?.origin ?? 0;
    const d = on ? -o : o;
    this.aligned = on;
    this.setWindow(this.t0 + d, this.t1 + d);
  }

  setWindow(t0: number, t1: number): void {
    const [lo, hi] = this.extent();
    const span = hi - lo;
    let w = Math.min(Math.max(t1 - t0, MIN_WINDOW_NS), span * 1.5 + MIN_WINDOW_NS);
    let a = (t0 + t1) / 2 - w / 2;
    // keep some of the data on screen: never pan entirely past either end
    a = Math.min(Math.max(a, lo - w * 0.9), hi - w * 0.1);
    if (!Number.isFinite(a) || !Number.isFinite(w)) {
      a = lo;
      w = span;
    }
    this.t0 = a;
    this.t1 = a + w;
    this.placed = true;
    this.events.request();
  }

  fit(): void {
    const [lo, hi] = this.extent();
    const pad = (hi - lo) * 0.02;
    this.setWindow(lo - pad, hi + pad);
  }

  /**
   * Keeps the window's width and moves it so its right edge shows the newest calls, gliding at most a
   * tenth of the window past them: once records stop (a run ended), the newest stay on screen.
   */
  followLive(aheadNs = 0): void {
    const [, hi] = this.extent();
    const w = this.t1 - this.t0;
    this.t1 = hi + Math.min(aheadNs, w * 0.1) + w * 0.02;
    this.t0 = this.t1 - w;
  }

  zoomBy(factor: number, atX?: number): void {
    const x = atX ?? GUTTER + this.plotWidth / 2;
    const t = this.timeAt(x);
    const f = (x - GUTTER) / this.plotWidth;
    const w = (this.t1 - this.t0) * factor;
    this.setWindow(t - f * w, t - f * w + w);
  }

  panBy(fraction: number): void {
    const d = (this.t1 - this.t0) * fraction;
    this.setWindow(this.t0 + d, this.t1 + d);
  }

  scrollBy(dy: number): void {
    const max = Math.max(0, this.layout.height - (this.canvas.clientHeight - 4));
    this.scrollY = Math.min(max, Math.max(0, this.scrollY + dy));
    this.events.request();
  }

  private installZoom(): void {
    // d3-zoom gives gestures; the window is ours. Each event maps the screen through the change from the
    // previous transform, so the window stays right when the data's extent grows during streaming.
    const z = zoom<HTMLCanvasElement, unknown>()
      .scaleExtent([1e-9, 1e12])
      .filter((ev: Event) => !(ev as MouseEvent).button && !(ev as MouseEvent).shiftKey)
      .on('zoom', (ev: D3ZoomEvent<HTMLCanvasElement, unknown>) => {
        const p = this.lastTransform;
        const n = ev.transform;
        this.lastTransform = n;
        const toOld = (x: number) => p.applyX(n.invertX(x));
        const a = this.timeAt(toOld(GUTTER));
        const b = this.timeAt(toOld(GUTTER + this.plotWidth));
        if (n.k === p.k) this.scrollBy(-(n.y - p.y));
        this.setWindow(a, b);
        if (ev.sourceEvent) this.userMoved(n.k === p.k ? 'pan' : 'zoom');
      });
    select(this.canvas).call(z).on('dblclick.zoom', null);
  }

  private installBrush(): void {
    const b = brushX<unknown>().on('end', (ev: D3BrushEvent<unknown>) => {
      if (!ev.sourceEvent) return;
      const s = ev.selection as [number, number] | null;
      this.brush = s ? [this.timeAt(s[0]), this.timeAt(s[1])] : null;
      this.events.request();
    });
    this.brushBehaviour = b;
    select(this.axisSvg).append('g').attr('class', 'brush');
    const axisG = select(this.axisSvg).append('g').attr('class', 'axis-g').attr('transform', `translate(0,${AXIS_H - 1})`);
    this.axis = new TimeAxis(axisG.node()!);
  }
  private brushBehaviour: ReturnType<typeof brushX<unknown>> | null = null;
  private axis!: TimeAxis;
  /** The axis SVG's width and origin as last written. */
  private axisFrame = '';
  private brushWidth = -1;

  clearBrush(): void {
    this.brush = null;
    const g = select(this.axisSvg).select<SVGGElement>('g.brush');
    if (this.brushBehaviour) g.call(this.brushBehaviour.move, null);
    this.events.request();
  }

  /** The user zoomed or panned: a user's window is kept from then on (no more fitting as records arrive). */
  userMoved(how: 'zoom' | 'pan'): void {
    this.autoFit = false;
    this.events.moved(how);
  }

  private installPointer(): void {
    this.canvas.addEventListener('click', (ev) => {
      this.root.focus();
      this.events.select(this.hit(ev.offsetX, ev.offsetY));
    });
    this.canvas.addEventListener('mousemove', (ev) => {
      this.pointer = { x: ev.offsetX, y: ev.offsetY, cx: ev.clientX, cy: ev.clientY };
      this.events.hover(this.hit(ev.offsetX, ev.offsetY), ev.clientX, ev.clientY);
    });
    this.canvas.addEventListener('mouseleave', () => {
      this.pointer = null;
      this.events.hover(null, 0, 0);
    });
  }

  /** The call or frame under canvas point (x, y), or null: the shortest one within two pixels. */
  hit(x: number, y: number): Hit | null {
    if (x < GUTTER) return null;
    const row = rowAt(this.layout, y + this.scrollY);
    if (!row || row.kind !== 'track') return null;
    const track = row.track;
    const tol = (2 * (this.t1 - this.t0)) / this.plotWidth;
    const t = this.timeAt(x) + rowOrigin(row, this.aligned);
    const level = track.depth > 1 ? Math.min(track.depth - 1, Math.max(0, Math.floor((y + this.scrollY - row.y - 1) / LEVEL_HEIGHT))) : -1;
    const [from, to] = this.store.window(track, t - tol, t + tol);
    let best = -1;
    let bestD = Infinity;
    let bestW = Infinity;
    for (let i = from; i < to; i++) {
      if (level >= 0 && track.levels[i] !== level) continue;
      const a = track.starts[i]!;
      const b = a + track.durs[i]!;
      if (b < t - tol || a > t + tol) continue;
      const d = t >= a && t <= b ? 0 : Math.min(Math.abs(t - a), Math.abs(t - b));
      if (d < bestD || (d === bestD && b - a < bestW)) {
        best = track.list.data[i]!;
        bestD = d;
        bestW = b - a;
      }
    }
    if (best < 0) return null;
    return track.socket < 0 ? { kind: 'frame', slot: best } : { kind: 'call', slot: best };
  }

  /** How many calls overlap [a, b] of the axis: what the status line says about a brushed range. */
  countIn(a: number, b: number): number {
    let n = 0;
    for (const row of this.layout.rows) {
      if (row.kind !== 'track' || row.track.socket < 0) continue;
      const o = rowOrigin(row, this.aligned);
      const [from, to] = this.store.window(row.track, a + o, b + o);
      n += to - from;
    }
    return n;
  }

  /** Selects the previous or next call on the selected call's track (keys , and .). */
  neighbour(dir: 1 | -1): number {
    const s = this.selected;
    if (s < 0) return -1;
    const t = this.store.tracks[this.store.track[s]!];
    if (!t) return -1;
    const d = t.list.data;
    for (let i = 0; i < t.list.length; i++) if (d[i] === s) return d[i + dir] ?? -1;
    return -1;
  }

  /** Moves the window to show slot `s` if it is off screen. */
  reveal(s: number): void {
    this.refreshLayout();
    const row = rowOfTrack(this.layout, this.store.tracks[this.store.track[s]!]);
    const o = row ? rowOrigin(row, this.aligned) : 0;
    const a = this.store.start[s]! - o;
    const b = this.store.end[s]! - o;
    const w = this.t1 - this.t0;
    if (b - a > w) this.setWindow(a - (b - a) * 0.1, b + (b - a) * 0.1);
    else if (a < this.t0 || b > this.t1) this.setWindow((a + b) / 2 - w / 2, (a + b) / 2 + w / 2);
    if (row && (row.y < this.scrollY || row.y + row.h > this.scrollY + this.canvas.clientHeight)) this.scrollBy(row.y - this.scrollY - this.canvas.clientHeight / 3);
  }

  /** Lays the rows out again when tracks came or went or a track stacks deeper. */
  private refreshLayout(): void {
    const st = this.store;
    if (this.layout.trackCount !== st.tracks.length || this.layoutVersion !== st.droppedByLimit || this.layout.depthVersion !== st.depthVersion) {
      st.ensureSorted();
      this.layout = layoutTracks(st);
      this.layoutVersion = st.droppedByLimit;
    }
  }

  /** Draws one frame; returns what it drew. */
  draw(palette: Palette): FrameStats {
    this.store.ensureSorted();
    this.refreshLayout();
    // until the user moves the view, it fits everything loaded so far (a file arrives in many chunks)
    if (this.store.count + this.store.frameCount > 0 && (!this.placed || this.autoFit)) {
      const e = this.extent();
      const key = `${e[0]},${e[1]},${this.aligned}`;
      if (!this.placed || key !== this.fittedTo) {
        this.fit();
        this.fittedTo = key;
      }
    }
    const width = Math.max(200, this.root.clientWidth);
    this.legend.update(this.store);
    const height = Math.max(80, this.root.clientHeight - AXIS_H - this.legend.height);
    this.width = width;
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(width * dpr) || this.canvas.height !== Math.round(height * dpr)) {
      this.canvas.width = Math.round(width * dpr);
      this.canvas.height = Math.round(height * dpr);
      this.canvas.style.width = `${width}px`;
      this.canvas.style.height = `${height}px`;
      this.buffers.font = ''; // a resize resets the context's state
    }
    this.drawAxis(width);
    this.stats = drawTimeline(this.ctx, this.store, this.layout, this.view(width, height, dpr), palette, this.marks, this.buffers);
    // the view moved under a still pointer (wheel zoom, keys, records arriving): say what is under it now
    if (this.pointer) this.events.hover(this.hit(this.pointer.x, this.pointer.y), this.pointer.cx, this.pointer.cy);
    return this.stats;
  }

  view(width = this.canvas.clientWidth, height = this.canvas.clientHeight, dpr = 1): View {
    return { width, height, dpr, t0: this.t0, t1: this.t1, scrollY: this.scrollY, top: 0, aligned: this.aligned };
  }

  get marks(): { selected: number; linkedFrames: number[]; brush: [number, number] | null; mask: Uint8Array | null; frame: number } {
    return { selected: this.selected, linkedFrames: this.linkedFrames, brush: this.brush, mask: this.mask, frame: this.frame };
  }

  private drawAxis(width: number): void {
    const svg = select(this.axisSvg);
    // attributes are written only when they change: a write invalidates the SVG's style even when equal
    const frame = `${width}/${this.aligned}`;
    if (frame !== this.axisFrame) {
      this.axisFrame = frame;
      svg.attr('width', width).attr('height', AXIS_H).attr('data-origin', this.aligned ? 'aligned' : 'host');
    }
    const x = scaleLinear().domain([this.t0, this.t1]).range([GUTTER, width]);
    const ticks = x.ticks(Math.max(2, Math.floor((width - GUTTER) / 110)));
    const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : this.t1 - this.t0;
    const format = tickFormat(step, Math.max(Math.abs(this.t0), Math.abs(this.t1)));
    this.axis.update(ticks, x, format, GUTTER, width);
    const bg = svg.select<SVGGElement>('g.brush');
    if (this.brushBehaviour) {
      // (re)installing the brush rebuilds its overlay: only when the width changed
      if (width !== this.brushWidth) {
        this.brushWidth = width;
        this.brushBehaviour.extent([[GUTTER, 0], [width, AXIS_H]]);
        bg.call(this.brushBehaviour);
      }
      if (this.brush) {
        const a = Math.max(GUTTER, x(this.brush[0]));
        const b = Math.min(width, x(this.brush[1]));
        bg.call(this.brushBehaviour.move, b > a ? [a, b] : null);
      }
    }
  }

  /** Each path's part of a run, as last laid out. */
  get segments(): Layout['segments'] {
    return this.layout.segments;
  }

  /** The rows as last laid out (for "save as SVG", which redraws the same merged marks). */
  get rowsLayout(): Layout {
    return this.layout;
  }
}
