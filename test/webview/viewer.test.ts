// The trace viewer in Debian's Chromium on the test page (same CSP as the extension's webview):
// rendering, zoom, selection, filter, themes, damaged input, notices, exports, saved state, live follow.
// Every page is checked for CSP violations and console errors when its test ends.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './chromium';
import { startPageServer, type PageServer } from './page-server';
import { countColour, loadSynthetic, nextFrame, posted, send, type ViewerWindow } from './viewer-page';
import { LANE_HEADER, TRACK_HEIGHT } from '../../webview/track-layout';

let server: PageServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: string[] = [];

// Lanes in the synthetic trace (2 guests x 4 sockets per path): emulated has 8 socket + 2 frame tracks.
const EMULATED_TRACK0 = LANE_HEADER + 4;
const DELEGATED_TRACK0 = LANE_HEADER + 10 * TRACK_HEIGHT + LANE_HEADER + 4;
const KERNEL = '#e15759';
const EXECUTE = '#59a14f';

before(async () => {
  server = await startPageServer();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

beforeEach(async () => {
  problems = [];
  context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  page = await context.newPage();
  page.setDefaultTimeout(8_000);
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(server.url);
  await page.waitForFunction(() => !!(window as unknown as ViewerWindow).linsockViewer);
});

afterEach(async () => {
  const csp = await page.evaluate(() => (window as unknown as ViewerWindow).__cspViolations);
  await context.close();
  assert.deepEqual(csp, [], 'no CSP violations');
  assert.deepEqual(problems, [], 'no console errors');
});

async function timelineTab(): Promise<void> {
  await page.locator('vscode-panel-tab#tab-timeline').click();
  await nextFrame(page);
}

test('a comparison run opens on Compare with rows per op and path; the timeline draws each lane in its stage colours', async () => {
  const n = await loadSynthetic(page, { calls: 20_000 });
  assert.equal(n, 20_000);
  assert.equal(await page.evaluate(() => document.body.dataset.tab), 'compare', 'Compare is shown first after a run with several paths');
  const rows = await page.locator('.compare-table tr').count();
  assert.equal(rows, 1 + 4 * 3, 'header + 4 ops x 3 paths');
  const delegatedSend = await page.locator('.compare-table tr[data-path=delegated][data-op=send] td').allTextContents();
  assert.match(delegatedSend[7] ?? '', /^\d\.\d\d× faster$/, `delegated send is faster than emulated: ${delegatedSend.join(' ')}`);
  assert.equal(await page.locator('svg.chart .cdf').count(), 3, 'a CDF per path');
  assert.ok((await page.locator('svg.chart .hist rect').count()) > 30, 'histogram bins');

  await timelineTab();
  assert.ok((await countColour(page, KERNEL, EMULATED_TRACK0, EMULATED_TRACK0 + 8)) > 200, 'kernel stage colour in the emulated lane');
  assert.ok((await countColour(page, EXECUTE, DELEGATED_TRACK0, DELEGATED_TRACK0 + 8)) > 200, 'execute stage colour in the delegated lane');
  assert.equal(await countColour(page, EXECUTE, EMULATED_TRACK0, EMULATED_TRACK0 + 8, 2), 0, 'no delegated stage in the emulated lane');
  await page.locator('.notice-decimated').waitFor();
  const { visible, merged } = await page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.stats);
  assert.ok(merged > 0 && visible >= 20_000, `whole trace visible and decimated (${merged}/${visible})`);
});

test('a tab per registered panel; C and T switch tabs, and once the user picked one a report no longer switches', async () => {
  assert.deepEqual(await page.locator('vscode-panel-tab').allTextContents(), ['Compare', 'Timeline']);
  assert.deepEqual(await page.locator('vscode-panel-view').evaluateAll((vs) => vs.map((v) => v.id)), ['view-compare', 'view-timeline']);
  await loadSynthetic(page, { calls: 2_000, paths: ['delegated'] });
  assert.equal(await page.evaluate(() => document.body.dataset.tab), 'timeline', 'one path: the timeline stays');
  await page.keyboard.press('c');
  await nextFrame(page);
  assert.equal(await page.evaluate(() => document.body.dataset.tab), 'compare');
  assert.equal(await page.locator('vscode-panels').getAttribute('activeid'), 'tab-compare');
  await page.keyboard.press('t');
  await send(page, { type: 'report', report: { workload: 'rr', mode: null, mtu: 1500, results: [], ratios: {} } });
  await nextFrame(page);
  assert.equal(await page.evaluate(() => document.body.dataset.tab), 'timeline', 'the report did not take the tab from the user');
  assert.match((await page.locator('.bench-report h3').textContent()) ?? '', /Benchmark: rr/);
  await page.keyboard.press('?');
  const help = await page.locator('.shortcuts').textContent();
  assert.match(help ?? '', /Compare tab.*Timeline tab/);
  assert.match(help ?? '', /zoom in \(Shift: faster\)/);
});

test('keys and the wheel zoom and pan; zoomed in, calls are drawn one by one and the decimation notice goes', async () => {
  await loadSynthetic(page, { calls: 20_000 });
  await timelineTab();
  const win = () => page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.window);
  const [a0, a1] = await win();
  await page.locator('.timeline').focus();
  await page.keyboard.press('w');
  await nextFrame(page);
  const [b0, b1] = await win();
  assert.ok(b1 - b0 < (a1 - a0) * 0.85, 'W zooms in');
  await page.keyboard.press('d');
  await nextFrame(page);
  const [c0] = await win();
  assert.ok(c0 > b0, 'D pans right');
  const box = (await page.locator('canvas.tracks').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + 100);
  await page.mouse.wheel(0, -400);
  await nextFrame(page);
  const [d0, d1] = await win();
  assert.ok(d1 - d0 < c0 - c0 + (b1 - b0), 'wheel zooms in');
  for (let i = 0; i < 12 && (await win()).reduce((x, y) => y - x) > 400_000; i++) {
    await page.keyboard.press('Shift+W');
    await nextFrame(page);
  }
  const [e0, e1] = await win();
  assert.ok(e1 - e0 <= 400_000, `window is at most 400 µs (${e1 - e0} ns)`);
  await page.waitForFunction(() => document.querySelector('.notice-decimated') === null);
  assert.ok((await countColour(page, EXECUTE, DELEGATED_TRACK0, DELEGATED_TRACK0 + 8)) > 50, 'delegated calls visible');
  // a 10 ms window after F fits everything again
  await page.keyboard.press('f');
  await nextFrame(page);
  const [f0, f1] = await win();
  assert.ok(f1 - f0 >= a1 - a0 - 1, 'F fits everything');
});

