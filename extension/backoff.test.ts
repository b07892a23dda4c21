import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from './backoff';

test('delays grow by the factor up to the ceiling, jitter off', () => {
  const b = new Backoff({ firstMs: 100, maxMs: 1000, factor: 2, jitter: 0 });
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => b.next()), [100, 200, 400, 800, 1000, 1000]);
  assert.equal(b.attempts, 6);
});

test('reset starts again from the first delay', () => {
  const b = new Backoff({ firstMs: 100, maxMs: 1000, factor: 3, jitter: 0 });
  b.next();
  b.next();
  b.reset();
  assert.equal(b.next(), 100);
});

test('jitter keeps every delay within [ceiling * (1 - jitter), ceiling] and spreads them', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const b = new Backoff({ firstMs: 1000, maxMs: 8000, factor: 2, jitter: 0.5 }, random);
    const d0 = b.next();
    const d3 = (b.next(), b.next(), b.next());
    assert.ok(d0 >= 500 && d0 <= 1000, `first delay ${d0}`);
    assert.ok(d3 >= 4000 && d3 <= 8000, `fourth delay ${d3}`);
    seen.add(d0);
  }
  // Clients that lost the same daemon must not retry in lockstep.
  assert.ok(seen.size > 100, `only ${seen.size} distinct first delays out of 200`);
});

test('a very long outage never overflows the delay', () => {
  const b = new Backoff({ firstMs: 250, maxMs: 15_000, factor: 2, jitter: 0 });
  for (let i = 0; i < 5000; i++) assert.ok(Number.isFinite(b.next()));
  assert.equal(b.next(), 15_000);
});

test('nonsense options are refused', () => {
  assert.throws(() => new Backoff({ firstMs: 0, maxMs: 10, factor: 2, jitter: 0 }), RangeError);
  assert.throws(() => new Backoff({ firstMs: 10, maxMs: 5, factor: 2, jitter: 0 }), RangeError);
  assert.throws(() => new Backoff({ firstMs: 10, maxMs: 50, factor: 2, jitter: 2 }), RangeError);
});
