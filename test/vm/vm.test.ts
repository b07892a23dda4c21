// A real QEMU VM (KVM where usable, TCG otherwise): stream and rr on the delegated path (the guest runtime
// over a virtio-serial port into linsockd) and on the emulated path (QEMU's e1000 on a TAP), every byte
// checked; in the same VM, `linsock run curl` (the interposer over a second port) downloads a file from
// the host's nginx, sha256 checked; then teardown: QEMU killed mid-run and the runner interrupted with
// SIGINT leave no TAP, no QEMU and no files. Needs root (TAP devices) and qemu-system-x86 (.ci/run installs it).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHostNginx, type HostNginx } from '../../lab/run/nginx';
import { openVmBench, qemuProblem, tapExists, type VmBenchReport, type VmBenchSession } from '../../lab/vm';

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

/** A port nobody listens on now (nginx needs a number in its configuration). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

// One VM for the paths and for an unmodified program: a boot costs seconds under TCG.
describe('one VM (e1000 NIC, delegation channel, program port)', () => {
  let session: VmBenchSession;
  let nginx: HostNginx;
  let site: string;
  let port: number;
  const body = randomBytes(1 << 20);

  before(async () => {
    await requireQemu();
    site = mkdtempSync(join(tmpdir(), 'linsock-vm-nginx-'));
    writeFileSync(join(site, 'file.bin'), body);
    port = await freePort();
    nginx = startHostNginx({ prefix: site, root: site, host: '127.0.0.1', port, workers: 1 });
    await nginx.ready;
    session = await openVmBench({ paths: ['delegated', 'emulated'], mode: 'e1000', programs: { connectPorts: [port] } });
  });

  after(async () => {
    await session?.close();
    await nginx?.stop();
    if (site) rmSync(site, { recursive: true, force: true });
  });

  test('a VM runs stream and rr on the delegated (virtio-serial) and emulated (e1000) paths, every byte verified', { timeout: 120_000 }, async () => {
    assert.equal(session.vm.nic?.mode, 'e1000');
    assertVerifiedRows(await session.run('stream', 2));
    assertVerifiedRows(await session.run('rr', 2));
  });

  test('`linsock run` in the VM delegates curl to the host\'s nginx over the program port: the same sha256', { timeout: 120_000 }, async () => {
    const url = `http://127.0.0.1:${port}/file.bin`;
    // The VM cannot reach the host's loopback by itself: 127.0.0.1 in the VM is the VM's own.
    const bare = await session.vm.agent.exec({ argv: ['curl', '-sS', '-m', '10', '-o', '/dev/null', url], timeoutMs: 30_000 });
    assert.notEqual(bare.code, 0, `curl in the VM without linsock run reached the host's nginx: ${bare.stderrTail}`);
    // Through linsock run: the interposer's channel is the program port; linsockd connects on the host.
    for (let i = 1; i <= 2; i++) {
      const run = await session.runProgram('curl', ['-sS', '-m', '30', url], 60_000);
      assert.equal(run.code, 0, `linsock run curl (run ${i}) failed: ${run.signal ?? ''} ${run.timedOut ? 'timed out' : ''} ${run.stderrTail}`);
      assert.equal(run.stdoutBytes, body.length, `run ${i}: every byte arrived`);
      assert.equal(run.stdoutSha256, createHash('sha256').update(body).digest('hex'), `run ${i}: the same sha256 as the file nginx served`);
      assert.ok(run.daemonBytes >= body.length, `run ${i}: linsockd carried the file (${run.daemonBytes} bytes)`);
    }
  });

  test('closing the VM removes its TAP, QEMU and files', { timeout: 60_000 }, async () => {
    const { vm } = session;
    await session.close();
    assert.equal(await tapExists(vm.nic?.tap ?? ''), false, 'the TAP is gone');
    assert.equal(alive(vm.pid), false, 'QEMU is gone');
    for (const f of vm.files) assert.equal(existsSync(f), false, `${f} is removed`);
  });
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
