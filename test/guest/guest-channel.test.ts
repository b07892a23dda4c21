// The channel itself: a refused duplicate guest name, a dropped channel that resets every open socket
// with ECONNRESET saying why, and the deep send buffers on both ends. (The character-device transport has its own file: guest-device.test.ts.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { encodeMessage } from '../../protocol/wire-codec';
import { createChannel, connect, createSocket, lookup } from '../../guest';
import { startTestDaemon } from './test-daemon';
import { CHANNEL_SEND_BUFFER_BYTES } from '../../guest/send-buffer';

async function echoServer(): Promise<net.Server> {
  const server = net.createServer((s) => s.pipe(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

test('both ends of a Unix channel get a send buffer deep enough for a run of 64 KiB frames', async () => {
  const daemon = await startTestDaemon();
  const channel = createChannel({ path: daemon.guestPath }, { guest: 'deep' });
  try {
    await channel.ready;
    const granted = channel.sendBuffer;
    assert.equal(typeof granted, 'number', `the guest end kept the default: ${String(granted)}`);
    assert.ok((granted as number) >= CHANNEL_SEND_BUFFER_BYTES, `the guest end got ${String(granted)} bytes`);
    // The daemon's end is the one whose local address is the guest socket's path; ss shows its tb (sndbuf).
    const ss = execFileSync('ss', ['-x', '-m', '-n', 'state', 'established'], { encoding: 'utf8' }).split('\n');
    const at = ss.findIndex((l) => l.includes(` ${daemon.guestPath} `));
    assert.ok(at >= 0, `ss shows no established socket on ${daemon.guestPath}`);
    const tb = /tb(\d+)/.exec(`${ss[at]} ${ss[at + 1] ?? ''}`)?.[1];
    assert.ok(Number(tb) >= CHANNEL_SEND_BUFFER_BYTES, `the daemon end's send buffer is ${tb ?? 'not shown'}`);
  } finally {
    await channel.close('test over');
    await daemon.close();
  }
});

test('a second guest with a taken name is refused, and says so', async () => {
  const daemon = await startTestDaemon();
  try {
    const first = createChannel({ path: daemon.guestPath }, { guest: 'twin' });
    await first.ready;
    const second = createChannel({ path: daemon.guestPath }, { guest: 'twin' });
    await assert.rejects(second.ready, (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET' && /EADDRINUSE/.test(e.message) && /twin/.test(e.message));
    await first.close();
  } finally {
    await daemon.close();
  }
});

test('a refused HELLO is the reason the channel gives, even when the daemon resets the pipe right after', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-refuse-'));
  const path = join(dir, 'guest.sock');
  // A stand-in for a daemon that answers HELLO with EADDRINUSE and drops the connection at once, with
  // anything more the guest sent unread (so the guest's next read may fail with ECONNRESET).
  const server = net.createServer((s) => {
    s.once('data', () => {
      s.pause();
      s.end(encodeMessage({ type: 'error', id: 1, handle: 0, errno: 'EADDRINUSE', message: "a guest named 'twin' is already connected" }));
      s.destroy();
    });
  });
  server.listen(path);
  await once(server, 'listening');
  try {
    const channel = createChannel({ path }, { guest: 'twin' });
    await assert.rejects(channel.ready, (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET' && /could not open: hello EADDRINUSE/.test(e.message) && /twin/.test(e.message));
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a daemon that goes away resets every open socket with ECONNRESET and the reason', async () => {
  const daemon = await startTestDaemon();
  const server = await echoServer();
  const channel = createChannel({ path: daemon.guestPath }, { guest: 'dropped' });
  const port = (server.address() as net.AddressInfo).port;
  const socks = [connect({ channel, host: '127.0.0.1', port }), connect({ channel, host: '127.0.0.1', port })];
  await Promise.all(socks.map((s) => once(s, 'connect')));
  const udp = createSocket({ type: 'udp4', channel });
  udp.bind(0, '127.0.0.1');
  await once(udp, 'listening');
  const errors = socks.map((s) => once(s, 'error') as Promise<[NodeJS.ErrnoException]>);
  const udpError = once(udp, 'error') as Promise<[NodeJS.ErrnoException]>;
  await daemon.close();
  for (const [err] of [...(await Promise.all(errors)), await udpError]) {
    assert.equal(err.code, 'ECONNRESET');
    assert.equal(err.message, `linsock channel to ${daemon.guestPath} closed: daemon shutting down`);
  }
  // Calls after the drop fail at once with the same reason.
  await assert.rejects(lookup('localhost', { channel }), (e: Error) => /closed: daemon shutting down/.test(e.message));
  const late = connect({ channel, host: '127.0.0.1', port });
  const [lateErr] = (await once(late, 'error')) as [NodeJS.ErrnoException];
  assert.equal(lateErr.code, 'ECONNRESET');
  server.close();
});

test('a channel to a socket nobody listens on fails with a clear reason', async () => {
  const channel = createChannel({ path: '/nonexistent/linsock/guest.sock' }, { guest: 'nobody' });
  await assert.rejects(channel.ready, (e: Error) => /linsock channel to \/nonexistent\/linsock\/guest.sock closed: could not open: ENOENT: is linsockd running\?/.test(e.message));
});

test('daemon refusals reach the socket as errno codes: policy EACCES, socket limit EMFILE', async () => {
  const daemon = await startTestDaemon({ maxSockets: 2 });
  const server = await echoServer();
  const port = (server.address() as net.AddressInfo).port;
  const channel = createChannel({ path: daemon.guestPath }, { guest: 'limited' });
  try {
    // 127.0.0.2 is host loopback that the test policy does not allow.
    const denied = connect({ channel, host: '127.0.0.2', port });
    const [deniedErr] = (await once(denied, 'error')) as [NodeJS.ErrnoException];
    assert.equal(deniedErr.code, 'EACCES');
    const a = connect({ channel, host: '127.0.0.1', port });
    const b = connect({ channel, host: '127.0.0.1', port });
    await Promise.all([once(a, 'connect'), once(b, 'connect')]);
    const c = connect({ channel, host: '127.0.0.1', port });
    const [limitErr] = (await once(c, 'error')) as [NodeJS.ErrnoException];
    assert.equal(limitErr.code, 'EMFILE');
    assert.equal(limitErr.syscall, 'socket');
    // A socket closed frees its handle for the next.
    a.destroy();
    await once(a, 'close');
    await new Promise((r) => setTimeout(r, 20));
    const d = connect({ channel, host: '127.0.0.1', port });
    await once(d, 'connect');
    b.destroy();
    d.destroy();
  } finally {
    await channel.close();
    server.close();
    await daemon.close();
  }
});
