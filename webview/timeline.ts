// The timeline view: canvas for the calls, d3 for the time scale, the axis (SVG), zoom and pan
// (wheel, drag) and the brush; its keys are in timeline-keys.ts. Handlers only change the window or the
// selection and ask for a frame; drawing happens in `draw`, called by the frame scheduler.

import { axisTop, brushX, scaleLinear, select, zoom, zoomIdentity, type D3BrushEvent, type D3ZoomEvent, type ZoomTransform } from 'd3';
import type { CallStore } from './call-store';
import { drawTimeline, GUTTER, RenderBuffers, type FrameStats } from './timeline-render';
import { layoutTracks, rowAt, type Layout } from './track-layout';
import type { Palette } from './palette';
import { formatDuration } from './format';

const AXIS_H = 26;
const MIN_WINDOW_NS = 200;

export interface TimelineEvents {
  select(slot: number): void;
  /** The user moved the view: follow-live stops, state is saved. */
  moved(): void;
  hover(slot: number, x: number, y: number): void;
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

  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly axisSvg: SVGSVGElement;
  private readonly buffers = new RenderBuffers();
  private layout: Layout = { rows: [], height: 0, trackCount: -1 };
  private lastTransform: ZoomTransform = zoomIdentity;
  private layoutVersion = -1;

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
    root.append(this.axisSvg, this.canvas);
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

  setWindow(t0: number, t1: number): void {
    const [lo, hi] = this.store.extent();
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
    const [lo, hi] = this.store.extent();
    const pad = (hi - lo) * 0.02;
    this.setWindow(lo - pad, hi + pad);
  }

  /** Keeps the window's width and moves it so its right edge shows the newest calls. */
  followLive(aheadNs = 0): void {
    const [, hi] = this.store.extent();
    const w = this.t1 - this.t0;
    this.t1 = hi + aheadNs + w * 0.02;
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
        if (ev.sourceEvent) this.events.moved();
        this.setWindow(a, b);
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
    select(this.axisSvg).append('g').attr('class', 'axis-g');
  }
  private brushBehaviour: ReturnType<typeof brushX<unknown>> | null = null;
  private brushWidth = -1;

  clearBrush(): void {
    this.brush = null;
    const g = select(this.axisSvg).select<SVGGElement>('g.brush');
    if (this.brushBehaviour) g.call(this.brushBehaviour.move, null);
    this.events.request();
  }

  private installPointer(): void {
    this.canvas.addEventListener('click', (ev) => {
      this.root.focus();
      this.events.select(this.hit(ev.offsetX, ev.offsetY));
    });
    this.canvas.addEventListener('mousemove', (ev) => this.events.hover(this.hit(ev.offsetX, ev.offsetY), ev.clientX, ev.clientY));
    this.canvas.addEventListener('mouseleave', () => this.events.hover(-1, 0, 0));
  }

  /** The call under canvas point (x, y), or -1: the shortest one within two pixels. */
  hit(x: number, y: number): number {
    if (x < GUTTER) return -1;
    const row = rowAt(this.layout, y + this.scrollY);
    if (!row || row.kind !== 'track' || row.track.socket < 0) return -1;
    const tol = (2 * (this.t1 - this.t0)) / this.plotWidth;
    const t = this.timeAt(x);
    const [from, to] = this.store.window(row.track, t - tol, t + tol);
    let best = -1;
    let bestD = Infinity;
    for (let i = from; i < to; i++) {
      const s = row.track.list.data[i]!;
      const a = this.store.start[s]!;
      const b = this.store.end[s]!;
      if (b < t - tol || a > t + tol) continue;
      const d = t >= a && t <= b ? 0 : Math.min(Math.abs(t - a), Math.abs(t - b));
      if (d < bestD || (d === bestD && best >= 0 && b - a < this.store.end[best]! - this.store.start[best]!)) {
        best = s;
        bestD = d;
      }
    }
    return best;
  }

  /** How many calls overlap [a, b]: what the status line says about a brushed range. */
  countIn(a: number, b: number): number {
    let n = 0;
    for (const t of this.store.tracks) {
      if (t.socket < 0) continue;
      const [from, to] = this.store.window(t, a, b);
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
    const a = this.store.start[s]!;
    const b = this.store.end[s]!;
    const w = this.t1 - this.t0;
    if (b - a > w) this.setWindow(a - (b - a) * 0.1, b + (b - a) * 0.1);
    else if (a < this.t0 || b > this.t1) this.setWindow((a + b) / 2 - w / 2, (a + b) / 2 + w / 2);
    const row = this.layout.rows.find((r) => r.kind === 'track' && r.track.id === this.store.track[s]);
    if (row && (row.y < this.scrollY || row.y + row.h > this.scrollY + this.canvas.clientHeight)) this.scrollBy(row.y - this.scrollY - this.canvas.clientHeight / 3);
  }

  /** Draws one frame; returns what it drew. */
  draw(palette: Palette): FrameStats {
    if (this.layout.trackCount !== this.store.tracks.length || this.layoutVersion !== this.store.droppedByLimit) {
      this.layout = layoutTracks(this.store);
      this.layoutVersion = this.store.droppedByLimit;
    }
    if (!this.placed && this.store.count + this.store.frameCount > 0) this.fit();
    const width = Math.max(200, this.root.clientWidth);
    const height = Math.max(80, this.root.clientHeight - AXIS_H);
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(width * dpr) || this.canvas.height !== Math.round(height * dpr)) {
      this.canvas.width = Math.round(width * dpr);
      this.canvas.height = Math.round(height * dpr);
      this.canvas.style.width = `${width}px`;
      this.canvas.style.height = `${height}px`;
    }
    this.drawAxis(width);
    this.stats = drawTimeline(
      this.ctx,
      this.store,
      this.layout,
      { width, height, dpr, t0: this.t0, t1: this.t1, scrollY: this.scrollY, top: 0 },
      palette,
      { selected: this.selected, linkedFrames: this.linkedFrames, brush: this.brush, mask: this.mask },
      this.buffers,
    );
    return this.stats;
  }

  private drawAxis(width: number): void {
    const svg = select(this.axisSvg).attr('width', width).attr('height', AXIS_H);
    const x = scaleLinear().domain([this.t0, this.t1]).range([GUTTER, width]);
    const span = this.t1 - this.t0;
    const g = svg.select<SVGGElement>('g.axis-g').attr('transform', `translate(0,${AXIS_H - 1})`);
    g.call(axisTop(x).ticks(Math.max(2, Math.floor((width - GUTTER) / 110))).tickFormat((d) => formatDuration(Number(d), span)));
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

  /** The rows as last laid out (for "save as SVG", which redraws the same merged marks). */
  get rowsLayout(): Layout {
    return this.layout;
  }
}
