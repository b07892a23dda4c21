// Existing Node code over the guest runtime: http.request with createConnection from guest/, a UDP
// round trip with the dgram surface, and lookup.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createChannel, connect, createSocket, lookup, type Channel } from '../../guest';
import { startTestDaemon, type TestDaemon } from './test-daemon';

let daemon: TestDaemon;
let channel: Channel;

before(async () => {
  daemon = await startTestDaemon();
  channel = createChannel({ path: daemon.guestPath }, { guest: 'http-udp-test' });
  await channel.ready;
});

after(async () => {
  await channel.close();
  await daemon.close();
});

test('http.request through the guest runtime against a real http server', async () => {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      res.setHeader('content-type', 'text/plain');
      res.end(`${req.method} ${req.url} ${body.length}`);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  (agent as unknown as { createConnection: typeof connect }).createConnection = ((o: { port: number; host: string }, cb?: () => void) => connect({ channel, port: o.port, host: o.host }, cb)) as typeof connect;
  const get = (path: string, body: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => { text += d.toString(); });
        res.on('end', () => resolve(`${res.statusCode} ${text}`));
      });
      req.on('error', reject);
      req.end(body);
    });
  const answers = await Promise.all([get('/a', 'x'.repeat(100_000)), get('/b', ''), get('/c', 'hi')]);
  assert.deepEqual(answers, ['200 POST /a 100000', '200 POST /b 0', '200 POST /c 2']);
  // Without an agent, createConnection on the request itself.
  const direct = await new Promise<string>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/d', createConnection: (o: http.ClientRequestArgs) => connect({ channel, port: Number(o.port), host: o.host ?? '127.0.0.1' }) }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(direct, 'GET /d 0');
  agent.destroy();
  server.close();
});

test('UDP round trip: bind, send, message, address, close', async () => {
  const echo = dgram.createSocket('udp4');
  echo.on('message', (m, r) => echo.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
  echo.bind(0, '127.0.0.1');
  await once(echo, 'listening');
  const port = echo.address().port;
  const sock = createSocket({ type: 'udp4', channel });
  sock.bind(0, '127.0.0.1');
  await once(sock, 'listening');
  assert.equal(sock.address().address, '127.0.0.1');
  const got: string[] = [];
  const three = new Promise<void>((resolve) => sock.on('message', (m: Buffer, rinfo) => {
    assert.equal(rinfo.port, port);
    got.push(m.toString());
    if (got.length === 3) resolve();
  }));
  for (const w of ['one', 'two', 'three']) sock.send(Buffer.from(w), port, '127.0.0.1');
  await three;
  assert.deepEqual(got.sort(), ['echo:one', 'echo:three', 'echo:two']);
  await new Promise<void>((r) => sock.close(() => r()));
  echo.close();
});

test('UDP: a list of buffers is one datagram, sent as one sendmsg call', async () => {
  const echo = dgram.createSocket('udp4');
  const arrived: Buffer[] = [];
  echo.on('message', (m, r) => {
    arrived.push(m);
    echo.send(m, r.port, r.address);
  });
  echo.bind(0, '127.0.0.1');
  await once(echo, 'listening');
  const sock = createSocket({ type: 'udp4', channel });
  const reply = once(sock, 'message');
  const sentBytes = new Promise<number | undefined>((resolve, reject) => {
    sock.send([Buffer.from('scatter'), '/', Uint8Array.of(0x67, 0x61, 0x74, 0x68, 0x65, 0x72)], echo.address().port, '127.0.0.1', (err: Error | null, n?: number) => (err ? reject(err) : resolve(n)));
  });
  assert.equal(await sentBytes, 14);
  const [m] = (await reply) as [Buffer];
  assert.equal(m.toString(), 'scatter/gather');
  assert.deepEqual(arrived.map(String), ['scatter/gather'], 'the buffers left as one datagram');
  await new Promise<void>((r) => sock.close(() => r()));
  echo.close();
});

test('UDP over IPv6 loopback, sent before binding (implicit bind)', async () => {
  const echo = dgram.createSocket('udp6');
  echo.on('message', (m, r) => echo.send(m, r.port, r.address));
  echo.bind(0, '::1');
  await once(echo, 'listening');
  const sock = createSocket({ type: 'udp6', channel });
  const msg = once(sock, 'message');
  sock.send(Buffer.from('v6'), echo.address().port, '::1');
  const [m] = (await msg) as [Buffer];
  assert.equal(m.toString(), 'v6');
  sock.close();
  echo.close();
});

test('lookup through the daemon: promise, callback, and ENOTFOUND', async () => {
  const addrs = await lookup('localhost', { family: 4, channel });
  assert.ok(addrs.some((a) => a.address === '127.0.0.1' && a.family === 4));
  const viaCb = await new Promise<string | undefined>((resolve, reject) => {
    lookup('localhost', { family: 4, channel }, (err, address) => (err ? reject(err) : resolve(address as string)));
  });
  assert.equal(viaCb, '127.0.0.1');
  await assert.rejects(lookup('no-such-host.invalid', { channel }), (e: NodeJS.ErrnoException) => e.code === 'ENOTFOUND');
});
