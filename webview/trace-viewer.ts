// The viewer: owns the store, the timeline, the compare view, the toolbar and the notices, reacts to
// the host's messages, and keeps its state with getState/setState so it survives hiding and reloads.

import type { ToViewer, ViewerState } from '../protocol/webview-messages';
import type { BenchReport } from '../protocol/trace-stream';
import { OPS, PATHS } from '../protocol/trace';
import { CallStore } from './call-store';
import { EMPTY_FILTER, MatchMask, isActive, type CallFilter } from './call-filter';
import { Timeline } from './timeline';
import { FrameScheduler } from './frame-scheduler';
import { readPalette, watchTheme, type Palette } from './palette';
import { compare, tableCsv, tableMarkdown, type Comparison } from './compare-stats';
import { CompareView } from './compare-view';
import { renderDetails, tooltipText, linkedFrames } from './call-details';
import { viewAsPng, viewAsSvg } from './view-export';
import { shortcutOverlay } from './shortcuts';
import { formatDuration } from './format';
import { ingestChunk } from './chunk-ingest';
import { button, checkbox, dropdown, registerToolkit, tabs, textField, type Dropdown, type Tabs } from './toolkit';
import type { Host } from './vscode-api';

const DEFAULT_LIMIT = 2_000_000;

export class TraceViewer {
  readonly store = new CallStore(DEFAULT_LIMIT);
  readonly mask = new MatchMask(this.store);
  readonly scheduler = new FrameScheduler(() => this.frame());
  readonly timeline: Timeline;
  private palette: Palette;
  private readonly tabs: Tabs;
  private readonly compareView: CompareView;
  private readonly details = document.createElement('div');
  private readonly notices = document.createElement('div');
  private readonly status = document.createElement('div');
  private readonly tooltip = document.createElement('div');
  private readonly overlay = shortcutOverlay();
  private readonly guestPick: Dropdown;
  private readonly resultPick: Dropdown;
  private readonly followBox: HTMLElement & { checked: boolean };
  private state: ViewerState;
  private title = '';
  private source: 'live' | 'file' = 'file';
  private connection = '';
  private damaged: { message: string; recordsKept: number } | null = null;
  private loading: { loaded: number; total: number } | null = null;
  private report: BenchReport | null = null;
  private userPickedTab = false;
  private comparison: Comparison | null = null;
  private compareVersion = -1;
  private saveTimer = 0;
  private lastChunkAt = -Infinity;
  private pendingWindow: { start: number; end: number } | null = null;

