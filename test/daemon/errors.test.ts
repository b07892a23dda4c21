// linsockd's errors, limits and isolation: refused, policy-denied, EMFILE, EBADF across guests,
// malformed frames, duplicate names, and credit-based backpressure that bounds what the daemon buffers.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { DEFAULT_INITIAL_CREDIT } from '../../protocol';
import { encodeMessage } from '../../protocol/wire-codec';
import { RawGuest } from './raw-guest';
import { eventually, LOOPBACK_ALLOWED, tcpServer, withConnectedGuest, withDaemon } from './harness';

/** Writes 1 MiB blocks of `fill` to `conn` as fast as it drains, up to `total`; `written` counts what the kernel took. */
function flood(conn: Socket, total: number, fill: number): { written: number } {
  const block = Buffer.alloc(1024 * 1024, fill);
  const state = { written: 0 };
  const pump = (): void => {
    while (state.written < total && conn.write(block)) state.written += block.length;
  };
  conn.on('drain', () => {
    state.written += block.length;
    pump();
  });
  pump();
  return state;
}

const errnoOf = (r: { type: string; errno?: string }): string | undefined => (r.type === 'error' ? r.errno : undefined);

describe('linsockd errors, limits and isolation', { timeout: 20000 }, () => {
  it('reports a refused connection as ECONNREFUSED', async () => {
    await withDaemon({ policy: LOOPBACK_ALLOWED }, async (_d, path) => {
      const srv = await tcpServer();
      const port = srv.port;
      await srv.close(); // nothing listens there now
      const g = await RawGuest.open(path, 'refused');
      try {
        const { reply } = await g.connectTo({ family: 4, address: '127.0.0.1', port });
        assert.equal(errnoOf(reply), 'ECONNREFUSED');
      } finally {
        g.close();
      }
    });
  });

  it('denies host loopback by default, privileged listen ports, and mapped loopback (EACCES)', async () => {
    const lines: string[] = [];
    const logger = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (msg: string, f?: object) => void lines.push(`${msg} ${JSON.stringify(f)}`) };
    await withDaemon({ logger }, async (_d, path) => {
      const srv = await tcpServer();
      const g = await RawGuest.open(path, 'denied');
      try {
        assert.equal(errnoOf((await g.connectTo({ family: 4, address: '127.0.0.1', port: srv.port })).reply), 'EACCES');
        assert.equal(errnoOf((await g.connectTo({ family: 6, address: '::ffff:127.0.0.1', port: srv.port })).reply), 'EACCES');
        assert.equal(errnoOf((await g.connectTo({ family: 6, address: '::1', port: srv.port })).reply), 'EACCES');
        const u = await g.socket4('udp');
        const s = await g.request({ type: 'sendto', handle: u, noReply: false, remote: { family: 4, address: '127.0.0.2', port: 9 }, data: Buffer.from('x') });
        assert.equal(errnoOf(s), 'EACCES');
        const l = await g.socket4();
        // Binds are checked too: a privileged port, and the host's loopback, are closed by default.
        assert.equal(errnoOf(await g.request({ type: 'bind', handle: l, local: { family: 4, address: '127.0.0.1', port: 8080 } })), 'EACCES');
        assert.equal(errnoOf(await g.request({ type: 'bind', handle: l, local: { family: 4, address: '0.0.0.0', port: 80 } })), 'EACCES');
        assert.equal(srv.conns.length, 0);
        assert.ok(lines.filter((l) => l.startsWith('policy denied')).length >= 5, lines.join('\n'));
      } finally {
        g.close();
        await srv.close();
      }
    });
  });

  it('refuses sockets beyond maxSockets with EMFILE and frees the slot on close', async () => {
    await withDaemon({ limits: { maxSockets: 2 } }, async (_d, path) => {
      const g = await RawGuest.open(path, 'emfile');
      try {
        const a = await g.socket4();
        await g.socket4('udp');
        assert.equal(errnoOf(await g.request({ type: 'socket', handle: 0, family: 4, kind: 'tcp' })), 'EMFILE');
        await g.request({ type: 'close', handle: a });
        const c = await g.request({ type: 'socket', handle: 0, family: 4, kind: 'tcp' });
        assert.equal(c.type, 'ok');
        assert.ok(c.type === 'ok' && c.value > a, 'handles are never reused');
      } finally {
        g.close();
      }
    });
  });

  it("isolates guests: another guest's handle is EBADF and leaves the owner's socket untouched", async () => {
    await withDaemon({ policy: LOOPBACK_ALLOWED }, async (_d, path) => {
      const srv = await tcpServer();
      const a = await RawGuest.open(path, 'alice');
      const b = await RawGuest.open(path, 'bob');
      try {
        const { handle } = await a.connectTo({ family: 4, address: '127.0.0.1', port: srv.port });
        const conn = await srv.next();
        for (const m of [
          { type: 'send' as const, handle, noReply: false, data: Buffer.from('evil') },
          { type: 'getpeername' as const, handle },
          { type: 'shutdown' as const, handle, how: 'both' as const },
          { type: 'close' as const, handle },
        ]) assert.equal(errnoOf(await b.request(m)), 'EBADF', m.type);
        conn.write('still alice');
        assert.equal((await a.waitBytes(handle, 11)).toString(), 'still alice');
        assert.equal(b.bytesOn(handle), 0);
      } finally {
        a.close();
        b.close();
        await srv.close();
      }
    });
  });

  it('refuses a second guest with the same name (EADDRINUSE) and a wrong version (EPROTO)', async () => {
    await withDaemon({}, async (_d, path) => {
      const a = await RawGuest.open(path, 'same');
      try {
        await assert.rejects(RawGuest.open(path, 'same'), (e: { reply?: { errno: string } }) => e.reply?.errno === 'EADDRINUSE');
        await assert.rejects(RawGuest.open(path, 'other', { version: 99 }), (e: { reply?: { errno: string } }) => e.reply?.errno === 'EPROTO');
        assert.equal((await a.request({ type: 'socket', handle: 0, family: 4, kind: 'tcp' })).type, 'ok');
      } finally {
        a.close();
      }
    });
  });

  it('closes a guest that sends a malformed frame (EPROTO, goodbye) with its host sockets; others go on', async () => {
    await withDaemon({ policy: LOOPBACK_ALLOWED }, async (d, path) => {
      const srv = await tcpServer();
      const bad = await RawGuest.open(path, 'bad');
      const good = await RawGuest.open(path, 'good');
      try {
        const { handle: hb } = await bad.connectTo({ family: 4, address: '127.0.0.1', port: srv.port });
        const connBad = await srv.next();
        const { handle: hg } = await good.connectTo({ family: 4, address: '127.0.0.1', port: srv.port });
        const connGood = await srv.next();
        const closed = once(connBad, 'end');
        // A valid send frame whose type byte is changed to one that does not exist.
        const frame = encodeMessage({ type: 'send', id: 99, handle: hb, noReply: true, data: Buffer.from('x') });
        frame[0] = 0x7f;
        bad.writeRaw(frame);
        const err = await bad.waitFor((m) => m.type === 'error', 2000, 'error');
        assert.ok(err.type === 'error' && err.errno === 'EPROTO' && err.id === 0 && /unknown frame type 0x7f/.test(err.message), JSON.stringify(err));
        await bad.waitFor((m) => m.type === 'goodbye', 2000, 'goodbye');
        await bad.waitEnd(2000);
        await closed; // its host socket was closed too
        connGood.write('unaffected');
        assert.equal((await good.waitBytes(hg, 10)).toString(), 'unaffected');
        assert.deepEqual(d.guests().map((g) => g.name), ['good']);
      } finally {
        bad.close();
        good.close();
        await srv.close();
      }
    });
  });

  it('pushes no more than the guest credit and pauses the host socket (backpressure)', async () => {
    await withConnectedGuest('stingy', async ({ g, handle, conn }) => {
      const total = 64 * 1024 * 1024;
      const server = flood(conn, total, 1);
      await g.waitBytes(handle, DEFAULT_INITIAL_CREDIT, 3000);
      await new Promise((r) => setTimeout(r, 300));
      // Exactly the credit arrived, and the server is stuck: the kernel buffers are full, the daemon holds back.
      assert.equal(g.bytesOn(handle), DEFAULT_INITIAL_CREDIT);
      assert.ok(server.written < total / 2, `server wrote ${server.written} bytes although the guest read only ${DEFAULT_INITIAL_CREDIT}`);
      g.post({ type: 'credit', handle, bytes: 512 * 1024 });
      await g.waitBytes(handle, DEFAULT_INITIAL_CREDIT + 512 * 1024, 3000);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(g.bytesOn(handle), DEFAULT_INITIAL_CREDIT + 512 * 1024);
    });
  });

  it('stops reading host sockets while a guest does not read its channel (bounded backlog)', async () => {
    await withConnectedGuest('deaf', async ({ g, handle, conn }) => {
      g.post({ type: 'credit', handle, bytes: 1024 * 1024 * 1024 }); // all the credit in the world...
      await g.request({ type: 'getsockname', handle });
      g.socket.pause(); // ...but it reads nothing more from its channel
      const server = flood(conn, 256 * 1024 * 1024, 4);
      await new Promise((r) => setTimeout(r, 1000));
      // Kernel socket buffers hold a few MiB; the daemon's channel backlog at most its high-water mark.
      assert.ok(server.written < 48 * 1024 * 1024, `the server could write ${server.written} bytes to a guest that reads nothing`);
      g.socket.resume();
      await g.waitBytes(handle, server.written, 5000);
    });
  });

  it('holds accepted connections while the guest is at maxSockets, drops them beyond maxPendingAccepts', async () => {
    await withDaemon({ limits: { maxSockets: 2, maxPendingAccepts: 1 } }, async (d, path) => {
      const g = await RawGuest.open(path, 'busy-server');
      const clients: Socket[] = [];
      try {
        const h = await g.socket4();
        await g.request({ type: 'bind', handle: h, local: { family: 4, address: '127.0.0.1', port: 0 } });
        const l = await g.request({ type: 'listen', handle: h, backlog: 8 });
        const port = l.type === 'address' ? l.endpoint.port : 0;
        const dial = async (): Promise<Socket> => {
          const c = connect(port, '127.0.0.1');
          c.on('error', () => undefined);
          clients.push(c);
          await once(c, 'connect');
          return c;
        };
        await dial();
        const first = await g.waitFor((m) => m.type === 'accepted', 2000, 'first accepted');
        await dial(); // waits: the guest has no free handle
        const third = await dial(); // beyond maxPendingAccepts: dropped
        await once(third, 'close');
        assert.equal(g.events.filter((m) => m.type === 'accepted').length, 1);
        await eventually('drops counted in stats()', () => d.stats().drops, (n) => n >= 1);
        await g.request({ type: 'close', handle: first.type === 'accepted' ? first.newHandle : 0 });
        const second = await g.waitFor((m) => m.type === 'accepted' && m !== first, 2000, 'second accepted');
        assert.ok(second.type === 'accepted' && second.newHandle > (first.type === 'accepted' ? first.newHandle : 0));
      } finally {
        for (const c of clients) c.destroy();
        g.close();
      }
    });
  });

  it('answers ENOBUFS to sends beyond the send credit', async () => {
    await withConnectedGuest('greedy', async ({ g, handle, conn }) => {
      assert.equal(g.helloOk?.initialCredit, 64 * 1024);
      conn.pause(); // the server reads nothing: the kernel buffers fill, writes stop completing
      const data = Buffer.alloc(60 * 1024, 2);
      let enobufs = 0;
      for (let i = 0; i < 200 && enobufs === 0; i++) {
        g.post({ type: 'send', handle, noReply: true, data });
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 20));
        enobufs = g.events.filter((m) => m.type === 'socketError' && m.errno === 'ENOBUFS').length;
      }
      await g.waitFor((m) => m.type === 'socketError' && m.errno === 'ENOBUFS', 3000, 'ENOBUFS');
    }, { limits: { maxBufferPerSocket: 64 * 1024 } });
  });
});
