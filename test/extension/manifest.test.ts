// The extension's manifest (package.json) agrees with its code: every contributed command is registered
// and titled, menus and views name things that exist, settings carry descriptions, and the keys the code
// reads are declared. A typo here fails silently in VS Code, so it fails here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const nls = JSON.parse(readFileSync(join(root, 'package.nls.json'), 'utf8')) as Record<string, string>;
const source = readdirSync(join(root, 'extension'))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .map((f) => readFileSync(join(root, 'extension', f), 'utf8'))
  .join('\n');
const c = pkg.contributes;

/** A manifest string: either literal text or a %key% that package.nls.json defines. */
function resolved(s: string): string {
  const m = /^%(.+)%$/.exec(s);
  if (!m) return s;
  assert.ok(nls[m[1]!], `package.nls.json lacks '${m[1]}'`);
  return nls[m[1]!]!;
}

test('every contributed command is registered by the code, titled and in category Linsock', () => {
  const registered = new Set([...source.matchAll(/reg\('([\w.]+)'/g)].map((m) => m[1]));
  for (const cmd of c.commands) {
    assert.ok(registered.has(cmd.command), `${cmd.command} is contributed but never registered`);
    assert.equal(cmd.category, 'Linsock');
    assert.ok(resolved(cmd.title).length > 0);
  }
  for (const id of registered) assert.ok(c.commands.some((x: { command: string }) => x.command === id), `${id} is registered but not contributed`);
  const palette = ['connect', 'disconnect', 'startRecording', 'stopRecording', 'openViewer', 'runComparison', 'exportTrace', 'openTraceFile', 'clearTrace', 'showLog'];
  const hidden = new Set(c.menus.commandPalette.filter((m: { when: string }) => m.when === 'false').map((m: { command: string }) => m.command));
  for (const p of palette) assert.ok(!hidden.has(`linsock.${p}`), `linsock.${p} must be in the palette`);
});

test('menus name contributed commands and use only the context keys the code sets', () => {
  const ids = new Set(c.commands.map((x: { command: string }) => x.command));
  const keys = new Set([...source.matchAll(/setContext\('([\w.]+)'/g)].map((m) => m[1]));
  for (const [menu, items] of Object.entries(c.menus) as [string, { command: string; when?: string }[]][]) {
    for (const item of items) {
      assert.ok(ids.has(item.command), `${menu} names unknown ${item.command}`);
      for (const k of (item.when ?? '').match(/linsock\.\w+/g) ?? []) if (k !== 'linsock.explorer' && k !== 'linsock.viewer') assert.ok(keys.has(k), `${menu}: context key ${k} is never set`);
    }
  }
});

test('views, the custom editor and the serializer are wired to what the code registers', () => {
  assert.equal(c.viewsContainers.activitybar[0].id, 'linsock');
  assert.ok(existsSync(join(root, c.viewsContainers.activitybar[0].icon)));
  assert.ok(existsSync(join(root, pkg.icon)));
  assert.match(source, new RegExp(`registerTreeDataProvider\\('${c.views.linsock[0].id}'`));
  assert.equal(c.customEditors[0].viewType, 'linsock.traceFile');
  assert.match(source, /TRACE_FILE_VIEW_TYPE = 'linsock\.traceFile'/);
  assert.deepEqual(c.customEditors[0].selector.map((s: { filenamePattern: string }) => s.filenamePattern), ['*.lstrace', '*.linsock.json']);
  assert.ok(pkg.activationEvents.includes('onWebviewPanel:linsock.viewer'));
  assert.match(source, /VIEWER_VIEW_TYPE = 'linsock\.viewer'/);
});

test('settings are described, and the ones the code reads are declared; untrusted workspaces cannot redirect the daemon', () => {
  const props = c.configuration.properties as Record<string, { markdownDescription?: string; description?: string; default: unknown }>;
  for (const [k, v] of Object.entries(props)) assert.ok(resolved(v.markdownDescription ?? v.description ?? '').length > 20, `${k} needs a description`);
  for (const m of source.matchAll(/get<\w+>\('([\w.]+)'/g)) assert.ok(props[`linsock.${m[1]}`], `the code reads linsock.${m[1]}, which is not declared`);
  assert.equal(props['linsock.daemon.url']!.default, 'ws://127.0.0.1:7717/trace');
  assert.deepEqual(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations, ['linsock.daemon.url', 'linsock.daemon.tokenFile']);
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.deepEqual(pkg.extensionKind, ['workspace']);
});

test('engines match the code-server the tests run and the @types/vscode the code compiles against', () => {
  assert.equal(pkg.engines.vscode, '^1.100.0');
  assert.match(pkg.devDependencies['@types/vscode'], /^~1\.100\./);
});

test('the trace file editor opens the files of every readable format of the registry', async () => {
  const { TRACE_FORMATS } = await import('../../protocol');
  const patterns: string[] = c.customEditors.flatMap((e: { selector: { filenamePattern: string }[] }) => e.selector.map((s) => s.filenamePattern));
  for (const f of TRACE_FORMATS.filter((x) => x.reader)) {
    // The first suffix is the one Linsock writes; later ones (plain .json) are too broad to claim.
    assert.ok(patterns.includes(`*${f.suffixes[0]}`), `package.json customEditors lacks *${f.suffixes[0]} (format ${f.name})`);
  }
});
