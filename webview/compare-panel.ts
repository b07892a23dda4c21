// The Compare panel: one run at a time (picked here or in the extension's tree; the newest by default),
// optionally against a second run (A/B: before and after a tuning change). It asks to be shown once the
// records hold two or more paths, or a bench report arrives; it copies its table for the host.

import type { ToViewer } from '../protocol/webview-messages';
import { compare, tableCsv, tableMarkdown, type Comparison } from './compare-stats';
import { abVerdicts, pathVerdicts, type RunFigures } from './compare-verdicts';
import { CompareView, type CompareShown } from './compare-view';
import type { Palette } from './palette';
import type { PanelContext, ViewerPanel } from './panel';
import { runIndexOf, runLabel, type RunEntry, type RunIndex } from './run-index';
import { button, dropdown, type Dropdown } from './toolkit';

/** While calls stream in, recompute at most this often (longer when a comparison is slow). */
const MIN_RECOMPUTE_MS = 500;
const NEWEST = { value: '', label: 'newest run' };
const NO_B = { value: '', label: 'no second run (A/B off)' };

export class ComparePanel implements ViewerPanel {
  readonly id = 'compare';
  readonly title = 'Compare';
  readonly key = 'c';
  private readonly view: CompareView;
  private readonly runs: RunIndex;
  private readonly runPick: Dropdown;
  private readonly againstPick: Dropdown;
  private shown = false;
  private comparison: Comparison | null = null;
  /** What the comparison was computed for; a change forces a recompute. */
  private computedFor = '';
  private palette: Palette | null = null;
  private lastAt = -Infinity;
  private lastMs = 0;
  private timer = 0;
  private pathsSeen = 0;
  private pickersFor = '';
  private reportArrived = false;

  constructor(private readonly ctx: PanelContext) {
    this.runs = runIndexOf(ctx.store);
    ctx.state.compare ??= { run: null, against: null };
    this.runPick = dropdown('Run shown (A)', [NEWEST], (v) => this.pick({ run: v || null }));
    this.againstPick = dropdown('Compare with run B (A/B)', [NO_B], (v) => this.pick({ against: v || null }));
    const bar = document.createElement('div');
    bar.className = 'toolbar';
    const a = document.createElement('span');
    a.className = 'pick-label';
    a.textContent = 'A:';
    const b = document.createElement('span');
    b.className = 'pick-label';
    b.textContent = 'B:';
    bar.append(
      a, this.runPick.element, b, this.againstPick.element,
      button('Copy Markdown', 'Copy the comparison table as Markdown', () => this.copyTable('markdown')),
      button('Copy CSV', 'Copy the comparison table as CSV', () => this.copyTable('csv')),
    );
    this.view = new CompareView(bar);
  }

  mount(view: HTMLElement): void {
    view.append(this.view.element);
  }

  show(): void {
    this.shown = true;
    this.computedFor = '';
  }

  hide(): void {
    this.shown = false;
  }

  frame(): void {
    this.updatePickers();
    if (this.palette !== this.ctx.palette()) {
      this.palette = this.ctx.palette(); // the theme changed: the charts' colours did too
      this.computedFor = '';
    }
    // hidden, it stays as it was, except that a report that just arrived is put in place at once
    if ((!this.shown && !this.reportArrived) || this.computedFor === this.key_()) return;
    // a million calls must not cost a sort on every frame; a forced refresh ('') runs now
    const wait = this.lastAt + Math.max(MIN_RECOMPUTE_MS, 4 * this.lastMs) - performance.now();
    if (wait <= 0 || this.computedFor === '') this.render();
    else if (!this.timer) this.timer = window.setTimeout(() => {
      this.timer = 0;
      this.ctx.request();
    }, wait);
  }

  onMessage(m: ToViewer): void {
    if (m.type === 'reset') {
      this.runs.reset();
      this.pathsSeen = 0;
      this.computedFor = '';
    } else if (m.type === 'report') {
      const id = m.runId ?? this.newest()?.id ?? '';
      this.runs.noteReport(id, m.report);
      this.computedFor = '';
      this.reportArrived = true;
      this.ctx.suggest(this.id);
    } else if (m.type === 'selectRun') {
      this.pick({ run: m.runId, against: m.against ?? null });
      this.ctx.show(this.id);
    }
  }

