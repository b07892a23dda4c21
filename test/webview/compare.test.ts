// The Compare tab in Debian's Chromium as a network engineer reads it (issue 17): every comparison names
// the faster path and by how much; one run at a time (the newest, or the one picked in the tab or the
// extension's tree), with A/B against a second run; figures that cannot be measured show "—" and why;
// chart legends in the paths' colours; and filter picks that survive the page reloading. Each test saves a
// screenshot in test-results/.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { BenchReport } from '../../protocol/trace-stream';
import type { CallRecord, Path, RunInfo, TraceRecord } from '../../protocol/trace';
import { syntheticCalls } from '../fixtures/synthetic';
import { launchChromium } from './chromium';
import { startPageServer, type PageServer } from './page-server';
import { nextFrame, send, type ViewerWindow } from './viewer-page';
import { VIEW_STAGES } from '../../webview/view-stages';

const SHOTS = resolve(__dirname, '../../test-results');
let server: PageServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: string[] = [];

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startPageServer();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

beforeEach(async () => {
  problems = [];
  context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
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

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `compare-${name}.png`), fullPage: true });

function runInfo(id: string, workload: string, paths: Path[], mode: 'e1000' | 'virtio' | null): RunInfo {
  return { kind: 'run', id, workload, paths, params: { seconds: 2 }, host: { kernel: '6.1.0-test', cpu: 'Test CPU', cpus: 2, mtu: 1500, mode, offloads: [] }, startedNs: 1, clockErrorNs: {} };
}

const result = (path: string, mb: number | null, p50: number | null, calls = 1000) => ({ path, mb_per_s: mb, p50_us: p50, p99_us: p50 === null ? null : p50 * 3, ops_per_s: p50 === null ? null : 1e6 / p50, calls, bytes: 1, verified: true });

/** Delivers records to the page as one .lstrace chunk, the way the host does. */
async function sendRecords(records: TraceRecord[]): Promise<void> {
  await page.evaluate((recs) => {
    const w = window as unknown as ViewerWindow;
    window.dispatchEvent(new MessageEvent('message', { data: { type: 'chunk', bytes: w.linsockFixtures.encode(recs) } }));
  }, records as unknown[]);
  await nextFrame(page);
}

async function init(): Promise<void> {
  await send(page, { type: 'init', source: 'live', title: 'live', recordLimit: 2_000_000 });
}

/** The direct path's receives as the lab records them: data the kernel already held, a 0 ns kernel stage. */
function directReceives(n: number, run: string, startNs: number, firstSeq: number): CallRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const t = startNs + i * 20_000;
    return { kind: 'call', seq: firstSeq + i, run, guest: 'host1', path: 'direct', socket: 3, op: 'recv', bytes: 65536, result: 'ok', stages: [{ name: 'kernel', start: t, end: t }] };
  });
}

/** Sends of one path that last the given durations (µs), one after another from `startNs`. */
function timedSends(path: Path, run: string, us: number[], startNs: number, firstSeq: number): CallRecord[] {
  return us.map((d, i) => {
    const t = startNs + i * 20_000_000;
    return { kind: 'call', seq: firstSeq + i, run, guest: 'g1', path, socket: 3, op: 'send', bytes: 1024, result: 'ok', stages: [{ name: 'kernel', start: t, end: t + Math.round(d * 1000) }] };
  });
}

const text = (sel: string) => page.locator(sel).allTextContents();

interface Box { x: number; y: number; w: number; h: number }

/**
 * The "Where the time goes" chart's stage legend as the page lays it out: every stage named once, each
 * label inside the svg, and no label over another entry (its label or swatch), a bar or a path's name.
 */
