// Bad options to a VM bench fail at once with what was expected, before anything boots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runVmBench } from './run-vm-bench';
import type { VmPath, VmWorkload } from './agent-protocol';
import type { NicMode } from './machine';

test('runVmBench refuses bad options before booting', async () => {
  await assert.rejects(runVmBench({ workload: 'sockperf' as VmWorkload }), /--workload must be one of stream, rr, crr, udp-rr, inter-guest/);
  await assert.rejects(runVmBench({ workload: 'stream', paths: ['direct' as VmPath] }), /delegated and emulated, not 'direct'/);
  await assert.rejects(runVmBench({ workload: 'stream', paths: [] }), /at least one path/);
  await assert.rejects(runVmBench({ workload: 'rr', mode: 'rtl8139' as NicMode }), /--mode must be e1000 or virtio/);
  await assert.rejects(runVmBench({ workload: 'rr', seconds: 0 }), /--seconds must be/);
  await assert.rejects(runVmBench({ workload: 'rr', seconds: Number.NaN }), /--seconds must be/);
});
