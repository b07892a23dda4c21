// Runs inside a real VS Code extension host (code-server), with the real `vscode` API: the extension's
// commands, settings, its connection to a real linsockd started here, records, reconnecting after the
// daemon restarts, the viewer, exports and the custom editor. Bundled and launched by ../run.ts; its
// `run()` rejecting makes VS Code report exit code 1 through window.codeAutomationExit.

import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { LinsockApi } from '../../../extension/main';
import { delegatedEcho } from '../guest-traffic';
import { startLinsockd, type Linsockd } from '../linsockd-process';

const ROOT = process.env.LINSOCK_E2E_ROOT ?? '';
const OUT = process.env.LINSOCK_E2E_OUT ?? join(tmpdir(), 'linsock-ext-host.log');
const say = (line: string) => appendFileSync(OUT, line + '\n');

let api!: LinsockApi;

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms)
      throw new Error(`timed out after ${ms} ms waiting for ${what}; state ${api?.state()}, recording ${api?.recording()}, last seq ${api?.lastSeq()}, totals ${JSON.stringify(api?.totals())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const config = () => vscode.workspace.getConfiguration('linsock');
const set = (key: string, value: unknown) => config().update(key, value, vscode.ConfigurationTarget.Global);

export async function run(): Promise<void> {
  const checks: [string, () => Promise<void>][] = [];
  const check = (name: string, fn: () => Promise<void>) => checks.push([name, fn]);
  const dir = mkdtempSync(join(tmpdir(), 'linsock-ext-e2e-'));
  let daemon: Linsockd | null = null;

  check('the extension activates and exports its API', async () => {
    const ext = vscode.extensions.getExtension<LinsockApi>('linsock.linsock-trace');
    assert.ok(ext, 'extension linsock.linsock-trace is not installed in this window');
    api = await ext.activate();
    assert.equal(api.state(), 'disconnected');
  });

  check('every palette command is registered', async () => {
    const all = new Set(await vscode.commands.getCommands(true));
    const ids = ['connect', 'disconnect', 'startRecording', 'stopRecording', 'openViewer', 'runComparison', 'exportTrace', 'openTraceFile', 'clearTrace', 'showLog'];
    const missing = ids.map((i) => `linsock.${i}`).filter((id) => !all.has(id));
    assert.deepEqual(missing, []);
  });

  check('settings are read with their defaults and the values the test set', async () => {
    assert.equal(config().inspect('daemon.url')?.defaultValue, 'ws://127.0.0.1:7717/trace');
    assert.equal(config().get('daemon.autoConnect'), false);
    // ../run.ts wrote 250000 into the user settings.
    assert.equal(config().get('viewer.recordLimit'), 250000);
  });

  check('commands run at the wrong time refuse without throwing', async () => {
    assert.equal(await vscode.commands.executeCommand('linsock.startRecording'), false);
    assert.equal(api.recording(), false);
  });

  check('connects to a real linsockd started by the test', async () => {
    daemon = await startLinsockd({ root: ROOT, dir });
    await set('daemon.url', daemon.url);
    await set('daemon.tokenFile', daemon.tokenFile);
    const state = await vscode.commands.executeCommand('linsock.connect', { prompt: false });
    assert.equal(state, 'connected');
    // The daemon names itself and its instance (`linsockd pid=N start=T`), so that a restart is noticed.
    assert.match(api.daemon()?.daemon ?? '', /^linsockd\b/);
  });

  check('records of real delegated calls arrive', async () => {
    assert.equal(await vscode.commands.executeCommand('linsock.startRecording'), true);
    await delegatedEcho(daemon!.guestSocket, 20);
    // Everything the daemon recorded (its seqs 0 .. nextSeq-1 are calls and frames) reached the store.
    let calls = 0;
    await until(`the daemon's records in the store`, async () => {
      const status = await api.daemonStatus();
      calls = status.calls;
      return api.totals().calls + api.totals().frames === status.nextSeq;
    });
    assert.ok(calls >= 3, `the daemon recorded only ${calls} calls`);
    assert.equal(api.totals().callsByPath.delegated, api.totals().calls);
  });

  check('the viewer panel opens as a webview tab', async () => {
    await vscode.commands.executeCommand('linsock.openViewer');
    await until('the viewer tab', () => vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('linsock.viewer'))));
    assert.equal(api.viewerOpen(), true);
  });

  check('reconnects after the daemon restarts, keeps what it had, and gets the new daemon\'s records once', async () => {
    const seqRecords = () => api.totals().calls + api.totals().frames;
    const before = seqRecords();
    const port = daemon!.port;
    await daemon!.stop();
    await until('reconnecting', () => api.state() === 'reconnecting');
    daemon = await startLinsockd({ root: ROOT, dir, port });
    await until('connected again', () => api.state() === 'connected', 20_000);
    assert.equal(api.daemon()?.restarted, true);
    assert.equal(api.recording(), true, 'still recording after the reconnect');
    await delegatedEcho(daemon.guestSocket, 5);
    // Polls the daemon too: records whose stamps the guest batches may still be on their way.
    let next = 0;
    await until(`the new daemon's records after the ${before} kept`, async () => seqRecords() === before + (next = (await api.daemonStatus()).nextSeq));
    assert.ok(next >= 3, `the new daemon recorded ${next} records`);
  });

  check('exports Chrome JSON that parses and holds the delegated calls', async () => {
    const file = join(dir, 'out.linsock.json');
    const written = await vscode.commands.executeCommand('linsock.exportTrace', { format: 'chrome', path: file });
    assert.equal(written, file);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: { ph: string; pid: number }[] };
    assert.ok(doc.traceEvents.some((e) => e.ph === 'X' && e.pid === 2), 'no complete event under the delegated process (pid 2)');
  });

  check('an exported .lstrace opens in the custom editor', async () => {
    const file = join(dir, 'out.lstrace');
    assert.equal(await vscode.commands.executeCommand('linsock.exportTrace', { format: 'lstrace', path: file }), file);
    await vscode.commands.executeCommand('linsock.openTraceFile', vscode.Uri.file(file));
    await until('the custom editor tab', () => vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputCustom && t.input.viewType === 'linsock.traceFile')));
  });

  check('the exported Chrome JSON opens in the same custom editor', async () => {
    await vscode.commands.executeCommand('linsock.openTraceFile', vscode.Uri.file(join(dir, 'out.linsock.json')));
    await until('a custom editor tab for out.linsock.json', () =>
      vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputCustom && t.input.viewType === 'linsock.traceFile' && t.input.uri.fsPath.endsWith('out.linsock.json'))));
  });

  check('a Run Comparison that started the recording stops it when the run ends, even when the run fails', async () => {
    await vscode.commands.executeCommand('linsock.stopRecording');
    assert.equal(api.recording(), false);
    // A plain linsockd has no lab: the daemon refuses the run, and the recording the command started must end.
    const report = await vscode.commands.executeCommand('linsock.runComparison', { workload: 'rr', paths: ['delegated'], seconds: 1 });
    assert.equal(report, undefined, 'a linsockd without a lab ran a comparison');
    assert.equal(api.recording(), false, 'the recording Run Comparison started is still running');
  });

  check('a Run Comparison leaves a recording the user started running', async () => {
    assert.equal(await vscode.commands.executeCommand('linsock.startRecording'), true);
    await vscode.commands.executeCommand('linsock.runComparison', { workload: 'rr', paths: ['delegated'], seconds: 1 });
    assert.equal(api.recording(), true, "the user's recording was stopped by Run Comparison");
  });

  check('clear empties the store; disconnect ends the session', async () => {
    // confirm: false skips the modal question; the UI test (ui-live) answers it with clicks.
    assert.equal(await vscode.commands.executeCommand('linsock.clearTrace', { confirm: false }), true);
    assert.equal(api.totals().records, 0);
    await vscode.commands.executeCommand('linsock.disconnect');
    assert.equal(api.state(), 'disconnected');
    assert.equal(api.recording(), false);
  });

  check('a refused token leaves the connection down (and says so)', async () => {
    const wrong = join(dir, 'wrong-token');
    writeFileSync(wrong, 'y'.repeat(43), { mode: 0o600 });
    await set('daemon.tokenFile', wrong);
    assert.equal(await vscode.commands.executeCommand('linsock.connect', { prompt: false }), 'disconnected');
    await set('daemon.tokenFile', daemon!.tokenFile);
  });

  check('a URL where nothing listens fails at once instead of hanging', async () => {
    await set('daemon.url', 'ws://127.0.0.1:1/trace');
    const t0 = Date.now();
    assert.equal(await vscode.commands.executeCommand('linsock.connect', { prompt: false }), 'disconnected');
    assert.ok(Date.now() - t0 < 5000);
  });

  let failed = 0;
  say(`extension host: VS Code ${vscode.version}`);
  for (const [name, fn] of checks) {
    const t0 = Date.now();
    try {
      await fn();
      say(`ok   ${name} (${Date.now() - t0} ms)`);
    } catch (err) {
      failed++;
      say(`FAIL ${name} (${Date.now() - t0} ms)\n     ${String((err as Error).stack ?? err).split('\n').slice(0, 6).join('\n     ')}`);
    }
  }
  await (daemon as Linsockd | null)?.stop();
  rmSync(dir, { recursive: true, force: true });
  say(`${checks.length - failed} passed, ${failed} failed`);
  if (failed > 0) throw new Error(`${failed} of ${checks.length} extension-host checks failed`);
}
