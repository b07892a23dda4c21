// The aligned timeline in Debian's Chromium, as a user sees it after a comparison: two runs (e1000, then
// virtio), each path's part on its own lanes with readable names, aligned at its own start on one relative
// axis; overlapping calls stacked; run separators; the stage legend; the stage waterfall; a frame that can
// be hovered and clicked. Screenshots go to test-results/ for a person to look at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './chromium';
import { startPageServer, type PageServer } from './page-server';
import { nextFrame, send, type ViewerWindow } from './viewer-page';
import { GUTTER } from '../../webview/timeline-render';

const RUN_E1000 = '0b5e7c1a-1111-4222-8333-944445555666';
const RUN_VIRTIO = '7f00aa01-2222-4333-8444-955556666777';
const SHOTS = 'test-results';

let server: PageServer;
let browser: Browser;
let page: Page;
const problems: string[] = [];

type Rows = ViewerWindow['linsockViewer']['rows'];
const rows = (): Promise<Rows> => page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.rows);
const viewWindow = (): Promise<[number, number]> => page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.window);

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startPageServer();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10_000);
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(server.url);
  await page.waitForFunction(() => !!(window as unknown as ViewerWindow).linsockViewer);
  // a comparison file as the extension delivers one: its size, its chunks, done
  await send(page, { type: 'init', source: 'file', title: 'comparison', recordLimit: 2_000_000 });
  await page.evaluate(([a, b]) => {
    const w = window as unknown as ViewerWindow;
    const chunks = w.linsockFixtures.comparison({ runs: [{ id: a, mode: 'e1000' }, { id: b, mode: 'virtio' }], callsPerPath: 1200, overlapEvery: 9 }, 500);
    const total = chunks.reduce((n, c) => n + c.length, 0);
    window.dispatchEvent(new MessageEvent('message', { data: { type: 'progress', loadedBytes: 0, totalBytes: total, done: false } }));
    for (const bytes of chunks) window.dispatchEvent(new MessageEvent('message', { data: { type: 'chunk', bytes } }));
    window.dispatchEvent(new MessageEvent('message', { data: { type: 'progress', loadedBytes: total, totalBytes: total, done: true } }));
  }, [RUN_E1000, RUN_VIRTIO] as [string, string]);
  await page.locator('vscode-panel-tab#tab-timeline').click();
  await nextFrame(page);
});

after(async () => {
  await browser?.close();
  await server?.close();
  assert.deepEqual(problems, [], 'no console errors');
});

/** Canvas pixels of one horizontal line (CSS px y), as [r, g, b] per CSS px column. */
async function canvasLine(y: number): Promise<[number, number, number][]> {
  return page.evaluate((yy) => {
    const c = document.querySelector('canvas.tracks') as HTMLCanvasElement;
    const dpr = c.width / c.clientWidth;
    const d = c.getContext('2d')!.getImageData(0, Math.round(yy * dpr), c.width, 1).data;
    const out: [number, number, number][] = [];
    for (let x = 0; x < c.clientWidth; x++) {
      const i = Math.round(x * dpr) * 4;
      out.push([d[i]!, d[i + 1]!, d[i + 2]!]);
    }
    return out;
  }, y);
}

const hex = (c: string): [number, number, number] => [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)];
const near = (a: [number, number, number], b: [number, number, number], tol = 8) => a.every((v, i) => Math.abs(v - b[i]!) <= tol);

test('lanes per path and run with readable names, one above the other, under run separators', async () => {
  const r = await rows();
  const runs = r.filter((x) => x.kind === 'run');
  assert.deepEqual(runs.map((x) => x.label), ['run 1 · stream · emulated, delegated, direct · 0b5e7c1a', 'run 2 · stream · emulated, delegated, direct · 7f00aa01']);
  const lanes = r.filter((x) => x.kind === 'lane').map((x) => x.label);
  assert.deepEqual(lanes, ['emulated · e1000 · stream', 'delegated · stream', 'direct · stream', 'emulated · virtio · stream', 'delegated · stream', 'direct · stream']);
  const tracks = r.filter((x) => x.kind === 'track').map((x) => x.label);
  assert.ok(tracks.includes('emu · socket 3') && tracks.includes('emu · frames') && tracks.includes('host · socket 3'), tracks.join(', '));
  for (const l of [...lanes, ...tracks]) assert.doesNotMatch(l, /[0-9a-f]{8}-[0-9a-f]{4}-/, `no UUID in "${l}"`);
  // rows stack without gaps or overlaps: the y positions a user sees, top to bottom
  for (let i = 1; i < r.length; i++) assert.equal(r[i]!.y, r[i - 1]!.y + r[i - 1]!.h, `row ${i} (${r[i]!.label}) follows row ${i - 1}`);
  // e1000 and virtio are two lanes, far apart: not one shared "emu #1"
  const e1000 = r.findIndex((x) => x.label === 'emulated · e1000 · stream');
  const virtio = r.findIndex((x) => x.label === 'emulated · virtio · stream');
  assert.ok(r[virtio]!.y > r[e1000]!.y + 100);
  // a run separator is drawn: a foreground rule across the canvas at its top
  const fg = await page.evaluate(() => {
    const el = document.body.appendChild(document.createElement('span'));
    el.style.color = 'var(--ls-foreground)';
    const c = getComputedStyle(el).color.match(/\d+/g)!.map(Number);
    el.remove();
    return [c[0], c[1], c[2]] as [number, number, number];
  });
  const line = await canvasLine(runs[1]!.y + 1);
  for (const x of [2, GUTTER + 10, 600, line.length - 3]) assert.ok(near(line[x]!, fg, 12), `the separator rule at x=${x}: ${line[x]} vs ${fg}`);
  await page.screenshot({ path: `${SHOTS}/timeline-aligned.png` });
});