async function assertStageLegendReadable(): Promise<void> {
  const fig = page.locator('.charts figure', { hasText: 'Where the time goes' });
  assert.equal(await fig.count(), 1, 'the breakdown chart is drawn');
  // the page-side callbacks stay anonymous: the test's transform wraps a named one in a helper the page lacks
  const boxes = (sel: string) => fig.locator(sel).evaluateAll((es) => es.map((e) => {
    const r = e.getBoundingClientRect();
    return { text: e.textContent ?? '', box: { x: r.x, y: r.y, w: r.width, h: r.height } };
  }));
  const got = {
    svg: (await boxes('svg.chart'))[0]!.box,
    labels: await boxes('svg.chart text.legend'),
    swatches: (await boxes('svg.chart rect.swatch')).map((s) => s.box),
    bars: (await boxes('svg.chart rect.stage, svg.chart text.label')).map((b) => b.box),
  };
  assert.deepEqual(got.labels.map((l) => l.text), VIEW_STAGES.map((s) => s.label), 'every stage named once, in order');
  assert.equal(got.swatches.length, got.labels.length, 'a swatch per stage');
  const overlap = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  const inside = (a: Box, o: Box) => a.x >= o.x && a.y >= o.y && a.x + a.w <= o.x + o.w && a.y + a.h <= o.y + o.h;
  got.labels.forEach((l, i) => {
    assert.ok(l.box.w > 0 && l.box.h > 0, `${l.text} is drawn`);
    assert.ok(inside(l.box, got.svg), `${l.text} inside the svg: ${JSON.stringify(l.box)} in ${JSON.stringify(got.svg)}`);
    got.labels.forEach((m, j) => assert.ok(i === j || !overlap(l.box, m.box), `${l.text} overlaps ${m.text}: ${JSON.stringify([l.box, m.box])}`));
    got.swatches.forEach((s, j) => assert.ok(i === j || !overlap(l.box, s), `${l.text} overlaps the swatch of ${got.labels[j]!.text}`));
    got.bars.forEach((b) => assert.ok(!overlap(l.box, b), `${l.text} overlaps a bar or a path's name: ${JSON.stringify([l.box, b])}`));
  });
  got.swatches.forEach((s) => assert.ok(inside(s, got.svg), 'every swatch inside the svg'));
}

/**
 * The "Latency CDF" chart's path legend as the page draws it: no curve runs through a path's name or swatch,
 * and every entry sits inside the svg. The curves are sampled every pixel along their drawn length, in
 * screen coordinates, and each label's box is grown by half the stroke width.
 */
async function assertCdfLegendClear(paths: string[]): Promise<void> {
  const fig = page.locator('.charts figure', { hasText: 'Latency CDF' });
  assert.equal(await fig.count(), 1, 'the CDF chart is drawn');
  const labels = await fig.locator('svg.chart text.legend, svg.chart rect.swatch').evaluateAll((es) => es.map((e) => {
    const r = e.getBoundingClientRect();
    return { text: e.textContent || e.getAttribute('class') || '', box: { x: r.x, y: r.y, w: r.width, h: r.height } };
  }));
  const curves = await fig.locator('svg.chart path.cdf').evaluateAll((es) => es.map((e) => {
    const p = e as SVGPathElement;
    const m = p.getScreenCTM()!;
    const len = p.getTotalLength();
    const pts: [number, number][] = [];
    for (let s = 0; s <= len; s += 1) {
      const q = new DOMPoint(p.getPointAtLength(s).x, p.getPointAtLength(s).y).matrixTransform(m);
      pts.push([q.x, q.y]);
    }
    return { cls: p.getAttribute('class') ?? '', pts, width: Number(getComputedStyle(p).strokeWidth.replace('px', '')) };
  }));
  const svg = await fig.locator('svg.chart').evaluate((e) => {
    const r = e.getBoundingClientRect();
    return { x: r.x, y: r.y, w: r.width, h: r.height };
  });
  assert.deepEqual(labels.filter((l) => !l.text.includes('swatch')).map((l) => l.text), paths, 'every path named once');
  assert.equal(curves.length, paths.length, 'a curve per path');
  for (const c of curves) assert.ok(c.pts.length > 20, `${c.cls} is drawn (${c.pts.length} samples)`);
  for (const l of labels) {
    const b = l.box;
    assert.ok(b.w > 0 && b.x >= svg.x && b.y >= svg.y && b.x + b.w <= svg.x + svg.w && b.y + b.h <= svg.y + svg.h, `${l.text} inside the svg: ${JSON.stringify([b, svg])}`);
    for (const c of curves) {
      const half = c.width / 2;
      const hit = c.pts.find(([x, y]) => x > b.x - half && x < b.x + b.w + half && y > b.y - half && y < b.y + b.h + half);
      assert.equal(hit, undefined, `${c.cls} runs through the legend's ${l.text} at ${JSON.stringify(hit)}, box ${JSON.stringify(b)}`);
    }
  }
}

