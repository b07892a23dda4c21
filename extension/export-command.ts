// Export Trace…: pick a format and a file, write it with cancellable progress, say where it went.

import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import * as vscode from 'vscode';
import type { RecordCodec } from './record-codec';
import type { TraceStore } from './trace-store';
import { defaultExportName, EXPORT_FORMATS, ExportCancelled, formatInfo, writeExport, type ExportFormat } from './trace-export';
import { defaultSaveFolder } from './viewer-panel';

/** Arguments that skip the pickers (tests, other extensions): { format, path }. */
export interface ExportArgs {
  format?: ExportFormat;
  path?: string;
}

/** Returns the file written, or undefined when the user cancelled or there was nothing to write. */
export async function exportTrace(store: TraceStore, codec: RecordCodec, log: vscode.LogOutputChannel, args: ExportArgs = {}): Promise<string | undefined> {
  if (store.isEmpty) {
    const record = vscode.l10n.t('Start Recording');
    const open = vscode.l10n.t('Open Trace File…');
    void vscode.window.showInformationMessage(vscode.l10n.t('There is no trace to export yet: record one from the daemon, or run a comparison, first.'), record, open).then((pick) => {
      if (pick === record) void vscode.commands.executeCommand('linsock.startRecording');
      if (pick === open) void vscode.commands.executeCommand('linsock.openTraceFile');
    });
    return undefined;
  }
  let format = args.format;
  if (!format) {
    const items = EXPORT_FORMATS.map((f) => ({ label: vscode.l10n.t(f.title), detail: vscode.l10n.t(f.detail), format: f.format }));
    const pick = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('Export Trace: format'), placeHolder: vscode.l10n.t('{0} records', store.totals.records) });
    if (!pick) return undefined;
    format = pick.format;
  }
  let info: ReturnType<typeof formatInfo>;
  try {
    info = formatInfo(format);
  } catch (err) {
    void vscode.window.showErrorMessage((err as Error).message);
    return undefined;
  }
  let path = args.path;
  if (!path) {
    const uri = await vscode.window.showSaveDialog({ title: vscode.l10n.t('Export Trace'), filters: info.filter, defaultUri: defaultSaveFolder(defaultExportName(format, new Date())) });
    if (!uri) return undefined;
    if (uri.scheme !== 'file') {
      void vscode.window.showErrorMessage(vscode.l10n.t('Cannot export to {0}: choose a file on the machine where the extension runs.', uri.toString()));
      return undefined;
    }
    path = uri.fsPath;
  }
  const target = path;
  // The chunks as they are now: records that arrive during the export go to the next one.
  const chunks = [...store.since(0)];
  const t0 = Date.now();
  try {
    const records = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Exporting {0} records', store.totals.records), cancellable: true },
      async (progress, token) => {
        const out = createWriteStream(target);
        const failed = new Promise<never>((_, rej) => out.on('error', rej));
        failed.catch(() => undefined);
        const sink = {
          write: (piece: Uint8Array | string) =>
            Promise.race([failed, new Promise<void>((res) => (out.write(piece) ? res() : out.once('drain', () => res())))]),
        };
        let lastPct = 0;
        try {
          return await writeExport(format, chunks, codec, sink, {
            cancelled: () => token.isCancellationRequested,
            progress: (p) => {
              const pct = Math.floor((100 * p.chunksDone) / p.chunksTotal);
              if (pct > lastPct) progress.report({ increment: pct - lastPct, message: `${pct}%` });
              lastPct = pct;
            },
          });
        } finally {
          await new Promise<void>((res) => out.end(() => res()));
        }
      },
    );
    log.info(`exported ${records} records as ${format} to ${target} in ${Date.now() - t0} ms`);
    const reveal = vscode.l10n.t('Reveal');
    const openIt = vscode.l10n.t('Open');
    void vscode.window.showInformationMessage(vscode.l10n.t('Trace saved to {0} ({1} records).', target, records), reveal, openIt).then(async (pick) => {
      const uri = vscode.Uri.file(target);
      if (pick === reveal) await vscode.commands.executeCommand('revealFileInOS', uri);
      if (pick === openIt) await vscode.commands.executeCommand('vscode.open', uri);
    });
    return target;
  } catch (err) {
    await unlink(target).catch(() => undefined); // no half-written file left behind
    if (err instanceof ExportCancelled) {
      log.info(`export to ${target} cancelled; the partial file was removed`);
      return undefined;
    }
    log.error(`export to ${target} failed: ${(err as Error).message}`);
    void vscode.window.showErrorMessage(vscode.l10n.t('Export to {0} failed: {1}', target, (err as Error).message));
    return undefined;
  }
}
