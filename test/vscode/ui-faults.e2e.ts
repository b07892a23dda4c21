// What the user sees when the daemon is not a good peer, in real code-server and Chromium with a fake
// linsockd on loopback (test/extension/adversarial/fake-daemon.ts, a real ws server):
//   dead     nothing listens at the URL; then a daemon that was up is killed mid-session;
//   silent   accepts, says hello, then never answers and never pongs: the heartbeat ends the session
//            (LINSOCK_HEARTBEAT_MS shortens it to 1 s pings and 3 s of silence); later sessions get no hello;
//   hostile  answers hello with a malformed message.
// For each: the status bar item's text and label (its tooltip), the Linsock view's rows, and a notification
// or the log naming the fault. Also: the palette does not offer Disconnect while disconnected.
// Screenshots go to test-results/vscode-ui-faults-*.png.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { FakeDaemon, hello, polite, send } from '../extension/adversarial/fake-daemon';
import { freePort, launchChromium, startCodeServer } from './code-server';
import { notification, notifications, palette, statusOf, until, viewRows } from './workbench';

const HEARTBEAT = { everyMs: 1000, timeoutMs: 3000 };

/** Connect to Daemon… with `url` typed into its box. */
async function connectTo(page: Page, url: string): Promise<void> {
  await palette(page, 'Linsock: Connect to Daemon');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(url);
  await page.keyboard.press('Enter');
}

/** Waits until the status bar item's text and label match; says what they were when they do not. */
async function statusShows(page: Page, text: RegExp, label: RegExp, ms = 15_000): Promise<{ text: string; label: string }> {
  let seen = { text: '', label: '' };
  try {
    await until(`status ${text} / ${label}`, async () => {
      seen = await statusOf(page);
      return text.test(seen.text) && label.test(seen.label);
    }, ms);
  } catch (err) {
    throw new Error(`${(err as Error).message}; the status bar showed '${seen.text}' labelled '${seen.label}'`);
  }
  return seen;
}

async function rowShows(page: Page, re: RegExp, ms = 10_000): Promise<string> {
  let rows: string[] = [];
  try {
    await until(`a row of the Linsock view matching ${re}`, async () => (rows = await viewRows(page)).some((r) => re.test(r)), ms);
  } catch (err) {
    throw new Error(`${(err as Error).message}; its rows: ${JSON.stringify(rows)}`);
  }
  return rows.find((r) => re.test(r))!;
}

async function clearNotifications(page: Page): Promise<void> {
  await palette(page, 'Notifications: Clear All Notifications');
  await until('no notifications', async () => (await notifications(page)).length === 0, 5000);
}

