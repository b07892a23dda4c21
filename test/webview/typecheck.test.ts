// The browser tests and scripts/bench-viewer.ts hold code that runs in the page (inside page.evaluate), so
// they type-check in their own project with the DOM's types (test/webview/tsconfig.json), not the root's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

test('the browser tests and the viewer benchmark type-check against Node and DOM types', () => {
  const root = resolve(__dirname, '../..');
  const r = spawnSync(process.execPath, [resolve(root, 'node_modules/typescript/bin/tsc'), '-p', 'test/webview', '--noEmit'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc -p test/webview:\n${r.stdout}${r.stderr}`);
});
