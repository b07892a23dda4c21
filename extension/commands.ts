// Every command of the palette (category "Linsock"). Each one checks that it makes sense now and, when it
// does not, says why and offers the step that makes it possible.

import * as vscode from 'vscode';
import { exportTrace, type ExportArgs } from './export-command';
import type { LiveTrace } from './live-trace';
import type { RecordCodec } from './record-codec';
import { runComparison, type RunArgs } from './run-comparison';
import { readSettings } from './settings';
import { showActions } from './status-item';
import type { TokenSource } from './token-source';
import { TRACE_FILE_VIEW_TYPE } from './trace-file-editor';
import type { DaemonTree } from './daemon-tree';
import type { LiveViewer, OpenViewerArgs } from './viewer-panel';
import { needConnection } from './need-connection';

export interface CommandDeps {
  live: LiveTrace;
  viewer: LiveViewer;
  tree: DaemonTree;
  tokens: TokenSource;
  codec: RecordCodec;
  log: vscode.LogOutputChannel;
}

/** Arguments of linsock.clearTrace: `confirm: false` skips the question (tests, other extensions). */
export interface ClearArgs {
  confirm?: boolean;
}

/** Arguments of linsock.connect that skip the URL prompt (tests, links). */
export interface ConnectArgs {
  prompt?: boolean;
}

export function registerCommands(d: CommandDeps): vscode.Disposable[] {
  const { live, viewer, log } = d;
  const reg = (id: string, fn: (...args: never[]) => unknown) => vscode.commands.registerCommand(id, fn);
  return [
    reg('linsock.connect', async (args?: ConnectArgs) => {
      if (live.state === 'connected') {
        void vscode.window.showInformationMessage(vscode.l10n.t('Already connected to {0}.', live.connection.daemon?.daemon ?? readSettings().daemonUrl));
        return live.state;
      }
      if (args?.prompt !== false) {
        const current = readSettings().daemonUrl;
        const url = await vscode.window.showInputBox({
          title: vscode.l10n.t('Linsock: Connect to Daemon'),
          prompt: vscode.l10n.t('The trace URL that linsockd printed in its ready line'),
          value: current,
          ignoreFocusOut: true,
          validateInput: (v) => (/^wss?:\/\/[^/\s]+/.test(v.trim()) ? null : vscode.l10n.t('A ws:// or wss:// URL, e.g. ws://127.0.0.1:7717/trace')),
        });
        if (url === undefined) return live.state;
        if (url.trim() !== current) await vscode.workspace.getConfiguration('linsock').update('daemon.url', url.trim(), vscode.ConfigurationTarget.Global);
      }
      return live.connect(true);
    }),
    reg('linsock.disconnect', () => {
      if (live.state === 'disconnected') return void vscode.window.showInformationMessage(vscode.l10n.t('Not connected to linsockd.'));
      live.disconnect();
    }),
    reg('linsock.startRecording', async () => {
      if (!needConnection(live, vscode.l10n.t('Cannot start recording'))) return false;
      if (live.connection.recording) {
        void vscode.window.showInformationMessage(vscode.l10n.t('Already recording.'));
        return true;
      }
      await live.startRecording();
      viewer.show(true);
      return true;
    }),
    reg('linsock.stopRecording', async () => {
      if (!live.connection.recording) return void vscode.window.showInformationMessage(vscode.l10n.t('Not recording: nothing to stop.'));
      await live.stopRecording().catch((err: Error) => log.warn(`stop recording: ${err.message}`));
    }),
    reg('linsock.openViewer', (args?: OpenViewerArgs) => {
      const feed = viewer.show();
      if (typeof args?.runId === 'string') feed.selectRun(args.runId);
    }),
    reg('linsock.runComparison', (args?: RunArgs) => runComparison(live, viewer, log, args ?? {})),
    reg('linsock.exportTrace', (args?: ExportArgs) => exportTrace(live.store, d.codec, log, args ?? {})),
    reg('linsock.openTraceFile', async (uri?: vscode.Uri) => {
      const target =
        uri ??
        (await vscode.window.showOpenDialog({ title: vscode.l10n.t('Open Trace File'), canSelectMany: false, filters: { [vscode.l10n.t('Linsock traces')]: ['lstrace', 'json'] } }))?.[0];
      if (!target) return;
      await vscode.commands.executeCommand('vscode.openWith', target, TRACE_FILE_VIEW_TYPE);
    }),
    reg('linsock.clearTrace', async (args?: ClearArgs) => {
      if (live.store.isEmpty) {
        void vscode.window.showInformationMessage(vscode.l10n.t('The trace is already empty.'));
        return false;
      }
      if (args?.confirm !== false) {
        // The records exist nowhere else (the daemon's ring moves on): deleting them needs a yes.
        const clear = vscode.l10n.t('Clear');
        const { records, calls } = live.store.totals;
        const pick = await vscode.window.showWarningMessage(
          vscode.l10n.t('Clear the trace?'),
          { modal: true, detail: vscode.l10n.t('The {0} records held ({1} calls) are deleted. Export the trace first to keep them.', records, calls) },
          clear,
        );
        if (pick !== clear) return false;
      }
      live.clear();
      log.info('trace cleared');
      return true;
    }),
    reg('linsock.showLog', () => log.show()),
    reg('linsock.enterToken', async () => {
      const url = readSettings().daemonUrl;
      if (await d.tokens.ask(url)) {
        if (live.state === 'disconnected') await live.connect(true);
      }
    }),
    reg('linsock.showActions', () => showActions(live)),
    reg('linsock.refreshGuests', () => d.tree.refresh()),
  ];
}
