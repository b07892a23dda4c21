// The Compare tab's page for one run: its heading, the verdict per path pair (and run B against run A),
// the bench report's measured figures, the per-op, per-path table with the reasons for every "—", and
// the charts (compare-charts.ts).

import { ratioLine, ratioField } from '../protocol/comparison';
import type { BenchReport } from '../protocol/trace-stream';
import { compareCells, COLUMN_FIGURE, COMPARE_HEADER, footnotes, NOT_MEASURED, type Comparison } from './compare-stats';
import { CompareCharts } from './compare-charts';
import type { VerdictLine } from './compare-verdicts';
import type { RunEntry } from './run-index';
import { tableRow } from './table-row';

/** What the page shows: the picked run, its figures, and the A/B lines when a second run is picked. */
export interface CompareShown {
  heading: string;
  facts: string;
  run: RunEntry | null;
  comparison: Comparison;
  verdicts: VerdictLine[];
  ab: { heading: string; lines: VerdictLine[] } | null;
}

export class CompareView {
  readonly element = document.createElement('div');
  private readonly heading = document.createElement('h2');
  private readonly facts = document.createElement('p');
  private readonly verdicts = document.createElement('ul');
  private readonly ab = document.createElement('div');
  private readonly reportBox = document.createElement('div');
  private readonly summary = document.createElement('p');
  private readonly table = document.createElement('table');
  private readonly notes = document.createElement('ol');
  private readonly charts = new CompareCharts();

  constructor(toolbar: HTMLElement) {
    this.element.className = 'compare';
    this.heading.className = 'compare-heading';
    this.facts.className = 'compare-facts';
    this.verdicts.className = 'verdicts';
    this.ab.className = 'ab-verdicts';
    this.summary.className = 'compare-summary';
    this.table.className = 'compare-table';
    this.notes.className = 'compare-notes';
    this.reportBox.className = 'bench-report';
    this.element.append(toolbar, this.heading, this.facts, this.verdicts, this.ab, this.reportBox, this.summary, this.table, this.notes, this.charts.element);
  }

  render(s: CompareShown, styles: CSSStyleDeclaration): void {
    this.heading.textContent = s.heading;
    this.facts.textContent = s.facts;
    this.verdicts.replaceChildren(...s.verdicts.map(verdictItem));
    this.ab.replaceChildren();
    if (s.ab) {
      const h = document.createElement('h3');
      h.textContent = s.ab.heading;
      const ul = document.createElement('ul');
      ul.className = 'verdicts';
      ul.append(...s.ab.lines.map(verdictItem));
      this.ab.append(h, ul);
    }
    this.showReport(s.run?.report ?? null);
    const c = s.comparison;
    this.summary.textContent = c.paths.length >= 2
      ? `Per operation, from this run's calls only; rates over each path's own active span in the run. "p50 vs emulated" says how much faster or slower this path's median is than the emulated path's for the same operation.`
      : c.paths.length === 1 ? `Only the ${c.paths[0]} path has calls in this run; a comparison run shows two or more paths side by side.`
      : s.run?.report?.untraced ? 'This run has no call records (see the note above): its figures are the benchmark\'s only.' : 'No calls yet.';
    this.table.replaceChildren(tableRow('th', COMPARE_HEADER), ...c.rows.map((r) => {
      const tr = tableRow('td', compareCells(r));
      tr.dataset.path = r.path;
      tr.dataset.op = r.op;
      COLUMN_FIGURE.forEach((k, i) => {
        const why = k ? r.why[k] : undefined;
        if (why) {
          const td = tr.children[i] as HTMLElement;
          td.title = why;
          td.classList.add('not-measured');
        }
      });
      return tr;
    }));
    this.notes.replaceChildren(...footnotes(c.rows).map((t) => {
      const li = document.createElement('li');
      li.textContent = t;
      return li;
    }));
    this.charts.render(c, styles);
  }

  /** The run's bench report: the figures the benchmark measured, and its ratios as verdicts. */
  private showReport(r: BenchReport | null): void {
    this.reportBox.replaceChildren();
    if (!r) return;
    const h = document.createElement('h3');
    h.textContent = `Benchmark: ${r.program ?? r.workload}${r.guest === 'vm' ? ` in a QEMU VM (${r.accel ?? '?'})` : ''}${r.mode ? ` (${r.mode}, MTU ${r.mtu})` : ''}`;
    const t = document.createElement('table');
    t.className = 'report-table';
    t.append(tableRow('th', ['path', 'MB/s', 'p50 µs', 'p99 µs', 'ops/s', 'calls', 'verified']));
    for (const x of r.results) {
      const why = r.unavailable?.[String(x.path)] ?? 'the workload does not produce this figure';
      const f = (v: number | null) => (v === null ? NOT_MEASURED : v.toFixed(1));
      const tr = tableRow('td', [String(x.path), f(x.mb_per_s), f(x.p50_us), f(x.p99_us), f(x.ops_per_s), String(x.calls), x.verified ? 'yes' : 'NO']);
      [x.mb_per_s, x.p50_us, x.p99_us, x.ops_per_s].forEach((v, i) => {
        if (v === null) (tr.children[i + 1] as HTMLElement).title = why;
      });
      t.append(tr);
    }
    const ratios = document.createElement('p');
    ratios.className = 'report-ratios';
    ratios.textContent = Object.entries(r.ratios).flatMap(([k, v]) => ratioLine(k, v, ratioField(r.workload)) ?? []).join('\n');
    // What a VM or program run adds: its facts, and why there are no calls to compare below.
    const facts = document.createElement('ul');
    facts.className = 'report-notes';
    for (const n of [...(r.untraced ? [r.untraced] : []), ...(r.notes ?? [])]) {
      const li = document.createElement('li');
      li.textContent = n;
      if (n === r.untraced) li.className = 'report-untraced';
      facts.append(li);
    }
    this.reportBox.append(h, t, ratios, facts);
  }
}

function verdictItem(v: VerdictLine): HTMLElement {
  const li = document.createElement('li');
  li.className = v.measured ? 'verdict' : 'verdict not-measured';
  const b = document.createElement('strong');
  b.textContent = v.text;
  const d = document.createElement('span');
  d.className = 'verdict-detail';
  d.textContent = ` — ${v.detail}`;
  li.append(b, d);
  if (!v.measured) li.title = v.detail;
  return li;
}
