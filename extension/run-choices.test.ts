import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabOffer } from '../protocol';
import { defaultPicked, kindChoices, kindOffer, offerOrDefault, programDetail, runLabel } from './run-choices';

const offer = (vm: string | null, iperf3: string | null = null): LabOffer => ({
  guests: [
    { kind: 'ns', unavailable: null, workloads: ['stream', 'rr', 'crr', 'udp-rr', 'inter-guest'], paths: ['direct', 'delegated', 'emulated'], modes: ['e1000', 'virtio'] },
    { kind: 'vm', unavailable: vm, workloads: ['stream', 'rr', 'crr', 'udp-rr'], paths: ['delegated', 'emulated'], modes: ['e1000', 'virtio'] },
  ],
  programs: [{ name: 'iperf3', workload: 'stream', paths: ['direct', 'delegated'], traced: false, unavailable: iperf3 }],
});

test('the first pick lists namespaces, the VM and a program; a VM without QEMU says why', () => {
  const rows = kindChoices(offer('qemu-system-x86_64 is not installed: apt-get install qemu-system-x86'));
  assert.deepEqual(rows.map((r) => r.kind), ['ns', 'vm', 'program']);
  assert.equal(rows[0]?.unavailable, null);
  assert.match(rows[1]?.unavailable ?? '', /not installed: apt-get install/);
  assert.equal(rows[2]?.unavailable, null);
  assert.equal(kindChoices(offer(null))[1]?.unavailable, null);
});

test('"a program…" is refused with every program\'s reason when none can run', () => {
  const rows = kindChoices(offer(null, 'iperf3: command not found'));
  assert.match(rows[2]?.unavailable ?? '', /^iperf3: iperf3: command not found$/);
  assert.equal(programDetail(offer(null, 'x')!.programs[0]!), 'not offered: x');
  assert.match(programDetail(offer(null)!.programs[0]!), /not traced yet/);
});

test('a daemon that says nothing of its lab offers namespaces only, as before', () => {
  const o = offerOrDefault(undefined);
  assert.deepEqual(kindChoices(o).map((r) => r.kind), ['ns']);
  assert.deepEqual(kindOffer(o, 'ns').paths, ['direct', 'delegated', 'emulated']);
  assert.throws(() => kindOffer(o, 'vm'), /does not run guests of kind vm/);
});

test('a VM offers its own workloads and paths; the paths ticked at first leave direct out', () => {
  const vm = kindOffer(offer(null), 'vm');
  assert.deepEqual(vm.workloads, ['stream', 'rr', 'crr', 'udp-rr']);
  assert.deepEqual(defaultPicked(vm.paths), ['delegated', 'emulated']);
  assert.deepEqual(defaultPicked(['direct', 'delegated', 'emulated']), ['delegated', 'emulated']);
  assert.deepEqual(defaultPicked(['direct']), ['direct']);
});

test('labels name the program or workload, the paths and a VM', () => {
  assert.equal(runLabel({ guest: 'vm', workload: 'rr', paths: ['delegated', 'emulated'] }), 'rr · delegated vs emulated (VM)');
  assert.equal(runLabel({ guest: 'ns', workload: 'stream', program: 'iperf3', paths: ['direct', 'delegated'] }), 'iperf3 · direct vs delegated');
  assert.equal(runLabel({ guest: 'ns', workload: 'crr', paths: ['direct'] }), 'crr · direct');
});
