// The Compare tab: the table of per-op, per-path figures, latency histograms and CDFs per path, and
// the stacked time-per-stage breakdown. A few dozen SVG marks per chart, never one per call.

import { bin, type Bin, line, max, scaleLinear, scaleLog, axisBottom, axisLeft, select, type ScaleLinear, type ScaleLogarithmic, type Selection } from 'd3';
import { STAGES } from '../protocol/trace';
import type { BenchReport } from '../protocol/trace-stream';
import { compareCells, COMPARE_HEADER, type Comparison } from './compare-stats';
import { formatDuration } from './format';
import { tableRow } from './table-row';

const PATH_VAR: Record<string, string> = { emulated: '--ls-path-emulated', delegated: '--ls-path-delegated', direct: '--ls-path-direct' };
/** A chart's size and margins (px). */
const W = 340, H = 200, M = { l: 44, r: 8, t: 8, b: 28 };
type Chart = Selection<SVGSVGElement, unknown, null, undefined>;

export class CompareView {
  readonly element = document.createElement('div');
  private readonly reportBox = document.createElement('div');
  private readonly summary = document.createElement('p');
  private readonly table = document.createElement('table');
  private readonly charts = document.createElement('div');

  constructor(toolbar: HTMLElement) {
    this.element.className = 'compare';
    this.summary.className = 'compare-summary';
    this.table.className = 'compare-table';
    this.charts.className = 'charts';
    this.reportBox.className = 'bench-report';
    this.element.append(toolbar, this.reportBox, this.summary, this.table, this.charts);
  }

  showReport(r: BenchReport | null): void {
    this.reportBox.replaceChildren();
    if (!r) return;
    const h = document.createElement('h3');
    h.textContent = `Benchmark: ${r.workload}${r.mode ? ` (${r.mode}, MTU ${r.mtu})` : ''}`;
    const t = document.createElement('table');
    t.className = 'report-table';
    const head = ['path', 'MB/s', 'p50 µs', 'p99 µs', 'ops/s', 'calls', 'verified'];
    t.append(tableRow('th', head));
    const f = (v: number | null) => (v === null ? '–' : v.toFixed(1));
    for (const x of r.results) t.append(tableRow('td', [String(x.path), f(x.mb_per_s), f(x.p50_us), f(x.p99_us), f(x.ops_per_s), String(x.calls), x.verified ? 'yes' : 'NO']));
    const ratios = document.createElement('p');
    ratios.textContent = Object.entries(r.ratios).map(([k, v]) => `${k}: ${v === null ? '–' : v.toFixed(2)}×`).join('   ');
    this.reportBox.append(h, t, ratios);
  }

  render(c: Comparison, styles: CSSStyleDeclaration): void {
    const rows = c.rows;
    this.summary.textContent = c.paths.length >= 2
      ? `Comparing ${c.paths.join(', ')}: speed-up is the other path's p50 latency divided by this path's (above 1: this path is faster).`
      : c.paths.length === 1 ? `Only the ${c.paths[0]} path has calls so far; a comparison run shows two or more paths side by side.` : 'No calls yet.';
    this.table.replaceChildren(tableRow('th', COMPARE_HEADER), ...rows.map((r) => {
      const tr = tableRow('td', compareCells(r));
      tr.dataset.path = r.path;
      tr.dataset.op = r.op;
      return tr;
    }));
    this.charts.replaceChildren();
    const colour = (p: string) => styles.getPropertyValue(PATH_VAR[p] ?? '').trim() || '#888';
    this.histogram(c, colour);
    this.cdf(c, colour);
    this.breakdown(c, styles);
  }

  private chart(title: string, w = W, h = H): Chart {
    const fig = document.createElement('figure');
    const cap = document.createElement('figcaption');
    cap.textContent = title;
    fig.append(cap);
    this.charts.append(fig);
    return select(fig).append('svg').attr('width', w).attr('height', h).attr('class', 'chart');
  }

