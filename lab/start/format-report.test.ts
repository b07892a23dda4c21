import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BenchReport } from '../../protocol';
import type { WorkloadResult } from '../bench/workload-result';
import { formatReport } from './format-report';

const row = (path: string, notes: string[] = []): WorkloadResult => ({ path, mb_per_s: 21.2, p50_us: null, p99_us: null, ops_per_s: null, calls: 3, bytes: 9, verified: true, ranIn: 'vm', notes });

test('a VM run names the VM and its accel, and its own notes once', () => {
  const nic = 'QEMU virtio-net on a TAP';
  const results = [row('delegated'), row('emulated', [nic])];
  const report: BenchReport = { workload: 'stream', mode: 'virtio', mtu: 1500, guest: 'vm', accel: 'tcg', results, ratios: {}, notes: ['TCG; -smp 1', nic] };
  const out = formatReport({ report, results });
  assert.match(out, /^stream in a QEMU VM \(tcg\) \(MTU 1500, emulated NIC virtio\)$/m);
  assert.match(out, /^note: TCG; -smp 1$/m);
  assert.equal(out.split(nic).length - 1, 1, 'the NIC profile is said once');
});

test('a program run is named by the program and says its calls were not traced', () => {
  const results = [row('direct'), row('delegated')];
  const report: BenchReport = { workload: 'stream', program: 'iperf3', mode: null, mtu: 65536, results, ratios: {}, untraced: 'calls were not traced: …' };
  const out = formatReport({ report, results });
  assert.match(out, /^iperf3 \(MTU 65536\)$/m);
  assert.match(out, /^calls were not traced: …$/m);
});
