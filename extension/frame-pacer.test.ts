import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concatBytes } from '../protocol';
import { FramePacer, takeBatch, type Timers } from './frame-pacer';

/** A clock the test moves by hand. */
function manualTimers() {
  let now = 0;
  const due: { at: number; fn: () => void; id: number }[] = [];
  let id = 0;
  const timers: Timers = {
    now: () => now,
    setTimeout: (fn, ms) => (due.push({ at: now + ms, fn, id: ++id }), id),
    clearTimeout: (h) => { const i = due.findIndex((d) => d.id === h); if (i >= 0) due.splice(i, 1); },
  };
  const advance = (ms: number) => {
    now += ms;
    for (let d = due.sort((a, b) => a.at - b.at)[0]; d && d.at <= now; d = due[0]) {
      due.shift();
      d.fn();
    }
  };
  return { timers, advance, pending: () => due.length };
}

test('a burst of pokes gives one flush, and flushes are at least one interval apart', () => {
  const t = manualTimers();
  const flushes: number[] = [];
  const p = new FramePacer(() => flushes.push(t.timers.now()), 25, t.timers);
  for (let i = 0; i < 1000; i++) p.poke();
  t.advance(0);
  assert.deepEqual(flushes, [0]);
  for (let ms = 1; ms <= 100; ms++) {
    p.poke();
    t.advance(1);
  }
  assert.deepEqual(flushes, [0, 25, 50, 75, 100]);
});

test('an idle pacer flushes at once on the next poke; dispose cancels a pending flush', () => {
  const t = manualTimers();
  let n = 0;
  const p = new FramePacer(() => n++, 25, t.timers);
  p.poke();
  t.advance(0);
  t.advance(500);
  p.poke();
  t.advance(0);
  assert.equal(n, 2);
  p.poke();
  p.dispose();
  t.advance(100);
  assert.equal(n, 2);
  assert.equal(t.pending(), 0);
});

test('takeBatch takes whole chunks up to the byte budget, and at least one', () => {
  const chunks = [10, 10, 10, 50].map((n, no) => ({ no, bytes: new Uint8Array(n) }));
  assert.deepEqual(takeBatch(chunks, 25).map((c) => c.no), [0, 1]);
  assert.deepEqual(takeBatch(chunks.slice(3), 25).map((c) => c.no), [3]);
  assert.deepEqual(takeBatch([], 25), []);
});

test('concatBytes joins in order', () => {
  assert.deepEqual([...concatBytes([Uint8Array.of(1, 2), Uint8Array.of(3), new Uint8Array(0), Uint8Array.of(4)])], [1, 2, 3, 4]);
});