test('every comparison names the faster path and by how much: the verdicts, the report and the per-op table', async () => {
  await init();
  // stream: delegated 93 MB/s against direct 124 (the JSON's 0.75, a slowdown) and emulated 58
  await sendRecords([runInfo('run-stream', 'stream', ['emulated', 'delegated', 'direct'], 'e1000'), ...syntheticCalls(3000, { run: 'run-stream', seed: 3 })]);
  const report: BenchReport = { workload: 'stream', mode: 'e1000', mtu: 1500, results: [result('emulated', 58, null), result('delegated', 93, null), result('direct', 124, null)], ratios: { 'delegated/direct': 0.75, 'delegated/emulated': 1.6 } };
  await send(page, { type: 'report', report, runId: 'run-stream' });
  await nextFrame(page);
  assert.equal(await page.evaluate(() => document.body.dataset.tab), 'compare');
  assert.match((await page.locator('.compare-heading').textContent()) ?? '', /^Run stream · emulated vs delegated vs direct \(e1000\) · run-stream$/);
  const verdicts = await text('.compare > .verdicts li strong');
  assert.deepEqual(verdicts, ['delegated 1.60× faster than emulated (throughput)', 'direct 2.14× faster than emulated (throughput)', 'direct 1.33× faster than delegated (throughput)']);
  assert.match((await text('.compare > .verdicts li'))[2]!, /124 vs 93\.0 MB\/s, measured by the benchmark/);
  const ratios = (await page.locator('.report-ratios').textContent()) ?? '';
  assert.match(ratios, /direct 1\.33× faster than delegated \(throughput, higher MB\/s is better; delegated\/direct = 0\.75\)/);
  assert.doesNotMatch(ratios, /0\.75×/, 'no bare ratio without a direction');
  assert.deepEqual((await text('.compare-table th')).slice(7), ['p50 vs emulated', 'p50 vs direct']);
  const send_ = await text('.compare-table tr[data-path=delegated][data-op=send] td');
  assert.match(send_[7]!, /^\d\.\d\d× faster$/, `delegated send against emulated: ${send_.join(' | ')}`);
  assert.match(send_[8]!, /^\d\.\d\d× slower$/, `delegated send against direct: ${send_.join(' | ')}`);
  await shot('verdicts');
});

test('one run at a time: the newest by default, another picked in the tree (selectRun) or the tab, and A/B between two', async () => {
  await init();
  const a = syntheticCalls(3000, { run: 'run-a', seed: 4, paths: ['emulated', 'delegated'], startNs: 1e9 });
  const b = syntheticCalls(1200, { run: 'run-b', seed: 5, paths: ['emulated', 'delegated'], startNs: 60e9, firstSeq: 100_000 });
  await sendRecords([runInfo('run-a', 'stream', ['emulated', 'delegated'], 'e1000'), ...a, runInfo('run-b', 'stream', ['emulated', 'delegated'], 'virtio'), ...b]);
  const callsIn = (recs: TraceRecord[], path: string, op: string) => recs.filter((r) => r.kind === 'call' && r.path === path && r.op === op).length;
  await send(page, { type: 'report', runId: 'run-a', report: { workload: 'stream', mode: 'e1000', mtu: 1500, results: [result('emulated', 58, null), result('delegated', 300, null)], ratios: { 'delegated/emulated': 5.17 } } });
  await send(page, { type: 'report', runId: 'run-b', report: { workload: 'stream', mode: 'virtio', mtu: 1500, results: [result('emulated', 150, null), result('delegated', 366, null)], ratios: { 'delegated/emulated': 2.44 } } });
  await nextFrame(page);

  // the newest run, and only its calls
  assert.match((await page.locator('.compare-heading').textContent()) ?? '', /stream · emulated vs delegated \(virtio\) · run-b/);
  const calls = async (path: string) => Number((await text(`.compare-table tr[data-path=${path}][data-op=send] td`))[2]);
  assert.equal(await calls('delegated'), callsIn(b, 'delegated', 'send'), 'delegated sends of run b only');
  assert.deepEqual(await text('.bench-report td:nth-child(2)'), ['150.0', '366.0'], 'MB/s as the benchmark measured run b');
  assert.deepEqual(await text('.compare > .verdicts li strong'), ['delegated 2.44× faster than emulated (throughput)']);

  // a run clicked in the extension's tree: the host posts selectRun
  await page.keyboard.press('t');
  await send(page, { type: 'selectRun', runId: 'run-a' });
  await nextFrame(page);
  assert.equal(await page.evaluate(() => document.body.dataset.tab), 'compare', 'selecting a run shows Compare');
  assert.match((await page.locator('.compare-heading').textContent()) ?? '', /\(e1000\) · run-a/);
  assert.equal(await calls('delegated'), callsIn(a, 'delegated', 'send'), 'delegated sends of run a only');
  assert.deepEqual(await text('.compare > .verdicts li strong'), ['delegated 5.17× faster than emulated (throughput)']);
  assert.equal(await page.locator('vscode-dropdown[title="Run shown (A)"]').evaluate((d) => (d as HTMLElement & { value: string }).value), 'run-a', 'the tab\'s picker shows it');

  // A/B: run b (virtio) against run a (e1000), picked in the tab
  await page.locator('vscode-dropdown[title="Compare with run B (A/B)"]').click();
  await page.locator('vscode-dropdown[title="Compare with run B (A/B)"] vscode-option', { hasText: 'run-b' }).click();
  await nextFrame(page);
  assert.match((await page.locator('.ab-verdicts h3').textContent()) ?? '', /^A\/B: B = stream .* \(virtio\) · run-b against A = stream .* \(e1000\) · run-a$/);
  assert.deepEqual(await text('.ab-verdicts li strong'), ['emulated: B 2.59× faster than A (throughput)', 'delegated: B 1.22× faster than A (throughput)']);
  await shot('runs-ab');
});

