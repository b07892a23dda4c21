// The timeline's saved PNG carries what makes it readable: the stage legend and the time axis above the
// tracks, drawn into the image (not just on the page). The PNG the viewer posts is decoded in the page
// and its bands are checked pixel by pixel against the page's own canvas and colours.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from './chromium';
import { startPageServer, type PageServer } from './page-server';
import { loadSynthetic, nextFrame, posted, type ViewerWindow } from './viewer-page';

let server: PageServer;
let browser: Browser;

before(async () => {
  server = await startPageServer();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const KERNEL = '#e15759';
const EXECUTE = '#59a14f';

interface Bands {
  width: number;
  height: number;
  tracksHeight: number;
  axisHeight: number;
  /** Pixels of a colour within the legend band (above the axis). */
  legendKernel: number;
  legendExecute: number;
  /** Pixels that differ from the background in the axis band, and those on its base line. */
  axisInk: number;
  axisBaseInk: number;
  /** Pixels of the tracks part that differ from the page's canvas. */
  tracksDiffer: number;
}

test('the saved PNG holds the stage legend and the time axis above the tracks', async () => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  try {
    // tsx names the helper functions below with esbuild's __name, which the page does not have.
    await page.addInitScript('window.__name = (f) => f');
    await page.goto(server.url);
    await page.waitForFunction(() => !!(window as unknown as ViewerWindow).linsockViewer);
    await loadSynthetic(page, { calls: 3_000 });
    await page.locator('vscode-panel-tab#tab-timeline').click();
    await nextFrame(page);
    // The page itself shows the legend with the kernel and execute stages (the synthetic trace has both).
    const names = await page.locator('.legend .legend-item').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.name));
    assert.ok(names.includes('kernel') && names.includes('execute'), `legend items on the page: ${names.join(', ')}`);
    await page.locator('vscode-button', { hasText: 'PNG' }).click();
    const [image] = await posted(page, 'saveImage');
    assert.ok(image && /^data:image\/png;base64,/.test(String(image.data)), 'a PNG was posted');
    // Kept for a person to look at.
    const results = join(__dirname, '..', '..', 'test-results');
    mkdirSync(results, { recursive: true });
    writeFileSync(join(results, 'viewer-timeline-export.png'), Buffer.from(String(image.data).slice('data:image/png;base64,'.length), 'base64'));
    const bands = await page.evaluate(
      async ([url, kernel, execute]) => {
        const img = new Image();
        img.src = url;
        await img.decode();
        const c = document.createElement('canvas');
        c.width = img.width;
        c.height = img.height;
        const ctx = c.getContext('2d', { willReadFrequently: true })!;
        ctx.drawImage(img, 0, 0);
        const tracks = document.querySelector('canvas.tracks') as HTMLCanvasElement;
        const axis = document.querySelector('svg.axis') as SVGSVGElement;
        const dpr = tracks.width / tracks.clientWidth;
        const axisHeight = Math.round(Number(axis.getAttribute('height')) * dpr);
        const top = img.height - tracks.height;
        const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
        const near = (d: Uint8ClampedArray, i: number, [r, g, b]: number[]) => Math.abs(d[i]! - r!) <= 6 && Math.abs(d[i + 1]! - g!) <= 6 && Math.abs(d[i + 2]! - b!) <= 6;
        const count = (y0: number, y1: number, hit: (d: Uint8ClampedArray, i: number) => boolean) => {
          if (y1 <= y0) return 0;
          const d = ctx.getImageData(0, y0, c.width, y1 - y0).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) if (hit(d, i)) n++;
          return n;
        };
        const bg = Array.from(ctx.getImageData(0, 0, 1, 1).data.slice(0, 3));
        const legendEnd = top - axisHeight;
        const ink = (d: Uint8ClampedArray, i: number) => !near(d, i, bg);
        const page = tracks.getContext('2d')!.getImageData(0, 0, tracks.width, tracks.height).data;
        const saved = ctx.getImageData(0, top, c.width, tracks.height).data;
        let tracksDiffer = 0;
        for (let i = 0; i < page.length; i += 4) if (Math.abs(page[i]! - saved[i]!) + Math.abs(page[i + 1]! - saved[i + 1]!) + Math.abs(page[i + 2]! - saved[i + 2]!) > 6) tracksDiffer++;
        return {
          width: img.width, height: img.height, tracksHeight: tracks.height, axisHeight,
          legendKernel: count(0, legendEnd, (d, i) => near(d, i, rgb(kernel))),
          legendExecute: count(0, legendEnd, (d, i) => near(d, i, rgb(execute))),
          axisInk: count(legendEnd, top - Math.round(2 * dpr), ink),
          axisBaseInk: count(top - Math.round(dpr), top, ink),
          tracksDiffer,
        } satisfies Bands;
      },
      [String(image.data), KERNEL, EXECUTE] as [string, string, string],
    );
    assert.ok(bands.height > bands.tracksHeight + bands.axisHeight, `the PNG (${bands.height} px high) has room for a legend and an axis above the ${bands.tracksHeight} px of tracks`);
    // A swatch is 10 x 10 CSS px.
    assert.ok(bands.legendKernel >= 80, `kernel swatch pixels in the legend band: ${bands.legendKernel}`);
    assert.ok(bands.legendExecute >= 80, `execute swatch pixels in the legend band: ${bands.legendExecute}`);
    // Tick marks and their labels, and the axis line along the bottom of its band.
    assert.ok(bands.axisInk > 300, `ink in the axis band (tick labels): ${bands.axisInk}`);
    assert.ok(bands.axisBaseInk > bands.width / 2, `the axis line: ${bands.axisBaseInk} of ${bands.width} pixels`);
    assert.equal(bands.tracksDiffer, 0, 'below the axis, the tracks exactly as the page drew them');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