test('brushing the time axis selects a range: the status counts its calls and Z zooms to it', async () => {
  await loadSynthetic(page, { calls: 20_000 });
  await timelineTab();
  const axis = (await page.locator('svg.axis').boundingBox())!;
  await page.mouse.move(axis.x + 400, axis.y + axis.height / 2);
  await page.mouse.down();
  await page.mouse.move(axis.x + 500, axis.y + axis.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.locator('.status').filter({ hasText: /range [\d.]+ ms: [\d,]+ calls/ }).waitFor();
  const before = await page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.window);
  await page.keyboard.press('z');
  await nextFrame(page);
  const after = await page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.window);
  const ratio = (after[1] - after[0]) / (before[1] - before[0]);
  const plot = axis.width - 120;
  assert.ok(Math.abs(ratio - 100 / plot) < 0.02, `window is the brushed tenth (${ratio})`);
});

test('a whole .lstrace file sent as one message loads like its chunks', async () => {
  await send(page, { type: 'init', source: 'file', title: 'file.lstrace', recordLimit: 2_000_000 });
  const n = await page.evaluate(() => {
    const w = window as unknown as ViewerWindow;
    const chunks = w.linsockFixtures.chunks({ calls: 5_000, paths: ['delegated', 'emulated'] }, 1000);
    const header = Uint8Array.of(0x89, 0x4c, 0x53, 0x54, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 0, 0);
    const file = new Uint8Array(header.length + chunks.reduce((a, c) => a + c.length, 0));
    file.set(header);
    let at = header.length;
    for (const c of chunks) {
      file.set(c, at);
      at += c.length;
    }
    window.dispatchEvent(new MessageEvent('message', { data: { type: 'chunk', bytes: file } }));
    window.dispatchEvent(new MessageEvent('message', { data: { type: 'progress', loadedBytes: file.length, totalBytes: file.length, done: true } }));
    return w.linsockViewer.calls;
  });
  assert.equal(n, 5_000);
  await nextFrame(page);
  assert.equal(await page.locator('.notice-damaged').count(), 0);
  assert.equal(await page.locator('.compare-table tr[data-path=delegated]').count(), 4);
});

