// The comparator-free sort the store uses for tracks that arrived out of order: it must order exactly as
// a stable sort by key does (ties in arrival order), on shuffled, nearly sorted and tiny inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sortOrder } from './sort-order';

function reference(keys: Float64Array, n: number): number[] {
  return Array.from({ length: n }, (_, i) => i).sort((a, b) => keys[a]! - keys[b]!);
}

function check(keys: Float64Array, n = keys.length): void {
  const got = sortOrder(keys, n, new Uint32Array(n), new Uint32Array(n));
  assert.deepEqual(Array.from(got.subarray(0, n)), reference(keys, n));
}

test('orders random keys with ties stably', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (const n of [0, 1, 2, 15, 16, 17, 33, 1000, 4099]) check(Float64Array.from({ length: n }, () => Math.floor(rnd() * 50) - 10));
});

test('orders interleaved sorted streams that drift apart (a guest frame track of several sockets)', () => {
  let seed = 3;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const cursors = [0, 0, 0, 0];
  const keys = new Float64Array(20_000);
  for (let i = 0; i < keys.length; i++) {
    const s = i % 4;
    cursors[s]! += 100 + rnd() * 200;
    keys[i] = cursors[s]!;
  }
  check(keys);
});

test('sorts only the first n keys', () => {
  const keys = Float64Array.from([5, 4, 3, 2, 1, 0]);
  const got = sortOrder(keys, 3, new Uint32Array(6), new Uint32Array(6));
  assert.deepEqual(Array.from(got.subarray(0, 3)), [2, 1, 0]);
});

test('keys that are not whole numbers, or span 2^48 or more, sort by merging, as stably', () => {
  let seed = 11;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  check(Float64Array.from({ length: 3000 }, () => Math.floor(rnd() * 40) / 4 - 3));
  check(Float64Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? 2 ** 50 : 0) + Math.floor(rnd() * 30)));
  check(Float64Array.from([2 ** 32 + 5, 0, 2 ** 32 - 1, 7, 7, -3]));
});

test('whole-number keys across both 16-bit digits sort exactly (the counting path)', () => {
  let seed = 5;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  check(Float64Array.from({ length: 5000 }, () => Math.floor(rnd() * 2 ** 31) - 1e6));
  check(Float64Array.from({ length: 5000 }, () => 65536 * Math.floor(rnd() * 5) + Math.floor(rnd() * 3)));
  // three digits: a 10 s trace in ns spans more than 2^32
  check(Float64Array.from({ length: 5000 }, (_, i) => Math.floor(rnd() * 1e10) + (i % 2) * 2 ** 32 - 5e9));
  check(Float64Array.from([2 ** 32 + 5, 0, 2 ** 32 - 1, 7, 7, -3, 2 ** 47, 2 ** 32 + 65536]));
});
