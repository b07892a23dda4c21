// The status bar item: connection state, live calls/s, recording; a click offers what can be done now.

import * as vscode from 'vscode';
import { PROBLEM_WORDS, ProblemMemory } from './connection-problem';
import { formatCount } from './format';
import type { LiveTrace } from './live-trace';

export class StatusItem implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('linsock.status', vscode.StatusBarAlignment.Left, 50);
  private readonly sub: vscode.Disposable;
  private readonly problem = new ProblemMemory();

  constructor(private readonly live: LiveTrace) {
    this.item.name = 'Linsock';
    this.item.command = 'linsock.showActions';
    this.sub = live.onDidChange(() => this.render());
    this.render();
    this.item.show();
  }

  private render(): void {
    const { state, status, connection, store } = this.live;
    const h = connection.health;
    const odd = h.damagedChunks + h.violations + h.seq.gaps + h.seq.regressions + h.seq.duplicates > 0;
    const rec = `${connection.recording ? ' $(record)' : ''}${odd ? ' $(warning)' : ''}`;
    // What went wrong, in a few words, until a session is up again: the tooltip has the whole story.
    const problem = this.problem.update(state, this.live.lastFailure);
    const why = problem ? vscode.l10n.t(PROBLEM_WORDS[problem.kind].short) : '';
    switch (state) {
      case 'connected': {
        const rate = status ? vscode.l10n.t('{0} calls/s', formatCount(status.callsPerSec)) : '';
        this.item.text = `$(pulse) Linsock${rec} ${rate}`.trimEnd();
        this.item.backgroundColor = undefined;
        break;
      }
      case 'connecting':
        this.item.text = `$(sync~spin) Linsock`;
        break;
      case 'reconnecting':
        this.item.text = `$(sync~spin) Linsock${rec} ${vscode.l10n.t('reconnecting')}${why ? ` (${why})` : ''}`;
        this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
        break;
      case 'disconnected':
        this.item.text = problem ? `$(debug-disconnect) Linsock $(error) ${why}` : `$(debug-disconnect) Linsock`;
        this.item.backgroundColor = problem ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
        break;
    }
    const lines = [
      vscode.l10n.t('Linsock: {0}', state),
      connection.daemon ? vscode.l10n.t('Daemon: {0}', connection.daemon.daemon) : '',
      vscode.l10n.t('Records held: {0} ({1} calls)', formatCount(store.totals.records), formatCount(store.totals.calls)),
      store.totals.droppedByDaemon > 0 ? vscode.l10n.t('Dropped by the daemon: {0}', formatCount(store.totals.droppedByDaemon)) : '',
      store.totals.evicted > 0 ? vscode.l10n.t('Let go to stay within the limits: {0} records', formatCount(store.totals.evicted)) : '',
      h.seq.gaps + h.seq.regressions + h.seq.duplicates > 0
        ? vscode.l10n.t('Record numbering: {0} gaps ({1} missing), {2} steps back, {3} repeats dropped', h.seq.gaps, formatCount(h.seq.missing), h.seq.regressions, h.seq.duplicates)
        : '',
      h.damagedChunks > 0 ? vscode.l10n.t('Damaged chunks from the daemon: {0}', h.damagedChunks) : '',
      h.violations > 0 ? vscode.l10n.t('Sessions ended for breaking the protocol: {0}', h.violations) : '',
      problem ? vscode.l10n.t('Last problem: {0}: {1}', vscode.l10n.t(PROBLEM_WORDS[problem.kind].title), problem.detail.slice(0, 200)) : '',
      problem && state === 'reconnecting' ? vscode.l10n.t('Trying again by itself; Disconnect stops it.') : '',
      vscode.l10n.t('Click for actions'),
    ];
    this.item.tooltip = lines.filter(Boolean).join('\n');
    this.item.accessibilityInformation = { label: lines.filter(Boolean).join(', ') };
  }

  dispose(): void {
    this.sub.dispose();
    this.item.dispose();
  }
}

/** The actions that make sense in the current state, for the status bar's click. */
export async function showActions(live: LiveTrace): Promise<void> {
  type Item = vscode.QuickPickItem & { command: string };
  const items: Item[] = [];
  const add = (command: string, label: string, detail?: string) => items.push({ command, label, ...(detail ? { detail } : {}) });
  if (live.state === 'connected') {
    add('linsock.runComparison', `$(play) ${vscode.l10n.t('Run Comparison…')}`);
    if (live.connection.recording) add('linsock.stopRecording', `$(debug-stop) ${vscode.l10n.t('Stop Recording')}`);
    else add('linsock.startRecording', `$(record) ${vscode.l10n.t('Start Recording')}`);
    add('linsock.disconnect', `$(debug-disconnect) ${vscode.l10n.t('Disconnect')}`);
  } else if (live.state === 'disconnected') {
    add('linsock.connect', `$(plug) ${vscode.l10n.t('Connect to Daemon…')}`);
  } else {
    add('linsock.disconnect', `$(debug-disconnect) ${vscode.l10n.t('Stop Reconnecting')}`);
  }
  add('linsock.openViewer', `$(graph) ${vscode.l10n.t('Open Trace Viewer')}`);
  if (!live.store.isEmpty) {
    add('linsock.exportTrace', `$(desktop-download) ${vscode.l10n.t('Export Trace…')}`);
    add('linsock.clearTrace', `$(clear-all) ${vscode.l10n.t('Clear Trace')}`);
  }
  add('linsock.openTraceFile', `$(folder-opened) ${vscode.l10n.t('Open Trace File…')}`);
  add('linsock.showLog', `$(output) ${vscode.l10n.t('Show Log')}`);
  const pick = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('Linsock ({0})', live.state) });
  if (pick) await vscode.commands.executeCommand(pick.command);
}
