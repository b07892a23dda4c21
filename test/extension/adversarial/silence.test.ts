// Issue 20, item 7: a silent daemon is noticed, a daemon that drops every session after hello is redialled
// with growing delays (and a healthy session resets them), and a daemon cannot flood the log.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDaemon, client, hello, polite, sleep, subscribeThen, until } from './fake-daemon';

test('a daemon that says hello and then nothing (no pong either) is noticed and redialled', async () => {
  const d = await FakeDaemon.start((s, r) => (r.op === 'hello' ? hello(s) : undefined), { autoPong: false });
  const c = client(d.url);
  c.conn.connect();
  await until('connected', () => c.conn.state === 'connected');
  await until('noticed as silent', () => c.states.some((s) => s.state === 'reconnecting'), 3000);
  assert.match(c.states.find((s) => s.failure)!.failure!.detail, /went silent: nothing from it, not even a ping reply/);
  c.dispose();
  await d.stop();
});

test('a daemon that pongs but leaves requests unanswered is given up after three in a row', async () => {
  const d = await FakeDaemon.start((s, r) => (r.op === 'hello' ? hello(s) : undefined));
  const c = client(d.url, { requestTimeoutMs: 150 });
  c.conn.connect();
  await until('connected', () => c.conn.state === 'connected');
  for (let i = 0; i < 3; i++) await assert.rejects(c.conn.status(), /did not answer 'status'/);
  await until('given up', () => c.states.some((s) => s.state === 'reconnecting'));
  assert.match(c.states.find((s) => s.failure)!.failure!.detail, /left 3 requests in a row unanswered/);
  c.dispose();
  await d.stop();
});

test('a daemon that drops right after hello is redialled with growing delays; a healthy session resets them', async () => {
  let drop = true;
  const d = await FakeDaemon.start((s, r) => {
    polite(s, r);
    if (r.op === 'hello' && drop) setImmediate(() => s.ws.close(1011, 'bye'));
  });
  const c = client(d.url);
  c.conn.connect();
  await sleep(1500);
  // Delays 20, 40, 80, 160, 320, 640 ms (jitter 0): 6-7 sessions in 1.5 s. Today's code reset the backoff at
  // each hello and redialled every 20 ms: about 50.
  assert.ok(d.sessions.length <= 9, `${d.sessions.length} sessions in 1.5 s`);
  assert.ok(c.backoff.attempts >= 4, `${c.backoff.attempts} attempts counted`);
  drop = false;
  await until('a session that stays', () => c.conn.state === 'connected', 5000);
  await until('healthy: the backoff starts over', () => c.backoff.attempts === 0, 3000);
  c.dispose();
  await d.stop();
});

test('thousands of damaged chunks and a huge error message write a few short log lines and say how many were held back', async () => {
  // A chunk header claiming one record, a body of one byte, a wrong CRC.
  const damaged = Buffer.concat([Buffer.from('LSCK'), Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 7])]);
  const d = await FakeDaemon.start(subscribeThen((s) => {
    s.ws.send(JSON.stringify({ type: 'error', id: null, code: 'busy', message: 'm'.repeat(60_000) }));
    for (let i = 0; i < 5000; i++) s.ws.send(damaged);
  }));
  const c = client(d.url, { heartbeatTimeoutMs: 5000 });
  c.conn.connect();
  await until('connected', () => c.conn.state === 'connected');
  await c.conn.startRecording();
  await until('every damaged chunk', () => c.conn.damagedChunks === 5000, 10_000);
  c.conn.disconnect(); // a session's end says what was held back
  const damagedLines = c.logs.filter((l) => /damaged chunk/.test(l));
  assert.ok(damagedLines.length <= 10, `${damagedLines.length} lines about damaged chunks`);
  assert.ok(c.logs.some((l) => /suppressed 4990 more 'damaged-chunk' messages/.test(l)), c.logs.slice(-3).join('\n'));
  for (const l of c.logs) assert.ok(l.length <= 600, `a log line of ${l.length} characters`);
  assert.ok(c.logs.some((l) => /daemon: busy: m+… \(60014 characters\)/.test(l)));
  c.dispose();
  await d.stop();
});
