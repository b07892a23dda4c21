// The live side of the extension: the connection to linsockd, the store of what it streamed, the daemon's
// guests and status (polled while connected) and the recordings. One object that drives the status bar,
// the tree, the context keys and the live viewer, so they never disagree.

import * as vscode from 'vscode';
import type { DaemonStatus, GuestInfo } from '../protocol';
import { setContext } from './context-keys';
import type { ConnectionState, Failure } from './connection-state';
import { DaemonConnection, type ConnectionOptions } from './daemon-connection';
import type { RecordCodec } from './record-codec';
import { openSettings, readSettings } from './settings';
import { isLocalDaemon } from './token-file';
import type { TokenSource } from './token-source';
import { TraceStore } from './trace-store';

export interface Recording {
  label: string;
  startedAt: Date;
  endedAt: Date | null;
  /** Records received while it ran. */
  records: number;
}

/** Recordings listed in the tree; older ones go first. */
const MAX_RECORDINGS = 50;
const POLL_MS = 1000;

export class LiveTrace implements vscode.Disposable {
  readonly store: TraceStore;
  readonly connection: DaemonConnection;
  guests: GuestInfo[] = [];
  status: DaemonStatus | null = null;
  readonly recordings: Recording[] = [];
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private poll: NodeJS.Timeout | null = null;
  private pollTick = 0;
  /** The last failure of the connection, kept for the status bar's tooltip until a session is up again. */
  lastFailure: Failure | null = null;
  /** A token the user typed in this session, offered when no file or secret has one. */
  private typedToken: string | undefined;
  /** Failures of an automatic connection go to the log only; those of a user's request are shown. */
  private quiet = false;
  private settleWaiters: ((s: ConnectionState) => void)[] = [];

