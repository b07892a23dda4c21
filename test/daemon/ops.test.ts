// linsockd performs every wire operation on real host sockets (in-process daemon, raw codec guest).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { DEFAULT_LIMITS } from '../../daemon';
import { RawGuest } from './raw-guest';
import { eventually, LOOPBACK_ALLOWED, readAll, tcpServer, udpEcho, withConnectedGuest, withDaemon } from './harness';

describe('linsockd operations on host sockets', { timeout: 15000 }, () => {
  it('connects over IPv4, sends, pushes received data, reports names and shuts down', async () => {
    await withDaemon({ policy: LOOPBACK_ALLOWED }, async (_d, path) => {
      const srv = await tcpServer();
      const g = await RawGuest.open(path, 'g1');
      try {
        assert.equal(g.helloOk?.initialCredit, DEFAULT_LIMITS.maxBufferPerSocket);
        const { handle, reply } = await g.connectTo({ family: 4, address: '127.0.0.1', port: srv.port });
        assert.equal(reply.type, 'address');
        const conn = await srv.next();
        const local = reply.type === 'address' ? reply.endpoint : null;
        assert.equal(local?.address, '127.0.0.1');
        assert.equal(local?.port, conn.remotePort);

        const payload = Buffer.alloc(200_000, 7);
        const got = readAll(conn, payload.length);
        const ok = await g.request({ type: 'send', handle, noReply: false, data: payload });
        assert.deepEqual(ok, { type: 'ok', id: ok.id, handle, value: payload.length });
        assert.deepEqual(await got, payload);
        // The kernel took the bytes: the send credit comes back.
        await g.waitFor((m) => m.type === 'credit' && m.handle === handle, 2000, 'credit');

        conn.write('hello from the server');
        assert.equal((await g.waitBytes(handle, 21)).toString(), 'hello from the server');

        const peer = await g.request({ type: 'getpeername', handle });
        assert.deepEqual(peer.type === 'address' && peer.endpoint, { family: 4, address: '127.0.0.1', port: srv.port });
        const name = await g.request({ type: 'getsockname', handle });
        assert.deepEqual(name.type === 'address' && name.endpoint, local);

        assert.equal((await g.request({ type: 'setsockopt', handle, option: 'TCP_NODELAY', value: 1 })).type, 'ok');
        const nd = await g.request({ type: 'getsockopt', handle, option: 'TCP_NODELAY' });
        assert.equal(nd.type === 'ok' && nd.value, 1);
        assert.equal((await g.request({ type: 'setsockopt', handle, option: 'SO_KEEPALIVE', value: 1 })).type, 'ok');
        const rcv = await g.request({ type: 'setsockopt', handle, option: 'SO_RCVBUF', value: 65536 });
        assert.equal(rcv.type === 'error' && rcv.errno, 'ENOPROTOOPT');

        // shutdown(write) reaches the server as EOF; the server's EOF reaches the guest as peerClosed.
        const ended = once(conn, 'end');
        assert.equal((await g.request({ type: 'shutdown', handle, how: 'write' })).type, 'ok');
        await ended;
        conn.end();
        await g.waitFor((m) => m.type === 'peerClosed' && m.handle === handle, 2000, 'peerClosed');

        assert.equal((await g.request({ type: 'close', handle })).type, 'ok');
        const after = await g.request({ type: 'getsockname', handle });
        assert.equal(after.type === 'error' && after.errno, 'EBADF');
      } finally {
        g.close();
        await srv.close();
      }
    });
  });

  it('takes a send frame read in pieces as one call: its bytes in order, one reply for the whole frame', async () => {
    await withConnectedGuest('pieces', async ({ g, handle, conn }) => {
      const payload = Buffer.alloc(150_000).map((_, i) => (i * 31) & 0xff);
      const got = readAll(conn, payload.length);
      const ok = await g.requestInParts({ type: 'send', handle, noReply: false, data: payload }, 5);
      assert.deepEqual(ok, { type: 'ok', id: ok.id, handle, value: payload.length });
      assert.deepEqual(await got, payload);
      // A frame in pieces for a handle that is not the guest's: one EBADF, and the channel goes on.
      const bad = await g.requestInParts({ type: 'send', handle: handle + 100, noReply: false, data: payload }, 4);
      assert.equal(bad.type === 'error' && bad.errno, 'EBADF');
      assert.equal((await g.request({ type: 'getpeername', handle })).type, 'address');
      assert.equal(g.events.filter((e) => e.type === 'error' || e.type === 'socketError').length, 0, 'a second answer for the same frame');
    });
  });

  it('sendmsg: the buffers of one call reach a TCP peer as one write in order, and a UDP peer as one datagram', async () => {
    await withConnectedGuest('sendmsg', async ({ g, handle, conn }) => {
      const buffers = [Buffer.from('vec'), Buffer.alloc(0), Buffer.from('tored '), Buffer.alloc(70_000, 0x61)];
      const got = readAll(conn, 9 + 70_000);
      const ok = await g.request({ type: 'sendmsg', handle, noReply: false, remote: null, buffers });
      assert.deepEqual(ok, { type: 'ok', id: ok.id, handle, value: 9 + 70_000 });
      assert.deepEqual(await got, Buffer.concat(buffers));
      // An address on a TCP socket is refused; the connection goes on.
      const to = await g.request({ type: 'sendmsg', handle, noReply: false, remote: { family: 4, address: '127.0.0.1', port: 9 }, buffers });
      assert.equal(to.type === 'error' && to.errno, 'EISCONN');
      // Pipelined (noReply): no answer at all, the bytes still arrive.
      const more = readAll(conn, 4);
      g.post({ type: 'sendmsg', handle, noReply: true, remote: null, buffers: [Buffer.from('ab'), Buffer.from('cd')] });
      assert.equal((await more).toString(), 'abcd');

      const echo = await udpEcho();
      try {
        const u = await g.socket4('udp');
        const sent = await g.request({ type: 'sendmsg', handle: u, noReply: false, remote: { family: 4, address: '127.0.0.1', port: echo.port }, buffers: [Buffer.from('one '), Buffer.from('datagram')] });
        assert.equal(sent.type === 'ok' && sent.value, 12);
        const dg = await g.waitFor((m) => m.type === 'datagram' && m.handle === u, 2000, 'datagram');
        assert.equal(dg.type === 'datagram' && Buffer.from(dg.data).toString(), 'one datagram');
        // Unconnected UDP without an address has nowhere to go.
        const nowhere = await g.request({ type: 'sendmsg', handle: u, noReply: false, remote: null, buffers: [Buffer.from('x')] });
        assert.equal(nowhere.type === 'error' && nowhere.errno, 'EDESTADDRREQ');
      } finally {
        echo.sock.close();
      }
      assert.equal(g.events.filter((e) => e.type === 'socketError').length, 0);
    });
  });

  it('connects over IPv6 loopback', async () => {
    await withDaemon({ policy: LOOPBACK_ALLOWED }, async (_d, path) => {
      const srv = await tcpServer('::1');
      const g = await RawGuest.open(path, 'g6');
      try {
        const { handle, reply } = await g.connectTo({ family: 6, address: '::1', port: srv.port });
        assert.equal(reply.type === 'address' && reply.endpoint.address, '::1');
        const conn = await srv.next();
        const got = readAll(conn, 5);
        g.post({ type: 'send', handle, noReply: true, data: Buffer.from('six!!') });
        assert.equal((await got).toString(), 'six!!');
        conn.write('back');
        assert.equal((await g.waitBytes(handle, 4)).toString(), 'back');
      } finally {
        g.close();
        await srv.close();
      }
    });
  });

  it('listens and hands accepted connections to the guest', async () => {
    await withDaemon({ policy: LOOPBACK_ALLOWED }, async (_d, path) => {
      const g = await RawGuest.open(path, 'server-guest');
      try {
        const h = await g.socket4();
        assert.equal((await g.request({ type: 'bind', handle: h, local: { family: 4, address: '127.0.0.1', port: 0 } })).type, 'address');
        const l = await g.request({ type: 'listen', handle: h, backlog: 16 });
        assert.equal(l.type, 'address');
        const port = l.type === 'address' ? l.endpoint.port : 0;
        assert.ok(port > 0);
        const client = connect(port, '127.0.0.1');
        await once(client, 'connect');
        const acc = await g.waitFor((m) => m.type === 'accepted', 2000, 'accepted');
        assert.ok(acc.type === 'accepted');
        assert.equal(acc.handle, h);
        assert.equal(acc.remote.port, client.localPort);
        client.write('ping');
        assert.equal((await g.waitBytes(acc.newHandle, 4)).toString(), 'ping');
        const back = readAll(client, 4);
        g.post({ type: 'send', handle: acc.newHandle, noReply: true, data: Buffer.from('pong') });
        assert.equal((await back).toString(), 'pong');
        client.destroy();
      } finally {
        g.close();
      }
    });
  });

  it('binds UDP, sends datagrams and pushes the replies, sets buffer sizes', async () => {
    await withDaemon({ policy: LOOPBACK_ALLOWED }, async (_d, path) => {
      const echo = await udpEcho();
      const g = await RawGuest.open(path, 'udp-guest');
      try {
        const h = await g.socket4('udp');
        const b = await g.request({ type: 'bind', handle: h, local: { family: 4, address: '127.0.0.1', port: 0 } });
        assert.ok(b.type === 'address' && b.endpoint.port > 0);
        assert.equal((await g.request({ type: 'setsockopt', handle: h, option: 'SO_RCVBUF', value: 262144 })).type, 'ok');
        const rb = await g.request({ type: 'getsockopt', handle: h, option: 'SO_RCVBUF' });
        assert.ok(rb.type === 'ok' && rb.value >= 262144, `SO_RCVBUF ${JSON.stringify(rb)}`);
        const nd = await g.request({ type: 'setsockopt', handle: h, option: 'TCP_NODELAY', value: 1 });
        assert.equal(nd.type === 'error' && nd.errno, 'ENOPROTOOPT');
        const sent = await g.request({ type: 'sendto', handle: h, noReply: false, remote: { family: 4, address: '127.0.0.1', port: echo.port }, data: Buffer.from('datagram') });
        assert.equal(sent.type === 'ok' && sent.value, 8);
        const dg = await g.waitFor((m) => m.type === 'datagram', 2000, 'datagram');
        assert.ok(dg.type === 'datagram');
        assert.equal(Buffer.from(dg.data).toString(), 'datagram');
        assert.deepEqual(dg.remote, { family: 4, address: '127.0.0.1', port: echo.port });
      } finally {
        g.close();
        echo.sock.close();
      }
    });
  });

  it('a UDP send refused before the kernel (denied, wrong family, too large) hands its credit back', async () => {
    await withDaemon({ policy: LOOPBACK_ALLOWED }, async (_d, path) => {
      const g = await RawGuest.open(path, 'udp-refused');
      try {
        const h = await g.socket4('udp');
        const refused = [
          { remote: { family: 4 as const, address: '127.0.0.2', port: 9 }, bytes: 100, errno: 'EACCES' },
          { remote: { family: 6 as const, address: '::1', port: 9 }, bytes: 200, errno: 'EAFNOSUPPORT' },
          { remote: { family: 4 as const, address: '127.0.0.1', port: 9 }, bytes: 70_000, errno: 'EMSGSIZE' },
        ];
        for (const r of refused) {
          const reply = await g.request({ type: 'sendto', handle: h, noReply: false, remote: r.remote, data: Buffer.alloc(r.bytes) });
          assert.equal(reply.type === 'error' && reply.errno, r.errno);
        }
        // Credit may come in one frame or several: wait until all of it is back.
        const want = refused.reduce((n, r) => n + r.bytes, 0);
        const credited = (): number => g.events.reduce((n, m) => n + (m.type === 'credit' && m.handle === h ? m.bytes : 0), 0);
        await g.waitFor(() => credited() >= want, 3000, `${want} bytes of credit`);
        const got = credited();
        assert.equal(got, want, 'every refused byte of credit came back');
      } finally {
        g.close();
      }
    });
  });

  it('accepts guests over TCP as well (--guest-tcp)', async () => {
    await withDaemon({ guestSocket: null, guestTcp: '127.0.0.1:0' }, async (d) => {
      assert.equal(d.guestPath, null);
      const at = d.tcpAddress;
      assert.ok(at && at.port > 0);
      const g = await RawGuest.open(at, 'over-tcp');
      try {
        assert.equal((await g.request({ type: 'socket', handle: 0, family: 6, kind: 'udp' })).type, 'ok');
        const seen = await eventually('the guest with its socket in guests()', () => d.guests().map((x) => [x.name, x.transport, x.sockets.length]), (gs) => gs.some((x) => x[2] !== 0));
        assert.deepEqual(seen, [['over-tcp', 'tcp', 1]]);
        const c = await g.request({ type: 'clock', handle: 0, guestTimeNs: 5 });
        assert.ok(c.type === 'clockOk' && c.guestTimeNs === 5 && c.hostTimeNs > 0);
      } finally {
        g.close();
      }
    });
  });

  it('looks up localhost and reports unknown names as ENOTFOUND', async () => {
    await withDaemon({}, async (_d, path) => {
      const g = await RawGuest.open(path, 'dns-guest');
      try {
        const r = await g.request({ type: 'lookup', handle: 0, hostname: 'localhost', family: 0 });
        assert.ok(r.type === 'lookupOk', JSON.stringify(r));
        assert.ok(r.addresses.some((a) => a.address === '127.0.0.1' || a.address === '::1'));
        const bad = await g.request({ type: 'lookup', handle: 0, hostname: 'no-such-host.invalid', family: 4 });
        assert.equal(bad.type === 'error' && bad.errno, 'ENOTFOUND');
      } finally {
        g.close();
      }
    });
  });
});
