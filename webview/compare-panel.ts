// The Compare panel: the per-op, per-path table and charts (compare-view.ts), the benchmark report the
// host sends, and copying the table. It asks to be shown once the records hold two or more paths.

import type { ToViewer } from '../protocol/webview-messages';
import { compare, tableCsv, tableMarkdown, type Comparison } from './compare-stats';
import { CompareView } from './compare-view';
import type { Palette } from './palette';
import type { PanelContext, ViewerPanel } from './panel';
import { button } from './toolkit';

/** While calls stream in, recompute at most this often (longer when a comparison is slow). */
const MIN_RECOMPUTE_MS = 500;

export class ComparePanel implements ViewerPanel {
  readonly id = 'compare';
  readonly title = 'Compare';
  readonly key = 'c';
  private readonly view: CompareView;
  private shown = false;
  private comparison: Comparison | null = null;
  /** The store version the comparison was computed for; -1 forces a recompute. */
  private version = -1;
  private palette: Palette | null = null;
  private lastAt = -Infinity;
  private lastMs = 0;
  private timer = 0;
  private pathsSeen = 0;

  constructor(private readonly ctx: PanelContext) {
    const bar = document.createElement('div');
    bar.className = 'toolbar';
    bar.append(
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
    this.version = -1;
  }

  hide(): void {
    this.shown = false;
  }

  frame(): void {
    if (this.palette !== this.ctx.palette()) {
      this.palette = this.ctx.palette(); // the theme changed: the charts' colours did too
      this.version = -1;
    }
    if (!this.shown || this.version === this.ctx.store.version) return;
    // a million calls must not cost a sort on every frame; a forced refresh (-1) runs now
    const wait = this.lastAt + Math.max(MIN_RECOMPUTE_MS, 4 * this.lastMs) - performance.now();
    if (wait <= 0 || this.version === -1) this.render();
    else if (!this.timer) this.timer = window.setTimeout(() => {
      this.timer = 0;
      this.ctx.request();
    }, wait);
  }

  onMessage(m: ToViewer): void {
    if (m.type === 'reset') {
      this.view.showReport(null);
      this.pathsSeen = 0;
    } else if (m.type === 'report') {
      this.view.showReport(m.report);
      this.ctx.suggest(this.id);
    }
  }

  onRecords(): void {
    const paths = this.ctx.store.paths.size;
    if (this.pathsSeen < 2 && paths >= 2) this.ctx.suggest(this.id); // a comparison run
    this.pathsSeen = paths;
  }

  private render(): void {
    const t = performance.now();
    this.comparison = compare(this.ctx.store);
    this.version = this.ctx.store.version;
    this.view.render(this.comparison, getComputedStyle(document.body));
    this.lastAt = performance.now();
    this.lastMs = this.lastAt - t;
  }

  private copyTable(format: 'markdown' | 'csv'): void {
    if (!this.comparison || this.version !== this.ctx.store.version) this.render();
    const rows = this.comparison!.rows;
    const text = format === 'markdown' ? tableMarkdown(rows) : tableCsv(rows);
    this.ctx.host.post({ type: 'copyTable', format, text }); // the host owns the clipboard (vscode.env.clipboard)
  }
}
