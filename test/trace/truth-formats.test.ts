// Trace truth survives every format: a stage that was not measured stays "not measured" (never a 0), a
// shared stage stays shared, a call's facts (application calls, time waited, clock shift, disorder) and
// every guest's clock offset and error reach lstrace, Chrome JSON and CSV; old version-1 files still read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFileHeader, encodeChunk, visitLstrace, type CallRecord, type RunInfo, type TraceRecord } from '../../protocol';
import { callsOf, csvClocks, csvOf, roundTrip, runOf } from './truth-files';

const run: RunInfo = {
  kind: 'run', id: 'r', workload: 'rr', paths: ['direct', 'delegated'], params: {},
  host: { kernel: 'k', cpu: 'c', cpus: 2, mtu: 1500, mode: null, offloads: [] }, startedNs: 1,
  clockErrorNs: { vm: 41_000, ns: 12_000 }, clockOffsetNs: { vm: -3_000_000_123, ns: 950 },
};
const directRecv: CallRecord = {
  kind: 'call', seq: 1, run: 'r', guest: 'host', path: 'direct', socket: 1, op: 'recv', bytes: 10, result: 'ok',
  stages: [{ name: 'kernel', start: 5_000, end: 5_000, unmeasured: true }],
};
const send: CallRecord = {
  kind: 'call', seq: 2, run: 'r', guest: 'vm', path: 'delegated', socket: 3, op: 'send', bytes: 196_608, result: 'ok',
  calls: 3, waitedNs: 4_200, clockShiftNs: -1_500, disorderNs: 7,
  stages: [
    { name: 'guest', start: 10_000, end: 11_000 }, { name: 'channel-out', start: 11_000, end: 20_000 },
    { name: 'host-queue', start: 20_000, end: 21_000 }, { name: 'execute', start: 21_000, end: 60_000, shared: true },
  ],
};
const push: CallRecord = {
  kind: 'call', seq: 3, run: 'r', guest: 'vm', path: 'delegated', socket: 3, op: 'recv', bytes: 100, result: 'ok',
  stages: [{ name: 'execute', start: 70_000, end: 70_000, unmeasured: true }, { name: 'reply-out', start: 70_000, end: 72_000 }],
};
const records: TraceRecord[] = [run, directRecv, send, push];

test('lstrace and Chrome JSON give back every truth field as written', () => {
  for (const name of ['lstrace', 'chrome'] as const) {
    const back = roundTrip(name, records);
    assert.deepEqual(runOf(back)?.clockOffsetNs, run.clockOffsetNs, `${name}: clock offsets`);
    assert.deepEqual(runOf(back)?.clockErrorNs, run.clockErrorNs, `${name}: clock errors`);
    assert.deepEqual(callsOf(back).map((c) => ({ ...c, seq: 0 })), [directRecv, send, push].map((c) => ({ ...c, seq: 0 })), name);
  }
});

test('CSV: an unmeasured length is an empty field, never 0; flags, facts and clocks have columns', () => {
  const { rows } = csvOf(records);
  const byKind = (k: string) => rows.filter((r) => r.kind === k);
  const [recv, s, p] = byKind('call');
  assert.equal(recv?.duration_ns, '', 'a direct receive has no measured duration');
  assert.equal(recv?.kernel_end_ns, '');
  assert.equal(recv?.unmeasured_stages, 'kernel');
  assert.equal(s?.shared_stages, 'execute');
  assert.deepEqual([s?.calls, s?.waited_ns, s?.clock_shift_ns, s?.disorder_ns], ['3', '4200', '-1500', '7']);
  assert.equal(p?.unmeasured_stages, 'execute');
  assert.equal(p?.duration_ns, '2000', 'measured stages still give the call a duration');
  const clocks = csvClocks(byKind('run')[0] as Record<string, string>);
  assert.deepEqual(Object.fromEntries(clocks), { vm: { offsetNs: -3_000_000_123, errorNs: 41_000 }, ns: { offsetNs: 950, errorNs: 12_000 } });
});

test('a version-1 .lstrace file (no truth fields) still reads', () => {
  const header = encodeFileHeader();
  header[9] = 1;
  const plain: CallRecord = { ...directRecv, stages: [{ name: 'kernel', start: 5_000, end: 6_000 }] };
  const file = new Uint8Array([...header, ...encodeChunk([{ ...run, clockOffsetNs: undefined } as unknown as RunInfo, plain].map((r) => JSON.parse(JSON.stringify(r)) as TraceRecord))]);
  const got: TraceRecord[] = [];
  const err = visitLstrace(file, { call: (c) => got.push(c.toRecord()), run: (r) => got.push(r) });
  assert.equal(err, null);
  assert.deepEqual(got.map((r) => r.kind), ['run', 'call']);
  assert.equal(runOf(got)?.clockOffsetNs, undefined);
  assert.deepEqual(callsOf(got)[0]?.stages, plain.stages);
});

test('the encoder refuses an offset for a guest without an error bound, and an unmeasured stage with a length', () => {
  assert.throws(() => encodeChunk([{ ...run, clockOffsetNs: { other: 1 } }]), /clockOffsetNs\.other/);
  assert.throws(() => roundTrip('lstrace', [{ ...directRecv, stages: [{ name: 'kernel', start: 1, end: 2, unmeasured: true }] }]), /an unmeasured stage has no length/);
});
