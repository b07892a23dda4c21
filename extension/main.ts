// The extension's entry point: builds the parts and hands them their dependencies. Bundled to
// dist/extension.js (CommonJS, `vscode` external) by scripts/build.mjs.

import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { DaemonTree } from './daemon-tree';
import { LiveTrace } from './live-trace';
import { LSTRACE } from './record-codec';
import { readSettings } from './settings';
import { StatusItem } from './status-item';
import { TokenSource } from './token-source';
import { TraceFileEditor } from './trace-file-editor';
import { LiveViewer, VIEWER_VIEW_TYPE } from './viewer-panel';

/** What the extension offers other extensions and its own tests (exports of activate). */
export interface LinsockApi {
  state(): string;
  recording(): boolean;
  totals(): { records: number; calls: number; frames: number; callsByPath: Record<string, number>; evicted: number };
  lastSeq(): number;
  daemon(): { daemon: string; nextSeq: number; restarted: boolean } | null;
  viewerOpen(): boolean;
  /** The daemon's own counters (asks it). */
  daemonStatus(): Promise<{ calls: number; nextSeq: number }>;
}

let live: LiveTrace | undefined;

/**
 * LINSOCK_HEARTBEAT_MS="every,timeout": the heartbeat's ping interval and silence limit, for tests that
 * must see a silent daemon noticed in seconds rather than the default 15 s. Not a setting: no user needs it.
 */
function heartbeatFromEnv(log: vscode.LogOutputChannel): { heartbeatMs?: number; heartbeatTimeoutMs?: number } {
  const raw = process.env.LINSOCK_HEARTBEAT_MS;
  if (!raw) return {};
  const [every, timeout] = raw.split(',').map(Number);
  if (!every || !timeout || every < 100 || timeout < every || timeout > 600_000) {
    log.warn(`LINSOCK_HEARTBEAT_MS='${raw}' ignored: expected "every,timeout" in ms, 100 <= every <= timeout <= 600000`);
    return {};
  }
  log.info(`heartbeat every ${every} ms, silence limit ${timeout} ms (LINSOCK_HEARTBEAT_MS)`);
  return { heartbeatMs: every, heartbeatTimeoutMs: timeout };
}

export function activate(context: vscode.ExtensionContext): LinsockApi {
  const log = vscode.window.createOutputChannel('Linsock', { log: true });
  const version = String((context.extension.packageJSON as { version?: string }).version ?? '0');
  const tokens = new TokenSource(context.secrets, log);
  live = new LiveTrace(LSTRACE, tokens, log, `linsock-vscode/${version} (${vscode.env.appName} ${vscode.version})`, heartbeatFromEnv(log));
  const viewer = new LiveViewer(context.extensionUri, live, log);
  const tree = new DaemonTree(live);
  context.subscriptions.push(
    log,
    live,
    viewer,
    tree,
    new StatusItem(live),
    vscode.window.registerTreeDataProvider('linsock.explorer', tree),
    vscode.window.registerWebviewPanelSerializer(VIEWER_VIEW_TYPE, viewer),
    TraceFileEditor.register(context.extensionUri, LSTRACE, log),
    ...registerCommands({ live, viewer, tree, tokens, codec: LSTRACE, log }),
  );
  log.info(`Linsock ${version} active; daemon URL ${readSettings().daemonUrl}`);
  if (readSettings().autoConnect) void live.connect(false);

  const l = live;
  return {
    state: () => l.state,
    recording: () => l.connection.recording,
    totals: () => ({ ...l.store.totals, callsByPath: { ...l.store.totals.callsByPath } }),
    lastSeq: () => l.connection.lastSeq,
    daemon: () => l.connection.daemon,
    viewerOpen: () => viewer.isOpen,
    daemonStatus: () => l.connection.status(),
  };
}

export function deactivate(): void {
  // The subscriptions dispose everything; closing the socket promptly keeps the daemon's session list honest.
  live?.disconnect();
  live = undefined;
}
