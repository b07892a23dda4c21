// speedscope (the npm package ships its built app) as an independent Chrome JSON viewer: its release
// served on 127.0.0.1 next to the files under test, each opened through its #profileURL= hash in headless
// Chromium. What the page logs while importing is collected: speedscope reports every slice that does not
// nest (and a stack overflow on deep mis-nesting) as console warnings and errors.

import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, normalize } from 'node:path';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../webview/chromium';

const RELEASE = join(dirname(require.resolve('speedscope/package.json')), 'dist', 'release');
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html', '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png', '.woff2': 'font/woff2', '.ico': 'image/x-icon', '.txt': 'text/plain' };

export interface SpeedscopeLoad {
  /** Console messages of type warning or error, and page errors. */
  problems: string[];
  /** Every console message, for the failure message. */
  log: string[];
  /** speedscope's profile picker text ("name (1/12)"), or the page's text when it has none. */
  toolbar: string;
  /** Canvas elements in the page (the flame chart draws on them). */
  canvases: number;
}

export class SpeedscopeViewer {
  private constructor(private readonly server: Server, private readonly browser: Browser, private readonly files: Map<string, string>) {}

  static async start(): Promise<SpeedscopeViewer> {
    const files = new Map<string, string>();
    const server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const served = files.get(path) ?? normalize(join(RELEASE, path === '/' ? 'index.html' : path));
      if (!files.has(path) && !served.startsWith(RELEASE)) {
        res.writeHead(403).end();
        return;
      }
      readFile(served).then(
        (body) => res.writeHead(200, { 'content-type': TYPES[extname(served)] ?? 'application/octet-stream', 'access-control-allow-origin': '*' }).end(body),
        () => res.writeHead(404).end(),
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new SpeedscopeViewer(server, await launchChromium(), files);
  }

  private get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Opens `file` in speedscope and waits until it drew the profile (or failed). */
  async load(file: string, name: string): Promise<SpeedscopeLoad> {
    const urlPath = `/traces/${encodeURIComponent(name)}`;
    this.files.set(urlPath, file);
    const page = await this.browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems: string[] = [];
    const log: string[] = [];
    page.on('console', (m) => {
      log.push(`${m.type()}: ${m.text()}`);
      if (m.type() === 'warning' || m.type() === 'error') problems.push(`${m.type()}: ${m.text().slice(0, 300)}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    try {
      await page.goto(`${this.origin}/index.html#profileURL=${encodeURIComponent(this.origin + urlPath)}&title=${encodeURIComponent(name)}`);
      // Imported: the title names the profile; failed: the page says it could not import.
      // A page expression (this file is type-checked without the DOM library).
      const done = `document.title.includes(${JSON.stringify(name)}) || /Something went wrong|Unrecognized format|Could not/i.test(document.body.innerText)`;
      await page.waitForFunction(done, undefined, { timeout: 60_000 });
      await page.waitForTimeout(500);
      const canvases = await page.locator('canvas').count();
      const toolbar = (await page.locator('body').innerText()).slice(0, 2000);
      return { problems, log, toolbar, canvases };
    } finally {
      await page.close();
    }
  }

  async close(): Promise<void> {
    await this.browser.close();
    this.server.close();
  }
}
