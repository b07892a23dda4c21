import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labOfferProblem } from '../../protocol';
import { labOffer } from './lab-offer';
import { programRequestProblem } from './program-comparison';
import { BENCH_PROGRAMS } from '../run/program-bench';

test('the offer: namespaces always, the VM with the reason it cannot run, the programs untraced', () => {
  const o = labOffer({ vm: 'qemu-system-x86_64 is not installed', programs: { iperf3: null } });
  assert.equal(labOfferProblem(o), null, 'the offer passes the client\'s check');
  assert.deepEqual(o.guests.map((g) => [g.kind, g.unavailable]), [['ns', null], ['vm', 'qemu-system-x86_64 is not installed']]);
  assert.deepEqual(o.guests[1]?.paths, ['delegated', 'emulated']);
  // Every program the lab runs is offered, untraced; one not given a problem is available.
  assert.deepEqual(o.programs.map((p) => p.name), [...BENCH_PROGRAMS]);
  assert.deepEqual(o.programs.find((p) => p.name === 'iperf3'), { name: 'iperf3', workload: 'stream', paths: ['direct', 'delegated'], traced: false, unavailable: null });
  assert.deepEqual(o.programs.find((p) => p.name === 'sockperf'), { name: 'sockperf', workload: 'rr', paths: ['direct', 'delegated'], traced: false, unavailable: null });
  assert.equal(labOffer({ vm: null, programs: { iperf3: 'iperf3: command not found' } }).programs[0]?.unavailable, 'iperf3: command not found');
});

test('a program request is checked against the lab\'s programs and their paths', () => {
  assert.equal(programRequestProblem({ program: 'iperf3', paths: ['direct', 'delegated'], seconds: 1 }), null);
  assert.match(programRequestProblem({ program: 'nginx', paths: ['direct'], seconds: 1 }) ?? '', new RegExp(`unknown program 'nginx' \\(the lab runs ${BENCH_PROGRAMS.join(', ')}\\)`));
  assert.match(programRequestProblem({ program: 'curl', paths: ['emulated'], seconds: 1 }) ?? '', /runs on the paths direct, delegated, not emulated/);
  assert.equal(programRequestProblem({ program: 'sockperf', paths: ['direct', 'delegated'], seconds: 1 }), null);
});