  onRecords(): void {
    const paths = this.ctx.store.paths.size;
    if (this.pathsSeen < 2 && paths >= 2) this.ctx.suggest(this.id); // a comparison run
    this.pathsSeen = paths;
  }

  private pick(p: { run?: string | null; against?: string | null }): void {
    const c = this.ctx.state.compare!;
    if (p.run !== undefined) c.run = p.run;
    if (p.against !== undefined) c.against = p.against;
    this.ctx.save();
    this.computedFor = '';
    this.pickersFor = '';
    this.ctx.request();
  }

  /** The newest run with calls (runs are numbered by first appearance). */
  private newest(): RunEntry | undefined {
    const withCalls = this.runs.withCalls();
    return withCalls[withCalls.length - 1];
  }

  /** The run shown: the picked one while the records hold it, else the newest. */
  private runA(): RunEntry | undefined {
    const id = this.ctx.state.compare?.run;
    return (id !== null && id !== undefined ? this.runs.get(id) : undefined) ?? this.newest();
  }

  private runB(): RunEntry | undefined {
    const id = this.ctx.state.compare?.against;
    return id !== null && id !== undefined ? this.runs.get(id) : undefined;
  }

  private key_(): string {
    return `${this.ctx.store.version}/${this.runs.version}/${this.runA()?.index ?? -1}/${this.runB()?.index ?? -1}`;
  }

  /** Offers the runs that have calls; re-asserts the picks (a dropdown drops a value it has no option for yet). */
  private updatePickers(): void {
    const key = `${this.runs.version}/${this.ctx.store.droppedByLimit}/${this.ctx.state.compare?.run}/${this.ctx.state.compare?.against}`;
    if (key !== this.pickersFor) {
      this.pickersFor = key;
      const options = this.runs.withCalls().map((r) => ({ value: r.id, label: runLabel(r) })).reverse();
      this.runPick.setOptions([NEWEST, ...options]);
      this.againstPick.setOptions([NO_B, ...options]);
    }
    const c = this.ctx.state.compare!;
    if (this.runPick.value !== (c.run ?? '')) this.runPick.value = c.run ?? '';
    if (this.againstPick.value !== (c.against ?? '')) this.againstPick.value = c.against ?? '';
  }

  private figures(r: RunEntry | undefined): RunFigures {
    const comparison = compare(this.ctx.store, r ? { runOf: this.runs.runOf, run: r.index } : null);
    return { label: r ? runLabel(r) : 'no run', report: r?.report ?? null, comparison };
  }

  private render(): void {
    const t = performance.now();
    this.reportArrived = false;
    const a = this.runA();
    const b = this.runB();
    const A = this.figures(a);
    this.comparison = A.comparison;
    const shown: CompareShown = {
      heading: a ? `Run ${runLabel(a)}` : 'No run yet',
      facts: a?.info ? `${a.info.host.kernel} · ${a.info.host.cpu} · MTU ${a.info.host.mtu}${a.info.host.offloads.length ? ` · offloads ${a.info.host.offloads.join(',')}` : ''}` : '',
      run: a ?? null,
      comparison: A.comparison,
      verdicts: pathVerdicts(A),
      ab: null,
    };
    if (b && a && b !== a) shown.ab = { heading: `A/B: B = ${runLabel(b)} against A = ${runLabel(a)}`, lines: abVerdicts(A, this.figures(b)) };
    this.view.render(shown, getComputedStyle(document.body));
    this.computedFor = this.key_();
    this.lastAt = performance.now();
    this.lastMs = this.lastAt - t;
  }

  private copyTable(format: 'markdown' | 'csv'): void {
    if (!this.comparison || this.computedFor !== this.key_()) this.render();
    const rows = this.comparison!.rows;
    const text = format === 'markdown' ? tableMarkdown(rows) : tableCsv(rows);
    this.ctx.host.post({ type: 'copyTable', format, text }); // the host owns the clipboard (vscode.env.clipboard)
  }
}