test('figures that cannot be measured show "—" and why; the charts leave untimed calls out', async () => {
  await init();
  const run = 'run-rr';
  const emulated = syntheticCalls(2000, { run, seed: 6, paths: ['emulated'], ops: ['recv', 'send'], startNs: 1e9 });
  await sendRecords([runInfo(run, 'rr', ['emulated', 'direct'], 'e1000'), ...emulated, ...directReceives(1000, run, 1e9, 500_000)]);
  await send(page, { type: 'report', runId: run, report: { workload: 'rr', mode: 'e1000', mtu: 1500, results: [result('emulated', null, 61.2), result('direct', null, null)], ratios: { 'delegated/direct': null }, unavailable: {} } });
  await nextFrame(page);
  const cells = await page.locator('.compare-table tr[data-path=direct][data-op=recv] td').all();
  const shown = await Promise.all(cells.map((c) => c.textContent()));
  assert.deepEqual(shown.slice(0, 5), ['recv', 'direct', '1000 (1000 not timed)', '—', '—'], shown.join(' | '));
  assert.match((await cells[3]!.getAttribute('title')) ?? '', /not timed.*0 ns long.*direct receive/);
  assert.ok(Number(shown[5]) > 0 && Number(shown[5]) < 10_000, `MB/s over the path's span, not over zero time: ${shown[5]}`);
  const emRecv = await text('.compare-table tr[data-path=emulated][data-op=recv] td');
  assert.equal(emRecv[8], '—', 'no p50 verdict against untimed calls');
  assert.ok(!(await page.locator('.compare-table').textContent())!.match(/\b0\.00\b|Infinity|NaN/), 'no 0.00, Infinity or NaN anywhere in the table');
  assert.match((await text('.compare-notes li')).join('\n'), /— direct recv: not measurable: these calls are not timed/);
  assert.deepEqual(await text('.compare > .verdicts li strong'), ['emulated vs direct: not measurable']);
  assert.match((await text('.compare > .verdicts li'))[0]!, /^emulated vs direct: not measurable — the benchmark has no p50 for direct$/);
  assert.equal(await page.locator('svg.chart .cdf-direct').count(), 0, 'no CDF of zero durations');
  assert.equal(await page.locator('svg.chart .cdf-emulated').count(), 1);
  await assertCdfLegendClear(['emulated']);
  assert.match((await text('.chart-note'))[0]!, /direct: 1,000 calls not timed \(0 ns\), left out/);
  assert.deepEqual(await text('.bench-report tr:nth-child(3) td'), ['direct', '—', '—', '—', '—', '1000', 'yes']);
  await shot('not-measured');
});

