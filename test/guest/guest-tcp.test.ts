// The guest runtime's TCP sockets against a real linsockd and real host servers: connect, send, receive,
// end, destroy, backpressure, many connections with every byte verified, IPv6, listen/accept.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { createChannel, connect, createServer, type Channel, type DelegatedSocket } from '../../guest';
import { startTestDaemon, type TestDaemon } from './test-daemon';

let daemon: TestDaemon;
let channel: Channel;
const servers: net.Server[] = [];

before(async () => {
  daemon = await startTestDaemon();
  channel = createChannel({ path: daemon.guestPath }, { guest: 'tcp-test' });
  await channel.ready;
});

after(async () => {
  await channel.close();
  for (const s of servers) s.close();
  await daemon.close();
});

async function hostServer(handler: (s: net.Socket) => void, host = '127.0.0.1'): Promise<number> {
  const server = net.createServer(handler);
  servers.push(server);
  server.listen(0, host);
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

function collect(s: DelegatedSocket | net.Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  return new Promise((resolve, reject) => {
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('error', reject);
  });
}

test('connect, write, receive the echo, end, close', async () => {
  const port = await hostServer((s) => s.pipe(s));
  const sock = connect({ channel, host: '127.0.0.1', port });
  await once(sock, 'connect');
  assert.equal(sock.remoteAddress, '127.0.0.1');
  assert.equal(sock.remotePort, port);
  assert.equal(sock.remoteFamily, 'IPv4');
  assert.equal(typeof sock.localPort, 'number');
  assert.deepEqual(sock.address(), { address: sock.localAddress, family: 'IPv4', port: sock.localPort });
  const got = collect(sock);
  const closed = once(sock, 'close');
  sock.write('hello ');
  sock.end('delegated world');
  assert.equal((await got).toString(), 'hello delegated world');
  await closed;
  assert.equal(sock.bytesWritten, 21);
  assert.equal(sock.bytesRead, 21);
});

test('connect refused is ECONNREFUSED with the address', async () => {
  const port = await hostServer(() => undefined);
  servers.pop()?.close();
  await new Promise((r) => setTimeout(r, 50));
  const sock = connect({ channel, host: '127.0.0.1', port });
  const [err] = (await once(sock, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED');
  assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
});

test('destroy closes the host socket: the server sees the end', async () => {
  let serverSide!: net.Socket;
  const port = await hostServer((s) => { serverSide = s; });
  const sock = connect({ channel, host: '127.0.0.1', port });
  await once(sock, 'connect');
  await new Promise((r) => setTimeout(r, 20));
  const ended = once(serverSide, 'close');
  sock.destroy();
  await once(sock, 'close');
  await ended;
});

test('a slow reader holds back the sender: the guest buffers a bounded amount', async () => {
  const total = 64 * 1024 * 1024;
  let written = 0;
  let writerDone!: () => void;
  const done = new Promise<void>((r) => { writerDone = r; });
  const port = await hostServer((s) => {
    const block = Buffer.alloc(64 * 1024, 7);
    const pump = (): void => {
      while (written < total) {
        written += block.length;
        if (!s.write(block)) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
      writerDone();
    };
    pump();
  });
  const sock = connect({ channel, host: '127.0.0.1', port });
  await once(sock, 'connect');
  sock.pause();
  await new Promise((r) => setTimeout(r, 400));
  // Nobody reads: the guest holds at most the credit it granted (1 MiB) plus its stream buffer.
  assert.ok(sock.readableLength <= 2 * 1024 * 1024, `guest buffered ${sock.readableLength} bytes`);
  assert.ok(written < total / 2, `the host server could write ${written} of ${total} bytes to a reader that reads nothing`);
  let got = 0;
  sock.on('data', (d: Buffer) => { got += d.length; });
  sock.resume();
  await once(sock, 'end');
  await done;
  assert.equal(got, total);
});

test('200 concurrent connections of 1 MiB each, every byte verified', async () => {
  // The host echoes a digest of what it received, so every byte is checked on the host side too.
  const port = await hostServer((s) => {
    const h = createHash('sha256');
    s.on('data', (d: Buffer) => h.update(d));
    s.on('end', () => s.end(h.digest()));
  });
  const one = async (): Promise<void> => {
    const payload = randomBytes(1024 * 1024);
    const sock = connect({ channel, host: '127.0.0.1', port });
    const reply = collect(sock);
    for (let off = 0; off < payload.length; off += 64 * 1024) sock.write(payload.subarray(off, off + 64 * 1024));
    sock.end();
    assert.deepEqual(await reply, createHash('sha256').update(payload).digest());
  };
  await Promise.all(Array.from({ length: 200 }, one));
});

test('IPv6 on loopback', async () => {
  const port = await hostServer((s) => s.pipe(s), '::1');
  const sock = connect({ channel, host: '::1', port });
  await once(sock, 'connect');
  assert.equal(sock.remoteFamily, 'IPv6');
  assert.equal(sock.localAddress, '::1');
  const got = collect(sock);
  sock.end('six');
  assert.equal((await got).toString(), 'six');
});

test('a host name is resolved through the daemon', async () => {
  const port = await hostServer((s) => s.end('by name'));
  const sock = connect({ channel, host: 'localhost', port, family: 4 });
  assert.equal((await collect(sock)).toString(), 'by name');
  assert.equal(sock.remoteAddress, '127.0.0.1');
});

test('a delegated server listens and accepts host clients', async () => {
  const server = createServer({ channel }, (s) => {
    s.on('data', (d: Buffer) => s.end(Buffer.concat([Buffer.from('got '), d])));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  assert.ok(addr && addr.port > 0);
  const client = net.connect(addr.port, '127.0.0.1');
  client.write('knock');
  assert.equal((await collect(client)).toString(), 'got knock');
  const closed = once(server, 'close');
  server.close();
  await closed;
});

test('listening below port 1024 is denied by the daemon policy (EACCES)', async () => {
  const server = createServer({ channel });
  server.listen(80, '127.0.0.1');
  const [err] = (await once(server, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'EACCES');
});

test('the rest of net.Socket: setTimeout, setNoDelay, setKeepAlive, ref/unref, readyState', async () => {
  const port = await hostServer(() => undefined);
  const sock = connect({ channel, host: '127.0.0.1', port });
  assert.equal(sock.readyState, 'opening');
  assert.equal(sock.connecting, true);
  await once(sock, 'connect');
  assert.equal(sock.readyState, 'open');
  assert.equal(sock.setNoDelay(true).setKeepAlive(true, 1000).unref().ref(), sock);
  const t0 = Date.now();
  sock.setTimeout(60);
  await once(sock, 'timeout');
  assert.ok(Date.now() - t0 >= 50);
  sock.destroy();
  await once(sock, 'close');
  assert.equal(sock.readyState, 'closed');
});

test('an unref\'d delegated socket does not keep the process alive; a ref\'d one does until it closes', async () => {
  const port = await hostServer(() => undefined);
  // Socket a is unref'd; socket b stays ref'd until an unref'd timer destroys it: the process must live
  // until then (b holds it) and exit right after (a does not hold it).
  const script = `
    const { createChannel, connect } = require('./guest/index.ts');
    const channel = createChannel({ path: ${JSON.stringify(daemon.guestPath)} }, { guest: 'unref-' + process.pid });
    const a = connect({ channel, host: '127.0.0.1', port: ${port} }, () => a.unref());
    const b = connect({ channel, host: '127.0.0.1', port: ${port} }, () => {
      setTimeout(() => b.destroy(), 300).unref();
    });
    b.on('close', () => console.log('b closed'));
  `;
  // Asynchronously: the daemon that answers the child lives in this process.
  const { execFile } = await import('node:child_process');
  const t0 = Date.now();
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 10_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message} ${errOut}`)) : resolve(out)));
  });
  assert.equal(stdout.trim(), 'b closed');
  assert.ok(Date.now() - t0 < 8000);
});
