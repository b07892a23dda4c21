// A real QEMU VM (KVM where usable, TCG otherwise): stream and rr on the delegated path (the guest runtime
// over a virtio-serial port into linsockd) and on the emulated path (QEMU's e1000 on a TAP), every byte
// checked; then teardown: QEMU killed mid-run and the runner interrupted with SIGINT leave no TAP, no
// QEMU and no files. Needs root (TAP devices) and qemu-system-x86 (.ci/run installs it).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openVmBench, qemuProblem, tapExists, type VmBenchReport } from '../../lab/vm';

const ROOT = join(__dirname, '..', '..');

async function requireQemu(): Promise<void> {
  const problem = await qemuProblem();
  // No silent skip: a machine without QEMU fails here with the line that fixes it.
  if (problem) assert.fail(`${problem} (.ci/run installs it)`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** QEMU processes whose command line names `needle` (a TAP name or a socket folder). */
function qemusWith(needle: string): number[] {
  const found: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes('qemu-system') && cmd.includes(needle)) found.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function assertVerifiedRows(r: VmBenchReport): void {
  assert.deepEqual(r.results.map((x) => x.path), ['delegated', 'emulated']);
  for (const row of r.results) {
    assert.equal(row.verified, true, `${r.workload} on ${row.path} not verified: ${row.notes.join('; ')}`);
    assert.ok(row.bytes > 0 && row.calls > 0, `${r.workload} on ${row.path} moved nothing`);
    if (r.workload === 'stream') assert.ok((row.mb_per_s ?? 0) > 0);
    else assert.ok((row.p50_us ?? 0) > 0 && (row.p99_us ?? 0) >= (row.p50_us ?? 0));
  }
  assert.equal(r.guest, 'vm');
  assert.ok(r.accel === 'kvm' || r.accel === 'tcg');
  assert.equal(typeof r.ratios['delegated/emulated'], 'number');
}

test('a VM runs stream and rr on the delegated (virtio-serial) and emulated (e1000) paths, every byte verified', { timeout: 120_000 }, async () => {
  await requireQemu();
  const session = await openVmBench({ paths: ['delegated', 'emulated'], mode: 'e1000' });
  const { vm } = session;
  try {
    assert.equal(vm.nic?.mode, 'e1000');
    assertVerifiedRows(await session.run('stream', 2));
    assertVerifiedRows(await session.run('rr', 2));
  } finally {
    await session.close();
  }
  assert.equal(await tapExists(vm.nic?.tap ?? ''), false, 'the TAP is gone');
  assert.equal(alive(vm.pid), false, 'QEMU is gone');
  for (const f of vm.files) assert.equal(existsSync(f), false, `${f} is removed`);
});

test('QEMU killed mid-run: the run fails with a clear error and nothing is left', { timeout: 90_000 }, async () => {
  await requireQemu();
  const session = await openVmBench({ paths: ['delegated', 'emulated'], mode: 'e1000' });
  const { vm } = session;
  try {
    const running = session.run('stream', 30);
    setTimeout(() => process.kill(vm.pid, 'SIGKILL'), 1500);
    await assert.rejects(running, /QEMU stopped unexpectedly \(killed by SIGKILL\)/);
  } finally {
    await session.close();
  }
  assert.equal(await tapExists(vm.nic?.tap ?? ''), false, 'the TAP is gone');
  for (const f of vm.files) assert.equal(existsSync(f), false, `${f} is removed`);
});

/** The folders the VM runs of process `pid` made (sockets in the temp dir, the agent bundle in the cache). */
function vmFoldersOf(pid: number): string[] {
  const cache = join(ROOT, '.cache', 'vm');
  const mine = (n: string): boolean => new RegExp(`^(linsock-vm[a-z]*|run)-${pid}-`).test(n);
  return [
    ...readdirSync(tmpdir()).filter(mine).map((n) => join(tmpdir(), n)),
    ...(existsSync(cache) ? readdirSync(cache).filter(mine).map((n) => join(cache, n)) : []),
  ];
}

test('SIGINT to a VM bench: QEMU, the TAP and the files go before the process ends', { timeout: 90_000 }, async () => {
  await requireQemu();
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'lab', 'vm', 'cli.ts'), '--workload', 'stream', '--mode', 'e1000', '--seconds', '60', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const tap = `lsvm${child.pid}n0`;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  // Wait until the VM runs (its QEMU holds the TAP), then interrupt.
  const deadline = Date.now() + 80_000;
  while (qemusWith(tap).length === 0) {
    assert.ok(Date.now() < deadline, 'the VM did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 1000));
  child.kill('SIGINT');
  const how = await exited;
  assert.equal(how.signal, 'SIGINT', `the runner ends as SIGINT asks (${JSON.stringify(how)})`);
  assert.deepEqual(qemusWith(tap), [], 'no QEMU left');
  assert.equal(await tapExists(tap), false, 'no TAP left');
  assert.deepEqual(vmFoldersOf(child.pid as number), [], 'no folder left');
});
