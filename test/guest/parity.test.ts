// The guest runtime against Node itself: each scenario runs once with node:net/node:dgram and once with the
// guest runtime through a real linsockd, and the two outcomes (what was thrown, what callbacks and events
// got, what arrived) must be equal. The scenarios are what real clients (http, ws, undici, ioredis) tripped on.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import { createChannel, createSocket, DelegatedSocket, useChannel, connect as guestConnect, type Channel } from '../../guest';
import { startTestDaemon, type TestDaemon } from './test-daemon';

/** The part of node:net and node:dgram the scenarios use; Node's and the guest runtime's fill it. */
interface Api {
  newSocket(): net.Socket;
  connect(...args: unknown[]): net.Socket;
  createSocket(type: 'udp4' | 'udp6'): dgram.Socket;
}

let daemon: TestDaemon;
let channel: Channel;
let echo: net.Server;
let echoPort: number;

before(async () => {
  daemon = await startTestDaemon();
  channel = createChannel({ path: daemon.guestPath }, { guest: 'parity-test' });
  await channel.ready;
  useChannel(channel);
  echo = net.createServer((s) => s.pipe(s));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  echoPort = (echo.address() as net.AddressInfo).port;
});

after(async () => {
  useChannel(null);
  echo.close();
  await channel.close();
  await daemon.close();
});

const NODE: Api = {
  newSocket: () => new net.Socket(),
  connect: (...args) => (net.connect as (...a: unknown[]) => net.Socket)(...args),
  createSocket: (type) => dgram.createSocket(type),
};
const GUEST: Api = {
  newSocket: () => new DelegatedSocket(channel) as unknown as net.Socket,
  connect: (...args) => (guestConnect as unknown as (...a: unknown[]) => net.Socket)(...args),
  createSocket: (type) => createSocket({ type, channel }) as unknown as dgram.Socket,
};

/** What a call threw, as the comparable part of a Node error; or its value. */
function outcome(f: () => unknown): unknown {
  try {
    const v = f();
    return { value: v === undefined ? 'undefined' : v };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { threw: err.code, name: err.name };
  }
}

function errorFacts(err: unknown): unknown {
  if (!err) return null;
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  return { code: e.code, syscall: e.syscall, address: e.address, port: e.port };
}

