import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { ProgramGate } from './program-gate';

test('the program gate connects to linsockd only at the guest\'s first bytes, pipes both ways, and closes QEMU\'s side when linsockd ends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-gate-test-'));
  const daemonConns: Socket[] = [];
  const daemon = createServer((s) => daemonConns.push(s));
  await new Promise<void>((r) => daemon.listen(join(dir, 'guest.sock'), () => r()));
  const gate = await ProgramGate.listen(join(dir, 'program.sock'), join(dir, 'guest.sock'));
  try {
    // QEMU connects at boot and stays quiet: linsockd sees nothing (its HELLO timer never starts).
    const qemu = createConnection(join(dir, 'program.sock'));
    await once(qemu, 'connect');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(daemonConns.length, 0);
    assert.equal(gate.sessions, 0);

    qemu.write('hello');
    qemu.write(' world');
    while (daemonConns.length === 0) await new Promise((r) => setTimeout(r, 10));
    const d = daemonConns[0] as Socket;
    let got = '';
    d.on('data', (b: Buffer) => (got += b.toString()));
    while (got !== 'hello world') await new Promise((r) => setTimeout(r, 10));
    assert.equal(gate.sessions, 1);

    d.write('ok');
    const [reply] = (await once(qemu, 'data')) as [Buffer];
    assert.equal(reply.toString(), 'ok');

    // linsockd ends the session: QEMU's connection goes too (it reconnects afresh).
    const closed = once(qemu, 'close');
    d.end();
    await closed;

    // A second connection (QEMU's reconnect) gets a session of its own.
    const again = createConnection(join(dir, 'program.sock'));
    await once(again, 'connect');
    again.write('x');
    while (daemonConns.length < 2) await new Promise((r) => setTimeout(r, 10));
    assert.equal(gate.sessions, 2);
    again.destroy();
  } finally {
    await gate.close();
    for (const c of daemonConns) c.destroy();
    await new Promise((r) => daemon.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
});
