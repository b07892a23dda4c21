// The Compare tab's charts: latency histograms and CDFs per path, and the stacked time-per-stage
// breakdown. Only timed calls enter them (a call of zero duration has no latency to plot); each chart
// says how many it left out. A few dozen SVG marks per chart, never one per call.

import { bin, type Bin, line, max, scaleLinear, scaleLog, axisBottom, axisLeft, select, type ScaleLinear, type ScaleLogarithmic, type Selection } from 'd3';
import { VIEW_STAGES } from './view-stages';
import type { Comparison } from './compare-stats';
import { formatDuration } from './format';
import { flowLegend, textWidth } from './legend-flow';
import { placeLegend } from './legend-corner';

const PATH_VAR: Record<string, string> = { emulated: '--ls-path-emulated', delegated: '--ls-path-delegated', direct: '--ls-path-direct' };
/** A chart's size and margins (px). */
const W = 340, H = 200, M = { l: 44, r: 8, t: 8, b: 28 };
type Chart = Selection<SVGSVGElement, unknown, null, undefined>;
/** The stage legend: text size (as media/viewer.css sets `.chart text`), swatch, row height, gap between entries (px). */
const LEGEND = { fontPx: 10, swatch: 9, textAt: 12, row: 14, gap: 10 };
/** A path legend's room for the name right of its text end (the swatch and its gaps), and its box's room around curves (px). */
const PATH_LEGEND = { swatchRoom: 16, pad: 3 };

export class CompareCharts {
  readonly element = document.createElement('div');

  constructor() {
    this.element.className = 'charts';
  }

  render(c: Comparison, styles: CSSStyleDeclaration): void {
    this.element.replaceChildren();
    const colour = (p: string) => styles.getPropertyValue(PATH_VAR[p] ?? '').trim() || '#888';
    const timedPaths = c.paths.filter((p) => c.durations.has(p));
    const untimed = c.paths.flatMap((p) => {
      const s = c.summaries.get(p)!;
      return s.timed < s.calls ? [`${p}: ${(s.calls - s.timed).toLocaleString('en-US')} calls not timed (0 ns), left out`] : [];
    }).join('; ');
    if (timedPaths.length === 0) return;
    this.histogram(c, timedPaths, colour, untimed);
    this.cdf(c, timedPaths, colour, untimed, styles);
    this.breakdown(c, timedPaths, styles, untimed);
  }

  private chart(title: string, note: string, w = W, h = H): Chart {
    const fig = document.createElement('figure');
    const cap = document.createElement('figcaption');
    cap.textContent = title;
    fig.append(cap);
    if (note) {
      const n = document.createElement('div');
      n.className = 'chart-note';
      n.textContent = note;
      fig.append(n);
    }
    this.element.append(fig);
    return select(fig).append('svg').attr('width', w).attr('height', h).attr('class', 'chart');
  }

  private histogram(c: Comparison, paths: string[], colour: (p: string) => string, note: string): void {
    const svg = this.chart('Latency distribution (calls per bin, log time)', note);
    const { lo, hi, x } = latencyScale(c, paths);
    const thresholds = Array.from({ length: 39 }, (_, i) => lo * Math.pow(hi / lo, (i + 1) / 40));
    const logBins = new Map<string, Bin<number, number>[]>();
    for (const p of paths) {
      const b = bin<number, number>().domain([lo, hi]).thresholds(thresholds);
      logBins.set(p, b(Array.from(sample(c.durations.get(p)!, 200_000))));
    }
    const ymax = max([...logBins.values()].flatMap((bs) => bs.map((b) => b.length))) ?? 1;
    const y = scaleLinear().domain([0, ymax]).range([H - M.b, M.t]);
    for (const [p, bs] of logBins) {
      svg.append('g').attr('class', `hist hist-${p}`).attr('fill', colour(p)).attr('fill-opacity', 0.55)
        .selectAll('rect').data(bs).join('rect')
        .attr('x', (b) => x(b.x0!)).attr('width', (b) => Math.max(1, x(b.x1!) - x(b.x0!) - 1))
        .attr('y', (b) => y(b.length)).attr('height', (b) => H - M.b - y(b.length));
    }
    latencyAxes(svg, x, y, '~s');
    legend(svg, paths, colour, { right: W - M.r, top: M.t - 1 });
  }

  private cdf(c: Comparison, paths: string[], colour: (p: string) => string, note: string, styles: CSSStyleDeclaration): void {
    const svg = this.chart('Latency CDF (timed calls)', note);
    const { lo, x } = latencyScale(c, paths);
    const y = scaleLinear().domain([0, 1]).range([H - M.b, M.t]);
    const curves: [number, number][][] = []; // in px, as drawn
    for (const p of paths) {
      const d = c.durations.get(p)!;
      const pts: [number, number][] = [];
      const steps = Math.min(200, d.length);
      for (let i = 1; i <= steps; i++) {
        const q = i / steps;
        pts.push([Math.max(lo, d[Math.min(d.length - 1, Math.ceil(q * d.length) - 1)]!), q]);
      }
      curves.push(pts.map(([us, q]) => [x(us), y(q)]));
      svg.append('path').attr('class', `cdf cdf-${p}`).attr('fill', 'none').attr('stroke', colour(p)).attr('stroke-width', 2)
        .attr('d', line()(curves[curves.length - 1]!) ?? '');
    }
    latencyAxes(svg, x, y, '.0%');
    // every curve flattens near 100% at the top right, where the histogram keeps its legend: put this one in
    // the corner the drawn curves leave free, or right of the plot (a wider svg) if none is
    const textW = Math.max(...paths.map((p) => textWidth(p, LEGEND.fontPx, styles.fontFamily)));
    const size = { w: textW + PATH_LEGEND.swatchRoom, h: paths.length * LEGEND.row };
    const plot = { x: M.l, y: M.t, w: W - M.r - M.l, h: H - M.b - M.t };
    const { box, corner } = placeLegend(plot, size, curves, PATH_LEGEND.pad);
    if (corner === null) svg.attr('width', box.x + box.w + PATH_LEGEND.pad);
    legend(svg, paths, colour, { right: box.x + box.w, top: box.y });
  }

