// The one loader: it finds the built addons from its own folder, loads each once, and says why one is
// unavailable rather than throwing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAddon } from './addon';

test('a built addon loads from build/Release, once', () => {
  const first = loadAddon<{ setSendBuffer: unknown }>({ target: 'linsock_sockbuf' });
  assert.ok(first.ok, first.ok ? '' : first.reason);
  assert.match(first.path, /build\/Release\/linsock_sockbuf\.node$/);
  assert.equal(typeof first.addon.setSendBuffer, 'function');
  assert.equal(loadAddon({ target: 'linsock_sockbuf' }), first);
});

test('a missing addon is a reason that says how to build it', () => {
  const r = loadAddon({ target: 'linsock_never_built' });
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.reason, /build\/Release\/linsock_never_built\.node is not built\. Build it with `npm install`/);
});

test('a file that is no addon is a reason that says to rebuild', () => {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-addon-'));
  try {
    const file = join(dir, 'broken.node');
    writeFileSync(file, 'not an ELF object');
    process.env.LINSOCK_TEST_BROKEN_ADDON = file;
    const r = loadAddon({ target: 'linsock_broken', pathVariable: 'LINSOCK_TEST_BROKEN_ADDON' });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, new RegExp(`${file} did not load \\(.+\\); rebuild it with \`npm rebuild\``));
  } finally {
    delete process.env.LINSOCK_TEST_BROKEN_ADDON;
    rmSync(dir, { recursive: true, force: true });
  }
});
