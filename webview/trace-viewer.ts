// The viewer core: the store, the frame scheduler, the status line, the tabs and the keys. It builds a
// tab per registered panel (panels.ts) and knows panels only through ViewerPanel: it draws them each
// frame, routes keys to the shown one, and hands them host messages and new records.

import type { ToViewer, ViewerState } from '../protocol/webview-messages';
import { CallStore } from './call-store';
import { ingestChunk } from './chunk-ingest';
import { FrameScheduler } from './frame-scheduler';
import { DEFAULT_RECORD_LIMIT, emptySource, handleHostMessage, type MessageTarget } from './host-messages';
import { keyHelpOverlay } from './key-help';
import { duplicateKeys, routeKey, viewerKeys, type KeyBinding } from './keymap';
import { readPalette, watchTheme, type Palette } from './palette';
import type { PanelContext, StoreChange, ViewerPanel } from './panel';
import { PanelChoice } from './panel-choice';
import { FIRST_PANEL, PANELS } from './panels';
import { sourceNotices, sourceStatus, StatusBar } from './status-bar';
import { registerToolkit, tabs, type Tabs } from './toolkit';
import { restoreState, StateSaver } from './viewer-state';
import type { Host } from './vscode-api';

export class TraceViewer implements MessageTarget {
  readonly store = new CallStore(DEFAULT_RECORD_LIMIT);
  readonly scheduler = new FrameScheduler(() => this.frame());
  readonly source = emptySource();
  readonly panels: readonly ViewerPanel[];
  private readonly state: ViewerState;
  private readonly choice: PanelChoice;
  private readonly saver: StateSaver;
  private readonly statusBar = new StatusBar();
  private readonly tabs: Tabs;
  private readonly keys: readonly KeyBinding[];
  private readonly help: HTMLElement;
  private palette: Palette;
  private shown: ViewerPanel | null = null;

  constructor(
    root: HTMLElement,
    private readonly host: Host,
  ) {
    registerToolkit();
    const saved = host.state();
    this.state = restoreState(saved, FIRST_PANEL);
    this.saver = new StateSaver(() => {
      for (const p of this.panels) p.beforeSave?.(this.state);
      host.save(this.state);
    });
    this.palette = readPalette(document.body);
    this.panels = PANELS.map((Panel) => new Panel(this.context(root)));
    this.choice = new PanelChoice(this.state, this.panels.map((p) => p.id), FIRST_PANEL, saved?.tab !== undefined);

    this.tabs = tabs(this.panels.map((p) => ({ id: p.id, label: p.title })), (id) => {
      // programmatic switches report the tab already shown: only a different one is the user's pick
      if (id !== this.choice.current) this.pick(id);
    });
    this.keys = viewerKeys(this.panels, { toggleHelp: (force) => this.toggleKeyHelp(force), pick: (id) => this.pick(id) });
    for (const p of this.panels) {
      const dup = duplicateKeys([this.keys, p.keys ?? []]);
      if (dup.length) throw new Error(`panel "${p.id}" binds keys the viewer already uses: ${dup.join(' ')} (webview/keymap.ts)`);
    }
    this.help = keyHelpOverlay([{ title: 'Viewer', keys: this.keys }, ...this.panels.map((p) => ({ title: p.title, keys: p.keys ?? [] }))]);
    root.append(this.statusBar.status, this.statusBar.notices, this.tabs.element, this.help);
    for (const p of this.panels) p.mount(this.tabs.views[p.id]!);

    watchTheme(() => {
      this.palette = readPalette(document.body);
      this.scheduler.request();
    });
    document.addEventListener('keydown', (ev) => {
      if (routeKey(ev, [this.keys, this.shown?.keys ?? []])) ev.preventDefault();
    });
    this.present();
  }

  /** What a panel may use of the viewer. */
  private context(overlays: HTMLElement): PanelContext {
    return {
      store: this.store,
      host: this.host,
      state: this.state,
      source: this.source,
      overlays,
      palette: () => this.palette,
      request: () => this.scheduler.request(),
      save: () => this.saver.soon(),
      show: (id) => {
        if (this.choice.show(id)) this.present();
      },
      suggest: (id) => {
        if (this.choice.suggest(id)) this.present();
      },
      toggleKeyHelp: (force) => this.toggleKeyHelp(force),
    };
  }

  onMessage(m: ToViewer): void {
    if (!handleHostMessage(m, this)) return;
    for (const p of this.panels) p.onMessage?.(m);
    this.scheduler.request();
  }

  /** Decodes one chunk straight into the typed arrays; a bad chunk is reported and loses nothing before it. */
  ingest(bytes: Uint8Array): void {
    const st = this.store;
    const droppedBefore = st.droppedByLimit;
    const framesDroppedBefore = st.droppedFrames;
    try {
      ingestChunk(bytes, st);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.source.damaged = { message: `a chunk could not be read: ${message}`, recordsKept: st.count };
      this.host.post({ type: 'log', level: 'error', message }); // the host's log adds "viewer: "
    }
    const change: StoreChange = { droppedCalls: st.droppedByLimit - droppedBefore, droppedFrames: st.droppedFrames !== framesDroppedBefore };
    for (const p of this.panels) p.onRecords?.(change);
    this.scheduler.request();
  }

  private frame(): void {
    for (const p of this.panels) p.frame();
    const parts = sourceStatus(this.store, this.source);
    const notes = sourceNotices(this.store, this.source);
    for (const p of this.panels) {
      if (p.status) parts.push(...p.status());
      if (p.notices) notes.push(...p.notices());
    }
    this.statusBar.render(parts, notes);
    // the trim of a loaded file waits until it is on screen: it is memory, not what the user waits for
    if (this.store.compactPending && !this.trimScheduled) {
      this.trimScheduled = true;
      const trim = () => {
        this.trimScheduled = false;
        if (this.store.compactPending) this.store.compact();
      };
      if (typeof requestIdleCallback === 'function') requestIdleCallback(trim, { timeout: 2000 });
      else setTimeout(trim, 50);
    }
  }
  private trimScheduled = false;

  private pick(id: string): void {
    this.choice.pick(id);
    this.present();
  }

  /** Shows the chosen panel's tab and hides the others. */
  private present(): void {
    const id = this.choice.current;
    const next = this.panels.find((p) => p.id === id)!;
    if (next !== this.shown) {
      this.shown?.hide();
      next.show();
      this.shown = next;
    }
    this.tabs.select(id);
    document.body.dataset.tab = id;
    this.saver.soon();
    this.scheduler.request();
  }

  toggleKeyHelp(force?: boolean): void {
    this.help.hidden = force === undefined ? !this.help.hidden : !force;
  }

  /** The panel of class `cls` (for the test page's read-only handle). */
  panel<T extends ViewerPanel>(cls: abstract new (...args: never[]) => T): T {
    const p = this.panels.find((x): x is T => x instanceof cls);
    if (!p) throw new Error(`no ${cls.name} is registered in webview/panels.ts`);
    return p;
  }

  get currentState(): ViewerState {
    return this.state;
  }
}
