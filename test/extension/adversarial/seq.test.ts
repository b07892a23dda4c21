// Issue 20, item 3: a record with an absurd seq must not make every later record vanish; seqs going back,
// gaps and repeats are counted (and shown: status-item.ts reads connection.health).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDaemon, callRecord, chunk, client, subscribeThen, until } from './fake-daemon';

const seqsOf = (rs: { kind: string; seq?: number }[]) => rs.filter((r) => r.kind === 'call').map((r) => r.seq);

test('one record with seq 2^53-2 does not swallow the stream; gaps, steps back and repeats are counted', async () => {
  const d = await FakeDaemon.start(subscribeThen((s) => {
    s.ws.send(chunk([callRecord(0), callRecord(1)]));
    s.ws.send(chunk([callRecord(2 ** 53 - 2)]));
    s.ws.send(chunk([callRecord(2), callRecord(3), callRecord(4)]));
    s.ws.send(chunk([callRecord(3), callRecord(1)])); // repeats
    s.ws.send(chunk([callRecord(5)]));
  }));
  const c = client(d.url);
  c.conn.connect();
  await until('connected', () => c.conn.state === 'connected');
  await c.conn.startRecording();
  await until('record 5', () => seqsOf(c.records).includes(5));
  assert.deepEqual(seqsOf(c.records), [0, 1, 2 ** 53 - 2, 2, 3, 4, 5]);
  const h = c.conn.health.seq;
  assert.deepEqual(h, { gaps: 1, missing: 2 ** 53 - 4, regressions: 1, duplicates: 2 });
  assert.equal(c.store.totals.calls, 7);
  assert.ok(c.logs.some((l) => /odd record numbering from the daemon: 1 gaps/.test(l)), 'the log says so');
  // A resubscription after a drop starts after the stream's position, not after the absurd seq.
  assert.equal(c.conn.lastSeq, 5);
  c.dispose();
  await d.stop();
});