test('clicking a call shows its stages and tells the host; . and , walk the track', async () => {
  await loadSynthetic(page, { calls: 5_000 });
  await timelineTab();
  await page.locator('.timeline').focus();
  for (let i = 0; i < 5; i++) await page.keyboard.press('Shift+W');
  await nextFrame(page);
  // find a column of the delegated lane's first track that holds a call
  const x = await page.evaluate((y) => {
    const c = document.querySelector('canvas.tracks') as HTMLCanvasElement;
    const dpr = c.width / c.clientWidth;
    const d = c.getContext('2d')!.getImageData(0, Math.round(y * dpr), c.width, 1).data;
    for (let i = Math.round(130 * dpr); i < c.width; i++) if (d[i * 4 + 1]! > 140 && d[i * 4]! < 120) return i / dpr; // the green of execute
    return -1;
  }, DELEGATED_TRACK0 + 4);
  assert.ok(x > 0, 'a delegated call is on screen');
  const box = (await page.locator('canvas.tracks').boundingBox())!;
  await page.mouse.click(box.x + x + 1, box.y + DELEGATED_TRACK0 + 4);
  await page.locator('.details h3').filter({ hasText: 'on delegated' }).waitFor();
  assert.equal(await page.locator('.details table.stages tr').count(), 1 + 7, 'seven delegated stages');
  const sel = await posted(page, 'selectCall');
  assert.equal(sel.length, 1);
  const first = await page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.selected);
  await page.keyboard.press('.');
  await nextFrame(page);
  const second = await page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.selected);
  assert.notEqual(second, first);
  assert.equal((await posted(page, 'selectCall')).length, 2);
  // hover shows a tooltip
  await page.mouse.move(box.x + x + 1, box.y + DELEGATED_TRACK0 + 4);
  await page.locator('.tooltip:not([hidden])').waitFor();
});

test('an emulated send shows the frames it caused, linked to the call', async () => {
  await loadSynthetic(page, { calls: 3_000, paths: ['emulated'] });
  await timelineTab();
  await page.locator('vscode-text-field[placeholder^="Search"] input').fill('send');
  await nextFrame(page);
  await page.locator('.timeline').focus();
  await page.keyboard.press('n');
  await page.locator('.details h3').filter({ hasText: 'send on emulated' }).waitFor();
  assert.ok((await page.locator('.details table.frames tr').count()) >= 2, 'frames listed with the call');
  assert.match((await page.locator('.details h4').textContent()) ?? '', /Frames caused: \d/);
});

test('the filter dims what does not match; n and Shift+N step through matches', async () => {
  await loadSynthetic(page, { calls: 20_000 });
  await timelineTab();
  const before = await countColour(page, EXECUTE, DELEGATED_TRACK0, DELEGATED_TRACK0 + 8);
  await page.locator('vscode-text-field[placeholder^="Search"] input').fill('connect delegated');
  await page.waitForFunction(() => /\d+ match/.test(document.querySelector('.status')?.textContent ?? ''));
  await nextFrame(page);
  const after = await countColour(page, EXECUTE, DELEGATED_TRACK0, DELEGATED_TRACK0 + 8);
  assert.ok(after < before / 2, `non-matching calls are dimmed (${before} -> ${after} bright pixels)`);
  await page.locator('.timeline').focus();
  await page.keyboard.press('n');
  await page.locator('.details h3').filter({ hasText: 'connect on delegated' }).waitFor();
  const a = await page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.selected);
  await page.keyboard.press('n');
  await nextFrame(page);
  const b = await page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.selected);
  assert.notEqual(a, b);
  await page.keyboard.press('Shift+N');
  await nextFrame(page);
  assert.equal(await page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.selected), a);
  await page.keyboard.press('?');
  await page.locator('.shortcuts:not([hidden])').waitFor();
});

