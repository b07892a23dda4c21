import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TraceSink } from '../../daemon';
import type { CallRecord, RunInfo, TraceRecord } from '../../protocol';
import { RunningVms, VmTraceRelay, vmRequestProblem } from './vm-comparison';

const sink = (): TraceSink & { got: TraceRecord[] } => {
  const got: TraceRecord[] = [];
  return { enabled: true, got, publish: (r: TraceRecord) => void got.push(r) };
};
const run = (id: string): RunInfo => ({ kind: 'run', id, workload: 'none', paths: ['delegated'], params: { guest: 'vm' }, host: {} as RunInfo['host'], startedNs: 1, clockErrorNs: { 'vm-1-1': 900 }, clockOffsetNs: { 'vm-1-1': -5 } });
const call = (seq: number): CallRecord => ({ kind: 'call', seq, run: 'vm-bench-1', guest: 'vm-1-1', path: 'delegated', socket: 1, op: 'send', bytes: 1, result: 'ok', stages: [] });

test('the relay gives calls the run\'s id and passes the first run record only, as the run\'s', () => {
  const s = sink();
  const r = new VmTraceRelay(s, 'RUN', 'rr');
  r.forward([run('vm-bench-1'), call(0), call(1)]);
  r.forward(null);
  r.forward([run('vm-bench-1'), call(2)]);
  assert.equal(r.calls, 3);
  assert.deepEqual(s.got.map((x) => x.kind), ['run', 'call', 'call', 'call']);
  const info = s.got[0] as RunInfo;
  assert.equal(info.id, 'RUN');
  assert.equal(info.workload, 'rr');
  assert.deepEqual(info.clockOffsetNs, { 'vm-1-1': -5 }, 'the VM\'s clock mapping goes on');
  assert.ok(s.got.slice(1).every((x) => x.kind === 'call' && x.run === 'RUN'));
});

test('a VM request outside what a VM runs is refused with the reason', () => {
  assert.equal(vmRequestProblem({ workload: 'rr', paths: ['delegated', 'emulated'], seconds: 1, mode: null }), null);
  assert.match(vmRequestProblem({ workload: 'inter-guest', paths: ['delegated'], seconds: 1, mode: null }) ?? '', /a VM runs the workloads stream, rr, crr, udp-rr/);
  assert.match(vmRequestProblem({ workload: 'rr', paths: ['direct', 'delegated'], seconds: 1, mode: null }) ?? '', /not direct \(the direct path is the host itself/);
});

test('a VM is a guest from its boot to its teardown: provisional name while it boots, then its own', () => {
  const vms = new RunningVms();
  vms.booting({ nic: 'virtio', delegated: true, runId: 'R1234567890' });
  let [g] = vms.guests();
  assert.equal(g?.name, 'booting VM of run R1234567');
  assert.deepEqual(g?.vm, { nic: 'virtio', delegated: true, runId: 'R1234567890', state: 'booting', accel: null });
  vms.running('R1234567890', 'vm-1-1', 'tcg');
  [g] = vms.guests();
  assert.equal(g?.name, 'vm-1-1');
  assert.deepEqual(g?.vm, { nic: 'virtio', delegated: true, runId: 'R1234567890', state: 'running', accel: 'tcg' });
  assert.deepEqual(g?.sockets, []);
  vms.stopping('R1234567890');
  assert.equal(vms.guests()[0]?.vm?.state, 'stopping');
  vms.remove('R1234567890');
  assert.deepEqual(vms.guests(), []);
});
