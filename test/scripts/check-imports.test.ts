// scripts/check-imports.mjs must fail on each kind of broken import rule (DESIGN.md, "Folders") and pass
// on a tree that keeps them, including the real one.
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
  'guest/index.ts': "export { X } from '../protocol';\n",
  'lab/cli.ts': "import { X } from '../daemon/index';\nimport { X as Y } from '../guest';\nexport { X, Y };\n",
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

test('the real tree passes', () => {
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