test('one relative axis from 0: each path starts at the same x, though they ran seconds apart', async () => {
  const [t0, t1] = await viewWindow();
  assert.ok(t0 <= 0 && t1 > 0 && t1 < 1e9, `the window is relative and short (${t0}, ${t1}), not the 12 s of host time the runs took`);
  assert.equal(await page.locator('svg.axis').getAttribute('data-origin'), 'aligned');
  const ticks = await page.locator('svg.axis .tick text').allTextContents();
  assert.match(ticks[0] ?? '', /^0 (s|ms|µs|ns)$/, `the axis starts at 0: ${ticks.join(' | ')}`);
  assert.equal(new Set(ticks).size, ticks.length, 'tick labels are distinct');
  // the first drawn column of each lane's first track sits at x(0)
  const plotW = await page.evaluate(() => (document.querySelector('canvas.tracks') as HTMLCanvasElement).clientWidth) - GUTTER;
  const x0 = GUTTER + ((0 - t0) / (t1 - t0)) * plotW;
  const r = await rows();
  const bg = (await canvasLine(2))[GUTTER + 5]!;
  const firsts: number[] = [];
  for (let i = 0; i < r.length; i++) {
    if (r[i]!.kind !== 'lane') continue;
    // the lane's tracks: the earliest coloured column over all of them
    let first = Infinity;
    for (let j = i + 1; j < r.length && r[j]!.kind === 'track'; j++) {
      if (r[j]!.label.endsWith('frames')) continue;
      const line = await canvasLine(r[j]!.y + 6);
      const x = line.findIndex((p, k) => k >= GUTTER && !near(p, bg, 10));
      if (x >= 0) first = Math.min(first, x);
    }
    firsts.push(first);
  }
  assert.equal(firsts.length, 6);
  for (const f of firsts) assert.ok(Math.abs(f - x0) <= 6, `every path starts at x(0) = ${x0.toFixed(1)}: ${firsts.join(', ')}`);
});

test('overlapping calls on a socket are stacked in a taller track', async () => {
  const r = await rows();
  const stacked = r.filter((x) => x.kind === 'track' && x.h > 16);
  assert.ok(stacked.length >= 4, `stacked tracks: ${stacked.map((x) => `${x.label} ${x.h}px`).join(', ')}`);
  // zoomed in, the second level holds calls of its own
  await page.locator('.timeline').focus();
  for (let i = 0; i < 10; i++) await page.keyboard.press('w');
  await nextFrame(page);
  const t = stacked[0]!;
  const bg = (await canvasLine(2))[GUTTER + 5]!;
  const level2 = await canvasLine(t.y + 1 + 11 + 5);
  assert.ok(level2.slice(GUTTER).filter((p) => !near(p, bg, 10)).length > 5, 'calls on the second level');
  await page.screenshot({ path: `${SHOTS}/timeline-stacked.png` });
  await page.keyboard.press('f');
  await nextFrame(page);
});

test('the legend names the stages in their colours, the emulated path in parts', async () => {
  const items = await page.locator('.timeline .legend .legend-item').allTextContents();
  for (const want of ['guest library', 'execute (host socket)', 'kernel', 'guest kernel + TAP', 'device model', 'host side', 'frame guest to host'])
    assert.ok(items.includes(want), `legend has "${want}": ${items.join(', ')}`);
  const swatch = await page.locator('.legend-item[data-name="device-model"] .swatch').evaluate((el) => getComputedStyle(el).backgroundColor);
  const variable = await page.evaluate(() => getComputedStyle(document.body).getPropertyValue('--ls-stage-device-model').trim());
  const [r, g, b] = hex(variable);
  assert.equal(swatch, `rgb(${r}, ${g}, ${b})`);
});

