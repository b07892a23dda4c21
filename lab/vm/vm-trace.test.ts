import { test } from 'node:test';
import assert from 'node:assert/strict';
import { traceFormat, type CallRecord, type RunInfo, type TraceFormat, type TraceRecord } from '../../protocol';
import { vmRunInfo, VmTraceLog } from './vm-trace';

const call = (guest: string): CallRecord => ({
  kind: 'call', seq: 0, run: 'r', guest, path: 'delegated', socket: 1, op: 'send', bytes: 1, result: 'ok',
  stages: [{ name: 'guest', start: 10, end: 20 }, { name: 'channel-out', start: 20, end: 30 }],
});

test('VmTraceLog numbers calls in order, keeps up to its limit and counts the rest, and starts anew at each take', () => {
  const log = new VmTraceLog(3);
  for (let i = 0; i < 5; i++) log.publish(call('vm-1-1'));
  const first = log.take();
  assert.deepEqual(first.records.map((r) => (r as CallRecord).seq), [0, 1, 2]);
  assert.equal(first.leftOut, 2);
  log.publish(call('vm-1-1'));
  const second = log.take();
  assert.equal(second.records.length, 1);
  assert.equal(second.leftOut, 0);
  assert.ok(second.sinceNs >= first.sinceNs);
});

test('VmTraceLog.settled waits for a quiet daemon, and no longer than its bound', async () => {
  const log = new VmTraceLog();
  const t0 = Date.now();
  const busy = setInterval(() => log.publish(call('vm-1-1')), 50);
  setTimeout(() => clearInterval(busy), 400);
  await log.settled();
  const waited = Date.now() - t0;
  assert.ok(waited >= 550, `waited ${waited} ms: past the last record (350–400 ms) and 250 ms of quiet`);
  assert.ok(waited < 3500, `waited ${waited} ms: within the bound`);
});

test('the run record of a VM trace carries the VM\'s clock and says the emulated path was not traced, through a .lstrace file', () => {
  const run = vmRunInfo({
    id: 'vm-bench-1', workload: 'rr', paths: ['delegated', 'emulated'], mode: 'e1000', mtu: 1500,
    vm: { name: 'vm-1-1', accel: 'tcg', kernel: '6.1.0' }, startedNs: 5,
    clocks: { 'vm-1-1': { offsetNs: 36_000_000_000_123, errorNs: 1_207_632 } }, disordered: 0, leftOut: 0,
  });
  assert.equal(run.params.vm, 'vm-1-1');
  assert.match(String(run.params.emulated), /not traced in a VM/);
  assert.equal(run.host.mode, 'e1000');
  assert.equal(run.host.pathMtu?.emulated, 1500);
  const f = traceFormat('lstrace') as TraceFormat;
  const w = f.writer();
  const pieces = [w.begin(), w.write([run, call('vm-1-1')]), w.end()].map((p) => (typeof p === 'string' ? new TextEncoder().encode(p) : p));
  const reader = f.reader?.();
  assert.ok(reader);
  const back: TraceRecord[] = [];
  for (const p of pieces) back.push(...reader.push(p).records);
  back.push(...reader.finish().records);
  const read = back.find((r): r is RunInfo => r.kind === 'run');
  assert.equal(read?.clockOffsetNs?.['vm-1-1'], 36_000_000_000_123);
  assert.equal(read?.clockErrorNs['vm-1-1'], 1_207_632);
  assert.equal(read?.params.emulated, run.params.emulated);
});
