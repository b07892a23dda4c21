// The send-buffer wrapper on real sockets: the kernel grants at least what was asked (it doubles the
// request for its bookkeeping), and a socket without a descriptor is a reason, not a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { sendBufferProblem, setSendBuffer } from './socket-buffer';

/** Above a TCP socket's initial 16 KiB, below the unprivileged cap (net.core.wmem_max, 208 KiB by default). */
const ASKED = 192 * 1024;

test('a connected loopback socket gets the send buffer it asks for', async () => {
  assert.equal(sendBufferProblem(), null);
  const server = net.createServer((s) => s.destroy()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  try {
    await once(socket, 'connect');
    const granted = setSendBuffer(socket, ASKED);
    assert.equal(typeof granted, 'number', String(granted));
    assert.ok((granted as number) >= ASKED, `granted ${granted}`);
  } finally {
    socket.destroy();
    server.close();
  }
});

test('a socket that is not connected has no descriptor to set', () => {
  assert.equal(setSendBuffer(new net.Socket(), 65536), 'the socket has no file descriptor');
});
