// The answer of a command that needs the daemon when there is no connection: why, and the way to one.

import * as vscode from 'vscode';
import type { LiveTrace } from './live-trace';

/** True when connected; else says why not and offers to connect (without waiting for the user). */
export function needConnection(live: LiveTrace, what: string): boolean {
  if (live.state === 'connected') return true;
  const connect = vscode.l10n.t('Connect to Daemon…');
  const why = live.state === 'disconnected' ? vscode.l10n.t('not connected to linsockd') : vscode.l10n.t('the connection to linsockd is {0}', live.state);
  void vscode.window.showWarningMessage(vscode.l10n.t('{0}: {1}.', what, why), connect).then((pick) => {
    if (pick === connect) void vscode.commands.executeCommand('linsock.connect');
  });
  return false;
}
