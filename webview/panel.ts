// What a viewer panel (one tab) is, and what the viewer lends it. The viewer core knows panels only
// through this interface: it builds a tab per registered panel (panels.ts), draws the shown one each
// frame, routes keys to it, and tells every panel about host messages and new records.

import type { ToViewer, ViewerState } from '../protocol/webview-messages';
import type { CallStore } from './call-store';
import type { SourceStatus } from './host-messages';
import type { KeyBinding } from './keymap';
import type { Palette } from './palette';
import type { Host } from './vscode-api';

/** A warning line above the tabs: `kind` becomes the class `notice-<kind>`. */
export interface Notice {
  kind: string;
  text: string;
}

/** What one ingested chunk changed beyond appending: panels that index slots must follow renumbering. */
export interface StoreChange {
  /** Oldest calls dropped by the record limit during this chunk: every later slot moved down by this. */
  droppedCalls: number;
  /** True when frames were dropped (frame indices renumbered). */
  droppedFrames: boolean;
}

export interface PanelContext {
  readonly store: CallStore;
  readonly host: Host;
  /** The saved state (getState/setState): a panel may read and change its fields, then call save(). */
  readonly state: ViewerState;
  /** Where floating elements (tooltips) go: above every tab. */
  readonly overlays: HTMLElement;
  /** What the host said about the records' source (live or a file, title, connection). */
  readonly source: Readonly<SourceStatus>;
  /** The theme's colours; a new object after every theme change. */
  palette(): Palette;
  /** Asks for a frame (the one scheduler draws at most once per animation frame). */
  request(): void;
  /** Saves the state soon (debounced). */
  save(): void;
  /** Shows panel `id`, as the program (an action that needs that view). */
  show(id: string): void;
  /** Shows panel `id` unless the user picked a tab: e.g. Compare once a run has several paths. */
  suggest(id: string): void;
  /** Shows or hides the keyboard help; no argument toggles it. */
  toggleKeyHelp(force?: boolean): void;
}

export interface ViewerPanel {
  /** Tab id: the DOM ids are `tab-<id>` and `view-<id>`, and ViewerState.tab holds it. */
  readonly id: string;
  /** The tab's label. */
  readonly title: string;
  /** The letter that shows this panel from any tab (lower case; Shift also works), if any. */
  readonly key?: string;
  /** Keys that act while this panel shows (they also fill the keyboard help). */
  readonly keys?: readonly KeyBinding[];
  /** Builds the panel's DOM into its tab view; called once. */
  mount(view: HTMLElement): void;
  /** The panel's tab became the shown one, or stopped being it. */
  show(): void;
  hide(): void;
  /** Called every frame: draw when shown; may also run while hidden (cheap state upkeep only). */
  frame(): void;
  /** After the core handled a host message (the store already reset, for instance). */
  onMessage?(m: ToViewer): void;
  /** After a chunk of records was ingested. */
  onRecords?(change: StoreChange): void;
  /** Parts of the status line ("12 match"). */
  status?(): string[];
  notices?(): Notice[];
  /** Just before the state is saved: write what is not written as it changes (the visible window). */
  beforeSave?(state: ViewerState): void;
}

/** A registry entry: builds a panel for the viewer. */
export type PanelFactory = (context: PanelContext) => ViewerPanel;
