import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  INTERPOSER_BATCH_MAGIC, INTERPOSER_HELLO_MAGIC, InterposerTraceDecoder, InterposerTraceError, interposedCallRecord, interposedGuest,
} from './interposer-trace';

function hello(pid: number, name: string): Uint8Array {
  const n = new TextEncoder().encode(name);
  const b = new Uint8Array(13 + n.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, INTERPOSER_HELLO_MAGIC, true);
  b[4] = 1;
  v.setUint32(8, pid, true);
  b[12] = n.length;
  b.set(n, 13);
  return b;
}

function batch(tid: number, dropped: number, calls: [op: number, result: number, fd: number, bytes: number, enter: bigint, ret: bigint][]): Uint8Array {
  const b = new Uint8Array(16 + 32 * calls.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, INTERPOSER_BATCH_MAGIC, true);
  v.setUint32(4, tid, true);
  v.setUint32(8, calls.length, true);
  v.setUint32(12, dropped, true);
  calls.forEach(([op, result, fd, bytes, enter, ret], i) => {
    const o = 16 + 32 * i;
    b[o] = op;
    b[o + 1] = result;
    v.setInt32(o + 4, fd, true);
    v.setUint32(o + 8, bytes, true);
    v.setBigUint64(o + 16, enter, true);
    v.setBigUint64(o + 24, ret, true);
  });
  return b;
}

test('a stream cut anywhere decodes to the same hello and batches', () => {
  const stream = new Uint8Array([...hello(42, 'curl'), ...batch(43, 2, [[6, 0xff, 5, 1000, 10n, 25n], [6, 5, 5, 0, 30n, 31n]])]);
  for (let cut = 0; cut <= stream.length; cut += 7) {
    const d = new InterposerTraceDecoder();
    const events = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
    assert.equal(events.length, 2);
    assert.deepEqual(events[0], { kind: 'hello', version: 1, pid: 42, name: 'curl' });
    const b = events[1];
    assert.ok(b?.kind === 'batch');
    assert.equal(b.tid, 43);
    assert.equal(b.dropped, 2);
    assert.deepEqual(b.calls[0], { op: 6, result: 0xff, fd: 5, bytes: 1000, enterNs: 10, returnNs: 25 });
  }
});

test('records: ok and errno results, a measured kernel stage, per-thread guests', () => {
  const ok = interposedCallRecord({ op: 6, result: 0xff, fd: 5, bytes: 1000, enterNs: 10, returnNs: 25 }, 'r', 'direct', interposedGuest('curl', 42, 42));
  assert.deepEqual(ok, { kind: 'call', seq: 0, run: 'r', guest: 'curl[42]', path: 'direct', socket: 5, op: 'recv', bytes: 1000, result: 'ok', stages: [{ name: 'kernel', start: 10, end: 25 }] });
  const again = interposedCallRecord({ op: 6, result: 5, fd: 5, bytes: 0, enterNs: 30, returnNs: 31 }, 'r', 'emulated', interposedGuest('iperf3', 42, 44));
  assert.equal(again.result, 'EAGAIN');
  assert.equal(again.guest, 'iperf3[42/44]');
  const failedSocket = interposedCallRecord({ op: 0, result: 13, fd: -1, bytes: 0, enterNs: 1, returnNs: 2 }, 'r', 'direct', 'x[1]');
  assert.equal(failedSocket.socket, 0);
  assert.equal(failedSocket.result, 'EMFILE');
});

test('a malformed stream is refused with what was expected', () => {
  assert.throws(() => new InterposerTraceDecoder().push(new Uint8Array(16)), InterposerTraceError);
  const d = new InterposerTraceDecoder();
  d.push(hello(1, 'x'));
  const big = batch(1, 0, []);
  new DataView(big.buffer).setUint32(8, 100_000, true);
  assert.throws(() => d.push(big), /at most 4096/);
  const d2 = new InterposerTraceDecoder();
  d2.push(hello(1, 'x'));
  assert.throws(() => d2.push(batch(1, 0, [[200, 0xff, 1, 0, 1n, 2n]])), /op 200/);
  const v2 = hello(1, 'x');
  v2[4] = 9;
  assert.throws(() => new InterposerTraceDecoder().push(v2), /version 9/);
});
