// The "Linsock" view: the daemon, its guests and their sockets (live, from polling; a comparison's QEMU VMs
// while they run), and the recordings.

import * as vscode from 'vscode';
import { formatBytes, type GuestInfo, type RunInfo, type SocketInfo } from '../protocol';
import { PROBLEM_WORDS, ProblemMemory } from './connection-problem';
import type { Failure } from './connection-state';
import { formatCount } from './format';
import type { LiveTrace, Recording } from './live-trace';
import { readSettings } from './settings';
import type { OpenViewerArgs } from './viewer-panel';

type Node =
  | { kind: 'daemon' }
  | { kind: 'problem'; failure: Failure }
  | { kind: 'guest'; guest: GuestInfo }
  | { kind: 'socket'; socket: SocketInfo }
  | { kind: 'recordings' }
  | { kind: 'recording'; recording: Recording }
  | { kind: 'run'; run: RunInfo };

export class DaemonTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: vscode.Disposable;
  private readonly memory = new ProblemMemory();
  /** The failure the view shows under the daemon, until a session is up again. */
  private problem: Failure | null = null;

  constructor(private readonly live: LiveTrace) {
    this.sub = live.onDidChange(() => {
      this.problem = this.memory.update(live.state, live.lastFailure);
      this.changed.fire(undefined);
    });
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  getChildren(node?: Node): Node[] {
    if (!node) {
      // Nothing to show yet: an empty tree lets the view's welcome text offer Connect and Open Trace File.
      // A failure is not "nothing": the daemon's node says what went wrong.
      if (this.live.state === 'disconnected' && this.live.store.isEmpty && this.live.recordings.length === 0) return this.problem ? [{ kind: 'daemon' }] : [];
      return [{ kind: 'daemon' }, { kind: 'recordings' }];
    }
    switch (node.kind) {
      case 'daemon':
        return [...(this.problem ? [{ kind: 'problem', failure: this.problem } as const] : []), ...this.live.guests.map((guest): Node => ({ kind: 'guest', guest }))];
      case 'guest':
        return node.guest.sockets.map((socket) => ({ kind: 'socket', socket }));
      case 'recordings':
        return [
          ...this.live.recordings.map((recording): Node => ({ kind: 'recording', recording })).reverse(),
          ...this.live.store.runs.map((run): Node => ({ kind: 'run', run })).reverse(),
        ];
      default:
        return [];
    }
  }

  getTreeItem(node: Node): vscode.TreeItem {
    const C = vscode.TreeItemCollapsibleState;
    switch (node.kind) {
      case 'daemon': {
        const { state, connection } = this.live;
        const item = new vscode.TreeItem(connection.daemon?.daemon ?? 'linsockd', state === 'connected' || this.problem ? C.Expanded : C.None);
        item.description = `${state} · ${readSettings().daemonUrl}`;
        item.iconPath = new vscode.ThemeIcon(state === 'connected' ? 'vm-active' : state === 'disconnected' ? 'vm-outline' : 'sync~spin');
        item.contextValue = `daemon.${state}`;
        if (state === 'disconnected') item.command = { command: 'linsock.connect', title: vscode.l10n.t('Connect to Daemon…') };
        return item;
      }
      case 'problem': {
        const f = node.failure;
        const item = new vscode.TreeItem(vscode.l10n.t(PROBLEM_WORDS[f.kind].title), C.None);
        item.description = f.detail.slice(0, 200);
        const next = this.live.state === 'reconnecting' ? vscode.l10n.t('Trying again by itself; Disconnect stops it.') : vscode.l10n.t('Click to connect again.');
        item.tooltip = `${f.detail}\n${next}`;
        item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
        item.id = 'problem';
        if (this.live.state === 'disconnected') item.command = { command: 'linsock.connect', title: vscode.l10n.t('Connect to Daemon…') };
        else item.command = { command: 'linsock.showLog', title: vscode.l10n.t('Show Log') };
        return item;
      }
      case 'guest': {
        const g = node.guest;
        const item = new vscode.TreeItem(g.name, g.sockets.length ? C.Expanded : C.None);
        if (g.vm) {
          // A comparison's QEMU VM, listed while it runs: how its CPU runs and which NIC QEMU emulates.
          const vm = g.vm;
          const nic = vm.nic ?? vscode.l10n.t('no NIC');
          item.description = vm.state === 'booting' ? vscode.l10n.t('QEMU VM · booting · {0}', nic) : vscode.l10n.t('QEMU VM · {0} · {1}{2}', vm.accel ?? '?', nic, vm.state === 'stopping' ? vscode.l10n.t(' · stopping') : '');
          item.tooltip = vscode.l10n.t('QEMU VM of run {0} ({1})\naccel {2}; NIC {3}; {4}', vm.runId, vm.state, vm.accel ?? vscode.l10n.t('chosen at boot'), vm.nic ?? vscode.l10n.t('none'), vm.delegated ? vscode.l10n.t('calls delegated over virtio-serial') : vscode.l10n.t('no delegation channel'));
          item.iconPath = new vscode.ThemeIcon(vm.state === 'booting' ? 'loading~spin' : 'vm-running');
        } else {
          item.description = vscode.l10n.t('{0} · {1} sockets', g.transport, g.sockets.length);
          item.iconPath = new vscode.ThemeIcon('vm');
        }
        item.id = `guest:${g.name}`;
        return item;
      }
      case 'socket': {
        const s = node.socket;
        const item = new vscode.TreeItem(`#${s.handle} ${s.kind}`, C.None);
        item.description = `${s.state} · ↓${formatBytes(s.bytesIn)} ↑${formatBytes(s.bytesOut)}`;
        item.tooltip = [s.local && vscode.l10n.t('local {0}', s.local), s.remote && vscode.l10n.t('remote {0}', s.remote)].filter(Boolean).join('\n') || undefined;
        item.iconPath = new vscode.ThemeIcon(s.kind === 'listener' ? 'radio-tower' : 'plug');
        return item;
      }
      case 'recordings': {
        const t = this.live.store.totals;
        const item = new vscode.TreeItem(vscode.l10n.t('Recordings'), C.Expanded);
        item.description = vscode.l10n.t('{0} records held, {1} calls', formatCount(t.records), formatCount(t.calls));
        item.iconPath = new vscode.ThemeIcon('history');
        item.command = { command: 'linsock.openViewer', title: vscode.l10n.t('Open Trace Viewer') };
        return item;
      }
      case 'recording': {
        const r = node.recording;
        const item = new vscode.TreeItem(r.label, C.None);
        item.description = vscode.l10n.t('{0} records{1}', formatCount(r.records), r.endedAt ? '' : vscode.l10n.t(' · recording'));
        item.iconPath = new vscode.ThemeIcon(r.endedAt ? 'record-keys' : 'record');
        item.command = { command: 'linsock.openViewer', title: vscode.l10n.t('Open Trace Viewer') };
        return item;
      }
      case 'run': {
        const r = node.run;
        const item = new vscode.TreeItem(`${r.workload} · ${r.paths.join(' vs ')}`, C.None);
        item.description = r.host.mode ?? '';
        item.tooltip = `${r.id}\n${r.host.kernel} · ${r.host.cpu} · MTU ${r.host.mtu}`;
        item.iconPath = new vscode.ThemeIcon('graph');
        // clicking a run shows it on the viewer's Compare tab
        item.command = { command: 'linsock.openViewer', title: vscode.l10n.t('Compare This Run'), arguments: [{ runId: r.id } satisfies OpenViewerArgs] };
        return item;
      }
    }
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}
