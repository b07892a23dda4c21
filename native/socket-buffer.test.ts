// The send-buffer wrapper on real sockets: the kernel grants at least what was asked (it doubles the
// request for its bookkeeping), and a socket without a descriptor is a reason, not a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { sendBufferProblem, setSendBuffer, tryWrite } from './socket-buffer';

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

test('tryWrite: the kernel takes what fits at once, the peer reads exactly those bytes, and a full buffer returns 0 without blocking', async () => {
  let received = Buffer.alloc(0);
  let peer: net.Socket | null = null;
  const server = net.createServer((s) => {
    peer = s;
    s.on('data', (c: Buffer) => (received = Buffer.concat([received, c])));
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  try {
    await once(socket, 'connect');
    // A view into the middle of a larger buffer: only the view's bytes go.
    const whole = Buffer.from('xxhello, ring!yy');
    assert.equal(tryWrite(socket, whole.subarray(2, 14)), 12);
    for (let i = 0; i < 100 && received.length < 12; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(received.toString(), 'hello, ring!');
    (peer as net.Socket | null)?.pause();
    const block = new Uint8Array(1024 * 1024);
    let zeroAfter = -1;
    for (let i = 0; i < 1000; i++) {
      if (tryWrite(socket, block) === 0) {
        zeroAfter = i;
        break;
      }
    }
    assert.ok(zeroAfter > 0, `a peer that reads nothing fills the buffer: tryWrite returned 0 after ${zeroAfter} MiB`);
  } finally {
    socket.destroy();
    server.close();
  }
  assert.equal(tryWrite(new net.Socket(), Buffer.from('x')), 0, 'no descriptor: nothing written');
});
