// inter-guest between two real QEMU VMs through `linsock bench --guest vm`: VM B streams to VM A through
// linsockd (shortcut on, and off: the host kernel's loopback) and through their QEMU NICs bridged in a
// namespace the run makes; every byte checksummed; nothing left after (TAPs, the bridge's namespace).
// Needs root and qemu-system-x86 (.ci/run installs it).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { qemuProblem, type VmBenchReport } from '../../lab/vm';

const ROOT = join(__dirname, '..', '..');

test('bench --guest vm --workload inter-guest: two VMs, delegated (shortcut on and off) and bridged QEMU NICs, every byte verified', { timeout: 180_000 }, async () => {
  const problem = await qemuProblem();
  if (problem) assert.fail(`${problem} (.ci/run installs it)`);
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'lab', 'cli.ts'), 'bench', '--guest', 'vm', '--workload', 'inter-guest', '--paths', 'delegated,emulated', '--mode', 'e1000', '--seconds', '1', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  assert.equal(code, 0, `linsock bench failed: ${err}`);
  const report = JSON.parse(out.trim()) as VmBenchReport;
  assert.equal(report.workload, 'inter-guest');
  assert.equal(report.guest, 'vm');
  assert.ok(report.accel === 'kvm' || report.accel === 'tcg');
  assert.deepEqual(report.results.map((r) => r.path), ['delegated', 'delegated-kernel', 'emulated']);
  for (const row of report.results) {
    assert.equal(row.verified, true, `${row.path} not verified: ${row.notes.join('; ')}`);
    assert.ok(row.bytes > 0 && (row.mb_per_s ?? 0) > 0, `${row.path} moved nothing`);
  }
  assert.match(report.results[2]?.ranIn ?? '', /TAPs bridged in netns lsvm\d+br\d+/);
  assert.equal(typeof report.ratios['delegated/emulated'], 'number');
  // Nothing of the run is left: its TAPs and its bridge namespace carry its pid.
  const pid = child.pid as number;
  assert.doesNotMatch(execFileSync('ip', ['-o', 'link', 'show']).toString(), new RegExp(`lsvm${pid}n`), 'no TAP left');
  assert.doesNotMatch(execFileSync('ip', ['netns', 'list']).toString(), new RegExp(`lsvm${pid}br`), 'no bridge namespace left');
});
