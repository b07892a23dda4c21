// A real QEMU VM is traced like any guest: `linsock bench --guest vm --trace-file F` writes the VM's
// delegated calls as call records of the VM's guest name, one per application call, with the guest
// stages (stamped on the VM's clock) measured and in order with the host's within the stated clock error,
// and the run record carries the VM's clock offset and error bound. The emulated path has no call records
// in a VM, and the file says so; its frames are recorded on the TAP's host side. Needs root (TAP) and qemu-system-x86 (.ci/run installs it).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qemuProblem } from '../../lab/vm';
import { traceFormat, type CallRecord, type FrameRecord, type RunInfo, type TraceFormat, type TraceRecord } from '../../protocol';
import { orderProblem } from '../trace/truth-order';

const ROOT = join(__dirname, '..', '..');
const GUEST_STAGES = new Set(['guest', 'guest-return']);

function readLstrace(file: string): TraceRecord[] {
  const reader = (traceFormat('lstrace') as TraceFormat).reader?.();
  assert.ok(reader, 'the lstrace format has a reader');
  const a = reader.push(new Uint8Array(readFileSync(file)));
  const b = reader.finish();
  const err = a.error ?? b.error;
  if (err) throw err;
  return [...a.records, ...b.records];
}

const hostNs = (): number => Number(process.hrtime.bigint());

test('a VM bench with --trace-file: the VM\'s delegated calls are records of its guest, one per call, guest stages measured and ordered within the VM\'s stated clock error', { timeout: 180_000 }, async () => {
  const problem = await qemuProblem();
  if (problem) assert.fail(`${problem} (.ci/run installs it)`);
  const dir = mkdtempSync(join(tmpdir(), 'linsock-vmtrace-'));
  const file = join(dir, 'vm.lstrace');
  try {
    const before = hostNs();
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'lab', 'cli.ts'), 'bench', '--guest', 'vm', '--workload', 'rr', '--paths', 'delegated,emulated', '--mode', 'e1000', '--seconds', '2', '--json', '--trace-file', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    const after = hostNs();
    assert.equal(code, 0, `linsock bench --guest vm failed: ${err}`);
    const report = JSON.parse(out.trim().split('\n').at(-1) as string) as { results: { path: string; calls: number; verified: boolean }[] };
    const row = report.results.find((r) => r.path === 'delegated');
    assert.ok(row?.verified, 'the delegated rr ran verified');
    const ops = row.calls / 2; // rr: one write and one echo per round trip

    const records = readLstrace(file);
    const run = records.find((r): r is RunInfo => r.kind === 'run');
    assert.ok(run, 'the file has its run record');
    const vm = String(run.params.vm);
    assert.match(vm, /^vm-\d+-\d+$/, 'the run names the VM');
    const calls = records.filter((r): r is CallRecord => r.kind === 'call');
    assert.ok(calls.length > 0, 'the VM\'s calls are recorded');
    for (const c of calls) {
      assert.equal(c.guest, vm, 'every call is the VM\'s guest\'s');
      assert.equal(c.path, 'delegated', 'the emulated path has no records in a VM');
      assert.equal(c.run, run.id);
    }
    assert.match(String(run.params.emulated), /calls not traced in a VM.*frames are recorded on the host side of the TAP/, 'the file says the emulated path has frames, not calls');

    // The emulated path's frames, captured where they cross the host (the TAP's host side): the VM's
    // guest, both directions, and the rr's bytes on the echo flow (one byte each way per round trip).
    const emuRow = report.results.find((r) => r.path === 'emulated');
    assert.ok(emuRow?.verified, 'the emulated rr ran verified');
    const frames = records.filter((r): r is FrameRecord => r.kind === 'frame');
    assert.ok(frames.length > 0, 'the TAP\'s frames are recorded');
    for (const f of frames) {
      assert.equal(f.guest, vm);
      assert.equal(f.run, run.id);
      assert.ok(f.tIn >= before && f.tIn <= after, 'a frame\'s time is on the host\'s clock, within the run');
    }
    const echo = (d: string): number => frames.filter((f) => f.direction === d && f.flow?.protocol === 'tcp').reduce((n, f) => n + f.payload, 0);
    assert.ok(echo('guest-to-host') >= emuRow.calls / 2, `the VM's rr bytes went out through the TAP (${echo('guest-to-host')} of ${emuRow.calls / 2})`);
    assert.ok(echo('host-to-guest') >= emuRow.calls / 2, `the host's echoes came in through the TAP (${echo('host-to-guest')} of ${emuRow.calls / 2})`);

    // The VM's clock: an offset and an error bound. Its CLOCK_MONOTONIC starts near 0 when its kernel
    // boots, after this test started the bench and before it ended: host - guest lies in that window.
    const offset = run.clockOffsetNs?.[vm];
    const error = run.clockErrorNs[vm];
    assert.ok(offset !== undefined && error !== undefined, `the run carries the VM's clock (${JSON.stringify(run)})`);
    assert.ok(error > 0, 'a VM\'s clock is mapped with an error bound');
    assert.ok(offset >= before - error && offset <= after + error, `the VM's offset ${offset} lies between the bench's start ${before} and end ${after}`);

    // One record per application call: each write counted once by the send records, each echoed byte
    // delivered by one recv record, one connect, and the socket's close.
    const of = (op: string): CallRecord[] => calls.filter((c) => c.op === op);
    assert.equal(of('send').reduce((n, c) => n + (c.calls ?? 1), 0), ops, 'send records count the application\'s writes');
    assert.equal(of('send').reduce((n, c) => n + c.bytes, 0), ops);
    assert.equal(of('recv').reduce((n, c) => n + c.bytes, 0), ops, 'recv records deliver every echoed byte');
    assert.equal(of('connect').length, 1);
    assert.equal(of('close').length, 1, 'the destroyed socket\'s close is a call of its own');

    // Guest stages measured (not "unmeasured"): every call the guest stamps has its guest side. Its close
    // is posted without waiting, so only the host's stages are known.
    for (const c of calls) {
      const guest = c.stages.filter((s) => GUEST_STAGES.has(s.name));
      if (c.op === 'close') continue;
      assert.ok(guest.length > 0, `${c.op} has guest stages: ${JSON.stringify(c)}`);
      for (const s of guest) assert.notEqual(s.unmeasured, true, `${c.op}'s ${s.name} stage is measured`);
      for (const s of guest) assert.ok(s.end > s.start, `${c.op}'s ${s.name} stage has a length`);
    }
    assert.ok(of('send').every((c) => c.stages[0]?.name === 'guest'), 'a send begins in the VM');
    assert.ok(of('recv').every((c) => c.stages.at(-1)?.name === 'guest-return'), 'a recv ends in the VM');

    // Ordered within the stated clock error, or marked; the marked ones are the ones linsockd counted.
    const clock = { offsetNs: offset, errorNs: error };
    for (const c of calls) assert.equal(orderProblem(c, clock), null, JSON.stringify(c));
    assert.equal(calls.filter((c) => c.disorderNs !== undefined).length, run.params.disordered, 'marked records = counted ones');
    process.stderr.write(`VM ${vm}: ${calls.length} call records (${ops} round trips), clock offset ${offset} ns ± ${error} ns, ${run.params.disordered} marked\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