  constructor(
    root: HTMLElement,
    private readonly host: Host,
  ) {
    registerToolkit();
    const saved = host.state();
    this.state = {
      tab: saved?.tab ?? 'timeline',
      window: saved?.window ?? null,
      follow: saved?.follow ?? true,
      filter: { ...EMPTY_FILTER, ...(saved?.filter ?? {}) },
      selectedSeq: saved?.selectedSeq ?? null,
    };
    if (saved?.tab) this.userPickedTab = true;

    this.status.className = 'status';
    this.notices.className = 'notices';
    this.notices.setAttribute('role', 'status');
    this.details.className = 'details';
    this.tooltip.className = 'tooltip';
    this.tooltip.hidden = true;

    const f = this.state.filter;
    const setFilter = (patch: Partial<CallFilter>) => this.setFilter({ ...this.state.filter, ...patch });
    const filterBar = document.createElement('div');
    filterBar.className = 'toolbar';
    const opPick = dropdown('Operation', [{ value: '', label: 'any op' }, ...OPS.map((o) => ({ value: o, label: o }))], (v) => setFilter({ op: v }));
    const pathPick = dropdown('Path', [{ value: '', label: 'any path' }, ...PATHS.map((p) => ({ value: p, label: p }))], (v) => setFilter({ path: v }));
    this.guestPick = dropdown('Guest', [{ value: '', label: 'any guest' }], (v) => setFilter({ guest: v }));
    this.resultPick = dropdown('Result', [{ value: '', label: 'any result' }], (v) => setFilter({ result: v }));
    opPick.value = f.op;
    pathPick.value = f.path;
    this.followBox = checkbox('Follow live', this.state.follow, (v) => this.setFollow(v));
    filterBar.append(
      textField('Search: op, guest, #socket, errno…', f.text, (v) => setFilter({ text: v }), 22),
      opPick.element,
      pathPick.element,
      this.guestPick.element,
      this.resultPick.element,
      textField('socket', f.socket ?? '', (v) => setFilter({ socket: v.trim() }), 5),
      textField('min µs', f.minDurationUs ? String(f.minDurationUs) : '', (v) => setFilter({ minDurationUs: Math.max(0, Number(v) || 0) }), 6),
      button('◀', 'Previous match (Shift+N)', () => this.stepMatch(-1), 'icon'),
      button('▶', 'Next match (N)', () => this.stepMatch(1), 'icon'),
      this.followBox,
      button('Fit', 'Fit everything (F)', () => this.fit()),
      button('PNG', 'Save the current view as PNG', () => this.saveImage('png')),
      button('SVG', 'Save the current view as SVG', () => this.saveImage('svg')),
      button('Export…', 'Export the trace (.lstrace, Chrome JSON or CSV)', () => this.host.post({ type: 'export' })),
      button('?', 'Keyboard shortcuts (?)', () => this.toggleOverlay(), 'icon'),
    );

    const compareBar = document.createElement('div');
    compareBar.className = 'toolbar';
    compareBar.append(button('Copy Markdown', 'Copy the comparison table as Markdown', () => this.copyTable('markdown')), button('Copy CSV', 'Copy the comparison table as CSV', () => this.copyTable('csv')));
    this.compareView = new CompareView(compareBar);

    this.tabs = tabs(
      [
        { id: 'compare', label: 'Compare' },
        { id: 'timeline', label: 'Timeline' },
      ],
      (id) => {
        // programmatic switches report the tab already in state: only a different one is the user's pick
        if (id === this.state.tab) return;
        this.userPickedTab = true;
        this.showTab(id as ViewerState['tab']);
      },
    );
    const timelineBox = document.createElement('div');
    timelineBox.className = 'timeline-box';
    const tl = document.createElement('div');
    timelineBox.append(tl, this.details);
    this.tabs.views.timeline!.append(filterBar, timelineBox);
    this.tabs.views.compare!.append(this.compareView.element);
    root.append(this.status, this.notices, this.tabs.element, this.tooltip, this.overlay);

    this.timeline = new Timeline(tl, this.store, {
      select: (s) => this.select(s),
      moved: () => {
        if (this.state.follow && this.source === 'live') this.setFollow(false);
        this.saveSoon();
      },
      hover: (s, x, y) => this.hover(s, x, y),
      request: () => this.scheduler.request(),
    });
    // the saved window is in host ns; it can be placed once the first call fixes the store's base
    this.pendingWindow = this.state.window;
    this.mask.set(this.state.filter);

    this.palette = readPalette(document.body);
    watchTheme(() => {
      this.palette = readPalette(document.body);
      this.compareVersion = -1;
      this.scheduler.request();
    });
    document.addEventListener('keydown', (ev) => this.onKey(ev));
    renderDetails(this.details, this.store, -1);
    this.showTab(this.state.tab);
  }

  // ---- messages from the host ----

  onMessage(m: ToViewer): void {
    switch (m.type) {
      case 'init':
        this.title = m.title;
        this.source = m.source;
        this.store.recordLimit = Math.max(1000, m.recordLimit || DEFAULT_LIMIT);
        break;
      case 'chunk':
        this.ingest(asBytes(m.bytes));
        break;
      case 'reset':
        this.store.clear();
        this.mask.set(this.state.filter);
        this.timeline.placed = false;
        this.timeline.selected = -1;
        this.damaged = null;
        this.report = null;
        this.compareView.showReport(null);
        break;
      case 'progress':
        this.loading = m.done ? null : { loaded: m.loadedBytes, total: m.totalBytes };
        if (m.done && this.source === 'file') this.store.compact();
        break;
      case 'damaged':
        this.damaged = { message: m.message, recordsKept: m.recordsKept };
        break;
      case 'report':
        this.report = m.report;
        this.compareView.showReport(m.report);
        if (!this.userPickedTab) this.showTab('compare');
        break;
      case 'connection':
        this.connection = m.state;
        break;
    }
    this.scheduler.request();
  }

