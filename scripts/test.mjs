// `npm test`: the Debian packages the tests need (scripts/prerequisites.mjs: installed as root on Debian, else
// the run stops at once and names the command), the build, type-check, lint, import rules, then every
// *.test.ts under Node's test runner (via tsx), then VS Code end to end. Each step prints its own summary;
// the first failing step fails the run with its exit code. `npm test -- FILES` (or LINSOCK_TEST_ONLY=1) builds
// and runs just those tests: no package check, no type-check, no VS Code.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrerequisites } from './prerequisites.mjs';

const only = process.argv.slice(2);
const skipChecks = process.env.LINSOCK_TEST_ONLY === '1' || only.length > 0;

function run(title, cmd, args, env = {}) {
  const t0 = Date.now();
  console.log(`\n== ${title}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.status !== 0) {
    console.error(`== ${title}: FAILED (exit ${r.status ?? r.signal}) after ${secs}s`);
    process.exit(r.status || 1);
  }
  console.log(`== ${title}: ok (${secs}s)`);
}

function* testFiles(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* testFiles(p);
    else if (name.endsWith('.test.ts')) yield p;
  }
}

// Before anything long: a missing package must not surface minutes later in the step that needs it.
if (!skipChecks && ensurePrerequisites('test') !== 0) process.exit(1);
run('build (dist/)', 'node', ['scripts/build.mjs']);

if (!skipChecks) {
  run('type-check (Node parts)', 'npx', ['tsc', '-p', '.', '--noEmit']);
  run('type-check (webview)', 'npx', ['tsc', '-p', 'webview', '--noEmit']);
  // Tests beside webview code run under Node but import DOM-typed modules: their own project.
  run('type-check (webview tests)', 'npx', ['tsc', '-p', 'webview/tsconfig.test.json', '--noEmit']);
  // Browser tests and the viewer benchmark run code in Node and, in page.evaluate, in the page: Node + DOM types.
  run('type-check (browser tests)', 'npx', ['tsc', '-p', 'test/webview', '--noEmit']);
  run('lint', 'npx', ['eslint', '.', '--max-warnings', '0']);
  run('import rules', 'node', ['scripts/check-imports.mjs']);
}

const dirs = ['protocol', 'daemon', 'guest', 'lab', 'native', 'extension', 'webview', 'test'];
const files = only.length ? only : dirs.flatMap((d) => { try { return [...testFiles(d)]; } catch { return []; } }).sort();
run(`tests (${files.length} files)`, process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files]);

// The extension in a real VS Code (test/vscode/): code-server installed offline into .cache/ (kept between
// runs), then the extension-host suite, the live and the comparison UI tests in Chromium, and the .vsix.
// Only in the full run; its Debian packages (chromium, ripgrep, libkrb5-dev) were checked first.
if (!skipChecks) {
  run('VS Code: code-server 4.100.3 (installed once into .cache/code-server)', 'bash', ['test/vscode/install-code-server.sh']);
  run('VS Code end to end (ext-host, ui-live, ui, ui-faults, ui-vm, vsix)', 'node', ['--import', 'tsx', 'test/vscode/run.ts']);
}