  constructor(
    codec: RecordCodec,
    private readonly tokens: TokenSource,
    private readonly log: vscode.LogOutputChannel,
    client: string,
    /** The heartbeat's timings when not the defaults (main.ts: tests shorten them). */
    heartbeat: Pick<ConnectionOptions, 'heartbeatMs' | 'heartbeatTimeoutMs'> = {},
  ) {
    this.store = new TraceStore(readSettings().recordLimit);
    this.connection = new DaemonConnection({
      url: () => readSettings().daemonUrl,
      token: async () => (await this.tokens.find(readSettings().daemonUrl)) ?? this.typedToken,
      codec,
      client,
      log: (level, message) => this.log[level](message),
      ...heartbeat,
    });
    this.connection.onState((c) => this.stateChanged(c.state, c.failure, c.retrying));
    this.connection.onRecords(({ bytes, records }) => {
      this.store.append(bytes, records);
      const rec = this.recordings[this.recordings.length - 1];
      if (rec && rec.endedAt === null) rec.records += records.length;
    });
    this.store.onChange(() => setContext('linsock.hasTrace', !this.store.isEmpty));
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('linsock.viewer.recordLimit')) this.store.setLimit(readSettings().recordLimit);
        if (e.affectsConfiguration('linsock.daemon.url') && this.connection.state !== 'disconnected') {
          this.log.info('the daemon URL changed: connecting to the new one');
          this.connection.disconnect();
          this.connection.connect();
        }
      }),
    );
    setContext('linsock.connected', false);
    setContext('linsock.recording', false);
    setContext('linsock.hasTrace', false);
    setContext('linsock.state', 'disconnected');
  }

  get state(): ConnectionState {
    return this.connection.state;
  }

  /**
   * Connects; resolves with the state it settles in (connected, or disconnected after a failure).
   * `interactive`: the user asked, so a missing token is asked for and failures are shown.
   */
  async connect(interactive: boolean): Promise<ConnectionState> {
    if (this.connection.state === 'connected') return 'connected';
    const url = readSettings().daemonUrl;
    this.quiet = !interactive;
    // A remote daemon's token can only come from the user. A local one's file may simply not exist yet
    // because the daemon is not running: connecting says which, and a refusal offers to enter the token.
    if (interactive && !isLocalDaemon(url) && !(await this.tokens.find(url))) {
      this.typedToken = await this.tokens.ask(url);
      if (!this.typedToken) {
        void vscode.window.showWarningMessage(vscode.l10n.t('Not connected: linsockd needs its token. The daemon prints the token file path in its ready line.'));
        return this.connection.state;
      }
    }
    const settled = new Promise<ConnectionState>((resolve) => this.settleWaiters.push(resolve));
    this.connection.connect();
    return settled;
  }

  /** Ends the session; a recording in progress ends with it (a later connect does not resume it). */
  disconnect(): void {
    // The local side of stopping (the recording's end, the context key) is done synchronously; the daemon's
    // answer cannot arrive once the socket closes below, so its rejection carries nothing to report.
    if (this.connection.recording) this.stopRecording().catch(() => undefined);
    this.connection.disconnect();
  }

  async startRecording(): Promise<void> {
    await this.connection.startRecording();
    this.recordings.push({ label: vscode.l10n.t('Recording {0}', new Date().toLocaleTimeString()), startedAt: new Date(), endedAt: null, records: 0 });
    if (this.recordings.length > MAX_RECORDINGS) this.recordings.shift();
    setContext('linsock.recording', true);
    this.changed.fire();
  }

  async stopRecording(): Promise<void> {
    const rec = this.recordings[this.recordings.length - 1];
    if (rec && rec.endedAt === null) rec.endedAt = new Date();
    setContext('linsock.recording', false);
    this.changed.fire();
    await this.connection.stopRecording();
  }

  clear(): void {
    this.store.clear();
    this.changed.fire();
  }

  private stateChanged(state: ConnectionState, failure: Failure | undefined, retrying: boolean | undefined): void {
    setContext('linsock.connected', state === 'connected');
    setContext('linsock.state', state);
    setContext('linsock.recording', this.connection.recording);
    if (failure) this.lastFailure = failure;
    if (state === 'connected') this.startPolling();
    else this.stopPolling();
    if (state === 'connected' || state === 'disconnected') {
      const waiters = this.settleWaiters;
      this.settleWaiters = [];
      for (const w of waiters) w(state);
    }
    if (failure && !retrying) void this.explain(failure);
    this.changed.fire();
  }

  /** Says what went wrong and offers the action that fixes it. */
  private async explain(f: Failure): Promise<void> {
    const url = readSettings().daemonUrl;
    const settingsAction = vscode.l10n.t('Open Settings');
    const tokenAction = vscode.l10n.t('Enter Token');
    const retryAction = vscode.l10n.t('Retry');
    const logAction = vscode.l10n.t('Show Log');
    let choice: string | undefined;
    if (f.kind === 'unauthorized') {
      await this.tokens.forget(url);
      this.typedToken = undefined;
      choice = await vscode.window.showErrorMessage(
        vscode.l10n.t('linsockd at {0} refused the token ({1}). Enter the token from the file its ready line names, or set linsock.daemon.tokenFile.', url, f.detail),
        tokenAction, settingsAction);
    } else if (this.quiet) {
      return; // an automatic connection that found no daemon is not worth a pop-up: the log has it
    } else if (f.kind === 'bad-version') {
      choice = await vscode.window.showErrorMessage(vscode.l10n.t('linsockd at {0} speaks another trace protocol ({1}). Update the extension or the daemon so that they match.', url, f.detail), logAction);
    } else if (f.kind === 'protocol') {
      choice = await vscode.window.showErrorMessage(vscode.l10n.t('linsockd at {0} broke the trace stream protocol: {1}', url, f.detail), logAction);
    } else if (f.kind === 'bad-url') {
      choice = await vscode.window.showErrorMessage(vscode.l10n.t('No Linsock trace stream at {0}: {1}. Check the setting linsock.daemon.url against the daemon\'s ready line.', url, f.detail), settingsAction, logAction);
    } else {
      choice = await vscode.window.showErrorMessage(vscode.l10n.t('Cannot reach linsockd at {0}: {1}. Is the daemon running?', url, f.detail), retryAction, settingsAction);
    }
    if (choice === settingsAction) await openSettings('linsock.daemon');
    else if (choice === logAction) this.log.show();
    else if (choice === retryAction) await this.connect(true);
    else if (choice === tokenAction) {
      this.typedToken = await this.tokens.ask(url);
      if (this.typedToken) await this.connect(true);
    }
  }

  private startPolling(): void {
    if (this.poll) return;
    const tick = async () => {
      const n = this.pollTick++;
      try {
        this.status = await this.connection.status();
        // Guests change more slowly than counters: every other tick.
        if (n % 2 === 0) this.guests = await this.connection.guests();
        this.changed.fire();
      } catch (err) {
        if (this.connection.state === 'connected') this.log.warn(`polling the daemon: ${(err as Error).message}`);
      }
    };
    void tick();
    this.poll = setInterval(() => void tick(), POLL_MS);
  }

  private stopPolling(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
    this.status = null;
    this.guests = [];
  }

  dispose(): void {
    this.stopPolling();
    this.connection.dispose();
    this.changed.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
