import assert from 'node:assert/strict';
import { it } from 'node:test';
import { unpinned } from './base-handle';

it('copies small views of a larger channel read, and leaves large or exact-size data as it is', () => {
  const read = new Uint8Array(new ArrayBuffer(65536));
  read.fill(7);
  const small = read.subarray(100, 116);
  const copy = unpinned(small);
  assert.notEqual(copy.buffer, read.buffer, 'a 16-byte view kept the 64 KiB read alive');
  assert.deepEqual([...copy], [...small]);
  const large = read.subarray(0, 20_000);
  assert.equal(unpinned(large), large);
  const quarter = read.subarray(0, 16_384);
  assert.equal(unpinned(quarter), quarter, 'a view of a quarter of its buffer pins at most four times its bytes');
  const own = new Uint8Array(10);
  assert.equal(unpinned(own), own);
});
