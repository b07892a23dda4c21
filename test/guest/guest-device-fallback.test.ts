// The character-device transport without the linsock_devpoll addon: reads block in libuv's thread pool,
// as before the event-loop watcher. The addon's path points nowhere before anything loads it (one load per
// process, so this file runs in a process of its own); the same pty exchange must still go through.

process.env.LINSOCK_DEVPOLL_ADDON = '/nonexistent/linsock_devpoll.node';

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createChannel, connect } from '../../guest';
import { devicePollProblem } from '../../native/device-poll';
import { startTestDaemon } from './test-daemon';

test('without the device-poll addon a pty relayed to the daemon still carries a whole TCP exchange', async () => {
  assert.match(devicePollProblem() ?? '', /is not built/);
  const daemon = await startTestDaemon();
  const bridge = spawn('python3', [join(__dirname, 'pty-bridge.py'), daemon.guestPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const server = net.createServer((s) => s.pipe(s)).listen(0, '127.0.0.1');
  try {
    await once(server, 'listening');
    const [line] = (await once(bridge.stdout, 'data')) as [Buffer];
    const channel = createChannel({ device: line.toString().trim() }, { guest: 'pty-fallback' });
    await channel.ready;
    const sock = connect({ channel, host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
    const parts: Buffer[] = [];
    sock.on('data', (d: Buffer) => parts.push(d));
    const payload = Buffer.alloc(200_000).map((_, i) => (i * 11) & 0xff);
    sock.end(payload);
    await once(sock, 'end');
    assert.ok(Buffer.concat(parts).equals(payload), 'the echo differs from what was sent');
    await channel.close();
  } finally {
    server.close();
    bridge.kill();
    await daemon.close();
  }
});
