// Run Comparison…: pick what to run (a built-in workload in namespaces or in a QEMU VM, or a real program),
// the paths and how long; the daemon's lab runs it while its records stream into the store and the viewer;
// the report goes to the viewer and a notification. What is offered is what the daemon's lab says it runs
// (status.lab, run-choices.ts); a kind it cannot run here is listed with the reason and refused.

import * as vscode from 'vscode';
import type { BenchReport, EmulatedMode, GuestKind, LabOffer, Path, Workload } from '../protocol';
import { describeReport } from './bench-summary';
import { needConnection } from './need-connection';
import { defaultPicked, kindChoices, kindOffer, offerOrDefault, programDetail, runLabel, type RunChoice, type RunKind } from './run-choices';
import type { LiveTrace } from './live-trace';
import type { LiveViewer } from './viewer-panel';

/** Arguments that skip the pickers (tests, other extensions). */
export interface RunArgs {
  /** 'ns' (default when a workload is given) or 'vm'. */
  guest?: GuestKind;
  workload?: Workload;
  /** A real program of status.lab.programs instead of a workload. */
  program?: string;
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

/** The first pick: namespaces, a VM or a program; a kind the lab cannot run says why and is refused. */
async function askKind(offer: LabOffer, title: string): Promise<RunKind | undefined> {
  const rows = kindChoices(offer);
  if (rows.length === 1) return rows[0]?.kind;
  const picked = await vscode.window.showQuickPick(
    rows.map((r) => ({
      label: r.unavailable ? `$(circle-slash) ${r.label}` : r.label,
      description: r.unavailable ? vscode.l10n.t('not offered here') : undefined,
      detail: r.unavailable ? vscode.l10n.t('Not offered: {0}', r.unavailable) : r.detail,
      row: r,
    })),
    { title, placeHolder: vscode.l10n.t('Where to run: namespaces, a QEMU VM, or a real program') },
  );
  if (!picked) return undefined;
  if (picked.row.unavailable) {
    void vscode.window.showWarningMessage(vscode.l10n.t('{0} is not offered by this daemon: {1}', picked.row.label, picked.row.unavailable));
    return undefined;
  }
  return picked.row.kind;
}

async function askPaths(paths: readonly Path[], title: string): Promise<Path[] | undefined> {
  if (paths.length === 1) return [...paths];
  const ticked = defaultPicked(paths);
  const picked = await vscode.window.showQuickPick(
    paths.map((p) => ({ label: p, picked: ticked.includes(p) })),
    { title, placeHolder: vscode.l10n.t('Paths to compare (at least one)'), canPickMany: true },
  );
  if (!picked || picked.length === 0) return undefined;
  return picked.map((p) => p.label);
}

async function askSeconds(title: string): Promise<number | undefined> {
  const s = await vscode.window.showInputBox({
    title,
    prompt: vscode.l10n.t('Seconds per path'),
    value: '2',
    validateInput: (v) => (/^\d+(\.\d+)?$/.test(v.trim()) && Number(v) > 0 && Number(v) <= 600 ? null : vscode.l10n.t('A number of seconds between 0 and 600.')),
  });
  return s ? Number(s) : undefined;
}

async function askMode(guest: GuestKind, title: string): Promise<EmulatedMode | undefined> {
  const vm = guest === 'vm';
  const m = await vscode.window.showQuickPick(
    [
      { label: 'e1000', detail: vm ? vscode.l10n.t("QEMU's emulated Intel e1000 on a TAP: MTU 1500, no offloads") : vscode.l10n.t('MTU 1500, no offloads, frame by frame') },
      { label: 'virtio', detail: vm ? vscode.l10n.t("QEMU's paravirtual virtio-net on a TAP") : vscode.l10n.t('virtio-net header with TSO and checksum offload') },
    ],
    { title, placeHolder: vm ? vscode.l10n.t("The VM's NIC") : vscode.l10n.t('Emulated NIC') },
  );
  return m?.label as EmulatedMode | undefined;
}

async function askProgram(offer: LabOffer, title: string): Promise<LabOffer['programs'][number] | undefined> {
  const picked = await vscode.window.showQuickPick(
    offer.programs.map((p) => ({ label: p.unavailable ? `$(circle-slash) ${p.name}` : p.name, detail: programDetail(p), program: p })),
    { title, placeHolder: vscode.l10n.t('Program to run on each path') },
  );
  if (!picked) return undefined;
  if (picked.program.unavailable) {
    void vscode.window.showWarningMessage(vscode.l10n.t('{0} cannot run here: {1}', picked.program.name, picked.program.unavailable));
    return undefined;
  }
  return picked.program;
}

/** The lab's offer, from a fresh status reply (absent from a daemon that does not say). */
async function labOffer(live: LiveTrace, log: vscode.LogOutputChannel): Promise<LabOffer> {
  try {
    return offerOrDefault((await live.connection.status()).lab);
  } catch (err) {
    log.warn(`the daemon's status did not come: ${(err as Error).message}; offering namespaces only`);
    return offerOrDefault(undefined);
  }
}

async function ask(args: RunArgs, offer: LabOffer): Promise<RunChoice | undefined> {
  const title = vscode.l10n.t('Run Comparison');
  const given = args.workload !== undefined || args.program !== undefined;
  const kind: RunKind | undefined = args.program !== undefined ? 'program' : given ? args.guest ?? 'ns' : await askKind(offer, title);
  if (!kind) return undefined;
  if (kind === 'program') {
    const program = args.program !== undefined ? offer.programs.find((p) => p.name === args.program) ?? { name: args.program, workload: 'stream' as Workload, paths: [...PROGRAM_FALLBACK_PATHS] } : await askProgram(offer, title);
    if (!program) return undefined;
    const paths = args.paths ?? (await askPaths(program.paths, title));
    if (!paths) return undefined;
    const seconds = args.seconds ?? (await askSeconds(title));
    if (seconds === undefined) return undefined;
    return { guest: 'ns', workload: program.workload, program: program.name, paths, seconds };
  }
  const guest = kind;
  const can = kindOffer(offer, guest);
  const workload = args.workload ?? (await vscode.window.showQuickPick(can.workloads.map((w) => ({ label: w, detail: WORKLOAD_DETAIL[w]() })), { title, placeHolder: vscode.l10n.t('Workload') }))?.label as Workload | undefined;
  if (!workload) return undefined;
  const paths = args.paths ?? (await askPaths(can.paths, title));
  if (!paths) return undefined;
  const seconds = args.seconds ?? (await askSeconds(title));
  if (seconds === undefined) return undefined;
  let mode = args.mode;
  if (!mode && paths.includes('emulated') && !given) {
    mode = await askMode(guest, title);
    if (!mode) return undefined;
  }
  return { guest, workload, paths, seconds, ...(mode ? { mode } : {}) };
}

/** A program named by the arguments that the offer does not list is sent as asked: the daemon says what is wrong. */
const PROGRAM_FALLBACK_PATHS: Path[] = ['direct', 'delegated'];

export async function runComparison(live: LiveTrace, viewer: LiveViewer, log: vscode.LogOutputChannel, args: RunArgs = {}): Promise<BenchReport | undefined> {
  // The daemon's lab runs the workload: without a connection there is nothing to run it.
  if (!needConnection(live, vscode.l10n.t('Run Comparison needs linsockd'))) return undefined;
  const choice = await ask(args, await labOffer(live, log));
  if (!choice) return undefined;
  // Records must flow before the run starts, or its first calls would be missed. A recording started here
  // ends with the run; one the user started goes on, and the end of the run says so.
  const ownRecording = !live.connection.recording;
  if (ownRecording) await live.startRecording();
  const feed = viewer.show(true);
  const label = runLabel(choice);
  log.info(`run ${label} for ${choice.seconds} s${choice.mode ? ` (${choice.mode})` : ''}`);
  let runId: string | undefined;
  try {
    const report = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Running {0}', label) }, async (progress) => {
      const run = live.connection.run(choice.workload, choice.paths, choice.seconds, choice.mode, { guest: choice.guest, program: choice.program });
      const id = await run.started;
      runId = id;
      progress.report({ message: choice.guest === 'vm' ? vscode.l10n.t('run {0} started: booting a QEMU VM', id.slice(0, 8)) : vscode.l10n.t('run {0} started', id.slice(0, 8)) });
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
