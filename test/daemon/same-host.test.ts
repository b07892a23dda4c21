// The same-host shortcut: guest B connects to guest A's listener of the same linsockd and the daemon
// joins the two in-process. Streams of several MiB each way (guest runtime), with the shortcut on and off,
// every byte verified; no host socket for the shortcut; EOF and close each way; isolation; policy first.
// Under worker processes (LINSOCK_TEST_WORKERS) the shortcut joins guests of one worker only: each test
// puts A and B in one worker (fillOtherWorkers), and descriptors are counted in the workers too, where the
// guests' host sockets live. A guest reaching a listener in another worker is workers.test.ts's.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import type { CallRecord, TraceRecord, WireMessage } from '../../protocol';
import type { TraceSink } from '../../daemon';
import { createChannel, createServer, connect, type Channel, type DelegatedServer, type DelegatedSocket } from '../../guest';
import { RawGuest } from './raw-guest';
import { daemonSocketFds, eventually, fillOtherWorkers, LOOPBACK_ALLOWED, withDaemon } from './harness';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function collect(s: DelegatedSocket): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  return new Promise((resolve, reject) => {
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('error', reject);
  });
}

async function listenOn(channel: Channel): Promise<{ port: number; accepted: Promise<DelegatedSocket>; server: DelegatedServer }> {
  const server = createServer({ channel });
  server.on('error', () => undefined); // the daemon's goodbye when a failed test stops it early
  const accepted = once(server, 'connection').then(([s]) => s as DelegatedSocket);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as { port: number }).port, accepted, server };
}

/** A (server) and B (client) exchange `size` random bytes each way at once, then end both ways. */
async function exchange(shortcut: boolean, size: number): Promise<{ fdsAdded: number; state: string; records: CallRecord[] }> {
  const result = { fdsAdded: -1, state: '', records: [] as CallRecord[] };
  const sink: TraceSink = { enabled: true, publish: (r: TraceRecord) => void (r.kind === 'call' && result.records.push(r)) };
  await withDaemon({ policy: LOOPBACK_ALLOWED, sameHostShortcut: shortcut, trace: sink }, async (d, path) => {
    const a = createChannel({ path }, { guest: 'guest-a' });
    await a.ready;
    const fillers = await fillOtherWorkers(d, path);
    const b = createChannel({ path }, { guest: 'guest-b' });
    await b.ready;
    const { port, accepted, server: listener } = await listenOn(a);
    const before = daemonSocketFds(d);
    const client = connect({ channel: b, host: '127.0.0.1', port });
    await once(client, 'connect');
    const server = await accepted;
    result.fdsAdded = daemonSocketFds(d) - before;
    // B's connection as the daemon reports it: from a worker, in a report after the connect (an earlier
    // one may still say `new` or `connecting`, or not have the socket).
    const tcpOfB = (): string | undefined => d.guests().find((g) => g.name === 'guest-b')?.sockets.find((s) => s.kind === 'tcp')?.state;
    result.state = await eventually('guest-b\'s connected TCP socket in guests()', tcpOfB, (st) => st !== undefined && st !== 'new' && st !== 'connecting') ?? '';
    const fromB = randomBytes(size);
    const fromA = randomBytes(size);
    const gotAtA = collect(server);
    const gotAtB = collect(client);
    const closed = Promise.all([once(client, 'close'), once(server, 'close')]);
    // Many writes of mixed sizes, small ones included (they are coalesced on the shortcut).
    const write = (s: DelegatedSocket, buf: Buffer): void => {
      let off = 0;
      let step = 1;
      while (off < buf.length) {
        const n = Math.min(buf.length - off, step);
        s.write(buf.subarray(off, off + n));
        off += n;
        step = step >= 200_000 ? 1 : step * 7;
      }
      s.end();
    };
    write(client, fromB);
    write(server, fromA);
    const [atA, atB] = await Promise.all([gotAtA, gotAtB]);
    assert.equal(atA.length, size);
    assert.equal(sha(atA), sha(fromB), 'A received exactly what B sent');
    assert.equal(atB.length, size);
    assert.equal(sha(atB), sha(fromA), 'B received exactly what A sent');
    assert.equal(server.remotePort, client.localPort);
    assert.equal(server.localPort, port);
    assert.equal(client.remotePort, port);
    await closed;
    listener.close();
    await Promise.all([a.close(), b.close()]);
    for (const f of fillers) f.close();
  });
  return result;
}

