// Bundles every part with esbuild: the extension (CommonJS, `vscode` external), the webview (browser),
// and the daemon and lab command lines (Node). `--production` minifies and drops source maps.
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, copyFileSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  legalComments: 'none',
};

const node = { ...common, platform: 'node', format: 'cjs', target: 'node20' };

/** Every bundle, by its entry point; an entry that a later issue has not created yet is skipped. */
const bundles = [
  { ...node, entryPoints: ['extension/main.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  // Trace files are parsed off the extension host's thread; the loader starts this beside dist/extension.js.
  { ...node, entryPoints: ['extension/trace-file-worker.ts'], outfile: 'dist/trace-file-worker.js' },
  { ...node, entryPoints: ['daemon/cli.ts'], outfile: 'dist/linsockd.js' },
  // linsockd --workers: the worker processes it forks (daemon/workers/worker-pool.ts finds it beside itself).
  { ...node, entryPoints: ['daemon/workers/worker-main.ts'], outfile: 'dist/linsockd-worker.js' },
  // The lab loads its native device model at run time from build/Release; keep .node files out of the bundle.
  { ...node, entryPoints: ['lab/cli.ts'], outfile: 'dist/linsock.js', external: ['*.node'] },
  { ...common, platform: 'browser', format: 'iife', target: 'chrome120', entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js' },
].filter((b) => existsSync(b.entryPoints[0]));

mkdirSync('dist', { recursive: true });
if (existsSync('media/viewer.css')) copyFileSync('media/viewer.css', 'dist/viewer.css');

if (watch) {
  for (const b of bundles) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(bundles.map((b) => esbuild.build(b)));
}
