// Run Comparison…: pick a workload, the paths and how long; the daemon's lab runs it while its records
// stream into the store and the viewer; the report goes to the viewer and a notification.

import * as vscode from 'vscode';
import { PATHS, WORKLOADS, type BenchReport, type EmulatedMode, type Path, type Workload } from '../protocol';
import { describeReport } from './bench-summary';
import { needConnection } from './need-connection';
import type { LiveTrace } from './live-trace';
import type { LiveViewer } from './viewer-panel';

/** Arguments that skip the pickers (tests, other extensions). */
export interface RunArgs {
  workload?: Workload;
  paths?: Path[];
  seconds?: number;
  mode?: EmulatedMode;
}

const WORKLOAD_DETAIL: Record<Workload, () => string> = {
  stream: () => vscode.l10n.t('bulk transfer: throughput (MB/s)'),
  rr: () => vscode.l10n.t('1-byte request/response on one connection: round-trip time'),
  crr: () => vscode.l10n.t('connect, request, response, close: connection setup cost'),
  'udp-rr': () => vscode.l10n.t('UDP request/response: datagram round-trip time'),
  'inter-guest': () => vscode.l10n.t('two guests talking to each other through the host'),
};

async function ask(args: RunArgs): Promise<Required<Omit<RunArgs, 'mode'>> & { mode?: EmulatedMode } | undefined> {
  const title = vscode.l10n.t('Run Comparison');
  const workload = args.workload ?? (await vscode.window.showQuickPick(WORKLOADS.map((w) => ({ label: w, detail: WORKLOAD_DETAIL[w]() })), { title, placeHolder: vscode.l10n.t('Workload') }))?.label as Workload | undefined;
  if (!workload) return undefined;
  let paths = args.paths;
  if (!paths) {
    const picked = await vscode.window.showQuickPick(
      PATHS.map((p) => ({ label: p, picked: p !== 'direct' })),
      { title, placeHolder: vscode.l10n.t('Paths to compare (at least one)'), canPickMany: true },
    );
    if (!picked || picked.length === 0) return undefined;
    paths = picked.map((p) => p.label as Path);
  }
  let seconds = args.seconds;
  if (seconds === undefined) {
    const s = await vscode.window.showInputBox({
      title,
      prompt: vscode.l10n.t('Seconds per path'),
      value: '2',
      validateInput: (v) => (/^\d+(\.\d+)?$/.test(v.trim()) && Number(v) > 0 && Number(v) <= 600 ? null : vscode.l10n.t('A number of seconds between 0 and 600.')),
    });
    if (!s) return undefined;
    seconds = Number(s);
  }
  let mode = args.mode;
  if (!mode && paths.includes('emulated') && args.workload === undefined) {
    const m = await vscode.window.showQuickPick(
      [{ label: 'e1000', detail: vscode.l10n.t('MTU 1500, no offloads, frame by frame') }, { label: 'virtio', detail: vscode.l10n.t('virtio-net header with TSO and checksum offload') }],
      { title, placeHolder: vscode.l10n.t('Emulated NIC') },
    );
    if (!m) return undefined;
    mode = m.label as EmulatedMode;
  }
  return { workload, paths, seconds, ...(mode ? { mode } : {}) };
}

export async function runComparison(live: LiveTrace, viewer: LiveViewer, log: vscode.LogOutputChannel, args: RunArgs = {}): Promise<BenchReport | undefined> {
  // The daemon's lab runs the workload: without a connection there is nothing to run it.
  if (!needConnection(live, vscode.l10n.t('Run Comparison needs linsockd'))) return undefined;
  const choice = await ask(args);
  if (!choice) return undefined;
  // Records must flow before the run starts, or its first calls would be missed. A recording started here
  // ends with the run; one the user started goes on, and the end of the run says so.
  const ownRecording = !live.connection.recording;
  if (ownRecording) await live.startRecording();
  const feed = viewer.show(true);
  const label = `${choice.workload} · ${choice.paths.join(' vs ')}`;
  log.info(`run ${label} for ${choice.seconds} s${choice.mode ? ` (${choice.mode})` : ''}`);
  let runId: string | undefined;
  try {
    const report = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Running {0}', label) }, async (progress) => {
      const run = live.connection.run(choice.workload, choice.paths, choice.seconds, choice.mode);
      const id = await run.started;
      runId = id;
      progress.report({ message: vscode.l10n.t('run {0} started', id.slice(0, 8)) });
      return run.finished;
    });
    feed.report(report, runId); // the viewer shows it with that run's calls
    log.info(`run ${label} finished: ${describeReport(report)}`);
    if (ownRecording) await stopRunRecording(live, log);
    const goesOn = live.connection.recording ? ` ${vscode.l10n.t('(Your recording goes on: Stop Recording ends it.)')}` : '';
    void vscode.window.showInformationMessage(`${vscode.l10n.t('{0}: {1}', label, describeReport(report))}${goesOn}`);
    return report;
  } catch (err) {
    log.error(`run ${label} failed: ${(err as Error).message}`);
    if (ownRecording) await stopRunRecording(live, log);
    void vscode.window.showErrorMessage(vscode.l10n.t('The run {0} failed: {1}', label, (err as Error).message));
    return undefined;
  }
}

/** Longest wait for the run's last records before its recording stops. */
const TAIL_WAIT_MS = 3000;

/**
 * Ends the recording the run started. The daemon batches records and may answer runFinished before its last
 * chunk went out: first wait (bounded) until everything it numbered by now has arrived.
 */
async function stopRunRecording(live: LiveTrace, log: vscode.LogOutputChannel): Promise<void> {
  if (!live.connection.recording) return;
  try {
    if (live.state === 'connected') {
      const { nextSeq } = await live.connection.status();
      const t0 = Date.now();
      while (live.connection.lastSeq < nextSeq - 1 && live.state === 'connected' && Date.now() - t0 < TAIL_WAIT_MS) await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    log.warn(`waiting for the run's last records: ${(err as Error).message}`);
  }
  await live.stopRecording().catch((err: Error) => log.warn(`stopping the run's recording: ${err.message}`));
  log.info('the recording started for the run ended with it');
}