  private histogram(c: Comparison, colour: (p: string) => string): void {
    if (c.paths.length === 0) return;
    const svg = this.chart('Latency distribution (calls per bin, log time)');
    const { lo, hi, x } = latencyScale(c);
    const thresholds = Array.from({ length: 39 }, (_, i) => lo * Math.pow(hi / lo, (i + 1) / 40));
    const logBins = new Map<string, Bin<number, number>[]>();
    for (const p of c.paths) {
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
    legend(svg, c.paths, colour);
  }

  private cdf(c: Comparison, colour: (p: string) => string): void {
    if (c.paths.length === 0) return;
    const svg = this.chart('Latency CDF');
    const { lo, x } = latencyScale(c);
    const y = scaleLinear().domain([0, 1]).range([H - M.b, M.t]);
    for (const p of c.paths) {
      const d = c.durations.get(p)!;
      const pts: [number, number][] = [];
      const steps = Math.min(200, d.length);
      for (let i = 1; i <= steps; i++) {
        const q = i / steps;
        pts.push([Math.max(lo, d[Math.min(d.length - 1, Math.ceil(q * d.length) - 1)]!), q]);
      }
      svg.append('path').attr('class', `cdf cdf-${p}`).attr('fill', 'none').attr('stroke', colour(p)).attr('stroke-width', 2)
        .attr('d', line<[number, number]>().x((v) => x(v[0])).y((v) => y(v[1]))(pts) ?? '');
    }
    latencyAxes(svg, x, y, '.0%');
    legend(svg, c.paths, colour);
  }

  private breakdown(c: Comparison, styles: CSSStyleDeclaration): void {
    if (c.paths.length === 0) return;
    const m = { ...M, l: 70 }, bar = 22;
    const stageColour = (s: string) => styles.getPropertyValue(`--ls-stage-${s}`).trim() || '#888';
    const svg = this.chart('Where the time goes: share of time per stage', W, m.t + m.b + c.paths.length * (bar + 8) + 40);
    const x = scaleLinear().domain([0, 1]).range([m.l, W - m.r]);
    c.paths.forEach((p, i) => {
      const tot = c.stageTotals.get(p)!;
      const sum = tot.reduce((a, b) => a + b, 0) || 1;
      const yy = m.t + i * (bar + 8);
      svg.append('text').attr('x', m.l - 4).attr('y', yy + bar / 2).attr('dy', '0.35em').attr('text-anchor', 'end').attr('class', 'label').text(p);
      let acc = 0;
      STAGES.forEach((s, j) => {
        const v = tot[j]! / sum;
        if (v <= 0) return;
        svg.append('rect').attr('class', `stage stage-${s}`).attr('x', x(acc)).attr('y', yy).attr('width', Math.max(0.5, x(acc + v) - x(acc))).attr('height', bar)
          .attr('fill', stageColour(s))
          .append('title').text(`${p} ${s}: ${(v * 100).toFixed(1)}% (${formatDuration(tot[j]!)})`);
        acc += v;
      });
    });
    const ly = m.t + c.paths.length * (bar + 8) + 4;
    STAGES.forEach((s, j) => {
      const gx = m.l + (j % 4) * 66;
      const gy = ly + Math.floor(j / 4) * 14;
      svg.append('rect').attr('x', gx).attr('y', gy).attr('width', 9).attr('height', 9).attr('fill', stageColour(s));
      svg.append('text').attr('x', gx + 12).attr('y', gy + 8).attr('class', 'legend').text(s);
    });
  }
}

/** One log time scale (µs) over every path's calls, so the histogram and the CDF line up. */
function latencyScale(c: Comparison): { lo: number; hi: number; x: ScaleLogarithmic<number, number> } {
  const all = [...c.durations.values()];
  const lo = Math.max(0.01, Math.min(...all.map((d) => d[0] ?? 1)));
  const hi = Math.max(lo * 10, ...all.map((d) => d[d.length - 1] ?? 1));
  return { lo, hi, x: scaleLog().domain([lo, hi]).range([M.l, W - M.r]) };
}

function latencyAxes(svg: Chart, x: ScaleLogarithmic<number, number>, y: ScaleLinear<number, number>, yFormat: string): void {
  const [lo, hi] = x.domain() as [number, number];
  svg.append('g').attr('transform', `translate(0,${H - M.b})`).call(axisBottom(x).tickValues(decades(lo, hi)).tickFormat((d) => formatDuration(Number(d) * 1000)));
  svg.append('g').attr('transform', `translate(${M.l},0)`).call(axisLeft(y).ticks(4, yFormat));
}

function legend(svg: Chart, paths: string[], colour: (p: string) => string): void {
  paths.forEach((p, i) => {
    svg.append('text').attr('x', W - M.r).attr('y', 16 + i * 14).attr('text-anchor', 'end').attr('class', 'legend').attr('fill', colour(p)).text(p);
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
