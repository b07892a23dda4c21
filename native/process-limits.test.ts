// The process addon on real descriptors, sockets and interfaces: the soft descriptor limit ends at the hard
// one, a Unix socket's peer is this process, loopback has an index both ways, bad input is no crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interfaceIndex, interfaceName, peerCredentials, processAddonProblem, raiseFileLimit } from './process-limits';

test('raiseFileLimit leaves the soft limit at the hard one', () => {
  assert.equal(processAddonProblem(), null);
  const r = raiseFileLimit();
  assert.equal(typeof r, 'object', String(r));
  const { soft, hard } = r as { soft: number; hard: number };
  assert.equal(soft, hard);
  assert.ok(soft >= 1024);
});

test('peerCredentials names this process as the peer of its own Unix connection', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-proc-'));
  const server = net.createServer().listen(join(dir, 's'));
  await once(server, 'listening');
  const client = net.connect(join(dir, 's'));
  try {
    const [accepted] = (await once(server, 'connection')) as [net.Socket];
    const c = peerCredentials(accepted);
    assert.deepEqual(c, { pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() });
    assert.equal(peerCredentials(new net.Socket()), null);
    accepted.destroy();
  } finally {
    client.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('interface names and indices map both ways; unknown or overlong ones are 0 or null', () => {
  const lo = interfaceIndex('lo');
  assert.ok(typeof lo === 'number' && lo > 0);
  assert.equal(interfaceName(lo as number), 'lo');
  assert.equal(interfaceIndex('no-such-if0'), 0);
  assert.equal(interfaceIndex('x'.repeat(300)), 0);
  assert.equal(interfaceName(0), null);
  assert.equal(interfaceName(0xfffffff0), null);
  assert.equal(interfaceName(-1), null);
});
