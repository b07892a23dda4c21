// The read-only custom editor for trace files (*.lstrace, *.linsock.json: the readable formats of the
// registry): the file loads in a worker into its own store, with progress, while the viewer shows what has
// arrived; damage, skipped events and notes about the file are told to the user.

import { basename } from 'node:path';
import * as vscode from 'vscode';
import { exportTrace } from './export-command';
import type { RecordCodec } from './record-codec';
import { readSettings } from './settings';
import { loadTraceFile, type LoadResult } from './trace-file-loader';
import { TraceStore } from './trace-store';
import { attachViewer, renderViewer } from './viewer-panel';
import type { ViewerFeed } from './viewer-feed';

export const TRACE_FILE_VIEW_TYPE = 'linsock.traceFile';

class TraceFileDocument implements vscode.CustomDocument {
  readonly store = new TraceStore(readSettings().recordLimit);
  readonly feeds = new Set<ViewerFeed>();
  private cancelled = false;
  progress = { loaded: 0, total: 0, done: false };
  result: LoadResult | null = null;
  error: string | null = null;
  readonly loaded: Promise<void>;

  constructor(
    readonly uri: vscode.Uri,
    codec: RecordCodec,
    log: vscode.LogOutputChannel,
  ) {
    const t0 = Date.now();
    this.loaded = loadTraceFile(uri.fsPath, this.store, {
      cancelled: () => this.cancelled,
      progress: (loaded, total) => {
        this.progress = { loaded, total, done: false };
        for (const f of this.feeds) f.progress(loaded, total, false);
      },
    }).then(
      (r) => {
        this.result = r;
        this.progress = { loaded: r.bytes, total: r.bytes, done: true };
        for (const f of this.feeds) f.progress(r.bytes, r.bytes, true);
        log.info(`opened ${uri.fsPath}: ${r.records} records (${r.format}) in ${Date.now() - t0} ms${r.damage ? `; damaged: ${r.damage}` : ''}`);
        // What the reader passed over (events that are not Linsock's, or too large) and what the file itself
        // says it left out (a capped Chrome JSON), with the reasons and counts.
        for (const note of [r.skipped, ...r.notes]) {
          if (!note) continue;
          log.warn(`${uri.fsPath}: ${note}`);
          void vscode.window.showWarningMessage(vscode.l10n.t('{0}: {1}. The viewer shows the {2} records read from it.', basename(uri.fsPath), note, r.records));
        }
        if (r.damage) {
          for (const f of this.feeds) f.damaged(r.damage, r.records);
          void vscode.window.showWarningMessage(vscode.l10n.t('{0} is damaged: {1}. The {2} records before the damage are shown.', basename(uri.fsPath), r.damage, r.records));
        }
        if (this.store.totals.evicted > 0)
          void vscode.window.showWarningMessage(vscode.l10n.t('{0} holds more records than linsock.viewer.recordLimit: the oldest {1} are not shown.', basename(uri.fsPath), this.store.totals.evicted));
      },
      (err: Error) => {
        this.error = err.message;
        log.error(`cannot open ${uri.fsPath}: ${err.message}`);
        for (const f of this.feeds) f.damaged(err.message, this.store.totals.records);
        void vscode.window.showErrorMessage(vscode.l10n.t('Cannot open {0}: {1}', basename(uri.fsPath), err.message));
      },
    );
  }

  dispose(): void {
    this.cancelled = true;
    this.store.clear();
  }
}

export class TraceFileEditor implements vscode.CustomReadonlyEditorProvider<TraceFileDocument> {
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly codec: RecordCodec,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  static register(extensionUri: vscode.Uri, codec: RecordCodec, log: vscode.LogOutputChannel): vscode.Disposable {
    return vscode.window.registerCustomEditorProvider(TRACE_FILE_VIEW_TYPE, new TraceFileEditor(extensionUri, codec, log), {
      supportsMultipleEditorsPerDocument: true,
    });
  }

  openCustomDocument(uri: vscode.Uri): TraceFileDocument {
    if (uri.scheme !== 'file') throw new Error(vscode.l10n.t('Linsock opens trace files on the machine where it runs; {0} is not such a file.', uri.toString()));
    return new TraceFileDocument(uri, this.codec, this.log);
  }

  resolveCustomEditor(doc: TraceFileDocument, panel: vscode.WebviewPanel): void {
    const title = basename(doc.uri.fsPath);
    const feed = attachViewer(panel, doc.store, { source: 'file', title }, this.log, () => exportTrace(doc.store, this.codec, this.log));
    doc.feeds.add(feed);
    feed.progress(doc.progress.loaded, doc.progress.total, doc.progress.done);
    if (doc.result?.damage) feed.damaged(doc.result.damage, doc.result.records);
    if (doc.error) feed.damaged(doc.error, doc.store.totals.records);
    panel.onDidDispose(() => doc.feeds.delete(feed));
    renderViewer(panel.webview, this.extensionUri, title);
  }
}
