// The end-to-end UI tests in real Chromium on real code-server, driven through the command palette.
// `comparison`: Connect -> Run Comparison -> the viewer panel shows calls of both paths -> Export writes a
// Chrome JSON file that parses and has events of both paths. It needs a linsockd whose lab runs workloads
// ({op:'run'}): a real `linsock start` started by the test. `live`: Connect -> Start Recording -> real delegated
// calls from a guest -> the viewer shows them -> Export as above, for the delegated path.
// Screenshots go to test-results/.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PATH_PIDS } from '../../protocol/chrome-trace';
import { launchChromium, startCodeServer } from './code-server';
import { notification, palette, pick, statusOf, until } from './workbench';
import { delegatedEcho } from './guest-traffic';
import { startLinsockd } from './linsockd-process';
import { startLinsockStart } from './linsock-start-process';
import { emulatedPathSupport } from '../../lab/emulated';

export async function runUiTest(root: string, results: string, mode: 'comparison' | 'live'): Promise<void> {
  for (const f of readdirSync(results)) if (f.startsWith(`vscode-ui-${mode}`)) rmSync(join(results, f));
  const tmp = mkdtempSync(join(tmpdir(), 'linsock-ui-'));
  const daemonDir = join(tmp, 'daemon');
  mkdirSync(daemonDir);
  const workspace = join(tmp, 'workspace');
  mkdirSync(workspace);
  // The comparison needs a daemon with the lab attached (`linsock start`); the live test a plain linsockd.
  const daemon = mode === 'comparison' ? await startLinsockStart({ root, dir: daemonDir }) : await startLinsockd({ root, dir: daemonDir });
  // Where the emulated path cannot run (no namespaces or TAP addon), compare direct with delegated.
  const emulated = mode === 'comparison' ? await emulatedPathSupport() : null;
  if (emulated && !emulated.ok) console.log(`    ${emulated.reason}: comparing direct and delegated`);
  const cs = await startCodeServer({ root, tmp, settings: { 'linsock.daemon.url': daemon.url, 'linsock.daemon.tokenFile': daemon.tokenFile } });
  const { browser, page } = await launchChromium();
  const shot = (name: string) => page.screenshot({ path: join(results, name) }).catch(() => undefined);
  try {
    await page.goto(cs.url(workspace, [['extensionDevelopmentPath', cs.remote(root)]]));
    await page.locator('.monaco-workbench').waitFor({ timeout: 30_000 });
    // The status bar item appears once the extension is active.
    await page.locator('.statusbar-item', { hasText: 'Linsock' }).first().waitFor({ timeout: 30_000 });

    await palette(page, 'Linsock: Connect to Daemon');
    await pick(page, null); // the URL box, prefilled from the settings
    await page.locator('.statusbar-item .codicon-pulse').first().waitFor({ timeout: 15_000 });

    const paths = mode === 'comparison' ? (emulated?.ok ? ['delegated', 'emulated'] : ['direct', 'delegated']) : ['delegated'];
    if (mode === 'comparison') {
      await palette(page, 'Linsock: Run Comparison');
      await pick(page, 'namespaces'); // where to run (a VM and a program: ui-vm.e2e.ts)
      await pick(page, 'rr');
      // Paths: delegated and emulated are ticked by default; without emulated, tick direct and untick emulated.
      if (!emulated?.ok) {
        for (const p of ['direct', 'emulated']) await page.locator('.quick-input-list .monaco-list-row', { hasText: p }).first().locator('.monaco-checkbox, input[type=checkbox]').first().click();
      }
      await pick(page, null);
      await pick(page, null); // seconds: 2
      if (paths.includes('emulated')) await pick(page, 'e1000');
      await notification(page, `rr · ${paths.join(' vs ')}:`, 'failed', 120_000);
      // The recording the run started ended with it: no recording mark in the status bar.
      await until('the run\'s recording to stop', async () => (await page.locator('.statusbar-item .codicon-record').count()) === 0);
    } else {
      await palette(page, 'Linsock: Start Recording');
      await page.locator('.statusbar-item .codicon-record').first().waitFor({ timeout: 10_000 });
      await delegatedEcho(daemon.guestSocket, 50);
    }

    // The viewer's comparison table has a row per path and op once calls of that path arrived.
    const viewer = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
    await viewer.locator('vscode-panel-tab', { hasText: 'Compare' }).first().click({ timeout: 20_000 });
    for (const path of paths) await viewer.locator(`tr[data-path="${path}"]`).first().waitFor({ state: 'attached', timeout: 20_000 });
    await shot(`vscode-ui-${mode}-viewer.png`);

    const out = join(tmp, `ui-${mode}.linsock.json`);
    await palette(page, 'Linsock: Export Trace');
    await pick(page, 'Chrome Trace Event JSON');
    // code-server's save dialog is VS Code's simple file dialog: a quick input holding the path.
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    // Wait for the dialog's own default (…/linsock-<time>.linsock.json) so that it does not overwrite ours.
    await until('the save dialog\'s default name', async () => /linsock-[^/]*\.linsock\.json$/.test(await input.inputValue()));
    await input.fill(out);
    await until('our path in the save dialog', async () => (await input.inputValue()) === out);
    // The dialog may still be busy listing the folder: press OK until it closes.
    const ok = page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).first();
    await until('the save dialog to close', async () => {
      if (!(await input.isVisible())) return true;
      await ok.click({ timeout: 1000 }).catch(() => undefined);
      return false;
    });
    await notification(page, 'Trace saved to', 'failed', 60_000);
    assert.ok(existsSync(out), `no file at ${out}`);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { traceEvents: { ph: string; pid: number; cat?: string }[] };
    const pids = new Set(doc.traceEvents.filter((e) => e.ph === 'X').map((e) => e.pid));
    const want = paths.map((p) => PATH_PIDS[p as keyof typeof PATH_PIDS]);
    assert.ok(want.every((p) => pids.has(p)), `complete events under pids ${[...pids].join(', ')}: expected ${paths.join(' and ')} (${want.join(', ')})`);
    await shot(`vscode-ui-${mode}.png`);

    // Clear Trace asks first: Cancel keeps the records, Clear deletes them.
    // The status bar item's label says "Records held: N (M calls)", N as formatCount writes it (1.2k).
    const held = async () => /Records held: ([\d.]+[kM]?)/.exec((await statusOf(page)).label)?.[1] ?? `(none in '${(await statusOf(page)).label}')`;
    const before = await held();
    assert.ok(/^[1-9]|^0\.\d/.test(before), `records held before Clear: ${before}`);
    const dialog = page.locator('.monaco-dialog-box');
    await palette(page, 'Linsock: Clear Trace');
    await dialog.waitFor({ timeout: 10_000 });
    assert.match(await dialog.innerText(), /Clear the trace\?[\s\S]*records held/);
    await shot(`vscode-ui-${mode}-clear-question.png`);
    await dialog.locator('.monaco-button', { hasText: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: 5000 });
    assert.equal(await held(), before, 'Cancel cleared the trace');
    await palette(page, 'Linsock: Clear Trace');
    await dialog.waitFor({ timeout: 10_000 });
    await dialog.locator('.monaco-button', { hasText: /^Clear$/ }).click();
    await until('the trace to be cleared', async () => (await held()) === '0');

    // After a reload the serializer brings the viewer panel back, and its page starts again. Reload through
    // VS Code's own command: it saves the open editors first (a bare page reload may not get to).
    // Once in a CI run the page did not reload within 30 s of the command (and the wait's rejection, not
    // yet awaited, ended the process before the failure's screenshot): a second try, each handled.
    for (let attempt = 1; ; attempt++) {
      const reloaded = page.waitForEvent('load', { timeout: 25_000 });
      reloaded.catch(() => undefined);
      await palette(page, 'Developer: Reload Window');
      try {
        await reloaded;
        break;
      } catch (err) {
        if (attempt === 2) throw err;
        await shot(`vscode-ui-${mode}-no-reload.png`);
      }
    }
    await page.locator('.monaco-workbench').waitFor({ timeout: 30_000 });
    await page.locator('.tab', { hasText: 'Linsock Trace' }).first().waitFor({ timeout: 30_000 });
    await page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame').locator('vscode-panel-tab', { hasText: 'Compare' }).first().waitFor({ timeout: 30_000 });
  } catch (err) {
    await shot(`vscode-ui-${mode}-failure.png`);
    throw err;
  } finally {
    await browser.close();
    await cs.stop();
    await daemon.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
