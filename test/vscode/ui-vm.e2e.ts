// The VM pick end to end in real Chromium on real code-server: Connect -> Run Comparison… -> "VM (QEMU)"
// -> rr on the delegated path for 1 s. While it runs the Linsock view lists the VM (accel, NIC); when it
// ends the notification names the VM run, and the viewer's Compare tab shows the VM's delegated calls and
// the benchmark's figures under "in a QEMU VM". A real `linsock start` (dist/linsock.js) boots a real QEMU
// VM. Where QEMU is missing, the pick must say why instead (checked, then the test ends there). Then
// "a program…": iperf3 on direct and delegated, whose figures show with the note that no call was traced.
// Screenshots go to test-results/vscode-ui-vm-*.png.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qemuProblem } from '../../lab/vm';
import { launchChromium, startCodeServer } from './code-server';
import { startLinsockStart } from './linsock-start-process';
import { notification, palette, pick, until, viewRows } from './workbench';

export async function runVmUiTest(root: string, results: string): Promise<void> {
  for (const f of readdirSync(results)) if (f.startsWith('vscode-ui-vm')) rmSync(join(results, f));
  const tmp = mkdtempSync(join(tmpdir(), 'linsock-ui-vm-'));
  const daemonDir = join(tmp, 'daemon');
  mkdirSync(daemonDir);
  const workspace = join(tmp, 'workspace');
  mkdirSync(workspace);
  const daemon = await startLinsockStart({ root, dir: daemonDir });
  const cs = await startCodeServer({ root, tmp, settings: { 'linsock.daemon.url': daemon.url, 'linsock.daemon.tokenFile': daemon.tokenFile } });
  const { browser, page } = await launchChromium();
  const shot = (name: string) => page.screenshot({ path: join(results, `vscode-ui-vm-${name}.png`) }).catch(() => undefined);
  const say = (line: string) => console.log(`    ${line}`);
  const qemu = await qemuProblem();
  try {
    await page.goto(cs.url(workspace, [['extensionDevelopmentPath', cs.remote(root)]]));
    await page.locator('.monaco-workbench').waitFor({ timeout: 30_000 });
    await page.locator('.statusbar-item', { hasText: 'Linsock' }).first().waitFor({ timeout: 30_000 });
    await page.locator('.activitybar .action-label[aria-label^="Linsock"]').first().click();
    await palette(page, 'Linsock: Connect to Daemon');
    await pick(page, null);
    await page.locator('.statusbar-item .codicon-pulse').first().waitFor({ timeout: 15_000 });

    await palette(page, 'Linsock: Run Comparison');
    // The first pick: where to run. All three kinds are listed; one that cannot run says why.
    const rows = page.locator('.quick-input-list .monaco-list-row');
    await rows.filter({ hasText: 'VM (QEMU)' }).first().waitFor({ timeout: 10_000 });
    const kinds = (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
    say(`first pick: ${kinds.join(' | ')}`);
    assert.ok(kinds.some((t) => t.includes('namespaces')) && kinds.some((t) => t.includes('a program…')), kinds.join(' | '));
    await shot('pick');
    if (qemu) {
      // No QEMU on the daemon's host: the row says why, and picking it is refused with the reason.
      assert.ok(kinds.some((t) => t.includes('VM (QEMU)') && t.includes('Not offered') && t.includes(qemu)), kinds.join(' | '));
      await pick(page, 'VM (QEMU)');
      await notification(page, 'is not offered by this daemon', '\u0000', 10_000);
      say(`QEMU missing (${qemu}): the pick says why; no VM run here`);
      return;
    }
    const t0 = Date.now();
    await pick(page, 'VM (QEMU)');
    await pick(page, 'rr');
    // Paths: delegated and emulated are ticked; the shortest run untick emulated (no TAP, no NIC).
    await rows.filter({ hasText: 'emulated' }).first().locator('.monaco-checkbox, input[type=checkbox]').first().click();
    await pick(page, null);
    await page.locator('.quick-input-widget input').fill('1');
    await pick(page, null);
    // The run's notification is watched from now on: it may come, and fade, while the view is looked at.
    let ended = false;
    const finished = notification(page, 'rr · delegated (VM): delegated:', 'failed', 180_000).finally(() => (ended = true));
    finished.catch(() => undefined);

    // While it boots and runs the Linsock view lists the VM: booting, then its name and accel (the view
    // polls guests every 2 s; a 1-s run is up for about 2 s, so its running row may fall between polls).
    let vmRow = '';
    await until('the Linsock view to list the VM', async () => (vmRow = (await viewRows(page)).find((r) => /QEMU VM · /.test(r)) ?? '') !== '', 60_000);
    say(`view while the VM boots: '${vmRow}'`);
    assert.match(vmRow, /^booting VM of run \w{8}\s*QEMU VM · booting · no NIC$|^vm-\d+-\d+\s*QEMU VM · (kvm|tcg) · no NIC/);
    await shot('tree-booting');
    let running = '';
    await until('the VM row with its accel', async () => (running = (await viewRows(page)).find((r) => /QEMU VM · (kvm|tcg)/.test(r)) ?? '') !== '' || ended, 60_000).catch(() => undefined);
    if (running) {
      say(`view while the VM runs: '${running}'`);
      assert.match(running, /^vm-\d+-\d+\s*QEMU VM · (kvm|tcg) · no NIC/);
      await shot('tree');
    } else say('the running VM row fell between the view\'s polls');

    const done = await finished;
    say(`notification after ${((Date.now() - t0) / 1000).toFixed(1)} s: '${done.replace(/\s+/g, ' ').slice(0, 160)}'`);
    assert.match(done, /delegated: p50 [\d.]+ µs/);
    // Once the VM stopped, the view no longer lists it.
    await until('the VM to leave the Linsock view', async () => !(await viewRows(page)).some((r) => /QEMU VM ·/.test(r)), 15_000);

    // The viewer: the VM's delegated calls in the comparison table, the benchmark's figures in a VM.
    const viewer = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
    await viewer.locator('vscode-panel-tab', { hasText: 'Compare' }).first().click({ timeout: 20_000 });
    await viewer.locator('tr[data-path="delegated"]').first().waitFor({ state: 'attached', timeout: 20_000 });
    const heading = viewer.locator('.bench-report h3').first();
    await until('the VM benchmark heading', async () => /in a QEMU VM \((kvm|tcg)\)/.test((await heading.textContent().catch(() => '')) ?? ''), 20_000);
    const reportRow = (await viewer.locator('.report-table tr').nth(1).innerText()).replace(/\s+/g, ' ');
    assert.match(reportRow, /^delegated .* yes$/);
    const notes = await viewer.locator('.report-notes li').allInnerTexts();
    assert.ok(notes.some((n) => /guest kernel/.test(n)), notes.join(' | '));
    const ops = await viewer.locator('tr[data-path="delegated"]').allInnerTexts();
    say(`viewer: '${await heading.textContent()}'; report row '${reportRow}'; ${ops.length} delegated op rows; took ${((Date.now() - t0) / 1000).toFixed(1)} s from the pick`);
    await viewer.locator('.bench-report').first().scrollIntoViewIfNeeded();
    await shot('viewer');

    // "a program…": iperf3 on direct and delegated; its figures show, and the viewer says its calls were not traced.
    const t1 = Date.now();
    await palette(page, 'Linsock: Run Comparison');
    await pick(page, 'a program…');
    await pick(page, 'iperf3');
    await rows.filter({ hasText: 'direct' }).first().locator('.monaco-checkbox, input[type=checkbox]').first().click();
    await pick(page, null);
    await page.locator('.quick-input-widget input').fill('1');
    await pick(page, null);
    const pDone = await notification(page, 'iperf3 · direct vs delegated: direct:', 'failed', 90_000);
    assert.match(pDone, /direct: \d+ MB\/s · delegated: \d+ MB\/s .*calls not traced/);
    await until('the program benchmark heading', async () => /^Benchmark: iperf3/.test((await heading.textContent().catch(() => '')) ?? ''), 20_000);
    const untraced = await viewer.locator('.report-untraced').first().innerText();
    assert.match(untraced, /calls were not traced/);
    const pRows = (await viewer.locator('.report-table tr').allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
    assert.ok(pRows.some((r) => /^direct [\d.]+ .* yes$/.test(r)) && pRows.some((r) => /^delegated [\d.]+ .* yes$/.test(r)), pRows.join(' | '));
    say(`program run: '${pDone.replace(/\s+/g, ' ').slice(0, 140)}'; viewer: ${pRows.slice(1).join(' | ')}; '${untraced}'; ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    await shot('program');
  } catch (err) {
    await shot('failure');
    throw err;
  } finally {
    await browser.close();
    await cs.stop();
    await daemon.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
