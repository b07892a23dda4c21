// The descriptor-passing wrapper on a real Unix socket: the frame's bytes arrive whole and in order with a
// descriptor attached (libuv's reader drops the descriptor; the interposer's recvmsg takes it, see
// test/interposer/fd-pass.test.ts), and bad arguments are refused before any system call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fdPassProblem, sendWithFd, socketFd } from './fd-pass';

test('a frame goes out whole with a descriptor attached', async () => {
  assert.equal(fdPassProblem(), null);
  const dir = mkdtempSync(join(tmpdir(), 'linsock-fdpass-'));
  const got: Buffer[] = [];
  const server = net.createServer((s) => s.on('data', (d: Buffer) => got.push(d))).listen(join(dir, 's.sock'));
  await once(server, 'listening');
  const channel = net.connect(join(dir, 's.sock'));
  const passed = net.connect((await listening()).port, '127.0.0.1');
  try {
    await once(channel, 'connect');
    await once(passed, 'connect');
    const frame = Buffer.from('0123456789abcdefWXYZ');
    assert.equal(sendWithFd(channel, frame, socketFd(passed)), frame.length);
    for (let i = 0; i < 50 && Buffer.concat(got).length < frame.length; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(Buffer.concat(got), frame);
    assert.equal(sendWithFd(new net.Socket(), frame, 0), 'the channel has no file descriptor');
    assert.throws(() => sendWithFd(channel, Buffer.alloc(0), socketFd(passed)), TypeError);
    assert.throws(() => sendWithFd(channel, Buffer.alloc(4097), socketFd(passed)), TypeError);
    assert.throws(() => sendWithFd(channel, frame, -1), TypeError);
  } finally {
    channel.destroy();
    passed.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A loopback TCP server that keeps its connections open, for a descriptor to pass. */
let tcp: net.Server | null = null;
async function listening(): Promise<net.AddressInfo> {
  tcp = net.createServer(() => undefined).listen(0, '127.0.0.1');
  await once(tcp, 'listening');
  tcp.unref();
  return tcp.address() as net.AddressInfo;
}
