// The trace viewer in a webview: its options and page (one place), the live panel (one per window,
// restored after a reload by a serializer), and what the page may ask of the host.

import * as vscode from 'vscode';
import type { FromViewer, ToViewer } from '../protocol';
import type { LiveTrace } from './live-trace';
import type { TraceStore } from './trace-store';
import { ViewerFeed, parseFromViewer } from './viewer-feed';
import { viewerPage } from './viewer-page';

export const VIEWER_VIEW_TYPE = 'linsock.viewer';

/** Arguments of linsock.openViewer: a run to show on the Compare tab (a run clicked in the tree). */
export interface OpenViewerArgs {
  runId?: string;
}

/** Scripts on; files only from dist/ and media/. No retainContextWhenHidden: the page keeps its view state with setState. */
export function viewerOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

export function renderViewer(webview: vscode.Webview, extensionUri: vscode.Uri, title: string): void {
  webview.options = viewerOptions(extensionUri);
  webview.html = viewerPage({
    cspSource: webview.cspSource,
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js')).toString(),
    styleUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'viewer.css')).toString(),
    title,
  });
}

/** Wires a panel to a store: the feed, and the page's requests. Disposed with the panel. */
export function attachViewer(
  panel: vscode.WebviewPanel,
  store: TraceStore,
  init: { source: 'live' | 'file'; title: string },
  log: vscode.LogOutputChannel,
  /** What the page's Export button exports: the records of this viewer's store. */
  exportShown: () => Thenable<unknown>,
): ViewerFeed {
  const webview = panel.webview;
  const feed = new ViewerFeed(store, { post: (m: ToViewer) => webview.postMessage(m), visible: () => panel.visible }, init);
  const subs = [
    webview.onDidReceiveMessage((raw: unknown) => {
      const m = parseFromViewer(raw);
      if (!m) return log.warn(`ignored a malformed message from the viewer: ${JSON.stringify(raw)?.slice(0, 200)}`);
      feed.receive(m);
      void handleViewerRequest(m, log, exportShown);
    }),
    panel.onDidChangeViewState((e) => feed.visibilityChanged(e.webviewPanel.visible)),
  ];
  panel.onDidDispose(() => {
    feed.dispose();
    for (const s of subs) s.dispose();
  });
  return feed;
}

async function handleViewerRequest(m: FromViewer, log: vscode.LogOutputChannel, exportShown: () => Thenable<unknown>): Promise<void> {
  switch (m.type) {
    case 'export':
      await exportShown();
      return;
    case 'copyTable':
      await vscode.env.clipboard.writeText(String(m.text));
      void vscode.window.showInformationMessage(vscode.l10n.t('Comparison table copied as {0}.', m.format === 'csv' ? 'CSV' : 'Markdown'));
      return;
    case 'saveImage':
      return saveImage(m.format, String(m.data), log);
    case 'log':
      log[m.level === 'error' ? 'error' : m.level === 'warn' ? 'warn' : 'info'](`viewer: ${String(m.message).slice(0, 2000)}`);
      return;
    default:
      return;
  }
}

async function saveImage(format: 'png' | 'svg', data: string, log: vscode.LogOutputChannel): Promise<void> {
  const ext = format === 'svg' ? 'svg' : 'png';
  const uri = await vscode.window.showSaveDialog({ filters: { [ext.toUpperCase()]: [ext] }, defaultUri: defaultSaveFolder(`linsock-comparison.${ext}`) });
  if (!uri) return;
  // PNG arrives as a data URL; SVG as its text.
  const bytes = format === 'png' ? Buffer.from(data.replace(/^data:image\/png;base64,/, ''), 'base64') : Buffer.from(data, 'utf8');
  await vscode.workspace.fs.writeFile(uri, bytes);
  log.info(`image saved to ${uri.fsPath}`);
  void vscode.window.showInformationMessage(vscode.l10n.t('Image saved to {0}', uri.fsPath));
}

/** Where save dialogs start: the first workspace folder, else the home folder. */
export function defaultSaveFolder(name: string): vscode.Uri | undefined {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return folder ? vscode.Uri.joinPath(folder, name) : undefined;
}

/** The live viewer: one panel per window, fed by the live store. */
export class LiveViewer implements vscode.WebviewPanelSerializer, vscode.Disposable {
  private panel: vscode.WebviewPanel | null = null;
  private feed: ViewerFeed | null = null;
  private readonly sub: vscode.Disposable;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly live: LiveTrace,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.sub = live.onDidChange(() => this.feed?.connection(live.state));
  }

  get isOpen(): boolean {
    return this.panel !== null;
  }

  show(preserveFocus = false): ViewerFeed {
    if (this.panel) {
      this.panel.reveal(undefined, preserveFocus);
      return this.feed!;
    }
    const panel = vscode.window.createWebviewPanel(VIEWER_VIEW_TYPE, vscode.l10n.t('Linsock Trace'), { viewColumn: vscode.ViewColumn.Active, preserveFocus }, viewerOptions(this.extensionUri));
    return this.adopt(panel);
  }

  /** Restores the panel VS Code kept across a reload; the page restores its own view state (getState). */
  async deserializeWebviewPanel(panel: vscode.WebviewPanel): Promise<void> {
    if (this.panel) {
      panel.dispose(); // one live viewer per window
      return;
    }
    this.adopt(panel);
  }

  private adopt(panel: vscode.WebviewPanel): ViewerFeed {
    this.panel = panel;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'linsock-activity.svg');
    const feed = attachViewer(panel, this.live.store, { source: 'live', title: vscode.l10n.t('Live trace') }, this.log, () =>
      vscode.commands.executeCommand('linsock.exportTrace'),
    );
    feed.connection(this.live.state);
    this.feed = feed;
    panel.onDidDispose(() => {
      this.panel = null;
      this.feed = null;
    });
    renderViewer(panel.webview, this.extensionUri, vscode.l10n.t('Linsock Trace'));
    return feed;
  }

  dispose(): void {
    this.sub.dispose();
    this.panel?.dispose();
  }
}
