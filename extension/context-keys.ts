// The context keys that `when` clauses in package.json read; set only here.

import * as vscode from 'vscode';

export type ContextKey = 'linsock.connected' | 'linsock.recording' | 'linsock.hasTrace' | 'linsock.state';

const last = new Map<ContextKey, unknown>();

export function setContext(key: ContextKey, value: boolean | string): void {
  if (last.get(key) === value) return;
  last.set(key, value);
  void vscode.commands.executeCommand('setContext', key, value);
}
