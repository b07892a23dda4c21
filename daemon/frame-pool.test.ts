// The split-frame pool: a decoder assembles frames split across reads in pooled buffers, a recycled buffer
// serves the next frame, and buffers it did not hand out (or hands back twice) are never reused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeMessage, FrameDecoder } from '../protocol/wire-codec';
import { FramePool } from './frame-pool';

const MAX = 256 * 1024;

function sendFrame(id: number, fill: number): Uint8Array {
  return encodeMessage({ type: 'send', id, handle: 1, noReply: true, data: new Uint8Array(100_000).fill(fill) });
}

/** Pushes `frame` in 64 KiB reads, as a Unix socket delivers it; returns the decoded send data. */
function decodeSplit(d: FrameDecoder, frame: Uint8Array): Uint8Array {
  const out = [];
  for (let at = 0; at < frame.length; at += 65536) {
    const r = d.push(frame.slice(at, at + 65536));
    assert.equal(r.error, null);
    out.push(...r.messages);
  }
  const [m] = out;
  assert.ok(m && m.type === 'send');
  return m.data;
}

test('a recycled buffer carries the next split frame; the data of each frame is intact', () => {
  const pool = new FramePool(16 + MAX);
  const d = new FrameDecoder({ maxPayload: MAX, allocFrame: pool.alloc });
  const a = decodeSplit(d, sendFrame(1, 0xaa));
  assert.equal(a.length, 100_000);
  assert.ok(a.every((b) => b === 0xaa));
  const b = decodeSplit(d, sendFrame(2, 0xbb));
  assert.notEqual(b.buffer, a.buffer, 'a buffer still in use was handed out again');
  pool.recycle(a);
  const c = decodeSplit(d, sendFrame(3, 0xcc));
  assert.equal(c.buffer, a.buffer, 'the recycled buffer was not reused');
  assert.ok(c.every((x) => x === 0xcc) && b.every((x) => x === 0xbb));
});

test('buffers the pool did not hand out, or that come back twice, are not reused', () => {
  const pool = new FramePool(16 + MAX);
  const foreign = new Uint8Array(16 + MAX);
  pool.recycle(foreign.subarray(16));
  assert.notEqual(pool.alloc(MAX).buffer, foreign.buffer);
  const x = pool.alloc(MAX);
  pool.recycle(x);
  pool.recycle(x);
  const y = pool.alloc(MAX);
  const z = pool.alloc(MAX);
  assert.equal(y.buffer, x.buffer);
  assert.notEqual(z.buffer, x.buffer, 'a buffer given back twice was handed out twice');
  assert.equal(pool.alloc(100).length, 100); // small frames are fresh allocations of their own size
});
