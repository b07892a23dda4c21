// The bench runner with the emulated path, as root: `linsock bench` over direct, delegated and emulated in
// both NIC modes (every byte verified), the records a run publishes into a sink (RunInfo, calls of all
// three paths, frames linked under the emulated calls that caused them, frame payload adding up to the
// bytes the calls moved), inter-guest rows, and the unavailable emulated path. After each run nothing of
// it is left: namespaces, links, processes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon } from '../../daemon';
import { invalidRecord, type BenchReport, type CallRecord, type FrameRecord, type RunInfo } from '../../protocol';
import { runBench } from '../../lab/bench/run-bench';
import { RUN_ENV } from '../../lab/bench/workload-process';
import { netnsList, linkNames } from './fixtures/lab-state';
import { CollectingSink } from '../fixtures/collecting-sink';

const FIELDS = ['path', 'mb_per_s', 'p50_us', 'p99_us', 'ops_per_s', 'calls', 'bytes', 'verified', 'cpu_us_per_op'];
/** A delegated row on the bench's own daemon also says what its busy polling did (BusyPollFigures) and its channel. */
const fieldsOf = (path: string): string[] => (path === 'delegated' ? [...FIELDS, 'busy_poll', 'channel'] : FIELDS);
const BUSY_POLL = ['activity', 'found_pct', 'crowded_pct', 'empty_pct', 'window_us'];

interface Cli {
  code: number | null;
  stdout: string;
  stderr: string;
}

function linsock(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Cli> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'lab/cli.ts', ...args], { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => child.once('exit', (code) => {
    clearTimeout(timer);
    resolve({ code, stdout, stderr });
  }));
}

/** Processes that carry a bench run's id (RUN_ENV): the runner's helpers. */
function helpersOf(runId: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(`${RUN_ENV}=${runId}`)) pids.push(Number(d));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** The lab run a CLI bench made (from its progress lines), and that nothing of it is left. */
function assertNothingLeft(stderr: string): void {
  const lab = /emulated guest (lsb-[0-9a-f]{6})-/.exec(stderr)?.[1] ?? /netns (lsb-[0-9a-f]{6})-/.exec(stderr)?.[1];
  assert.ok(lab, `the run names its lab run: ${stderr}`);
  assert.deepEqual(netnsList().filter((n) => n.startsWith(lab)), [], 'namespaces left behind');
  assert.deepEqual(linkNames().filter((n) => n.startsWith(lab)), [], 'TAPs left behind');
  const runId = /linsock bench: run (\S+)/.exec(stderr)?.[1];
  assert.ok(runId, 'the run names its id');
  assert.deepEqual(helpersOf(runId), [], 'helper processes left behind');
}