test('chart legends are drawn in the paths\' colours', async () => {
  await init();
  await sendRecords(syntheticCalls(3000, { run: 'r', seed: 7 }));
  const legend = await page.locator('svg.chart text.legend').evaluateAll((ts) => ts.map((t) => [t.textContent, getComputedStyle(t).fill]));
  const styles = await page.evaluate(() => ['emulated', 'delegated', 'direct'].map((p) => getComputedStyle(document.body).getPropertyValue(`--ls-path-${p}`).trim()));
  const rgb = (hex: string) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;
  const want = Object.fromEntries(['emulated', 'delegated', 'direct'].map((p, i) => [p, rgb(styles[i]!)]));
  const byPath = legend.filter(([t]) => t! in want);
  assert.equal(byPath.length, 6, 'histogram and CDF each name three paths');
  for (const [t, fill] of byPath) assert.equal(fill, want[t!], `${t} legend colour`);
  assert.notEqual(want.emulated, want.delegated);
  // the picture first, so a failing legend below leaves one to look at
  await page.locator('.charts').screenshot({ path: join(SHOTS, 'compare-legend.png') });
  await assertStageLegendReadable();
  await assertCdfLegendClear(['emulated', 'delegated', 'direct']);

  // curves through every corner: direct spread evenly over the log axis (bottom left to top right), emulated
  // mostly slow (flat at 20% across the bottom), delegated mostly fast (flat at 80% across the top)
  const run = 'run-every-corner';
  const spread = Array.from({ length: 200 }, (_, i) => Math.pow(10, (4 * i) / 199));
  const split = (fast: number) => Array.from({ length: 200 }, (_, i) => (i < fast * 200 ? 1 : 10_000));
  await sendRecords([runInfo(run, 'rr', ['emulated', 'delegated', 'direct'], 'virtio'), ...timedSends('emulated', run, split(0.2), 100e9, 900_000),
    ...timedSends('delegated', run, split(0.8), 110e9, 901_000), ...timedSends('direct', run, spread, 120e9, 902_000)]);
  // the newest run replaces the first (the tab may take more than a frame to redraw); the charts come with it
  await page.locator('.compare-heading', { hasText: /^Run rr · emulated vs delegated vs direct \(virtio\)/ }).waitFor();
  const cdf = page.locator('.charts figure', { hasText: 'Latency CDF' });
  await cdf.screenshot({ path: join(SHOTS, 'compare-cdf-every-corner.png') });
  assert.ok(Number(await cdf.locator('svg.chart').getAttribute('width')) > 340, 'the svg grows to hold the legend right of the plot');
  await assertCdfLegendClear(['emulated', 'delegated', 'direct']);
});

test('after the page reloads (VS Code hid the tab) the filter controls show the filter that dims the calls', async () => {
  await init();
  await sendRecords(syntheticCalls(4000, { run: 'r', seed: 8 }));
  await page.locator('vscode-panel-tab#tab-timeline').click();
  await nextFrame(page);
  const result = page.locator('vscode-dropdown[title=Result]');
  await result.click();
  await page.locator('vscode-dropdown[title=Result] vscode-option', { hasText: 'EAGAIN' }).click();
  await page.locator('vscode-dropdown[title=Operation]').click();
  await page.locator('vscode-dropdown[title=Operation] vscode-option', { hasText: /^\s*recv\s*$/ }).click();
  await page.waitForTimeout(400); // state is saved 200 ms after the last change
  await page.reload();
  await page.waitForFunction(() => !!(window as unknown as ViewerWindow).linsockViewer);
  await init();
  await sendRecords(syntheticCalls(4000, { run: 'r', seed: 8 }));
  await nextFrame(page);
  const shows = (sel: string) => page.locator(sel).evaluate((d) => [(d as HTMLElement & { value: string }).value, d.shadowRoot?.querySelector('.selected-value')?.textContent?.trim()]);
  assert.deepEqual(await shows('vscode-dropdown[title=Result]'), ['EAGAIN', 'EAGAIN']);
  assert.deepEqual(await shows('vscode-dropdown[title=Operation]'), ['recv', 'recv']);
  assert.equal(await page.evaluate(() => (window as unknown as ViewerWindow).linsockViewer.state && JSON.stringify((window as unknown as { linsockViewer: { state: { filter: unknown } } }).linsockViewer.state.filter)), JSON.stringify({ text: '', op: 'recv', guest: '', path: '', result: 'EAGAIN', minDurationUs: 0, socket: '' }));
  // and across the viewer's own tabs
  await page.keyboard.press('c');
  await nextFrame(page);
  await page.keyboard.press('t');
  await nextFrame(page);
  assert.deepEqual(await shows('vscode-dropdown[title=Result]'), ['EAGAIN', 'EAGAIN']);
  await page.locator('#view-timeline .toolbar').screenshot({ path: join(SHOTS, 'compare-filter-after-reload.png') });
  await shot('filter-after-reload');
});