test('the canvas follows the theme class: light, dark and high contrast', async () => {
  await loadSynthetic(page, { calls: 2_000 });
  await timelineTab();
  const bg = () => page.evaluate(() => {
    const c = document.querySelector('canvas.tracks') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(c.width - 3, c.height - 3, 1, 1).data;
    return `#${[d[0], d[1], d[2]].map((v) => v!.toString(16).padStart(2, '0')).join('')}`;
  });
  assert.equal(await bg(), '#1e1e1e');
  for (const [cls, colour] of [['vscode-light', '#ffffff'], ['vscode-high-contrast', '#000000'], ['vscode-dark', '#1e1e1e']] as const) {
    await page.evaluate((c) => (document.body.className = c), cls);
    await nextFrame(page);
    assert.equal(await bg(), colour, cls);
  }
  await page.evaluate(() => (document.body.className = 'vscode-high-contrast'));
  await nextFrame(page);
  assert.ok((await countColour(page, '#00ff00', DELEGATED_TRACK0, DELEGATED_TRACK0 + 8)) > 50, 'high-contrast stage colour');
});

test('a damaged chunk or file is reported and what loaded before stays', async () => {
  await loadSynthetic(page, { calls: 1_000, paths: ['delegated'] });
  const bad = await page.evaluate(() => {
    const w = window as unknown as ViewerWindow;
    const b = w.linsockFixtures.chunks({ calls: 100, seed: 7, firstSeq: 100_000 })[0]!;
    b[b.length - 5]! ^= 0x5a;
    window.dispatchEvent(new MessageEvent('message', { data: { type: 'chunk', bytes: b } }));
    return w.linsockViewer.calls;
  });
  assert.equal(bad, 1_000, 'the damaged chunk added nothing and removed nothing');
  await page.locator('.notice-damaged').filter({ hasText: /could not be read.*offset/ }).waitFor();
  await send(page, { type: 'damaged', message: 'truncated chunk at offset 12345: expected 4096 bytes, file ended after 100', recordsKept: 1000 });
  await page.locator('.notice-damaged').filter({ hasText: 'truncated chunk at offset 12345' }).waitFor();
  assert.match((await page.locator('.notice-damaged').textContent()) ?? '', /1,000 records before the damage were kept/);
  problems = problems.filter((p) => !/Failed to load resource/.test(p));
});

test('records dropped by the daemon and by the record limit are announced', async () => {
  await send(page, { type: 'init', source: 'live', title: 'live', recordLimit: 1_000 });
  await page.evaluate(() => {
    const w = window as unknown as ViewerWindow;
    for (const bytes of w.linsockFixtures.chunks({ calls: 3_000 }, 500)) window.dispatchEvent(new MessageEvent('message', { data: { type: 'chunk', bytes } }));
    const dropped = w.linsockFixtures.encode([{ kind: 'dropped', count: 42, atNs: 5 }]);
    window.dispatchEvent(new MessageEvent('message', { data: { type: 'chunk', bytes: dropped } }));
  });
  await page.locator('.notice-dropped').filter({ hasText: 'dropped 42 records' }).waitFor();
  await page.locator('.notice-limit').filter({ hasText: 'record limit of 1,000' }).waitFor();
  assert.ok((await page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.calls)) <= 1_000);
});

