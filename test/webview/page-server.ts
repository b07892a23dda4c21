// The test page's tiny static server on 127.0.0.1 (ephemeral port): the page with a fresh nonce per
// request, dist/ (the viewer bundle and stylesheet), the page's own files, and the fixtures bundle.
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, normalize, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { viewerPage } from '../../extension/viewer-page';

const root = resolve(__dirname, '../..');
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html', '.map': 'application/json' };

export interface PageServer {
  url: string;
  close(): Promise<void>;
}

export async function startPageServer(): Promise<PageServer> {
  for (const f of ['dist/webview.js', 'dist/viewer.css'])
    if (!existsSync(join(root, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
  const fixtures = await esbuild.build({ entryPoints: [join(__dirname, 'page/fixtures-entry.ts')], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'chrome120', logLevel: 'silent' });
  const fixturesJs = fixtures.outputFiles[0]!.text;
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    try {
      if (path === '/' || path === '/index.html') {
        const nonce = randomBytes(16).toString('base64');
        const html = (await readFile(join(__dirname, 'page/index.html'), 'utf8')).replaceAll('{{NONCE}}', nonce);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
        return;
      }
      if (path === '/extension-page') {
        // the page exactly as the extension builds it, its cspSource being this server
        const origin = `http://${req.headers.host}`;
        const html = viewerPage({ cspSource: origin, scriptUri: `${origin}/dist/webview.js`, styleUri: `${origin}/dist/viewer.css`, title: 'extension page' });
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
        return;
      }
      if (path === '/favicon.ico') {
        res.writeHead(204).end();
        return;
      }
      if (path === '/fixtures.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(fixturesJs);
        return;
      }
      const base = path.startsWith('/dist/') ? root : path.startsWith('/page/') ? __dirname : null;
      const file = base && normalize(join(base, path));
      if (!file || !file.startsWith(base!)) throw new Error('outside');
      const ext = file.slice(file.lastIndexOf('.'));
      res.writeHead(200, { 'content-type': TYPES[ext] ?? 'application/octet-stream' }).end(await readFile(file));
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${addr.port}/`,
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}