describe('same-host shortcut between two guests of one daemon', { timeout: 30_000 }, () => {
  it('streams 6 MiB each way through the shortcut, every byte verified, without a host socket', async () => {
    const r = await exchange(true, 6 * 1024 * 1024);
    assert.equal(r.fdsAdded, 0, 'the shortcut opens no host socket');
    assert.match(r.state, /same-host shortcut/);
    // Calls are still traced: B's sends and A's receives, each with its execute stage (the hand-over).
    for (const [guest, op] of [['guest-b', 'send'], ['guest-a', 'recv'], ['guest-a', 'send'], ['guest-b', 'recv']] as const) {
      const rs = r.records.filter((c) => c.guest === guest && c.op === op);
      assert.ok(rs.length > 0, `${op} records of ${guest}`);
      assert.ok(rs.every((c) => c.stages.some((st) => st.name === 'execute' && st.end >= st.start)), `${op} records of ${guest} have an execute stage`);
    }
    const bytes = (guest: string, op: string): number => r.records.filter((c) => c.guest === guest && c.op === op).reduce((n, c) => n + c.bytes, 0);
    assert.equal(bytes('guest-a', 'recv'), 6 * 1024 * 1024, 'the recv records of A add up to what B sent');
  });

  it('streams 6 MiB each way through the host kernel with the shortcut off', async () => {
    const r = await exchange(false, 6 * 1024 * 1024);
    assert.ok(r.fdsAdded >= 2, `a kernel connection adds a socket at each end (added ${r.fdsAdded})`);
    assert.doesNotMatch(r.state, /shortcut/);
  });

  it('answers like TCP: names, data and EOF each way, close, reset, isolation', async () => {
    await withDaemon({ policy: LOOPBACK_ALLOWED }, async (d, path) => {
      const a = await RawGuest.open(path, 'raw-a');
      const fillers = await fillOtherWorkers(d, path);
      const b = await RawGuest.open(path, 'raw-b');
      const c = await RawGuest.open(path, 'raw-c');
      const at = await listenRaw(a);
      const fds = daemonSocketFds(d);
      const { handle: hb, reply } = await b.connectTo(at);
      assert.equal(reply.type, 'address');
      const bLocal = (reply as Addr).endpoint;
      assert.equal(bLocal.address, '127.0.0.1');
      const acc = (await a.waitFor((m) => m.type === 'accepted')) as Extract<WireMessage, { type: 'accepted' }>;
      assert.deepEqual(acc.remote, bLocal);
      assert.deepEqual(acc.local, at);
      const ha = acc.newHandle;
      assert.equal(daemonSocketFds(d), fds, 'no host socket');
      assert.deepEqual(((await b.request({ type: 'getpeername', handle: hb })) as Addr).endpoint, at);
      assert.deepEqual(((await b.request({ type: 'getsockname', handle: hb })) as Addr).endpoint, bLocal);
      assert.deepEqual(((await a.request({ type: 'getpeername', handle: ha })) as Addr).endpoint, bLocal);

      // Data both ways; the sender's credit comes back once its bytes are pushed to the other guest.
      const sent = await b.request({ type: 'send', handle: hb, noReply: false, data: Buffer.from('hello') });
      assert.equal(sent.type === 'ok' && sent.value, 5);
      assert.equal((await a.waitBytes(ha, 5)).toString(), 'hello');
      await b.waitFor((m) => m.type === 'credit' && m.handle === hb, 5000, 'send credit back');
      a.post({ type: 'send', handle: ha, noReply: true, data: Buffer.from('world') });
      assert.equal((await b.waitBytes(hb, 5)).toString(), 'world');

      // Isolation: another guest names neither end.
      for (const h of [ha, hb]) {
        const r = await c.request({ type: 'send', handle: h, noReply: false, data: Buffer.from('x') });
        assert.equal(r.type === 'error' && r.errno, 'EBADF');
      }
      assert.equal(a.bytesOn(ha), 5);

      // EOF from B; A may still send; then EOF from A; then both close.
      assert.equal((await b.request({ type: 'shutdown', handle: hb, how: 'write' })).type, 'ok');
      await a.waitFor((m) => m.type === 'peerClosed' && m.handle === ha, 5000, 'EOF at A');
      const late = await b.request({ type: 'send', handle: hb, noReply: false, data: Buffer.from('x') });
      assert.equal(late.type === 'error' && late.errno, 'EPIPE');
      a.post({ type: 'send', handle: ha, noReply: true, data: Buffer.from('after') });
      assert.equal((await b.waitBytes(hb, 10)).toString(), 'worldafter');
      assert.equal((await a.request({ type: 'shutdown', handle: ha, how: 'write' })).type, 'ok');
      await b.waitFor((m) => m.type === 'peerClosed' && m.handle === hb, 5000, 'EOF at B');
      assert.equal((await b.request({ type: 'close', handle: hb })).type, 'ok');
      assert.equal((await a.request({ type: 'close', handle: ha })).type, 'ok');
      const gone = await a.request({ type: 'getpeername', handle: ha });
      assert.equal(gone.type === 'error' && gone.errno, 'EBADF');

      // A second connection: A closes; B's next send is answered with a reset, as over the kernel.
      const { handle: hb2 } = await b.connectTo(at);
      const acc2 = (await a.waitFor((m) => m.type === 'accepted' && m.newHandle !== ha)) as Extract<WireMessage, { type: 'accepted' }>;
      assert.equal((await a.request({ type: 'close', handle: acc2.newHandle })).type, 'ok');
      await b.waitFor((m) => m.type === 'peerClosed' && m.handle === hb2, 5000, 'EOF after close');
      b.post({ type: 'send', handle: hb2, noReply: true, data: Buffer.from('anyone?') });
      const err = await b.waitFor((m) => m.type === 'socketError' && m.handle === hb2, 5000, 'reset');
      assert.equal(err.type === 'socketError' && err.errno, 'ECONNRESET');
      await b.waitFor((m) => m.type === 'closed' && m.handle === hb2, 5000, 'closed');

      // A guest that vanishes: the other end hears EOF, and nothing is left open.
      const { handle: hb3 } = await b.connectTo(at);
      await a.waitFor((m) => m.type === 'accepted' && m.newHandle !== ha && m.newHandle !== acc2.newHandle);
      a.close();
      await b.waitFor((m) => m.type === 'peerClosed' && m.handle === hb3, 5000, `EOF when A vanished (handle ${hb3})`);
      c.close();
      b.close();
      for (const f of fillers) f.close();
    });
  });

  it('applies policy before joining, and a connect to a port nobody listens on goes to the kernel', async () => {
    await withDaemon({}, async (d, path) => {
      const a = await RawGuest.open(path, 'pa');
      const fillers = await fillOtherWorkers(d, path);
      const b = await RawGuest.open(path, 'pb');
      const at = await listenRaw(a);
      const { reply } = await b.connectTo(at);
      assert.equal(reply.type === 'error' && reply.errno, 'EACCES', 'loopback is denied by default, shortcut or not');
      assert.equal(a.events.filter((m) => m.type === 'accepted').length, 0);
      a.close();
      b.close();
      for (const f of fillers) f.close();
    });
    await withDaemon({ policy: LOOPBACK_ALLOWED }, async (d, path) => {
      const a = await RawGuest.open(path, 'qa');
      const fillers = await fillOtherWorkers(d, path);
      const at = await listenRaw(a);
      assert.equal((await a.request({ type: 'close', handle: 1 })).type, 'ok');
      const b = await RawGuest.open(path, 'qb');
      const { reply } = await b.connectTo(at);
      assert.equal(reply.type === 'error' && reply.errno, 'ECONNREFUSED', 'a closed listener is no longer reachable');
      a.close();
      b.close();
      for (const f of fillers) f.close();
    });
  });
});

type Addr = Extract<WireMessage, { type: 'address' }>;

async function listenRaw(g: RawGuest): Promise<Addr['endpoint']> {
  const l = await g.socket4();
  await g.request({ type: 'bind', handle: l, local: { family: 4, address: '127.0.0.1', port: 0 } });
  const r = await g.request({ type: 'listen', handle: l, backlog: 8 });
  assert.equal(r.type, 'address');
  return (r as Addr).endpoint;
}
