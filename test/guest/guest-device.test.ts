// The character-device transport: a raw pty relayed to the daemon, as a virtio-serial port would be, read
// and written from the event loop by the linsock_devpoll addon (guest-device-fallback.test.ts runs the
// thread-pool fallback). In a file of its own, so in a process of its own: without the addon the device's
// fd is read and written in libuv's thread pool, which the other tests' sockets do not share. The
// transport closes the fd only once no read or write of it is queued there (before, a write could land
// on a socket a later test opened under the same number, seen as EPIPE in the taken-name test).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createChannel, connect } from '../../guest';
import { devicePollProblem } from '../../native/device-poll';
import { startTestDaemon } from './test-daemon';

async function echoServer(): Promise<net.Server> {
  const server = net.createServer((s) => s.pipe(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

test('the character-device transport: a raw pty relayed to the daemon carries a whole TCP exchange', async () => {
  assert.equal(devicePollProblem(), null);
  const daemon = await startTestDaemon();
  const bridge = spawn('python3', [join(__dirname, 'pty-bridge.py'), daemon.guestPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(bridge.stdout, 'data')) as [Buffer];
    const device = line.toString().trim();
    assert.match(device, /^\/dev\/pts\/\d+$/);
    const channel = createChannel({ device }, { guest: 'pty-guest' });
    await channel.ready;
    assert.equal(channel.description, device);
    const server = await echoServer();
    const sock = connect({ channel, host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
    const parts: Buffer[] = [];
    sock.on('data', (d: Buffer) => parts.push(d));
    const payload = Buffer.alloc(300_000).map((_, i) => (i * 7) & 0xff);
    sock.end(payload);
    await once(sock, 'end');
    assert.ok(Buffer.concat(parts).equals(payload), 'the echo differs from what was sent');
    assert.deepEqual(daemon.daemon.guests().map((g) => g.name), ['pty-guest']);
    await channel.close();
    server.close();
  } finally {
    bridge.kill();
    await daemon.close();
  }
});
