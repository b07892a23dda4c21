// Issue 20, items 1, 2 and 8: whatever text a daemon sends, the connection never throws, never stays
// "connected" on a broken stream, ends the session with a reason that says what was wrong, and the backoff
// brings it back once the daemon behaves.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDaemon, client, hello, polite, send, sleep, until, type Script } from './fake-daemon';

/** Messages that must each end a session (item 1), sent as the answer to the client's status request. */
const HOSTILE: [string, (id: number) => unknown, RegExp][] = [
  ['the text null', () => 'null', /a message is null, expected an object/],
  ['an array', () => '[1,2]', /an array of 2/],
  ['not JSON', () => '{"type":', /not JSON/],
  ['an unknown type', (id) => ({ type: 'surprise', id }), /unknown message type: a string "surprise"/],
  ['status without its body', (id) => ({ type: 'status', id, status: null }), /status is not an object/],
  ['status with a string count', (id) => ({ type: 'status', id, status: { calls: '5' } }), /status\.calls is a string "5"/],
  ['guests that are not a list', (id) => ({ type: 'guests', id, guests: { length: 1e9 } }), /guests is an object/],
  ['a guest with a socket list of a number', (id) => ({ type: 'guests', id, guests: [{ name: 'g', transport: 'unix', connectedNs: 1, sockets: 5 }] }), /guest sockets is number 5/],
  ['an id that is an object', () => ({ type: 'subscribed', id: { x: 1 }, fromSeq: 0 }), /id is an object/],
];

test('each malformed message ends the session visibly; the backoff takes over; nothing throws', async () => {
  for (const [name, reply, reason] of HOSTILE) {
    const d = await FakeDaemon.start((s, r) => (r.op === 'status' ? send(s.ws, reply(r.id)) : polite(s, r)));
    const c = client(d.url);
    c.conn.connect();
    await until(`${name}: connected`, () => c.conn.state === 'connected');
    await c.conn.status().catch(() => undefined);
    await until(`${name}: the session ends`, () => c.states.some((s) => s.failure?.kind === 'protocol'));
    const failure = c.states.find((s) => s.failure?.kind === 'protocol')!;
    assert.equal(failure.state, 'reconnecting', `${name}: the backoff takes over`);
    assert.match(failure.failure!.detail, reason, name);
    // The daemon behaves again: the connection comes back by itself and requests are answered.
    d.behave(polite);
    await until(`${name}: connected again`, () => c.conn.state === 'connected' && d.sessions.length >= 2);
    assert.equal((await c.conn.status()).tracing, true, `${name}: status answered after the reconnect`);
    assert.deepEqual(c.uncaught, [], `${name}: nothing thrown`);
    c.dispose();
    await d.stop();
  }
});

test('a hello in the middle of a session ends it; a daemon answering every request with hello cannot make a subscribe storm', async () => {
  const helloAlways: Script = (s) => hello(s);
  const d = await FakeDaemon.start(helloAlways);
  const c = client(d.url);
  c.conn.connect();
  await until('connected', () => c.conn.state === 'connected');
  await c.conn.startRecording().catch(() => undefined);
  await sleep(1500);
  const subscribes = d.requests('subscribe');
  // Today's code re-subscribed on each hello: thousands per second. Now each hello after the first ends the
  // session and the retry delays grow: a handful of sessions in 1.5 s, one subscribe each at most.
  assert.ok(subscribes <= 10, `${subscribes} subscribes in 1.5 s`);
  assert.ok(d.sessions.length <= 10, `${d.sessions.length} sessions in 1.5 s`);
  assert.ok(c.states.some((s) => s.failure?.kind === 'protocol' && /a second hello in the same session/.test(s.failure.detail)));
  assert.deepEqual(c.uncaught, []);
  c.dispose();
  await d.stop();
});

test('hello fields are checked and misleading messages are gone (a string protocol, an object name, no seq)', async () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['protocol "1"', { protocol: '1' }, /protocol is a string "1", expected a version number/],
    ['daemon {}', { daemon: {} }, /daemon is an object, expected a name/],
    ['nextSeq missing', { nextSeq: undefined }, /nextSeq is missing, expected a seq number/],
    ['a name of 3 million characters', { daemon: 'n'.repeat(3_000_000) }, /daemon is a string "n{40}…" \(3000000 characters\)/],
    ['protocol 2', { protocol: 2 }, /speaks trace protocol 2, this extension 1/],
  ];
  for (const [name, fields, reason] of cases) {
    const d = await FakeDaemon.start((s, r) => (r.op === 'hello' ? hello(s, fields) : polite(s, r)));
    const c = client(d.url);
    c.conn.connect();
    await until(`${name}: settled`, () => c.conn.state === 'disconnected' && c.states.some((s) => s.failure));
    const detail = c.states.find((s) => s.failure)!.failure!.detail;
    assert.match(detail, reason, name);
    for (const line of c.logs) {
      assert.doesNotMatch(line, /\[object Object\]|NaN|this extension 1".*1$/, `${name}: ${line.slice(0, 200)}`);
      assert.ok(line.length <= 1000, `${name}: a log line of ${line.length} characters`);
    }
    assert.equal(c.conn.daemon, null, `${name}: no daemon is taken from a refused hello`);
    c.dispose();
    await d.stop();
  }
});

test('messages before hello and binary chunks before hello end the session', async () => {
  const d = await FakeDaemon.start((s, r) => {
    if (r.op === 'hello') {
      s.ws.send(Buffer.from('not a chunk'), { binary: true });
      hello(s);
    }
  });
  const c = client(d.url);
  c.conn.connect();
  await until('settled', () => c.conn.state === 'disconnected');
  assert.match(c.states.find((s) => s.failure)!.failure!.detail, /a chunk of records before its hello/);
  c.dispose();
  await d.stop();
});