test('the waterfall sets a median call of each path side by side, stage by stage, to one scale', async () => {
  await page.locator('.waterfall g.waterfall-path').first().waitFor();
  const paths = await page.locator('.waterfall g.waterfall-path').evaluateAll((gs) => gs.map((g) => ({
    path: g.getAttribute('data-path'),
    kind: g.getAttribute('data-kind'),
    stages: [...g.querySelectorAll('.waterfall-stage')].map((s) => s.getAttribute('data-stage')),
    widths: [...g.querySelectorAll('rect.bar')].map((b) => Number(b.getAttribute('width'))),
    xs: [...g.querySelectorAll('rect.bar')].map((b) => Number(b.getAttribute('x'))),
  })));
  assert.equal(paths.length, 6, 'a typical call per path and run');
  const delegated = paths.find((p) => p.path === 'delegated · stream')!;
  assert.deepEqual(delegated.stages, ['guest', 'channel-out', 'host-queue', 'execute', 'reply-out', 'channel-in', 'guest-return']);
  const emulated = paths.find((p) => p.path === 'emulated · e1000 · stream')!;
  assert.ok(emulated.stages.includes('device-model') || emulated.stages.includes('kernel'), emulated.stages.join(','));
  assert.ok(paths.every((p) => p.kind === 'median' && p.widths.every((w) => w >= 1)));
  // stage by stage: each bar starts where the previous one ended (one scale, one origin)
  for (let i = 1; i < delegated.xs.length; i++) assert.ok(Math.abs(delegated.xs[i]! - (delegated.xs[i - 1]! + delegated.widths[i - 1]!)) <= 1.5);
  // to scale: the emulated median (60 µs base) is longer than the delegated (30 µs) and the direct (8 µs)
  const total = (p: (typeof paths)[number]) => p.xs[p.xs.length - 1]! + p.widths[p.widths.length - 1]! - p.xs[0]!;
  const direct = paths.find((p) => p.path === 'direct · stream')!;
  assert.ok(total(emulated) > total(delegated) && total(delegated) > total(direct), `${total(emulated)} > ${total(delegated)} > ${total(direct)}`);
  await page.locator('.waterfall').screenshot({ path: `${SHOTS}/timeline-waterfall.png` });
});

test('a frame can be hovered and clicked: which call, which bytes, times in and out', async () => {
  // zoom to the first millisecond of the e1000 run by brushing the axis and pressing Z
  const [t0, t1] = await viewWindow();
  const box = (await page.locator('svg.axis').boundingBox())!;
  const plotW = box.width - GUTTER;
  const x = (t: number) => box.x + GUTTER + ((t - t0) / (t1 - t0)) * plotW;
  await page.mouse.move(Math.max(box.x + GUTTER + 1, x(0)), box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(x(1e6), box.y + box.height / 2, { steps: 4 });
  await page.mouse.up();
  await page.locator('.timeline').focus();
  await page.keyboard.press('z');
  await nextFrame(page);
  const r = await rows();
  const frames = r.find((row) => row.label === 'emu · frames')!;
  const line = await canvasLine(frames.y + frames.h / 2);
  const frameColour = hex(await page.evaluate(() => getComputedStyle(document.body).getPropertyValue('--ls-frame-guest-to-host').trim()));
  const fx = line.findIndex((p, k) => k > GUTTER && near(p, frameColour, 10));
  assert.ok(fx > GUTTER, 'a frame is drawn on the frames track');
  const canvas = (await page.locator('canvas.tracks').boundingBox())!;
  await page.mouse.move(canvas.x + fx + 1, canvas.y + frames.y + frames.h / 2);
  const tip = page.locator('.tooltip[data-kind="frame"]');
  await tip.waitFor({ state: 'visible' });
  const text = (await tip.textContent()) ?? '';
  assert.match(text, /frame: #\d+ guest-to-host/);
  assert.match(text, /bytes: \d+ B on the wire/);
  assert.match(text, /call: send #\d+ on socket \d+/);
  assert.match(text, /in: \+[\d.]+ (ns|µs) into the call/);
  assert.match(text, /out: \+[\d.]+ (ns|µs) into the call/);
  await page.screenshot({ path: `${SHOTS}/timeline-frame-hover.png` });
  await page.mouse.click(canvas.x + fx + 1, canvas.y + frames.y + frames.h / 2);
  await page.locator('.details .frame-details').waitFor();
  assert.match((await page.locator('.details .frame-details').textContent()) ?? '', /device model/);
  await page.locator('.details h3', { hasText: 'send on emulated' }).waitFor();
  assert.ok((await page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.selected)) >= 0, 'the frame\'s call is selected');
  // the picked call takes its path's place in the waterfall
  await page.locator('.waterfall g.waterfall-path[data-kind="picked"]').waitFor();
  await page.screenshot({ path: `${SHOTS}/timeline-frame-picked.png` });
});

test('switching tabs keeps the view; zooming keeps it; G shows host time', async () => {
  await page.locator('.timeline').focus();
  await page.keyboard.press('w');
  await nextFrame(page);
  const before = await viewWindow();
  await page.locator('vscode-panel-tab#tab-compare').click();
  await nextFrame(page);
  await page.locator('vscode-panel-tab#tab-timeline').click();
  await nextFrame(page);
  assert.deepEqual(await viewWindow(), before, 'the window is where it was');
  await page.locator('.timeline').focus();
  await page.keyboard.press('g');
  await nextFrame(page);
  assert.equal(await page.locator('svg.axis').getAttribute('data-origin'), 'host');
  await page.keyboard.press('f');
  await nextFrame(page);
  const [a, b] = await viewWindow();
  assert.ok(b - a > 10e9, `on host time the runs span over 10 s (${((b - a) / 1e9).toFixed(1)} s)`);
  await page.screenshot({ path: `${SHOTS}/timeline-host-time.png` });
});
