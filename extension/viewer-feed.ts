// Feeds one viewer webview from a TraceStore: replays what the store holds when the page (re)loads, then
// live chunks, at most once per frame and in bounded batches. A hidden panel (no retainContextWhenHidden)
// loses its page; it says 'ready' again when shown and catches up from the store. No VS Code API here.

import type { BenchReport, FromViewer, ToViewer } from '../protocol';
import type { ConnectionState } from './connection-state';
import { FramePacer, takeBatch, type Timers } from './frame-pacer';
import type { TraceStore } from './trace-store';

export interface ViewerChannel {
  post(m: ToViewer): Thenable<boolean> | Promise<boolean>;
  visible(): boolean;
}

/** Bytes posted per frame at most: a catching-up viewer gets big messages, not one holding the whole store. */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** Bench reports kept for replay: the newest runs of a session (each a few hundred bytes). */
const MAX_REPORTS = 50;

const FROM_VIEWER_TYPES = new Set(['ready', 'saveImage', 'copyTable', 'export', 'selectCall', 'log']);

/** Checks a message from the page: it runs untrusted content (trace strings), so trust only the shape. */
export function parseFromViewer(m: unknown): FromViewer | null {
  if (typeof m !== 'object' || m === null) return null;
  const type = (m as { type?: unknown }).type;
  return typeof type === 'string' && FROM_VIEWER_TYPES.has(type) ? (m as FromViewer) : null;
}

export class ViewerFeed {
  private ready = false;
  /** Next chunk number to post; -1 means "from the oldest the store keeps". */
  private cursor = -1;
  private readonly pacer: FramePacer;
  private readonly subscription: { dispose(): void };
  private lastConnection: ConnectionState | null = null;
  /** Reports of the runs this window ran, newest last, replayed when the page (re)loads. */
  private readonly reports: { report: BenchReport; runId?: string }[] = [];
  /** A run the user clicked in the tree before the page was ready to hear it. */
  private pendingSelect: Extract<ToViewer, { type: 'selectRun' }> | null = null;
  private lastProgress: Extract<ToViewer, { type: 'progress' }> | null = null;
  private lastDamage: Extract<ToViewer, { type: 'damaged' }> | null = null;
  /** Chunk messages posted (for tests and the log). */
  posted = 0;

  constructor(
    private readonly store: TraceStore,
    private readonly channel: ViewerChannel,
    private readonly init: { source: 'live' | 'file'; title: string },
    timers?: Timers,
    private readonly maxBatchBytes = MAX_BATCH_BYTES,
  ) {
    this.pacer = new FramePacer(() => this.flush(), undefined, timers);
    this.subscription = store.onChange((c) => {
      if (c.type === 'clear') {
        this.cursor = store.endNo;
        if (this.ready) void this.channel.post({ type: 'reset' });
      } else this.pacer.poke();
    });
  }

  /** Handles 'ready'; other messages are the caller's. */
  receive(m: FromViewer): void {
    if (m.type !== 'ready') return;
    this.ready = true;
    this.cursor = -1;
    void this.channel.post({ type: 'init', source: this.init.source, title: this.init.title, recordLimit: this.store.recordLimit });
    if (this.lastConnection) void this.channel.post({ type: 'connection', state: this.lastConnection });
    if (this.lastProgress) void this.channel.post(this.lastProgress);
    if (this.lastDamage) void this.channel.post(this.lastDamage);
    for (const r of this.reports) void this.channel.post({ type: 'report', ...r });
    if (this.pendingSelect) void this.channel.post(this.pendingSelect);
    this.pendingSelect = null;
    this.pacer.poke();
  }

  /** The panel was hidden (its page is gone) or shown (its page will say 'ready'). */
  visibilityChanged(visible: boolean): void {
    if (!visible) this.ready = false;
  }

  connection(state: ConnectionState): void {
    this.lastConnection = state;
    if (this.ready) void this.channel.post({ type: 'connection', state });
  }

  /** A bench report, for run `runId` when known (the viewer then shows it with that run's calls). */
  report(report: BenchReport, runId?: string): void {
    const r = runId === undefined ? { report } : { report, runId };
    this.reports.push(r);
    if (this.reports.length > MAX_REPORTS) this.reports.shift();
    if (this.ready) void this.channel.post({ type: 'report', ...r });
  }

  /** Shows run `runId` on the Compare tab: now, or once the page is ready. */
  selectRun(runId: string): void {
    const m = { type: 'selectRun' as const, runId };
    if (this.ready) void this.channel.post(m);
    else this.pendingSelect = m;
  }

  progress(loadedBytes: number, totalBytes: number, done: boolean): void {
    this.lastProgress = { type: 'progress', loadedBytes, totalBytes, done };
    if (this.ready) void this.channel.post(this.lastProgress);
  }

  damaged(message: string, recordsKept: number): void {
    this.lastDamage = { type: 'damaged', message, recordsKept };
    if (this.ready) void this.channel.post(this.lastDamage);
  }

  private flush(): void {
    if (!this.ready || !this.channel.visible()) return;
    const from = this.cursor < 0 ? 0 : this.cursor;
    const batch = takeBatch(this.store.since(from), this.maxBatchBytes);
    if (batch.length === 0) return;
    for (const c of batch) void this.channel.post({ type: 'chunk', bytes: c.bytes });
    this.posted += batch.length;
    this.cursor = batch[batch.length - 1]!.no + 1;
    if (this.cursor < this.store.endNo) this.pacer.poke();
  }

  dispose(): void {
    this.pacer.dispose();
    this.subscription.dispose();
  }
}