  private breakdown(c: Comparison, paths: string[], styles: CSSStyleDeclaration, note: string): void {
    const m = { ...M, l: 70 }, bar = 22;
    const stageColour = (s: { name: string; fallback: string }) => styles.getPropertyValue(`--ls-stage-${s.name}`).trim() || s.fallback;
    // the legend flows under the bars by its labels' real widths; the svg grows by its rows
    const flow = flowLegend(VIEW_STAGES.map((s) => LEGEND.textAt + textWidth(s.label, LEGEND.fontPx, styles.fontFamily)), W - m.r - m.l, LEGEND.gap);
    const ly = m.t + paths.length * (bar + 8) + 4;
    const svg = this.chart('Where the time goes: share of time per stage', note, W, ly + flow.rows * LEGEND.row + 4);
    const x = scaleLinear().domain([0, 1]).range([m.l, W - m.r]);
    paths.forEach((p, i) => {
      const tot = c.stageTotals.get(p)!;
      const sum = tot.reduce((a, b) => a + b, 0);
      const yy = m.t + i * (bar + 8);
      svg.append('text').attr('x', m.l - 4).attr('y', yy + bar / 2).attr('dy', '0.35em').attr('text-anchor', 'end').attr('class', 'label').text(p);
      if (sum <= 0) return; // nothing timed: no shares to draw (and no division by zero)
      let acc = 0;
      VIEW_STAGES.forEach((s, j) => {
        const v = tot[j]! / sum;
        if (v <= 0) return;
        svg.append('rect').attr('class', `stage stage-${s.name}`).attr('x', x(acc)).attr('y', yy).attr('width', Math.max(0.5, x(acc + v) - x(acc))).attr('height', bar)
          .attr('fill', stageColour(s))
          .append('title').text(`${p} ${s.label}: ${(v * 100).toFixed(1)}% (${formatDuration(tot[j]!)})`);
        acc += v;
      });
    });
    VIEW_STAGES.forEach((s, j) => {
      const gx = m.l + flow.at[j]!.x;
      const gy = ly + flow.at[j]!.row * LEGEND.row;
      svg.append('rect').attr('class', 'swatch').attr('x', gx).attr('y', gy).attr('width', LEGEND.swatch).attr('height', LEGEND.swatch).attr('fill', stageColour(s));
      svg.append('text').attr('x', gx + LEGEND.textAt).attr('y', gy + 8).attr('class', 'legend').text(s.label);
    });
  }
}

/** One log time scale (µs) over the charted paths' calls, so the histogram and the CDF line up. */
function latencyScale(c: Comparison, paths: string[]): { lo: number; hi: number; x: ScaleLogarithmic<number, number> } {
  const all = paths.map((p) => c.durations.get(p)!);
  const lo = Math.max(0.01, Math.min(...all.map((d) => d[0] ?? 1)));
  const hi = Math.max(lo * 10, ...all.map((d) => d[d.length - 1] ?? 1));
  return { lo, hi, x: scaleLog().domain([lo, hi]).range([M.l, W - M.r]) };
}

function latencyAxes(svg: Chart, x: ScaleLogarithmic<number, number>, y: ScaleLinear<number, number>, yFormat: string): void {
  const [lo, hi] = x.domain() as [number, number];
  svg.append('g').attr('transform', `translate(0,${H - M.b})`).call(axisBottom(x).tickValues(decades(lo, hi)).tickFormat((d) => formatDuration(Number(d) * 1000)));
  svg.append('g').attr('transform', `translate(${M.l},0)`).call(axisLeft(y).ticks(4, yFormat));
}

/**
 * A swatch and the path's name in its colour (the stylesheet colours `legend-<path>` by the same variable),
 * a row per path from `top` down, names ending left of the swatches at `right`. A row's text spans about
 * `top` + 0..11 px, within its LEGEND.row.
 */
function legend(svg: Chart, paths: string[], colour: (p: string) => string, at: { right: number; top: number }): void {
  paths.forEach((p, i) => {
    const y = at.top + 9 + i * LEGEND.row;
    svg.append('rect').attr('class', 'swatch').attr('x', at.right - 10).attr('y', y - 8).attr('width', LEGEND.swatch).attr('height', LEGEND.swatch).attr('fill', colour(p));
    svg.append('text').attr('x', at.right - 14).attr('y', y).attr('text-anchor', 'end').attr('class', `legend legend-${p}`).attr('fill', colour(p)).text(p);
  });
}

/** At most `n` evenly spaced values of a sorted array: enough for a histogram's shape. */
function sample(d: Float64Array, n: number): Float64Array {
  if (d.length <= n) return d;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = d[Math.floor((i * d.length) / n)]!;
  return out;
}

/** Powers of ten within [lo, hi] (µs): uncluttered ticks for a log axis. */
function decades(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let v = Math.pow(10, Math.ceil(Math.log10(lo))); v <= hi; v *= 10) out.push(v);
  return out.length >= 2 ? out : [lo, hi];
}
