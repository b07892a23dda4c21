import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readServerMessage } from './trace-stream-check';

const status = (extra: Record<string, unknown>) => JSON.stringify({ type: 'status', id: 1, status: { calls: 0, callsPerSec: 0, bytes: 0, errors: 0, drops: 0, guests: 0, sockets: 0, ringSize: 1, ringUsed: 0, rssBytes: 1, tracing: true, nextSeq: 0, ...extra } });
const lab = { guests: [{ kind: 'vm', unavailable: null, workloads: ['rr'], paths: ['delegated'], modes: ['virtio'] }], programs: [{ name: 'iperf3', workload: 'stream', paths: ['direct'], traced: false, unavailable: null }] };

test('a status with a lab offer is read; a malformed offer is refused with the field', () => {
  assert.equal(readServerMessage(status({ lab })).error, null);
  assert.equal(readServerMessage(status({})).error, null, 'a daemon without a lab still speaks');
  assert.match(readServerMessage(status({ lab: { ...lab, guests: [{ ...lab.guests[0], kind: 'xen' }] } })).error ?? '', /not ns or vm/);
  assert.match(readServerMessage(status({ lab: { ...lab, programs: [{ ...lab.programs[0], name: '/bin/sh' }] } })).error ?? '', /no valid name/);
  assert.match(readServerMessage(status({ lab: { ...lab, guests: [{ ...lab.guests[0], paths: ['moon'] }] } })).error ?? '', /paths or modes malformed/);
});

test('a guest\'s vm and a report\'s VM and program fields are checked', () => {
  const guest = (vm: unknown) => JSON.stringify({ type: 'guests', id: 2, guests: [{ name: 'vm-1-1', transport: 'chardev', connectedNs: 1, sockets: [], vm }] });
  assert.equal(readServerMessage(guest({ state: 'running', accel: 'tcg', nic: null, delegated: true, runId: 'r' })).error, null);
  assert.equal(readServerMessage(guest({ state: 'booting', accel: null, nic: 'e1000', delegated: false, runId: 'r' })).error, null);
  assert.match(readServerMessage(guest({ state: 'paused', accel: null, nic: null, delegated: true, runId: 'r' })).error ?? '', /vm.state/);
  assert.match(readServerMessage(guest({ state: 'running', accel: 'hvf', nic: null, delegated: true, runId: 'r' })).error ?? '', /vm.accel/);
  const report = (extra: Record<string, unknown>) => JSON.stringify({ type: 'runFinished', id: 3, runId: 'r', report: { workload: 'rr', mode: null, mtu: 1500, results: [], ratios: {}, ...extra } });
  assert.equal(readServerMessage(report({ guest: 'vm', accel: 'tcg', notes: ['TCG'], program: 'iperf3', untraced: 'not traced' })).error, null);
  assert.match(readServerMessage(report({ notes: 'TCG' })).error ?? '', /report.notes/);
  assert.match(readServerMessage(report({ guest: 'lxc' })).error ?? '', /report.guest/);
});
