import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientRequest } from '../../daemon/trace/trace-requests';

const ok = (v: unknown): unknown => {
  const r = parseClientRequest(JSON.stringify(v));
  assert.ok(r.ok, JSON.stringify(r));
  return r.request;
};
const bad = (text: string, id: number | null, why: RegExp): void => {
  const r = parseClientRequest(text);
  assert.ok(!r.ok, `accepted ${text}`);
  assert.equal(r.id, id);
  assert.match(r.message, why);
};

test('every request kind is accepted in its documented shape, and nothing extra leaks through', () => {
  assert.deepEqual(ok({ op: 'hello', id: 1, protocol: 1, client: 'x', token: 't', extra: 1 }), { op: 'hello', id: 1, protocol: 1, client: 'x', token: 't' });
  assert.deepEqual(ok({ op: 'subscribe', id: 2, filter: { guest: 'g', path: 'delegated', op: 'send', socket: 3 }, history: true, fromSeq: 10 }),
    { op: 'subscribe', id: 2, filter: { guest: 'g', path: 'delegated', op: 'send', socket: 3 }, history: true, fromSeq: 10 });
  assert.deepEqual(ok({ op: 'subscribe', id: 2, history: false }), { op: 'subscribe', id: 2, filter: {}, history: false });
  assert.deepEqual(ok({ op: 'unsubscribe', id: 2 }), { op: 'unsubscribe', id: 2 });
  assert.deepEqual(ok({ op: 'snapshot', id: 3, limit: 5 }), { op: 'snapshot', id: 3, limit: 5 });
  assert.deepEqual(ok({ op: 'guests', id: 4 }), { op: 'guests', id: 4 });
  assert.deepEqual(ok({ op: 'status', id: 5 }), { op: 'status', id: 5 });
  assert.deepEqual(ok({ op: 'run', id: 6, workload: 'crr', paths: ['direct', 'emulated'], seconds: 2, mode: 'e1000' }),
    { op: 'run', id: 6, workload: 'crr', paths: ['direct', 'emulated'], seconds: 2, mode: 'e1000' });
});

test('malformed requests say what was expected and carry the id when there is one', () => {
  bad('', null, /not valid JSON/);
  bad('[1,2]', null, /JSON object/);
  bad('{"op":"status"}', null, /"id"/);
  bad('{"op":"status","id":-1}', null, /"id"/);
  bad('{"op":"hello","id":1,"protocol":"1","client":"x"}', 1, /hello.protocol/);
  bad('{"op":"subscribe","id":2,"history":"yes"}', 2, /history/);
  bad('{"op":"subscribe","id":2,"history":true,"filter":{"guest":"g","colour":"red"}}', 2, /unknown field 'colour'/);
  bad('{"op":"subscribe","id":2,"history":true,"filter":{"socket":1.5}}', 2, /filter.socket/);
  bad('{"op":"subscribe","id":2,"history":true,"fromSeq":-3}', 2, /fromSeq/);
  bad('{"op":"run","id":3,"workload":"stream","paths":[],"seconds":1}', 3, /run.paths/);
  bad('{"op":"run","id":3,"workload":"stream","paths":["direct"],"seconds":0}', 3, /run.seconds/);
  bad('{"op":"run","id":3,"workload":"ddos","paths":["direct"],"seconds":1}', 3, /run.workload/);
  bad('{"op":"dance","id":4}', 4, /unknown op "dance"/);
});

test('run takes the guest kind and a program; a program run may leave the workload out', () => {
  assert.deepEqual(ok({ op: 'run', id: 7, workload: 'rr', paths: ['delegated'], seconds: 1, guest: 'vm', mode: 'virtio' }),
    { op: 'run', id: 7, workload: 'rr', paths: ['delegated'], seconds: 1, mode: 'virtio', guest: 'vm' });
  assert.deepEqual(ok({ op: 'run', id: 8, program: 'iperf3', paths: ['direct', 'delegated'], seconds: 1 }),
    { op: 'run', id: 8, workload: 'stream', paths: ['direct', 'delegated'], seconds: 1, program: 'iperf3' });
  bad('{"op":"run","id":9,"workload":"rr","paths":["delegated"],"seconds":1,"guest":"xen"}', 9, /run.guest must be one of ns, vm/);
  bad('{"op":"run","id":9,"program":"../bin/sh","paths":["delegated"],"seconds":1}', 9, /run.program must be a program name/);
  bad('{"op":"run","id":9,"program":"iperf3","paths":["delegated"],"seconds":1,"guest":"vm"}', 9, /namespaces only/);
});
