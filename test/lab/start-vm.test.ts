// `linsock start` runs what the extension's Run Comparison… asks beyond namespaces: its status says what the
// lab offers (a VM when QEMU is here, the bench programs); a `run` with guest "vm" boots a real QEMU VM,
// lists it among the guests while it runs, and streams its delegated calls under the run's id; a `run` with
// a program gives the program's figures and says that its calls were not traced. SIGINT while a VM runs
// stops it, and linsock start still ends cleanly.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TRACE_STREAM_VERSION, type GuestInfo, type RunInfo, type ServerMessage } from '../../protocol';
import { qemuProblem } from '../../lab/vm';
import { StreamClient } from '../trace/stream-client';
import { startLinsock } from './start-process';
import { BENCH_PROGRAMS } from '../../lab/run/program-bench';

const ended = (c: StreamClient, id: number) => (): ServerMessage | undefined => c.messages.find((m) => (m.type === 'runFinished' || m.type === 'runFailed') && m.id === id);

test('linsock start: the status offers a VM and the programs; a VM run lists the VM and streams its calls; a program run says it was not traced', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-start-vm-'));
  const s = await startLinsock(['--no-initial-run', '--trace-port', '0', '--guest-socket', join(dir, 'guest.sock'), '--token-file', join(dir, 'token'), '--traces-dir', join(dir, 'traces')]);
  let c: StreamClient | null = null;
  const t0 = Date.now();
  try {
    c = await StreamClient.open(s.ready.trace, { token: readFileSync(join(dir, 'token'), 'utf8').trim() });
    c.send({ op: 'hello', id: 1, protocol: TRACE_STREAM_VERSION, client: 'start-vm.test' });
    await c.hello();
    c.send({ op: 'subscribe', id: 2, filter: {}, history: false });
    await c.reply(2);

    c.send({ op: 'status', id: 3 });
    const st = await c.reply(3);
    assert.equal(st.type, 'status');
    const lab = st.type === 'status' ? st.status.lab : undefined;
    assert.ok(lab, 'the status carries the lab offer');
    const vm = lab.guests.find((g) => g.kind === 'vm');
    const qemu = await qemuProblem();
    assert.equal(vm?.unavailable, qemu, 'the VM is offered exactly when QEMU is here');
    assert.deepEqual(vm?.paths, ['delegated', 'emulated']);
    assert.deepEqual(lab.programs.map((p) => [p.name, p.traced]), BENCH_PROGRAMS.map((name) => [name, false]));
    assert.ok(qemu === null, `this test needs QEMU (the VM lab's): ${qemu}`);

    // A VM run: rr on the delegated path, the shortest run.
    c.send({ op: 'run', id: 4, workload: 'rr', paths: ['delegated'], seconds: 1, guest: 'vm' });
    const started = await c.reply(4, 10_000);
    assert.equal(started.type, 'runStarted', JSON.stringify(started));
    const runId = started.type === 'runStarted' ? started.runId : '';
    let vmGuest: GuestInfo | undefined;
    let sawBooting = false;
    const client = c;
    for (let n = 10; !ended(client, 4)(); n++) {
      if (!vmGuest) {
        client.send({ op: 'guests', id: n });
        const g = await client.reply(n, 5000);
        const listed = g.type === 'guests' ? g.guests.find((x) => x.vm !== undefined) : undefined;
        if (listed?.vm?.state === 'booting') sawBooting = listed.vm.accel === null && listed.vm.runId === runId;
        if (listed?.vm?.state === 'running') vmGuest = listed;
      }
      await new Promise((r) => setTimeout(r, 200));
      if (s.child.exitCode !== null) throw new Error(`linsock start died during the VM run: ${s.out()}`);
    }
    const fin = ended(c, 4)()!;
    assert.equal(fin.type, 'runFinished', JSON.stringify(fin));
    if (fin.type !== 'runFinished') return;
    assert.equal(fin.report.guest, 'vm');
    assert.match(fin.report.accel ?? '', /^(kvm|tcg)$/);
    assert.ok(fin.report.notes?.some((n) => /guest kernel/.test(n)), JSON.stringify(fin.report.notes));
    const row = fin.report.results[0];
    assert.ok(row && row.path === 'delegated' && row.verified && (row.p50_us ?? 0) > 0, JSON.stringify(row));
    assert.ok(sawBooting, 'the guests reply listed the VM while it booted');
    assert.ok(vmGuest?.vm, 'the guests reply listed the VM while it ran');
    assert.equal(vmGuest.vm.runId, runId);
    assert.equal(vmGuest.vm.accel, fin.report.accel);
    assert.equal(vmGuest.vm.delegated, true);
    assert.equal(vmGuest.vm.nic, null);
    // Once it stopped, it is no longer listed.
    c.send({ op: 'guests', id: 100 });
    const after = await c.reply(100);
    assert.ok(after.type === 'guests' && !after.guests.some((g) => g.vm), 'the VM is not listed after its run');
    // Its delegated calls reached the subscriber before runFinished, as the run's, guest = the VM.
    const calls = c.records.filter((r) => r.kind === 'call' && r.run === runId);
    assert.ok(calls.length >= 10, `${calls.length} call records of the VM run`);
    assert.ok(calls.every((r) => r.kind === 'call' && r.guest === vmGuest!.name && r.path === 'delegated'));
    const run = c.records.find((r): r is RunInfo => r.kind === 'run' && r.id === runId);
    assert.ok(run, 'the run record streamed');
    assert.equal(run.params.guest, 'vm');
    assert.ok(run.clockOffsetNs && vmGuest.name in run.clockOffsetNs, 'the run record carries the VM clock mapping');

    // A program run: iperf3 on direct and delegated.
    c.send({ op: 'run', id: 5, program: 'iperf3', paths: ['direct', 'delegated'], seconds: 1 });
    const pStarted = await c.reply(5, 10_000);
    assert.equal(pStarted.type, 'runStarted');
    const pRun = pStarted.type === 'runStarted' ? pStarted.runId : '';
    await c.until(() => ended(client, 5)() !== undefined, 60_000, 'the program run to end');
    const pFin = ended(c, 5)()!;
    assert.equal(pFin.type, 'runFinished', JSON.stringify(pFin));
    if (pFin.type !== 'runFinished') return;
    assert.equal(pFin.report.program, 'iperf3');
    assert.match(pFin.report.untraced ?? '', /not traced/);
    for (const r of pFin.report.results) assert.ok(r.verified && (r.mb_per_s ?? 0) > 0, JSON.stringify(r));
    assert.ok(c.records.some((r) => r.kind === 'run' && r.id === pRun && r.workload === 'iperf3'), 'the program run\'s record streamed');
    assert.ok(!c.records.some((r) => r.kind === 'call' && r.run === pRun), 'no call record claims to be the program\'s');

    // Bad requests are refused with the reason.
    c.send({ op: 'run', id: 6, workload: 'inter-guest', paths: ['delegated'], seconds: 1, guest: 'vm' });
    await c.until(() => ended(client, 6)() !== undefined || client.messages.some((m) => m.type === 'error' && m.id === 6), 10_000, 'the refusal');
    const refusal = c.messages.find((m) => 'id' in m && m.id === 6 && (m.type === 'runFailed' || m.type === 'error'));
    assert.match(JSON.stringify(refusal), /a VM runs the workloads/);

    // SIGINT while a VM runs: the VM lab stops the VM, and linsock start still tears itself down (exit 0).
    c.send({ op: 'run', id: 7, workload: 'stream', paths: ['delegated'], seconds: 30, guest: 'vm' });
    for (let n = 200; ; n++) {
      client.send({ op: 'guests', id: n });
      const g = await client.reply(n, 5000);
      if (g.type === 'guests' && g.guests.some((x) => x.vm?.state === 'running')) break;
      if (Date.now() - t0 > 200_000) throw new Error('the second VM never ran');
      await new Promise((r) => setTimeout(r, 200));
    }
    const qemus = (): string => spawnSync('pgrep', ['-P', String(s.child.pid), '-f', 'qemu-system'], { encoding: 'utf8' }).stdout.trim();
    assert.notEqual(qemus(), '', 'QEMU runs as a child of linsock start');
    s.child.kill('SIGINT');
    const code = await new Promise((r) => (s.child.exitCode !== null ? r(s.child.exitCode) : s.child.once('exit', (c1, sig) => r(c1 ?? sig))));
    assert.equal(code, 0, s.out());
    assert.ok(!existsSync(join(dir, 'guest.sock')), 'the guest socket is removed');
    assert.equal(spawnSync('pgrep', ['-f', `qemu-system.*linsock-vmbench-${s.child.pid}-`], { encoding: 'utf8' }).stdout.trim(), '', 'no QEMU of the run is left');
  } finally {
    c?.close();
    if (s.child.exitCode === null && s.child.signalCode === null) {
      s.child.kill('SIGINT');
      await new Promise((r) => s.child.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