test('copy the table as Markdown and CSV; save the view as PNG and SVG', async () => {
  await loadSynthetic(page, { calls: 5_000 });
  await page.locator('vscode-button', { hasText: 'Copy Markdown' }).click();
  await page.locator('vscode-button', { hasText: 'Copy CSV' }).click();
  const copies = await posted(page, 'copyTable');
  assert.equal(copies.length, 2);
  assert.match(String(copies[0]!.text), /^\| op \| path \| calls \|/);
  assert.match(String(copies[1]!.text), /^op,path,calls,/);
  await timelineTab();
  await page.locator('vscode-button', { hasText: 'PNG' }).click();
  await page.locator('vscode-button', { hasText: 'SVG' }).click();
  const images = await posted(page, 'saveImage');
  assert.equal(images.length, 2);
  assert.match(String(images[0]!.data), /^data:image\/png;base64,/);
  const svg = String(images[1]!.data);
  assert.match(svg, /^<svg xmlns/);
  assert.ok((svg.match(/<rect /g) ?? []).length > 50, 'merged marks as rects');
  assert.ok(svg.length < 2_000_000, `SVG stays small (${svg.length} bytes)`);
});

test('state survives a reload: tab, filter, window', async () => {
  await loadSynthetic(page, { calls: 5_000 });
  await timelineTab();
  await page.locator('vscode-text-field[placeholder^="Search"] input').fill('recv');
  await page.locator('.timeline').focus();
  await page.keyboard.press('Shift+W');
  await page.waitForTimeout(400); // state is saved 200 ms after the last change
  const before = await page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.window);
  await page.reload();
  await page.waitForFunction(() => !!(window as unknown as ViewerWindow).linsockViewer);
  await loadSynthetic(page, { calls: 5_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.tab), 'timeline');
  assert.equal(await page.locator('vscode-text-field[placeholder^="Search"] input').inputValue(), 'recv');
  const afterWin = await page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.window);
  assert.ok(Math.abs(afterWin[0] - before[0]) < 1 && Math.abs(afterWin[1] - before[1]) < 1, `window restored (${before} vs ${afterWin})`);
});

test('live streaming: the window follows the newest calls until the user pans', async () => {
  await send(page, { type: 'init', source: 'live', title: 'live', recordLimit: 100_000 });
  await send(page, { type: 'connection', state: 'connected' });
  const feed = (firstSeq: number, startNs: number) =>
    page.evaluate(([s, t]) => {
      const w = window as unknown as ViewerWindow;
      for (const bytes of w.linsockFixtures.chunks({ calls: 2_000, paths: ['delegated'], firstSeq: s, startNs: t }, 500))
        window.dispatchEvent(new MessageEvent('message', { data: { type: 'chunk', bytes } }));
    }, [firstSeq, startNs]);
  await feed(1, 1e9);
  await page.locator('vscode-panel-tab#tab-timeline').click();
  await nextFrame(page);
  const w1 = await page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.window);
  // Between chunks the window glides ahead with the clock, up to 1 s: on a slow machine w1 may already be
  // that far past the first calls. The new calls start 2 s later, so following them still moves it >= 1 s.
  await feed(10_000, 3e9);
  await nextFrame(page);
  const w2 = await page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.window);
  assert.ok(w2[1] > w1[1] + 0.5e9, `the window moved to the new calls (${w1} -> ${w2})`);
  assert.match((await page.locator('.status').textContent()) ?? '', /connected/);
  await page.locator('.timeline').focus();
  await page.keyboard.press('a');
  await nextFrame(page);
  assert.equal(await page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.state as { follow: boolean }).then((s) => s.follow), false, 'panning stops following');
});

test("the extension's own page (extension/viewer-page.ts, its CSP) runs the viewer without violations", async () => {
  const p = await context.newPage();
  const violations: string[] = [];
  p.on('console', (m) => {
    if (m.type() === 'error') violations.push(m.text());
  });
  // VS Code injects acquireVsCodeApi before the page's scripts; so does this init script (CSP does not apply to it)
  // (a string: tsx would wrap a function's inner arrows in a helper the page lacks)
  await p.addInitScript(`
    window.__posted = [];
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
    window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => undefined, setState: () => undefined });
  `);
  await p.goto(`${server.url}extension-page`);
  await p.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'));
  await p.locator('vscode-panel-tab#tab-compare').waitFor();
  await p.locator('vscode-button', { hasText: 'Copy CSV' }).waitFor({ state: 'attached' });
  const csp = await p.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
  assert.deepEqual(csp, []);
  assert.deepEqual(violations, []);
  await p.close();
});
