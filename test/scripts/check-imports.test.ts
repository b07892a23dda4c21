// scripts/check-imports.mjs must fail on each kind of broken import rule (DESIGN.md, "Folders"), on an
// addon loaded outside native/ and on an import cycle, and pass on a tree that keeps them, including the real one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const repo = resolve(__dirname, '..', '..');
const script = join(repo, 'scripts', 'check-imports.mjs');

/** Runs the check on a tree made of `files` (path -> source); returns its exit status and output. */
function check(files: Record<string, string>): { status: number | null; output: string } {
  const root = mkdtempSync(join(tmpdir(), 'linsock-imports-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    const r = spawnSync(process.execPath, [script, root], { encoding: 'utf8' });
    return { status: r.status, output: r.stdout + r.stderr };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** A tree that keeps every rule; each case below breaks one. */
const good: Record<string, string> = {
  'protocol/index.ts': "export * from './wire';\n",
  'protocol/wire.ts': 'export const X = 1;\n',
  'daemon/index.ts': "import { X } from '../protocol/index';\nimport { readFileSync } from 'node:fs';\nexport { X, readFileSync };\n",
  'daemon/server.ts': "import { WebSocketServer } from 'ws';\nexport { WebSocketServer };\n",
  'daemon/buffers.ts': "// Deepens buffers with the addon in build/Release, through native/.\nexport { deepen } from '../native/buffers';\n",
  'guest/index.ts': "export { X } from '../protocol';\nexport { deepen } from '../native/buffers';\n",
  'lab/cli.ts': "import { X } from '../daemon/index';\nimport { X as Y } from '../guest';\nimport { open } from '../native/tap';\nexport { X, Y, open };\n",
  'native/addon.ts':
    "import { join } from 'node:path';\nexport function load(name: string): unknown {\n  const mod = { exports: {} };\n  process.dlopen(mod, join(__dirname, '..', 'build', 'Release', `${name}.node`));\n  return mod.exports;\n}\n",
  'native/tap.ts': "import { load } from './addon';\nexport const open = () => load('tap');\n",
  'native/buffers.ts': "import { load } from './addon';\nexport const deepen = () => load('sockbuf');\n",
  'test/addon.test.ts': "process.dlopen({ exports: {} }, 'build/Release/tap.node');\n",
  'webview/main.ts': "import * as d3 from 'd3';\nimport { X } from '../protocol/index';\nexport { d3, X };\n",
  'webview/toolkit.ts': "import { provideVSCodeDesignSystem } from '@vscode/webview-ui-toolkit';\nexport { provideVSCodeDesignSystem };\n",
};

test('a tree that keeps the rules passes', () => {
  const r = check(good);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /import rules: ok/);
});

test('webview/ importing a Node built-in fails', () => {
  const r = check({ ...good, 'webview/files.ts': "import { readFileSync } from 'node:fs';\nexport { readFileSync };\n" });
  assert.equal(r.status, 1);
  assert.match(r.output, /webview\/files\.ts: imports 'node:fs' — webview\/ may not use Node built-ins/);
});

test('protocol/ importing daemon/ fails', () => {
  const r = check({ ...good, 'protocol/leak.ts': "import { X } from '../daemon/index';\nexport { X };\n" });
  assert.equal(r.status, 1);
  assert.match(r.output, /protocol\/leak\.ts: imports '\.\.\/daemon\/index' — protocol\/ may not import daemon\//);
});

test('lab/ importing a daemon/ file other than its index.ts fails', () => {
  const r = check({ ...good, 'lab/deep.ts': "import { WebSocketServer } from '../daemon/server';\nexport { WebSocketServer };\n" });
  assert.equal(r.status, 1);
  assert.match(r.output, /lab\/deep\.ts: imports '\.\.\/daemon\/server' — lab\/ may import daemon\/ only through daemon\/index\.ts/);
});

test('a webview/ file other than webview/toolkit.ts importing the toolkit fails', () => {
  const r = check({ ...good, 'webview/panel.ts': "import { allComponents } from '@vscode/webview-ui-toolkit';\nexport { allComponents };\n" });
  assert.equal(r.status, 1);
  assert.match(r.output, /webview\/panel\.ts: imports '@vscode\/webview-ui-toolkit' — only webview\/toolkit\.ts may use the toolkit/);
});

test('native/ importing the rest of the project fails', () => {
  const r = check({ ...good, 'native/wire.ts': "export { X } from '../protocol/wire';\n" });
  assert.equal(r.status, 1);
  assert.match(r.output, /native\/wire\.ts: imports '\.\.\/protocol\/wire' — native\/ may not import protocol\//);
});

test('extension/ importing native/ fails', () => {
  const r = check({ ...good, 'extension/tap.ts': "export { open } from '../native/tap';\n" });
  assert.equal(r.status, 1);
  assert.match(r.output, /extension\/tap\.ts: imports '\.\.\/native\/tap' — extension\/ may not import native\//);
});

test('an addon loaded outside native/ fails, however it is loaded', () => {
  const r = check({
    ...good,
    'guest/own-loader.ts': "const mod = { exports: {} };\nprocess.dlopen(mod, '/opt/x.node');\nexport { mod };\n",
    'lab/required.ts': "export const tap = require('../build/x/linsock_tap.node');\n",
    'daemon/path.ts': "import { join } from 'node:path';\nexport const file = join(__dirname, '..', 'build', 'Release', 'x.node');\n",
    'scripts/probe.mjs': "export const file = `${process.cwd()}/build/Release/x.node`;\n",
  });
  assert.equal(r.status, 1);
  assert.match(r.output, /guest\/own-loader\.ts: calls process\.dlopen — only native\/ loads C addons/);
  assert.match(r.output, /lab\/required\.ts: requires a \.node file/);
  assert.match(r.output, /daemon\/path\.ts: joins a path into build\/Release/);
  assert.match(r.output, /scripts\/probe\.mjs: names build\/Release in a string/);
});

test('an import cycle fails with the cycle printed, type-only imports included', () => {
  const r = check({
    ...good,
    'daemon/session.ts': "import { handle } from './handlers';\nexport type Session = { id: number };\nexport const run = () => handle;\n",
    'daemon/handlers.ts': "import type { Context } from './context';\nexport const handle = (c: Context) => c;\n",
    'daemon/context.ts': "import type { Session } from './session';\nexport type Context = { session: Session };\n",
  });
  assert.equal(r.status, 1);
  assert.match(r.output, /import cycle: daemon\/context\.ts -> daemon\/session\.ts -> daemon\/handlers\.ts -> daemon\/context\.ts/);
});

test('a cycle through an index.ts fails', () => {
  const r = check({ ...good, 'protocol/wire.ts': "export { X as Y } from './index';\nexport const X = 1;\n" });
  assert.equal(r.status, 1);
  assert.match(r.output, /import cycle: protocol\/index\.ts -> protocol\/wire\.ts -> protocol\/index\.ts/);
});

test('the real tree passes', () => {
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