  /** Decodes one chunk straight into the typed arrays; a bad chunk is reported and loses nothing before it. */
  ingest(bytes: Uint8Array): void {
    this.lastChunkAt = performance.now();
    const before = this.store.paths.size;
    const droppedBefore = this.store.droppedByLimit;
    const framesDroppedBefore = this.store.droppedFrames;
    try {
      ingestChunk(bytes, this.store);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.damaged = { message: `a chunk could not be read: ${message}`, recordsKept: this.store.count };
      this.host.post({ type: 'log', level: 'error', message }); // the host's log adds "viewer: "
    }
    this.mask.update();
    // dropping the oldest renumbers slots: keep the selection on the same call, or clear it if it went
    const shift = this.store.droppedByLimit - droppedBefore;
    if ((shift || this.store.droppedFrames !== framesDroppedBefore) && this.timeline.selected >= 0) {
      const s = this.timeline.selected - shift;
      this.timeline.selected = s;
      if (s < 0) this.select(-1);
      else this.timeline.linkedFrames = linkedFrames(this.store, s);
    }
    if (this.pendingWindow && this.store.base !== null) {
      this.timeline.setWindow(this.pendingWindow.start - this.store.base, this.pendingWindow.end - this.store.base);
      this.pendingWindow = null;
    }
    if (this.state.selectedSeq !== null && this.timeline.selected < 0) {
      const s = this.store.slotOfSeq(this.state.selectedSeq, false);
      if (s >= 0) this.select(s, false);
    }
    if (!this.userPickedTab && before < 2 && this.store.paths.size >= 2) this.showTab('compare');
    this.scheduler.request();
  }

  // ---- one frame ----

  private frame(): void {
    const live = this.state.follow && this.source === 'live' && this.store.count > 0 && this.timeline.placed;
    // While records stream in, the window glides with the host clock between chunks (extrapolated from
    // the last arrival, at most a second), so following live is smooth rather than a jump per chunk.
    const sinceChunk = performance.now() - this.lastChunkAt;
    if (live) this.timeline.followLive(Math.min(sinceChunk, 1000) * 1e6);
    this.timeline.mask = this.mask.mask;
    if (this.state.tab === 'timeline') this.timeline.draw(this.palette);
    else if (this.compareVersion !== this.store.version) {
      // While calls stream in, recompute the comparison at most every half second (longer when it is
      // slow), so a million calls do not cost a sort on every frame; a forced refresh (-1) runs now.
      const wait = this.lastCompareAt + Math.max(500, 4 * this.lastCompareMs) - performance.now();
      if (wait <= 0 || this.compareVersion === -1) this.renderCompare();
      else if (!this.compareTimer) this.compareTimer = window.setTimeout(() => {
        this.compareTimer = 0;
        this.scheduler.request();
      }, wait);
    }
    this.renderStatus();
    if (live && sinceChunk < 1000) this.scheduler.request();
  }

  private renderCompare(): void {
    const t = performance.now();
    this.comparison = compare(this.store);
    this.compareVersion = this.store.version;
    this.compareView.render(this.comparison, getComputedStyle(document.body));
    this.lastCompareAt = performance.now();
    this.lastCompareMs = this.lastCompareAt - t;
  }
  private lastCompareAt = -Infinity;
  private lastCompareMs = 0;
  private compareTimer = 0;