async function parity(name: string, scenario: (api: Api) => Promise<unknown>): Promise<void> {
  const want = await scenario(NODE);
  const got = await scenario(GUEST);
  assert.deepEqual(got, want, `${name}: the guest runtime (actual) differs from Node (expected)`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A UDP socket on the host that records what arrives; closed by the caller. */
async function udpSink(): Promise<{ sock: dgram.Socket; port: number; got: string[] }> {
  const sock = dgram.createSocket('udp4');
  const got: string[] = [];
  sock.on('message', (m) => got.push(String(m)));
  sock.bind(0, '127.0.0.1');
  await once(sock, 'listening');
  return { sock, port: sock.address().port, got };
}

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

test('TCP: socket.connect(port, host, cb) positional, bufferSize and readyState as a connection goes', async () => {
  await parity('positional connect', async (api) => {
    const s = api.newSocket();
    const facts: unknown[] = [s.bufferSize ?? 'undefined', s.readyState, s.pending];
    const connected = new Promise<void>((resolve) => s.connect(echoPort, '127.0.0.1', resolve));
    facts.push(s.readyState, s.connecting, s.bufferSize);
    s.write('abc');
    facts.push(s.bufferSize);
    await connected;
    facts.push(s.readyState, s.pending, s.remoteAddress, s.remotePort === echoPort);
    const [data] = (await once(s, 'data')) as [Buffer];
    facts.push(String(data), s.bytesWritten);
    const closed = once(s, 'close');
    s.destroy();
    await closed;
    facts.push(s.bufferSize ?? 'undefined', s.readyState);
    return facts;
  });
  await parity('connect(port, cb) and connect(options, cb) from the module', async (api) => {
    const a = api.connect(String(echoPort), '127.0.0.1');
    await once(a, 'connect');
    const b = api.connect({ port: echoPort, host: '127.0.0.1' }, () => undefined);
    await once(b, 'connect');
    const r = [a.remotePort === echoPort, b.remotePort === echoPort];
    a.destroy();
    b.destroy();
    return r;
  });
});

test('TCP: bad ports and missing arguments throw the same errors at once', async () => {
  await parity('bad connect arguments', async (api) => [
    outcome(() => api.connect({ port: 70000 })),
    outcome(() => api.connect({})),
    outcome(() => api.connect(true)),
    outcome(() => api.connect(-1)),
    outcome(() => api.connect({ port: '80x' })),
    outcome(() => api.connect({ port: null })),
    outcome(() => api.connect({ port: 1.5 })),
  ]);
});

test('TCP: a refused connection errors with code, syscall, address and port; write after end', async () => {
  const refusing = await freePort();
  await parity('ECONNREFUSED', async (api) => {
    const s = api.connect(refusing, '127.0.0.1');
    const closed = new Promise((resolve) => s.once('close', resolve));
    const [err] = (await once(s, 'error')) as [Error];
    await closed;
    return [errorFacts(err), s.destroyed, s.readyState];
  });
  await parity('write after end', async (api) => {
    const s = api.connect(echoPort, '127.0.0.1');
    await once(s, 'connect');
    const events: unknown[] = [];
    s.on('error', (e: NodeJS.ErrnoException) => events.push(e.code));
    s.end();
    const err = await new Promise<unknown>((resolve) => s.write('late', resolve));
    await sleep(20);
    s.destroy();
    return [(err as NodeJS.ErrnoException).code, events];
  });
});

test('UDP: the send callback gets the result — bytes, or the error (EMSGSIZE, ENOTFOUND) — and a send without one reports nothing', async () => {
  const sink = await udpSink();
  await parity('send callbacks', async (api) => {
    const s = api.createSocket('udp4');
    const events: unknown[] = [];
    s.on('error', (e) => events.push(['error', (e as NodeJS.ErrnoException).code]));
    const send = (...args: unknown[]): Promise<unknown> => new Promise((resolve) => (s.send as (...a: unknown[]) => void)(...args, (err: Error | null, n?: number) => resolve([errorFacts(err), n ?? 'undefined'])));
    const facts = [
      await send(Buffer.from('hello'), sink.port, '127.0.0.1'),
      await send(Buffer.alloc(70_000), sink.port, '127.0.0.1'),
      await send(Buffer.from('abcdef'), 1, 3, sink.port, '127.0.0.1'),
      ((await send('x', sink.port, 'no-such-host.invalid')) as [{ code: string; syscall: string }])[0].code,
    ];
    s.send(Buffer.alloc(70_000), sink.port, '127.0.0.1'); // no callback: Node drops the failure silently
    await sleep(200);
    facts.push(events, outcome(() => s.send('x', 0, '127.0.0.1')));
    s.close();
    facts.push(outcome(() => s.send('x', sink.port, '127.0.0.1')));
    return facts;
  });
  await sleep(100);
  assert.deepEqual(sink.got, ['hello', 'bcd', 'hello', 'bcd'], 'what arrived, twice (Node, then the guest)');
  sink.sock.close();
});

test('UDP: connect, remoteAddress, send to the peer only, messages from the peer only, disconnect (a port bound as 0 is given up, as Linux does)', async () => {
  const peer = await udpSink();
  const other = await udpSink();
  await parity('connect/disconnect', async (api) => {
    const s = api.createSocket('udp4');
    const arrived: string[] = [];
    s.on('message', (m) => arrived.push(String(m)));
    const facts: unknown[] = [outcome(() => s.remoteAddress()), outcome(() => s.disconnect()), outcome(() => s.connect(0))];
    const err = await new Promise<unknown>((resolve) => s.connect(peer.port, '127.0.0.1', resolve as () => void));
    const port = s.address().port;
    facts.push(errorFacts(err), s.remoteAddress());
    facts.push(outcome(() => s.connect(peer.port, '127.0.0.1')), outcome(() => s.send(Buffer.from('x'), 0, 1, peer.port, '127.0.0.1')));
    facts.push(await new Promise((resolve) => s.send('to-peer', (e, n) => resolve([errorFacts(e), n]))));
    // A connected socket hears only its peer.
    other.sock.send('from-other', port, '127.0.0.1');
    peer.sock.send('from-peer', port, '127.0.0.1');
    await sleep(150);
    s.disconnect();
    facts.push(outcome(() => s.remoteAddress()));
    facts.push(await new Promise((resolve) => s.send('after', other.port, '127.0.0.1', (e, n) => resolve([errorFacts(e), n]))));
    await sleep(100);
    facts.push(arrived, s.address().port === port);
    s.close();
    return facts;
  });
  await sleep(100);
  assert.deepEqual(peer.got, ['to-peer', 'to-peer']);
  assert.deepEqual(other.got, ['after', 'after'], 'after disconnect the socket sends elsewhere, from the same port');
  peer.sock.close();
  other.sock.close();
});

test('UDP: options, membership and bind checks fail as dgram does; the values a host socket already has are accepted', async () => {
  await parity('options', async (api) => {
    const s = api.createSocket('udp4');
    const facts = [
      outcome(() => s.setTTL(64)), outcome(() => s.setBroadcast(true)), outcome(() => s.setTTL('x' as unknown as number)),
      outcome(() => s.setTTL(0)), outcome(() => s.setMulticastTTL(300)),
      outcome(() => s.addMembership(undefined as unknown as string)),
    ];
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    facts.push(
      outcome(() => s.setTTL(64)), outcome(() => s.setBroadcast(false)), outcome(() => s.setMulticastTTL(1)), outcome(() => s.setMulticastLoopback(true)),
      outcome(() => s.setTTL(256)), outcome(() => s.bind(0)), outcome(() => s.getSendQueueCount()),
    );
    s.close();
    return facts;
  });
  // What linsockd does not perform is refused with a clear error, not ignored.
  const s = createSocket({ type: 'udp4', channel });
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  assert.throws(() => s.setTTL(10), (e: NodeJS.ErrnoException) => e.code === 'ENOPROTOOPT' && e.syscall === 'setTTL' && /does not perform IP_TTL/.test(e.message));
  assert.throws(() => s.setBroadcast(true), (e: NodeJS.ErrnoException) => e.code === 'ENOPROTOOPT' && /SO_BROADCAST/.test(e.message));
  assert.throws(() => s.addMembership('239.1.2.3'), (e: NodeJS.ErrnoException) => e.code === 'ENOPROTOOPT' && /IP_ADD_MEMBERSHIP/.test(e.message));
  s.close();
});
