// Drives the viewer on the test page: delivers host messages the way VS Code does (a 'message' event on
// window), reads what it posted back, and samples canvas pixels.
import type { Page } from 'playwright-core';
import type { ToViewer } from '../../protocol/webview-messages';
import type { PageTraceOptions } from './page/fixtures-entry';
import type { ComparisonOptions } from '../fixtures/synthetic';

interface PageGlobals {
  linsockFixtures: { chunks(o: PageTraceOptions, batch?: number): Uint8Array[]; comparison(o: ComparisonOptions, batch?: number): Uint8Array[]; encode(records: unknown[]): Uint8Array };
  linsockViewer: { calls: number; frames: number; stats: { visible: number; merged: number; rects: number }; window: [number, number]; selected: number; state: unknown; frameTimes(): number[]; arrayBytes: number;
    rows: { kind: 'run' | 'lane' | 'track'; label: string; y: number; h: number }[]; trim: { pending: boolean; ms: number } };
  __posted: { type: string; [k: string]: unknown }[];
  __cspViolations: string[];
}
export type ViewerWindow = Window & PageGlobals;

export async function send(page: Page, m: ToViewer): Promise<void> {
  await page.evaluate((msg) => window.dispatchEvent(new MessageEvent('message', { data: msg })), m as unknown as Record<string, unknown>);
}

/** Generates a synthetic trace in the page and delivers it as .lstrace chunks; resolves once drawn. */
export async function loadSynthetic(page: Page, opts: PageTraceOptions, source: 'live' | 'file' = 'file'): Promise<number> {
  await send(page, { type: 'init', source, title: 'synthetic', recordLimit: 2_000_000 });
  const calls = await page.evaluate((o) => {
    const w = window as unknown as ViewerWindow;
    for (const bytes of w.linsockFixtures.chunks(o)) window.dispatchEvent(new MessageEvent('message', { data: { type: 'chunk', bytes } }));
    return w.linsockViewer.calls;
  }, opts);
  await nextFrame(page);
  return calls;
}

/**
 * Waits until frames requested before this call have been drawn: the viewer's requestAnimationFrame
 * callbacks run before ours in the same frame, so two frames of ours cover a pending redraw.
 */
export async function nextFrame(page: Page): Promise<void> {
  await page.evaluate(() => new Promise<void>((ok) => requestAnimationFrame(() => requestAnimationFrame(() => ok()))));
}

export async function posted(page: Page, type: string): Promise<{ type: string; [k: string]: unknown }[]> {
  return page.evaluate((t) => (window as unknown as ViewerWindow).__posted.filter((m) => m.type === t), type);
}

/** Counts pixels of the timeline canvas in a horizontal band whose colour is within `tol` of `hex`. */
export async function countColour(page: Page, hex: string, y0: number, y1: number, tol = 6): Promise<number> {
  return page.evaluate(
    ([hx, a, b, t]) => {
      const c = document.querySelector('canvas.tracks') as HTMLCanvasElement;
      const dpr = c.width / c.clientWidth;
      const ctx = c.getContext('2d')!;
      const img = ctx.getImageData(0, Math.round(a * dpr), c.width, Math.max(1, Math.round((b - a) * dpr)));
      const r = parseInt(hx.slice(1, 3), 16), g = parseInt(hx.slice(3, 5), 16), bl = parseInt(hx.slice(5, 7), 16);
      let n = 0;
      for (let i = 0; i < img.data.length; i += 4)
        if (Math.abs(img.data[i]! - r) <= t && Math.abs(img.data[i + 1]! - g) <= t && Math.abs(img.data[i + 2]! - bl) <= t) n++;
      return n;
    },
    [hex, y0, y1, tol] as [string, number, number, number],
  );
}
