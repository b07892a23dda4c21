// Real client libraries over the guest runtime, given its connect as their socket factory unchanged:
// Node's http.Agent (keep-alive, the options it builds passed through as they are) and the ws client.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { createChannel, connect, useChannel, type Channel } from '../../guest';
import { startTestDaemon, type TestDaemon } from './test-daemon';

let daemon: TestDaemon;
let channel: Channel;

before(async () => {
  daemon = await startTestDaemon();
  channel = createChannel({ path: daemon.guestPath }, { guest: 'real-clients-test' });
  await channel.ready;
  useChannel(channel);
});

after(async () => {
  useChannel(null);
  await channel.close();
  await daemon.close();
});

test('http.Agent with the runtime\'s connect as createConnection, the options passed as Node builds them', async () => {
  const server = http.createServer((req, res) => res.end(`${req.method} ${req.url}`));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  (agent as unknown as { createConnection: unknown }).createConnection = connect;
  const get = (path: string): Promise<string> => new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += String(d)));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
  assert.deepEqual([await get('/a'), await get('/b'), await get('/c')], ['GET /a', 'GET /b', 'GET /c']);
  agent.destroy();
  server.close();
});

test('the ws client over the runtime (createConnection) exchanges messages with a ws server', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  wss.on('connection', (s) => s.on('message', (m, binary) => s.send(m, { binary })));
  const { port } = wss.address() as AddressInfo;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { createConnection: connect as never });
  await once(ws, 'open');
  const big = Buffer.alloc(300_000, 7);
  const replies: Buffer[] = [];
  const done = new Promise<void>((resolve) => ws.on('message', (m: Buffer) => {
    replies.push(m);
    if (replies.length === 2) resolve();
  }));
  ws.send('hello');
  ws.send(big);
  await done;
  assert.equal(String(replies[0]), 'hello');
  assert.ok((replies[1] as Buffer).equals(big));
  ws.close();
  await once(ws, 'close');
  await new Promise((r) => wss.close(r));
});