export async function runFaultsTest(root: string, results: string): Promise<void> {
  for (const f of readdirSync(results)) if (f.startsWith('vscode-ui-faults')) rmSync(join(results, f));
  const tmp = mkdtempSync(join(tmpdir(), 'linsock-ui-faults-'));
  const workspace = join(tmp, 'workspace');
  mkdirSync(workspace);
  const deadUrl = `ws://127.0.0.1:${await freePort()}/trace`;
  const cs = await startCodeServer({ root, tmp, settings: { 'linsock.daemon.url': deadUrl }, env: { LINSOCK_HEARTBEAT_MS: `${HEARTBEAT.everyMs},${HEARTBEAT.timeoutMs}` } });
  const { browser, page } = await launchChromium();
  const daemons: FakeDaemon[] = [];
  const shot = (name: string) => page.screenshot({ path: join(results, `vscode-ui-faults-${name}.png`) }).catch(() => undefined);
  const say = (line: string) => console.log(`    ${line}`);
  try {
    await page.goto(cs.url(workspace, [['extensionDevelopmentPath', cs.remote(root)]]));
    await page.locator('.monaco-workbench').waitFor({ timeout: 30_000 });
    await page.locator('.statusbar-item', { hasText: 'Linsock' }).first().waitFor({ timeout: 30_000 });
    await page.locator('.activitybar .action-label[aria-label^="Linsock"]').first().click();
    await page.locator('.welcome-view-content', { hasText: 'Not connected to linsockd.' }).waitFor({ timeout: 10_000 });

    // The palette offers Connect, not Disconnect, Export or Clear, while disconnected with nothing held.
    const input = page.locator('.quick-input-widget input');
    const rows = page.locator('.quick-input-list .monaco-list-row');
    await until('the palette to list the Linsock commands', async () => {
      await page.keyboard.press('Escape');
      await page.keyboard.press('F1');
      await input.waitFor({ state: 'visible', timeout: 2000 }).catch(() => undefined);
      await input.fill('>Linsock: ');
      return rows.filter({ hasText: 'Connect to Daemon' }).first().isVisible({ timeout: 2000 }).catch(() => false);
    }, 30_000);
    const offered = (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
    for (const hidden of ['Disconnect', 'Export Trace', 'Clear Trace', 'Start Recording', 'Stop Recording', 'Run Comparison'])
      assert.ok(!offered.some((t) => t.includes(`Linsock: ${hidden}`)), `the palette offers '${hidden}' while disconnected: ${offered.join(' | ')}`);
    await page.keyboard.press('Escape');
    say(`palette while disconnected: ${offered.map((t) => t.replace(/^.*Linsock: /, '')).join(', ')}`);

    // Dead: nothing listens at the URL.
    await connectTo(page, deadUrl);
    const refused = await notification(page, 'Cannot reach linsockd', 'broke', 15_000);
    assert.match(refused, /ECONNREFUSED/);
    let st = await statusShows(page, /Linsock.*no daemon/, /Last problem: Cannot reach the daemon: .*ECONNREFUSED/);
    let row = await rowShows(page, /Cannot reach the daemon.*ECONNREFUSED/);
    say(`dead: status '${st.text}'; view '${row}'; notification '${refused.slice(0, 120)}'`);
    await shot('dead');
    await clearNotifications(page);

    // Dead mid-session: a daemon that was up is killed.
    const up = await FakeDaemon.start(polite);
    daemons.push(up);
    await connectTo(page, up.url);
    await statusShows(page, /Linsock/, /Linsock: connected/);
    await until('the problem row to go once connected', async () => !(await viewRows(page)).some((r) => /Cannot reach the daemon/.test(r)));
    await up.stop();
    st = await statusShows(page, /reconnecting \(connection lost\)/, /Last problem: The connection to the daemon dropped: .*Trying again by itself/);
    row = await rowShows(page, /The connection to the daemon dropped/);
    say(`killed: status '${st.text}'; view '${row}'`);
    await shot('killed');
    await palette(page, 'Linsock: Disconnect');
    await statusShows(page, /Linsock/, /Linsock: disconnected/);

    // Silent: hello, then nothing at all, not even pongs. Later sessions get no hello either, so that the
    // extension stays in reconnecting (a hello would show connected again until the next silence).
    const silent = await FakeDaemon.start((s, r) => {
      if (r.op === 'hello' && s.no === 0) hello(s);
    }, { autoPong: false });
    daemons.push(silent);
    await connectTo(page, silent.url);
    await statusShows(page, /Linsock/, /Linsock: connected/);
    const t0 = Date.now();
    st = await statusShows(page, /reconnecting \(faulty daemon\)/, /Last problem: The daemon misbehaved: session ended: the daemon went silent/, 20_000);
    const noticedMs = Date.now() - t0;
    assert.ok(noticedMs < HEARTBEAT.timeoutMs + 3 * HEARTBEAT.everyMs, `the silence was noticed after ${noticedMs} ms`);
    row = await rowShows(page, /The daemon misbehaved.*went silent/);
    await palette(page, 'Linsock: Show Log');
    await page.locator('.part.panel .view-lines', { hasText: 'went silent' }).first().waitFor({ timeout: 10_000 });
    say(`silent: noticed after ${noticedMs} ms; status '${st.text}'; view '${row}'; the log says so`);
    await shot('silent');
    await palette(page, 'Linsock: Disconnect');
    await statusShows(page, /Linsock/, /Linsock: disconnected/);
    assert.ok(silent.sessions.length >= 1);

    // Hostile: a malformed answer to hello.
    const hostile = await FakeDaemon.start((s, r) => {
      if (r.op === 'hello') send(s.ws, '{"type":"hello","protocol":');
    });
    daemons.push(hostile);
    await connectTo(page, hostile.url);
    const broke = await notification(page, 'broke the trace stream protocol', 'Cannot reach', 15_000);
    st = await statusShows(page, /Linsock.*faulty daemon/, /Last problem: The daemon misbehaved: session ended: the daemon broke the trace protocol/);
    row = await rowShows(page, /The daemon misbehaved.*broke the trace protocol/);
    say(`hostile: status '${st.text}'; view '${row}'; notification '${broke.slice(0, 160)}'`);
    await shot('hostile');
  } catch (err) {
    await shot('failure');
    throw err;
  } finally {
    await browser.close();
    await cs.stop();
    for (const d of daemons) await d.stop().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}