  private renderStatus(): void {
    const st = this.store;
    const parts = [this.title || 'Linsock trace', `${st.count.toLocaleString('en')} calls`];
    if (st.frameCount) parts.push(`${st.frameCount.toLocaleString('en')} frames`);
    if (this.connection) parts.push(this.connection);
    const brush = this.timeline.brush;
    if (brush && this.state.tab === 'timeline') parts.push(`range ${formatDuration(brush[1] - brush[0])}: ${this.timeline.countIn(brush[0], brush[1]).toLocaleString('en')} calls (Z zooms to it)`);
    if (this.loading) parts.push(`loading ${Math.round((100 * this.loading.loaded) / Math.max(1, this.loading.total))}%`);
    if (isActive(this.state.filter)) parts.push(`${this.mask.matches.toLocaleString('en')} match`);
    const text = parts.join(' · ');
    if (this.status.textContent !== text) this.status.textContent = text;

    const notes: [string, string][] = [];
    if (this.damaged) notes.push(['damaged', `Damaged: ${this.damaged.message}. ${this.damaged.recordsKept.toLocaleString('en')} records before the damage were kept.`]);
    if (st.droppedBySource) notes.push(['dropped', `The daemon dropped ${st.droppedBySource.toLocaleString('en')} records (a slow reader or a full ring): the trace has gaps.`]);
    if (st.droppedByLimit) notes.push(['limit', `The ${st.droppedByLimit.toLocaleString('en')} oldest calls were dropped to stay within the record limit of ${st.recordLimit.toLocaleString('en')}.`]);
    const s = this.timeline.stats;
    if (this.state.tab === 'timeline' && s.merged > 0) notes.push(['decimated', `Decimated: ${s.merged.toLocaleString('en')} of ${s.visible.toLocaleString('en')} visible calls are narrower than a pixel and merged per pixel column; zoom in to see each.`]);
    const key = notes.map((n) => n[1]).join('|');
    if (this.notices.dataset.key !== key) {
      this.notices.dataset.key = key;
      this.notices.replaceChildren(...notes.map(([kind, msg]) => {
        const d = document.createElement('div');
        d.className = `notice notice-${kind}`;
        d.textContent = msg;
        return d;
      }));
    }
    this.updatePickers();
  }

  private pickersFor = -1;
  private updatePickers(): void {
    const n = this.store.guests.values.length * 1000 + this.store.results.values.length;
    if (n === this.pickersFor) return;
    this.pickersFor = n;
    this.guestPick.setOptions([{ value: '', label: 'any guest' }, ...this.store.guests.values.map((g) => ({ value: g, label: g }))]);
    this.resultPick.setOptions([{ value: '', label: 'any result' }, ...this.store.results.values.map((r) => ({ value: r, label: r }))]);
    this.guestPick.value = this.state.filter.guest;
    this.resultPick.value = this.state.filter.result;
  }

  // ---- user actions ----

  showTab(tab: ViewerState['tab']): void {
    this.state.tab = tab;
    this.tabs.select(tab);
    document.body.dataset.tab = tab;
    this.compareVersion = -1;
    this.saveSoon();
    this.scheduler.request();
  }

  select(s: number, reveal = true): void {
    this.timeline.selected = s;
    this.timeline.linkedFrames = s >= 0 ? linkedFrames(this.store, s) : [];
    this.state.selectedSeq = s >= 0 ? this.store.seq[s]! : null;
    renderDetails(this.details, this.store, s);
    if (s >= 0) {
      if (reveal) this.timeline.reveal(s);
      this.host.post({ type: 'selectCall', seq: this.store.seq[s]! });
    }
    this.saveSoon();
    this.scheduler.request();
  }

  setFilter(f: CallFilter): void {
    this.state.filter = f;
    this.mask.set(f);
    this.saveSoon();
    this.scheduler.request();
  }

  stepMatch(dir: 1 | -1): void {
    const s = this.mask.step(this.timeline.selected, dir);
    if (s >= 0) this.select(s);
  }

  setFollow(v: boolean): void {
    this.state.follow = v;
    if (this.followBox.checked !== v) this.followBox.checked = v;
    this.saveSoon();
    this.scheduler.request();
  }

  fit(): void {
    this.timeline.fit();
    this.saveSoon();
  }

