import { test } from 'node:test';
import assert from 'node:assert/strict';
import { invalidRecord, callSpan, type CallRecord } from './trace';
import { toErrnoName, errnoCode, errnoFromCode } from './errno';

const call: CallRecord = {
  kind: 'call', seq: 1, run: 'r1', guest: 'g1', path: 'delegated', socket: 3, op: 'send', bytes: 10, result: 'ok',
  stages: [
    { name: 'guest', start: 100, end: 110 },
    { name: 'execute', start: 120, end: 150 },
  ],
};

test('a well-formed call record validates and spans its stages', () => {
  assert.equal(invalidRecord(call), null);
  assert.deepEqual(callSpan(call), { start: 100, end: 150 });
});

test('records with impossible values are refused with a reason', () => {
  assert.match(invalidRecord({ ...call, path: 'teleport' }) ?? '', /path/);
  assert.match(invalidRecord({ ...call, result: 'EWHAT' }) ?? '', /result/);
  assert.match(invalidRecord({ ...call, stages: [{ name: 'guest', start: 5, end: 4 }] }) ?? '', /end before start/);
  assert.match(invalidRecord({ ...call, stages: [] }) ?? '', /stages/);
  assert.match(invalidRecord({ kind: 'nope' }) ?? '', /unknown record kind/);
  assert.equal(invalidRecord(null), 'not an object');
});

test('errno names map to stable wire codes and back', () => {
  assert.equal(errnoFromCode(errnoCode('ECONNREFUSED')), 'ECONNREFUSED');
  assert.equal(errnoFromCode(9999), undefined);
  assert.equal(toErrnoName({ code: 'ECONNRESET' }), 'ECONNRESET');
  assert.equal(toErrnoName(new Error('x')), 'EIO');
});
