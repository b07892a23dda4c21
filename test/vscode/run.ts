// `npm run test:vscode`: the extension in a real VS Code. Runs the extension-host suite
// (suite/extension-host.e2e.ts) and the UI test (ui.e2e.ts) in code-server 4.100.3 with Chromium, prints
// each one's result and time, checks the .vsix, and ends with "N passed, N failed". Arguments pick some:
// `ext-host`, `ui-live`, `ui`, `ui-faults`, `ui-vm`, `vsix`.
// Needs: npm run build (dist/), test/vscode/install-code-server.sh, Debian's chromium.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { codeServerEntry, launchChromium, startCodeServer } from './code-server';
import { runFaultsTest } from './ui-faults.e2e';
import { runUiTest } from './ui.e2e';
import { runVmUiTest } from './ui-vm.e2e';

const root = resolve(__dirname, '..', '..');
const results = join(root, 'test-results');

/** Bundles the suite for the extension host: CommonJS, `vscode` provided by the host. */
async function bundleSuite(): Promise<string> {
  const out = join(root, '.cache', 'vscode-tests', 'extension-host.js');
  await esbuild.build({ entryPoints: [join(__dirname, 'suite', 'extension-host.e2e.ts')], outfile: out, bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'], logLevel: 'warning', sourcemap: 'inline' });
  return out;
}

async function runExtensionHostSuite(): Promise<void> {
  if (!existsSync(join(root, 'dist', 'extension.js'))) throw new Error('dist/extension.js is missing: npm run build');
  const suite = await bundleSuite();
  const tmp = mkdtempSync(join(tmpdir(), 'linsock-vscode-'));
  const out = join(results, 'vscode-extension-host.log');
  rmSync(out, { force: true });
  const workspace = join(tmp, 'workspace');
  mkdirSync(workspace);
  const cs = await startCodeServer({ root, tmp, settings: { 'linsock.viewer.recordLimit': 250000 }, env: { LINSOCK_E2E_ROOT: root, LINSOCK_E2E_OUT: out } });
  const { browser, page } = await launchChromium();
  try {
    const exit = new Promise<number>((res) => void page.exposeFunction('codeAutomationExit', (code: number) => res(code)));
    await page.goto(cs.url(workspace, [['extensionDevelopmentPath', cs.remote(root)], ['extensionTestsPath', cs.remote(suite)]]));
    const code = await Promise.race([exit, new Promise<number>((_, rej) => setTimeout(() => rej(new Error('the extension-host suite did not finish within 180 s')), 180_000))]);
    const log = existsSync(out) ? readFileSync(out, 'utf8') : '(the suite wrote no log: it did not start; code-server said:)\n' + cs.log();
    console.log(log.trimEnd().replace(/^/gm, '    '));
    if (code !== 0) throw new Error(`the extension-host suite exited with ${code}`);
  } finally {
    await browser.close();
    await cs.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** `npm run package` builds the .vsix; code-server installs it; the installed folder holds no sources or tests. */
async function checkVsix(): Promise<void> {
  const vsix = join(root, 'dist', 'linsock-trace.vsix');
  rmSync(vsix, { force: true });
  const pack = spawnSync('npm', ['run', 'package', '--silent'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (pack.status !== 0 || !existsSync(vsix)) throw new Error(`npm run package failed (${pack.status}): ${pack.stderr}${pack.stdout}`.slice(0, 4000));
  const tmp = mkdtempSync(join(tmpdir(), 'linsock-vsix-'));
  try {
    const inst = spawnSync(process.execPath, [codeServerEntry(root), '--install-extension', vsix, '--extensions-dir', join(tmp, 'ext'), '--user-data-dir', join(tmp, 'ud')], {
      encoding: 'utf8',
      env: { ...process.env, XDG_CONFIG_HOME: join(tmp, 'config'), XDG_DATA_HOME: join(tmp, 'data') },
    });
    if (inst.status !== 0 || !/successfully installed/.test(inst.stdout)) throw new Error(`code-server --install-extension refused the .vsix: ${inst.stdout}${inst.stderr}`);
    const dir = join(tmp, 'ext', 'linsock.linsock-trace-0.1.0');
    const files: string[] = [];
    const walk = (d: string) => readdirSync(d).forEach((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : files.push(join(d, n).slice(dir.length + 1))));
    walk(dir);
    for (const need of ['package.json', 'dist/extension.js', 'dist/webview.js', 'dist/viewer.css', 'media/linsock-activity.svg'])
      if (!files.includes(need)) throw new Error(`the installed extension lacks ${need}: ${files.join(', ')}`);
    const leaked = files.filter((f) => /\.ts$|\.map$|^node_modules\/|^test\/|^extension\//.test(f));
    if (leaked.length) throw new Error(`the .vsix carries sources or tooling: ${leaked.join(', ')}`);
    console.log(`    ${vsix}: ${(statSync(vsix).size / 1024).toFixed(0)} KiB, ${files.length} files, installed by code-server`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    // The package step left minified bundles without source maps in dist/; rebuild the development ones.
    spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  }
}

async function main(): Promise<void> {
  mkdirSync(results, { recursive: true });
  const picked = process.argv.slice(2);
  const all: [string, () => Promise<void>][] = [
    ['ext-host', runExtensionHostSuite],
    ['ui-live', () => runUiTest(root, results, 'live')],
    ['ui', () => runUiTest(root, results, 'comparison')],
    ['ui-faults', () => runFaultsTest(root, results)],
    // Run Comparison… in a real QEMU VM (rr, delegated, 1 s): a VM boot and run, about a minute under TCG.
    ['ui-vm', () => runVmUiTest(root, results)],
    ['vsix', checkVsix],
  ];
  const unknown = picked.filter((p) => !all.some(([n]) => n === p));
  if (unknown.length) {
    // A misspelt name would otherwise run nothing and report success.
    console.error(`vscode: unknown test ${unknown.join(', ')}; expected ${all.map(([n]) => n).join(', ')}`);
    process.exit(2);
  }
  const runs = picked.length ? all.filter(([n]) => picked.includes(n)) : all;
  let passed = 0;
  let failed = 0;
  for (const [name, fn] of runs) {
    const t0 = Date.now();
    console.log(`== vscode ${name}`);
    try {
      await fn();
      passed++;
      console.log(`== vscode ${name}: ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    } catch (err) {
      failed++;
      console.error(`== vscode ${name}: FAILED (${((Date.now() - t0) / 1000).toFixed(1)} s): ${(err as Error).message}`);
    }
  }
  console.log(`vscode: ${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

void main();
