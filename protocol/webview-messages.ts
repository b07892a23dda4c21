// Messages between the extension host and the trace viewer webview: one discriminated union each way,
// so both sides type-check every message. Records cross as .lstrace record chunks (transferable bytes).

import type { BenchReport } from './trace-stream';

/** What the viewer keeps with getState/setState and the panel serializer restores. */
export interface ViewerState {
  /** The shown panel's id (webview/panels.ts registers them: 'compare', 'timeline', ...). */
  tab: string;
  /** Visible window in host ns, or null for "fit everything". */
  window: { start: number; end: number } | null;
  follow: boolean;
  filter: { text: string; op: string; guest: string; path: string; result: string; minDurationUs: number; socket?: string };
  selectedSeq: number | null;
  /** The Compare tab's picks (run ids): the run shown, and the run it is compared with (A/B), if any.
   *  A null run follows the newest run. */
  compare?: { run: string | null; against: string | null };
}

export type ToViewer =
  | { type: 'init'; source: 'live' | 'file'; title: string; recordLimit: number }
  /** A chunk of records in the .lstrace record encoding. */
  | { type: 'chunk'; bytes: Uint8Array }
  | { type: 'reset' }
  | { type: 'progress'; loadedBytes: number; totalBytes: number; done: boolean }
  /** A file or stream broke: what happened, and how many records before the damage were kept. */
  | { type: 'damaged'; message: string; recordsKept: number }
  /** A bench report; `runId` names the run (RunInfo.id) it measured, when known. */
  | { type: 'report'; report: BenchReport; runId?: string }
  /** Show run `runId` on the Compare tab (the user clicked it in the tree); `against` picks run B for A/B. */
  | { type: 'selectRun'; runId: string; against?: string }
  | { type: 'connection'; state: 'disconnected' | 'connecting' | 'connected' | 'reconnecting' };

export type FromViewer =
  | { type: 'ready' }
  | { type: 'saveImage'; format: 'png' | 'svg'; data: string }
  | { type: 'copyTable'; format: 'markdown' | 'csv'; text: string }
  | { type: 'export' }
  | { type: 'selectCall'; seq: number }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };
