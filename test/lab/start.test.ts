// `linsock start` end to end: one real process hosting linsockd, the trace hub and the trace server; a
// `run` request over the WebSocket drives the bench runner against that daemon and streams its records;
// SIGINT leaves no namespace, device, process or socket file behind; the initial run writes trace files
// that `linsock export` reads.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TRACE_STREAM_VERSION, type Path, type ServerMessage } from '../../protocol';
import { StreamClient } from '../trace/stream-client';
import { emulatedPathSupport } from '../../lab/emulated';
import { ROOT, startLinsock } from './start-process';
import { qemuProblem } from '../../lab/vm';


function exited(child: ChildProcess, ms: number): Promise<number | string> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? (child.signalCode as string));
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`linsock start did not exit within ${ms} ms of SIGINT`));
    }, ms);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      res(code ?? (sig as string));
    });
  });
}

/** Every live descendant of `pid`, from /proc. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone meanwhile */
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [c, pp] of parent) {
      if (pp !== p) continue;
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** A process's start time (clock ticks since boot): tells a live process from a new one with its pid. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}
const cmdline = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '?';
  }
};
const netnsOf = (pid: number): string | null => spawnSync('ip', ['netns', 'identify', String(pid)], { encoding: 'utf8' }).stdout.trim() || null;
const netnsList = (): string[] => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
const links = (): string[] => spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '').filter(Boolean);

test('linsock start: a run request over the WebSocket streams both paths; SIGINT mid-run leaves nothing behind', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-start-test-'));
  const guest = join(dir, 'guest.sock');
  const tokenFile = join(dir, 'token');
  const traces = join(dir, 'traces');
  const s = await startLinsock(['--no-initial-run', '--trace-port', '0', '--guest-socket', guest, '--token-file', tokenFile, '--traces-dir', traces]);
  let client: StreamClient | null = null;
  try {
    assert.equal(s.ready.guest, guest);
    assert.equal(s.ready.tokenFile, tokenFile);
    assert.match(s.ready.trace, /^ws:\/\/127\.0\.0\.1:\d+\/trace$/);
    assert.ok(existsSync(guest), 'the guest socket exists');
    const token = readFileSync(tokenFile, 'utf8').trim();

    // A wrong token: refused before the upgrade.
    await assert.rejects(StreamClient.open(s.ready.trace, { token: 'not-the-token' }), /HTTP 401/);

    client = await StreamClient.open(s.ready.trace, { token });
    client.send({ op: 'hello', id: 1, protocol: TRACE_STREAM_VERSION, client: 'start.test' });
    await client.hello();
    client.send({ op: 'subscribe', id: 2, filter: {}, history: false });
    await client.reply(2);
    const paths: Path[] = ['direct', 'delegated'];
    client.send({ op: 'run', id: 3, workload: 'rr', paths, seconds: 1 });
    const started = await client.reply(3, 10_000);
    assert.equal(started.type, 'runStarted', JSON.stringify(started));
    const runId = started.type === 'runStarted' ? started.runId : '';

    // While it runs: remember the run's processes and their namespaces.
    const seenPids = new Map<number, { start: string | null; cmd: string }>();
    const seenNetns = new Set<string>();
    const c = client;
    const finished = (): ServerMessage | undefined => c.messages.find((m) => m.type === 'runFinished' || m.type === 'runFailed');
    while (!finished()) {
      for (const p of descendants(s.child.pid!)) {
        if (!seenPids.has(p)) seenPids.set(p, { start: startTime(p), cmd: cmdline(p) });
        const ns = netnsOf(p);
        if (ns) seenNetns.add(ns);
      }
      await new Promise((r) => setTimeout(r, 100));
      if (s.child.exitCode !== null) throw new Error(`linsock start died during the run: ${s.out()}`);
    }
    const end = finished()!;
    assert.equal(end.type, 'runFinished', JSON.stringify(end));
    if (end.type !== 'runFinished') return;
    assert.deepEqual(end.report.results.map((r) => r.path), paths);
    for (const r of end.report.results) assert.ok(r.verified && r.calls > 0, `${r.path}: ${JSON.stringify(r)}`);
    assert.ok(seenPids.size > 0, 'the run started workload processes');

    // Records of every requested path stream to the subscriber.
    await c.until(() => paths.every((p) => c.records.some((r) => r.kind === 'call' && r.path === p)), 10_000,
      `call records of ${paths.join(' and ')}`).catch(() => {
      const got = new Set(c.records.filter((r) => r.kind === 'call').map((r) => (r as { path: string }).path));
      throw new Error(`call records streamed for paths [${[...got].join(', ')}], expected ${paths.join(' and ')}`);
    });
    // Delegated calls carry the comparison's run id, not the daemon's.
    const runsOf = (p: Path): Set<string> => new Set(c.records.filter((r) => r.kind === 'call' && r.path === p).map((r) => (r as { run: string }).run));
    assert.deepEqual([...runsOf('delegated')], [runId]);
    assert.deepEqual([...runsOf('direct')], [runId]);
    // The requested run is written under traces/, and the log names both files.
    for (let t = Date.now(); !/\.linsock\.json/.test(s.out()); await new Promise((r) => setTimeout(r, 50)))
      if (Date.now() - t > 10_000) throw new Error(`no log line names the run's trace files: ${s.out()}`);
    const written = readdirSync(traces);
    const lstrace = written.find((f) => /^run-.*-rr\.lstrace$/.test(f));
    const chrome = written.find((f) => /^run-.*-rr\.linsock\.json$/.test(f));
    assert.ok(lstrace && chrome, `trace files of the requested run: ${written.join(', ')}`);
    assert.ok(s.out().includes(join(traces, lstrace)) && s.out().includes(join(traces, chrome)), s.out());

    // A malformed request gets an error and the server stays.
    c.send({ op: 'run', id: 4, workload: 'nonsense', paths, seconds: 1 });
    const bad = await c.reply(4);
    assert.equal(bad.type, 'error');

    // SIGINT in the middle of a run (with the emulated path where it can run: namespaces and TAPs exist).
    const midPaths: Path[] = (await emulatedPathSupport()).ok ? ['delegated', 'emulated'] : ['delegated'];
    const before = c.records.length;
    c.send({ op: 'run', id: 5, workload: 'stream', paths: midPaths, seconds: 20 });
    assert.equal((await c.reply(5, 10_000)).type, 'runStarted');
    await c.until(() => c.records.length > before + 100, 20_000, 'records of the second run');
    for (const p of descendants(s.child.pid!)) {
      if (!seenPids.has(p)) seenPids.set(p, { start: startTime(p), cmd: cmdline(p) });
      const ns = netnsOf(p);
      if (ns) seenNetns.add(ns);
    }
    if (midPaths.includes('emulated')) assert.ok(seenNetns.size > 0, 'the interrupted run has guest namespaces (so their removal is checked)');
    s.child.kill('SIGINT');
    assert.equal(await exited(s.child, 15_000), 0, s.out());
    assert.ok(!existsSync(guest), 'the guest socket file is removed');
    const left = [...seenPids].filter(([pid, seen]) => seen.start !== null && startTime(pid) === seen.start).map(([pid, seen]) => `${pid}: ${seen.cmd}`);
    assert.deepEqual(left, [], 'processes of the run left behind');
    const ns = netnsList();
    assert.deepEqual([...seenNetns].filter((n) => ns.includes(n)), [], 'namespaces of the run left behind');
    const runNames = [...seenNetns].map((n) => n.replace(/-[^-]+$/, '').split('-')[1] as string);
    assert.deepEqual(links().filter((l) => runNames.some((h) => l.includes(h))), [], 'devices of the run left behind');
  } finally {
    client?.close();
    if (s.child.exitCode === null) s.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('linsock start: the initial run prints its tables (then a VM\'s, or why not) and writes trace files that linsock export reads', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-start-test-'));
  const s = await startLinsock(['--seconds', '0.3', '--trace-port', '0', '--guest-socket', join(dir, 'guest.sock'), '--token-file', join(dir, 'token'), '--traces-dir', join(dir, 'traces')]);
  try {
    const t0 = Date.now();
    while (!/linsockd is running in this process/.test(s.out())) {
      if (s.child.exitCode !== null) throw new Error(`linsock start exited during the initial run: ${s.out()}`);
      if (Date.now() - t0 > 270_000) throw new Error(`the initial run did not finish within 270 s: ${s.out()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const out = s.out();
    assert.match(out, /^stream \(MTU \d+/m);
    assert.match(out, /^rr \(MTU \d+/m);
    assert.match(out, /^delegated\s+\S+/m);
    // Every run of the initial comparison ran: none was refused as a second comparison.
    assert.doesNotMatch(out, /already running/);
    if ((await emulatedPathSupport()).ok) assert.match(out, /^rr \(MTU \d+, emulated NIC virtio\)/m);
    // Then the VM comparison where QEMU is, else one line saying why it was skipped.
    const qemu = await qemuProblem();
    if (qemu) assert.ok(out.includes(`Skipping the comparison in a QEMU VM: ${qemu}.`), out);
    else {
      assert.match(out, /^stream in a QEMU VM \((kvm|tcg)\) \(MTU 1500/m);
      assert.match(out, /^rr in a QEMU VM \((kvm|tcg)\) \(MTU 1500/m);
      assert.match(out, /^note: (KVM|TCG)/m);
    }
    const files = readdirSync(join(dir, 'traces'));
    const lstrace = files.find((f) => f.endsWith('.lstrace'));
    const chrome = files.find((f) => f.endsWith('.linsock.json'));
    assert.ok(lstrace && chrome, `trace files: ${files.join(', ')}`);
    const doc = JSON.parse(readFileSync(join(dir, 'traces', chrome), 'utf8')) as { traceEvents: { ph: string }[] };
    assert.ok(doc.traceEvents.some((e) => e.ph === 'X'), 'the Chrome JSON holds complete events');
    const csv = join(dir, 'run.csv');
    const x = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'lab', 'cli.ts'), 'export', join(dir, 'traces', lstrace), '--format', 'csv', '-o', csv], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(x.status, 0, x.stderr);
    const rows = readFileSync(csv, 'utf8').trim().split('\n');
    assert.ok(rows.length > 10 && rows.some((r) => r.includes('delegated')), `csv rows: ${rows.length}`);
    s.child.kill('SIGINT');
    assert.equal(await exited(s.child, 15_000), 0, s.out());
  } finally {
    if (s.child.exitCode === null) s.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