for (const mode of ['e1000', 'virtio'] as const) {
  test(`bench --json: stream on direct, delegated and emulated (${mode}), every byte verified`, async () => {
    const r = await linsock(['bench', '--workload', 'stream', '--paths', 'direct,delegated,emulated', '--mode', mode, '--seconds', '0.5', '--json', '--trace', 'off']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as BenchReport;
    assert.deepEqual(Object.keys(report), ['workload', 'mode', 'mtu', 'results', 'ratios', 'load', 'offloads']);
    assert.equal(report.mode, mode);
    assert.equal(report.mtu, 1500);
    assert.deepEqual(report.offloads, mode === 'e1000' ? [] : ['csum', 'tso4', 'tso6']);
    assert.deepEqual(report.results.map((x) => x.path), ['direct', 'delegated', 'emulated']);
    for (const row of report.results) {
      assert.deepEqual(Object.keys(row), fieldsOf(String(row.path)));
      if (row.busy_poll) assert.deepEqual(Object.keys(row.busy_poll), BUSY_POLL);
      assert.equal(row.verified, true, `${row.path} verified`);
      assert.ok((row.mb_per_s ?? 0) > 0 && row.bytes > 0 && row.calls > 0);
      assert.ok(typeof row.cpu_us_per_op === 'number' && row.cpu_us_per_op > 1, `${row.path}: cpu_us_per_op ${row.cpu_us_per_op}`);
    }
    for (const k of ['delegated/direct', 'delegated/emulated']) assert.ok((report.ratios[k] ?? 0) > 0, k);
    assert.match(r.stderr, new RegExp(`emulated: .* in netns lsb-[0-9a-f]{6}-emu \\(TAP ${mode}, MTU 1500`));
    assertNothingLeft(r.stderr);
  });
}

test('a run publishes RunInfo, the calls of all three paths and the emulated frames linked under their calls', async () => {
  const sink = new CollectingSink();
  const runId = `t-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'linsock-bench-test-'));
  // The caller's daemon, as `linsock start` hosts it: its sink is the run's, its policy lets guests reach
  // the bench server on loopback.
  const daemon = await startDaemon({
    guestSocket: join(dir, 'guest.sock'),
    policy: { rules: [{ action: 'allow', ops: ['connect', 'sendto'], cidr: '127.0.0.0/8', ports: '1024-65535' }] },
    trace: sink,
    run: runId,
  });
  const progress: string[] = [];
  try {
    const report = await runBench(
      { workload: 'stream', paths: ['direct', 'delegated', 'emulated'], seconds: 0.5, mode: 'e1000', trace: true },
      { daemonGuestPath: daemon.guestPath as string, sink, runId, onProgress: (l) => progress.push(l) },
    );
    assert.ok(report.results.every((r) => r.verified), JSON.stringify(report));
    assert.deepEqual(helpersOf(runId), [], 'helper processes left behind');
  } finally {
    await daemon.close();
    rmSync(dir, { recursive: true, force: true });
  }
  assertNothingLeft(progress.join('\n'));
  const run = sink.records[0] as RunInfo;
  assert.equal(run.kind, 'run');
  assert.equal(run.id, runId);
  assert.deepEqual(run.paths, ['direct', 'delegated', 'emulated']);
  assert.equal(run.host.mode, 'e1000');
  assert.equal(run.host.mtu, 1500);
  assert.deepEqual(run.host.offloads, []);
  assert.ok(run.host.kernel.length > 0 && run.host.cpus > 0);
  const calls = sink.records.filter((r): r is CallRecord => r.kind === 'call');
  const frames = new Map(sink.records.filter((r): r is FrameRecord => r.kind === 'frame').map((f) => [f.seq, f]));
  for (const path of ['direct', 'delegated', 'emulated'] as const) {
    const mine = calls.filter((c) => c.path === path);
    assert.ok(mine.some((c) => c.op === 'send') && mine.some((c) => c.op === 'connect'), `${path} has connect and send calls`);
    assert.ok(mine.every((c) => c.run === runId));
  }
  const emulated = calls.filter((c) => c.path === 'emulated');
  assert.ok(emulated.every((c) => c.stages.length === 1 && c.stages[0]!.name === 'kernel'));
  const sends = emulated.filter((c) => c.op === 'send');
  assert.ok(sends.length > 0 && sends.every((c) => c.frames?.length), 'every emulated send links the frames that carried it');
  assert.ok(emulated.filter((c) => c.op === 'connect').every((c) => c.frames?.length), 'connect links its handshake frames');
  for (const c of emulated) for (const seq of c.frames ?? []) assert.equal(frames.get(seq)?.kind, 'frame', 'a linked seq names a published frame');
  const linkedPayload = sends.reduce((n, c) => n + c.frames!.reduce((m, seq) => m + frames.get(seq)!.payload, 0), 0);
  const sentBytes = sends.reduce((n, c) => n + c.bytes, 0);
  assert.ok(linkedPayload >= sentBytes && linkedPayload <= sentBytes + 64 * 1024, `frames linked to sends carry ${linkedPayload} bytes for ${sentBytes} sent`);
  assert.ok([...frames.values()].every((f) => f.run === runId));
  // The frames of the stream's flow carry what the send calls moved, plus at most a little (retransmits).
  const sent = emulated.filter((c) => c.op === 'send').reduce((n, c) => n + c.bytes, 0);
  const dataFrames = [...frames.values()].filter((f) => f.direction === 'guest-to-host' && f.flow?.protocol === 'tcp' && f.payload > 0);
  const payload = dataFrames.reduce((n, f) => n + f.payload, 0);
  assert.ok(payload >= sent && payload <= sent * 1.02, `frames carried ${payload} payload bytes for ${sent} bytes sent`);
  assert.ok(dataFrames.every((f) => f.length <= 1514 && f.length >= f.payload + 54), 'e1000 frames are at most MTU-sized, headers included');
});

test('rr: an emulated receive lasts from its frame entering the device model to its delivery; a direct one cannot be timed', async () => {
  const sink = new CollectingSink();
  const runId = `rr-${process.pid}`;
  const report = await runBench({ workload: 'rr', paths: ['direct', 'emulated'], seconds: 0.4, mode: 'e1000', trace: true }, { sink, runId });
  assert.ok(report.results.every((r) => r.verified), JSON.stringify(report));
  const frames = new Map(sink.records.filter((r): r is FrameRecord => r.kind === 'frame').map((f) => [f.seq, f]));
  const recvs = (path: string): CallRecord[] => sink.records.filter((r): r is CallRecord => r.kind === 'call' && r.path === path && r.op === 'recv');
  const emulated = recvs('emulated');
  assert.ok(emulated.length > 10, `${emulated.length} emulated receives`);
  for (const c of emulated) {
    assert.equal(invalidRecord(c), null);
    assert.equal(c.stages.length, 1);
    const [stage] = c.stages as [CallRecord['stages'][number]];
    assert.equal(stage.name, 'kernel');
    // Each 1-byte echo came in one frame, linked to its receive, and the receive starts where it entered.
    assert.equal(c.frames?.length, 1, `receive ${c.seq} links its frame`);
    const f = frames.get(c.frames![0]!)!;
    assert.equal(f.direction, 'host-to-guest');
    assert.equal(f.payload, c.bytes);
    assert.equal(stage.start, f.tIn);
    assert.ok(stage.end > stage.start, `receive ${c.seq} has a duration`);
  }
  // On the direct path nothing but the kernel saw the bytes before their delivery (call-recorder.ts).
  const direct = recvs('direct');
  assert.ok(direct.length > 10 && direct.every((c) => c.stages[0]!.end === c.stages[0]!.start));
});

test('inter-guest: emulated guests across the switch, delegated guests through linsockd with and without the shortcut', async () => {
  const r = await linsock(['bench', '--workload', 'inter-guest', '--paths', 'delegated,emulated', '--mode', 'e1000', '--seconds', '0.5', '--json', '--trace', 'off']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as BenchReport;
  assert.deepEqual(report.results.map((x) => x.path), ['delegated', 'delegated-kernel', 'emulated']);
  for (const row of report.results) assert.ok(row.verified && (row.mb_per_s ?? 0) > 0, `${row.path}: ${JSON.stringify(row)}`);
  assert.ok((report.ratios['delegated/emulated'] ?? 0) > 0 && (report.ratios['delegated-kernel/emulated'] ?? 0) > 0);
  assert.match(r.stderr, /emulated: .* -> lsb-[0-9a-f]{6}-emusrv across the switch/);
  assert.match(r.stderr, /delegated-kernel: .* shortcut off/);
  assertNothingLeft(r.stderr);
});

test('without namespaces the emulated path is a row of nulls with the reason, and the other paths still run', async () => {
  const r = await linsock(['bench', '--workload', 'rr', '--paths', 'direct,emulated', '--seconds', '0.3', '--json'], { LINSOCK_LAB_NO_NAMESPACES: 'simulated by the test' });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as BenchReport;
  const [direct, emulated] = report.results;
  assert.ok(direct?.verified && (direct.p50_us ?? 0) > 0);
  assert.deepEqual(emulated, { path: 'emulated', mb_per_s: null, p50_us: null, p99_us: null, ops_per_s: null, calls: 0, bytes: 0, verified: false, cpu_us_per_op: null });
  assert.match(report.unavailable?.emulated ?? '', /emulated path unavailable: namespaces disabled by LINSOCK_LAB_NO_NAMESPACES \(simulated by the test\)/);
  assert.equal(report.offloads, null);
  assert.match(r.stderr, /emulated path unavailable: .*; the other paths still run/);
});

test('Ctrl-C during the emulated workload stops the run and leaves nothing behind', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'bench', '--workload', 'stream', '--paths', 'emulated', '--seconds', '30', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const started = new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (/stream on emulated for/.test(stderr)) resolve();
  }));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await Promise.race([started, exited]);
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.ok(Date.now() - t0 < 10_000, 'the run stops promptly');
  assert.match(stderr, /the bench run was cancelled/);
  assertNothingLeft(stderr);
});
