// The extension's settings (package.json contributes.configuration), read in one place.

import * as vscode from 'vscode';

export const DEFAULT_DAEMON_URL = 'ws://127.0.0.1:7717/trace';

export interface LinsockSettings {
  daemonUrl: string;
  tokenFile: string;
  autoConnect: boolean;
  recordLimit: number;
}

export function readSettings(): LinsockSettings {
  const c = vscode.workspace.getConfiguration('linsock');
  const limit = c.get<number>('viewer.recordLimit', 1_000_000);
  return {
    daemonUrl: (c.get<string>('daemon.url', DEFAULT_DAEMON_URL) || DEFAULT_DAEMON_URL).trim(),
    tokenFile: (c.get<string>('daemon.tokenFile', '') ?? '').trim(),
    autoConnect: c.get<boolean>('daemon.autoConnect', false),
    recordLimit: Number.isSafeInteger(limit) && limit >= 1000 ? limit : 1_000_000,
  };
}

export function openSettings(key = 'linsock'): Thenable<unknown> {
  return vscode.commands.executeCommand('workbench.action.openSettings', key);
}
