import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordSieve } from './record-sieve';
import { call, frame, runInfo } from '../test/fixtures/test-records';

const seqs = (rs: { kind: string; seq?: number }[]) => rs.map((r) => r.seq ?? r.kind);

test('records repeated after a resubscription are dropped; new ones kept in order', () => {
  const s = new RecordSieve();
  s.meet('linsockd a', 0);
  assert.deepEqual(seqs(s.keep([call(0), call(1), frame(2)])), [0, 1, 2]);
  assert.equal(s.resumeSeq, 3);
  // Reconnected to the same daemon: it replays from an older point (history overlap).
  assert.equal(s.meet('linsockd a', 10), false);
  assert.deepEqual(seqs(s.keep([call(1), frame(2), call(3), call(4)])), [3, 4]);
  assert.equal(s.lastSeq, 4);
});

test('a restarted daemon numbers from 0 again: the sieve starts over instead of dropping everything', () => {
  const s = new RecordSieve();
  s.meet('linsockd a', 0);
  s.keep([call(0), call(1), call(2)]);
  assert.equal(s.meet('linsockd a', 0), true);
  assert.equal(s.resumeSeq, 0);
  assert.deepEqual(seqs(s.keep([call(0), call(1)])), [0, 1]);
});

test('a daemon that names itself differently counts as a new one even when its seqs are ahead', () => {
  const s = new RecordSieve();
  s.meet('linsockd pid 1', 0);
  s.keep([call(0), call(1)]);
  assert.equal(s.meet('linsockd pid 2', 500), true);
  assert.deepEqual(seqs(s.keep([call(0)])), [0]);
});

test('a run record arriving twice is kept once; dropped records always pass', () => {
  const s = new RecordSieve();
  s.meet('d', 0);
  const kept = s.keep([runInfo('r1'), runInfo('r1'), { kind: 'dropped', count: 5, atNs: 9 }, { kind: 'dropped', count: 5, atNs: 9 }]);
  assert.deepEqual(kept.map((r) => r.kind), ['run', 'dropped', 'dropped']);
});

test('one absurd seq does not swallow what follows: the leap and the step back are counted, records kept', () => {
  const s = new RecordSieve();
  s.meet('d', 0);
  s.keep([call(0), call(1)]);
  assert.deepEqual(seqs(s.keep([call(2 ** 53 - 2), call(2), call(3)])), [2 ** 53 - 2, 2, 3]);
  assert.deepEqual(s.anomalies, { gaps: 1, missing: 2 ** 53 - 4, regressions: 1, duplicates: 0 });
  assert.equal(s.resumeSeq, 4, 'a resubscription follows the stream, not the absurd seq');
  // Repeats of what was kept, before and after the leap, are still dropped and counted.
  assert.deepEqual(seqs(s.keep([call(1), call(2 ** 53 - 2), call(4)])), [4]);
  assert.equal(s.anomalies.duplicates, 2);
});

test('seqs going backwards are kept and counted; a run record explains the seq it takes', () => {
  const s = new RecordSieve();
  s.meet('d', 0);
  assert.deepEqual(seqs(s.keep([call(10), call(11), runInfo('r9'), call(13), call(5), call(6)])), [10, 11, 'run', 13, 5, 6]);
  assert.deepEqual(s.anomalies, { gaps: 0, missing: 0, regressions: 1, duplicates: 0 });
  assert.deepEqual(seqs(s.keep([call(13), runInfo('r9')])), []);
  assert.equal(s.anomalies.duplicates, 2);
  // A dropped record says the daemon lost records: the jump after it is no gap.
  s.keep([{ kind: 'dropped', count: 100, atNs: 1 }, call(107)]);
  assert.equal(s.anomalies.gaps, 0);
});
