// A GuestSession on a real Unix socket pair, driven frame by frame by a bare client (the wire codec only).
import { UNLIMITED_FDS } from '../fd-budget';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WIRE_VERSION, type ErrnoName, type WireMessage } from '../../protocol';
import { encodeMessage, FrameDecoder } from '../../protocol/wire-codec';
import { BusyPoll } from '../channel/busy-poll';
import { resolveLimits } from '../limits';
import { SILENT } from '../log';
import { LogLimit } from '../log-limit';
import { Policy } from '../policy/policy';
import type { Counters } from '../sockets/session-context';
import { NO_TRACE } from '../trace/trace-sink';
import { GuestSession, type GuestRegistry } from './guest-session';

let dir: string;
let server: Server;
const sessions: GuestSession[] = [];
const counters: Counters = { calls: 0, bytes: 0, errors: 0, drops: 0 };
const names = new Set<string>();
const registry: GuestRegistry = {
  claim: (name): ErrnoName | null => (names.has(name) ? 'EADDRINUSE' : (names.add(name), null)),
  release: (s) => void names.delete(s.guest),
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'guest-session-'));
  server = createServer({ allowHalfOpen: true }, (socket) => {
    sessions.push(new GuestSession(socket, {
      transport: 'unix', peer: 'uid:0', fds: UNLIMITED_FDS(), limits: resolveLimits({ maxSockets: 2 }), policy: Policy.fromConfig({}), log: SILENT, limitedLog: new LogLimit(SILENT), sink: NO_TRACE, run: 'test',
      counters, registry, sameHost: null, busyPoll: new BusyPoll(0), onClosed: () => undefined,
    }));
  });
  await new Promise<void>((r) => server.listen(join(dir, 'g.sock'), r));
});
after(() => {
  for (const s of sessions) s.shut('test over', null, false);
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A bare guest: writes frames, collects what the session answers. */
async function bareGuest(): Promise<{ socket: Socket; send(m: WireMessage): void; next(): Promise<WireMessage>; ended: Promise<unknown> }> {
  const socket = connect(join(dir, 'g.sock'));
  await once(socket, 'connect');
  const decoder = new FrameDecoder();
  const got: WireMessage[] = [];
  const waiters: ((m: WireMessage) => void)[] = [];
  socket.on('data', (chunk) => {
    for (const m of decoder.push(chunk).messages) {
      const w = waiters.shift();
      if (w) w(m);
      else got.push(m);
    }
  });
  return {
    socket,
    send: (m) => socket.write(encodeMessage(m)),
    next: () => new Promise((r) => {
      const m = got.shift();
      if (m) r(m);
      else waiters.push(r);
    }),
    ended: once(socket, 'end'),
  };
}

const hello = (guest: string): WireMessage => ({ type: 'hello', id: 1, handle: 0, version: WIRE_VERSION, guest, capabilities: 0, maxPayload: 65536, guestTimeNs: 1 });

describe('a guest session', () => {
  it('answers hello, runs socket calls by the table, and counts them', async () => {
    const g = await bareGuest();
    g.send(hello('s1'));
    const ok = await g.next();
    assert.equal(ok.type, 'helloOk');
    assert.equal(ok.type === 'helloOk' && ok.maxPayload, 65536, 'the guest\'s lower maxPayload was not taken');
    const calls = counters.calls;
    g.send({ type: 'getsockname', id: 2, handle: 77, });
    assert.deepEqual(await g.next(), { type: 'error', id: 2, handle: 77, errno: 'EBADF', message: 'getsockname: handle 77 is not an open socket of this guest' });
    g.send({ type: 'socket', id: 3, handle: 0, family: 4, kind: 'udp' });
    g.send({ type: 'socket', id: 4, handle: 0, family: 4, kind: 'tcp' });
    g.send({ type: 'socket', id: 5, handle: 0, family: 4, kind: 'tcp' });
    assert.deepEqual([await g.next(), await g.next()].map((m) => m.type === 'ok' && m.value), [1, 2]);
    const third = await g.next();
    assert.equal(third.type === 'error' && third.errno, 'EMFILE', 'maxSockets 2 let a third socket open');
    g.send({ type: 'close', id: 6, handle: 1 });
    assert.deepEqual(await g.next(), { type: 'ok', id: 6, handle: 1, value: 0 });
    assert.equal(counters.calls - calls, 5);
    g.send({ type: 'clock', id: 7, handle: 0, guestTimeNs: 5 });
    const clock = await g.next();
    assert.equal(clock.type === 'clockOk' && clock.guestTimeNs, 5);
    g.send({ type: 'goodbye', id: 0, handle: 0, reason: 'done' });
    await g.ended;
    g.socket.destroy();
  });

  it('refuses a second guest of the same name, and a guest that sends a host\'s frame', async () => {
    const a = await bareGuest();
    a.send(hello('twin'));
    assert.equal((await a.next()).type, 'helloOk');
    const b = await bareGuest();
    b.send(hello('twin'));
    const refused = await b.next();
    assert.equal(refused.type === 'error' && refused.errno, 'EADDRINUSE');
    await b.ended;
    a.send({ type: 'data', id: 9, handle: 1, data: Uint8Array.of(1) });
    const err = await a.next();
    assert.equal(err.type === 'error' && err.errno, 'EPROTO');
    assert.match(err.type === 'error' ? err.message : '', /data is a host-to-guest frame/);
    assert.equal((await a.next()).type, 'goodbye');
    await a.ended;
    assert.ok(!names.has('twin'), 'the name stayed taken after the session closed');
    a.socket.destroy();
    b.socket.destroy();
  });

  it('wants hello first', async () => {
    const g = await bareGuest();
    g.send({ type: 'close', id: 2, handle: 1 });
    const err = await g.next();
    assert.match(err.type === 'error' ? err.message : '', /expected hello as the first frame, got close/);
    await g.ended;
    g.socket.destroy();
  });
});