  private hover(s: number, x: number, y: number): void {
    if (s < 0) {
      this.tooltip.hidden = true;
      return;
    }
    this.tooltip.textContent = tooltipText(this.store, s);
    this.tooltip.hidden = false;
    this.tooltip.style.left = `${Math.min(x + 12, window.innerWidth - 320)}px`;
    this.tooltip.style.top = `${y + 14}px`;
  }

  toggleOverlay(force?: boolean): void {
    this.overlay.hidden = force === undefined ? !this.overlay.hidden : !force;
  }

  private onKey(ev: KeyboardEvent): void {
    const t = ev.target as HTMLElement | null;
    if (t && /^(INPUT|TEXTAREA|VSCODE-TEXT-FIELD|VSCODE-DROPDOWN)$/.test(t.tagName)) return;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    switch (ev.key) {
      case '?': this.toggleOverlay(); break;
      case 'Escape':
        this.toggleOverlay(false);
        this.timeline.clearBrush();
        this.select(-1);
        break;
      case 'f': case 'F': this.fit(); break;
      case 'z': case 'Z':
        if (this.timeline.brush) {
          this.timeline.setWindow(this.timeline.brush[0], this.timeline.brush[1]);
          this.timeline.clearBrush();
        }
        break;
      case ',': this.select(this.timeline.neighbour(-1)); break;
      case '.': this.select(this.timeline.neighbour(1)); break;
      case 'n': this.stepMatch(1); break;
      case 'N': this.stepMatch(-1); break;
      case 'l': case 'L': this.setFollow(!this.state.follow); break;
      case 'c': case 'C': this.userPickedTab = true; this.showTab('compare'); break;
      case 't': case 'T': this.userPickedTab = true; this.showTab('timeline'); break;
      default:
        if (this.state.tab !== 'timeline' || !this.timeline.onKey(ev)) return;
    }
    ev.preventDefault();
  }

  copyTable(format: 'markdown' | 'csv'): void {
    if (!this.comparison || this.compareVersion !== this.store.version) this.renderCompare();
    const rows = this.comparison!.rows;
    const text = format === 'markdown' ? tableMarkdown(rows) : tableCsv(rows);
    this.host.post({ type: 'copyTable', format, text }); // the host owns the clipboard (vscode.env.clipboard)
  }

  saveImage(format: 'png' | 'svg'): void {
    if (this.state.tab !== 'timeline') this.showTab('timeline');
    const tl = this.timeline;
    tl.draw(this.palette);
    const data = format === 'png'
      ? viewAsPng(tl.canvas)
      : viewAsSvg(this.store, tl.rowsLayout, { width: tl.canvas.clientWidth, height: tl.canvas.clientHeight, dpr: 1, t0: tl.t0, t1: tl.t1, scrollY: tl.scrollY, top: 0 }, this.palette,
        { selected: tl.selected, linkedFrames: tl.linkedFrames, brush: tl.brush, mask: tl.mask }, tl.root.querySelector('svg.axis'));
    this.host.post({ type: 'saveImage', format, data });
  }

  private saveSoon(): void {
    if (this.saveTimer) return;
    this.saveTimer = window.setTimeout(() => {
      this.saveTimer = 0;
      const base = this.store.base;
      this.state.window = this.timeline.placed && base !== null ? { start: base + this.timeline.t0, end: base + this.timeline.t1 } : this.pendingWindow;
      this.host.save(this.state);
    }, 200);
  }

  get currentState(): ViewerState {
    return this.state;
  }
}

/**
 * VS Code delivers a Uint8Array posted by the extension as a Uint8Array; older hosts (or a JSON round trip)
 * can hand over an ArrayBuffer or a plain object of indexed bytes. Accept all three.
 */
function asBytes(b: unknown): Uint8Array {
  if (b instanceof Uint8Array) return b;
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  if (typeof b === 'object' && b !== null) return Uint8Array.from(Object.values(b as Record<string, number>));
  return new Uint8Array(0);
}
