// An unmodified curl, run through `linsock run --trace-file` on each path, downloads a file from Debian's
// nginx on the host; the trace file holds one record per call with curl's name and pid, stamps in order,
// and exactly the bytes curl says it sent and received. Direct and emulated: the interposer's trace-only
// mode (the calls go to the kernel, timed); delegated: its guest stamps joined with linsockd's host stages.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { LstraceReader, type CallRecord, type FrameRecord, type RunInfo } from '../../protocol';
import { makeServedFile, sha256File } from '../../lab/run/curl';
import { startHostNginx, type HostNginx } from '../../lab/run/nginx';
import { buildPreload, cc, linsockRun, requireProgram, root, type RunResult, freePort } from './harness';

const FILE_BYTES = 8 * 1024 * 1024;
let dir: string;
let nginx: HostNginx;
let port: number;
let sha256: string;
let served: { root: string; sha256: string };


before(async () => {
  requireProgram('nginx', 'nginx');
  requireProgram('curl', 'curl');
  buildPreload();
  dir = mkdtempSync(join(tmpdir(), 'linsock-itrace-'));
  port = await freePort();
  served = makeServedFile(dir, FILE_BYTES);
  sha256 = served.sha256;
  nginx = startHostNginx({ prefix: join(dir, 'nginx'), root: served.root, host: '127.0.0.1', port, workers: 1 });
  await nginx.ready;
});

after(async () => {
  await nginx?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function readTrace(file: string): { calls: CallRecord[]; frames: FrameRecord[]; runs: RunInfo[]; dropped: number } {
  const r = new LstraceReader().push(readFileSync(file));
  assert.equal(r.error, null, `${file} reads back`);
  const calls = r.records.filter((x): x is CallRecord => x.kind === 'call');
  const frames = r.records.filter((x): x is FrameRecord => x.kind === 'frame');
  const runs = r.records.filter((x): x is RunInfo => x.kind === 'run');
  const dropped = r.records.reduce((n, x) => n + (x.kind === 'dropped' ? x.count : 0), 0);
  return { calls, frames, runs, dropped };
}

/**
 * `linsock run --path emulated`: the host's address on the guest's TAP exists once the run made it, so a
 * second nginx listens there from then on, and the guest retries (each try a curl process of its own).
 */
async function runEmulated(args: string[]): Promise<RunResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'lab', 'cli.ts'), 'run', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let tapNginx: HostNginx | null = null;
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    const m = /the host is (10\.199\.\d+\.1) /.exec(stderr);
    if (m && !tapNginx) {
      tapNginx = startHostNginx({ prefix: join(dir, 'nginx-tap'), root: served.root, host: m[1] as string, port, workers: 1 });
      // The guest's retries are what wait for it; stopped once the run ends, its readiness probe may reject.
      tapNginx.ready.catch(() => undefined);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  await (tapNginx as HostNginx | null)?.stop();
  return { code, stdout, stderr };
}

const sum = (calls: CallRecord[], ops: string[]): number => calls.filter((c) => ops.includes(c.op)).reduce((n, c) => n + c.bytes, 0);

// Delegated twice: on frames (LINSOCK_FD_PASS=0: the daemon joins the guest's stamps with its stages) and on
// the passed-descriptor plane (the connection's data calls timed by the interposer, as on direct).
const VARIANTS = [
  { path: 'direct', passed: false }, { path: 'emulated', passed: false },
  { path: 'delegated', passed: false }, { path: 'delegated', passed: true },
] as const;
for (const { path, passed } of VARIANTS) {
  const plane = path !== 'delegated' ? '' : passed ? ' (passed descriptor)' : ' (frames)';
  test(`curl on ${path}${plane} with --trace-file: per-call records with curl's name and pid, ordered stamps, the bytes it moved`, async () => {
    const file = join(dir, `${path}${passed ? '-passed' : ''}.lstrace`);
    const out = join(dir, `${path}${passed ? '-passed' : ''}.got`);
    // curl prints the bytes it received (body + headers) and sent; on emulated sh retries until the host's
    // server on the TAP's address listens (the last curl is the one that fetched).
    const curl = (host: string): string => `curl -sS -o ${out} -w '%{size_download} %{size_header} %{size_request}' http://${host}:${port}/big`;
    const script = path === 'emulated'
      ? `for i in $(seq 1 100); do ${curl('$LINSOCK_HOST_ADDRESS')} 2>/dev/null && exit 0; sleep 0.1; done; exit 9`
      : `exec ${curl('127.0.0.1')}`;
    const args = ['--path', path, '--trace-file', file, ...(path === 'emulated' ? ['--mode', 'virtio'] : []), '--', 'sh', '-c', script];
    const r = path === 'emulated' ? await runEmulated(args) : await linsockRun(args, '', { LINSOCK_FD_PASS: passed ? '1' : '0' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await sha256File(out), sha256, 'the download is intact');
    const [body, headers, request] = r.stdout.trim().split(' ').map(Number) as [number, number, number];
    assert.equal(body, FILE_BYTES);

    const trace = readTrace(file);
    const { frames, runs, dropped } = trace;
    assert.equal(dropped, 0, 'no record was dropped');
    assert.ok(runs.length >= 1 && runs.every((x) => x.paths.length === 1 && x.paths[0] === path), 'the run record names the path');
    // Every record is a curl process's (one thread each): exec kept sh's pid where there was one try.
    const guests = new Set(trace.calls.map((c) => c.guest));
    for (const g of guests) assert.match(g, /^curl\[\d+\]$/);
    if (path !== 'emulated') assert.equal(guests.size, 1, `guests: ${[...guests].join(', ')}`);
    // The curl that fetched: the one that received bytes (on emulated, earlier tries were refused).
    const guest = trace.calls.find((c) => c.op === 'recv' && c.bytes > 0)?.guest as string;
    const calls = trace.calls.filter((c) => c.guest === guest);
    assert.ok(calls.length > 10, `${calls.length} call records`);
    for (const c of calls) {
      assert.equal(c.path, path);
      assert.equal(c.run, runs[0]?.id);
      for (const s of c.stages) assert.ok(s.end >= s.start, `${c.op} #${c.seq}: stage ${s.name} ends before it starts`);
      for (let i = 1; i < c.stages.length; i++)
        assert.ok((c.stages[i]?.start as number) >= (c.stages[i - 1]?.end as number), `${c.op} #${c.seq}: stages out of order`);
    }
    assert.equal(sum(calls, ['recv', 'recvfrom']), body + headers, 'bytes received = what curl received (body + headers)');
    assert.equal(sum(calls, ['send', 'sendto', 'sendmsg']), request, 'bytes sent = curl\'s request');
    const ops = new Set(calls.map((c) => c.op));
    for (const op of ['socket', 'send', 'recv']) assert.ok(ops.has(op as CallRecord['op']), `an ${op} record`);

    if (passed) {
      // The connection's data calls never reached the daemon: the interposer timed them (one kernel stage).
      for (const c of calls.filter((x) => x.op === 'recv' || x.op === 'send')) assert.deepEqual(c.stages.map((x) => x.name), ['kernel'], `${c.op} #${c.seq}`);
    } else if (path === 'delegated') {
      // Guest stages joined with the host's: the request's send carries the pump's guest stage, pushed data
      // its channel-in and guest-return; the daemon mapped curl's clock through its probes.
      assert.ok(calls.some((c) => c.op === 'send' && c.stages.some((s) => s.name === 'guest')), 'a send with its guest stage');
      assert.ok(calls.some((c) => c.op === 'recv' && c.stages.some((s) => s.name === 'guest-return')), 'a receive with its guest-return stage');
      const last = runs[runs.length - 1] as RunInfo;
      assert.ok(typeof last.clockErrorNs[guest] === 'number', `the run states ${guest}'s clock error`);
      assert.ok(Math.abs(last.clockOffsetNs?.[guest] ?? Infinity) <= (last.clockErrorNs[guest] as number) + 200_000, 'one host clock: the offset is within its error (+200 µs)');
    } else {
      // Trace-only: one kernel stage, measured, and a thread makes one call at a time.
      for (const c of calls) {
        assert.equal(c.stages.length, 1);
        assert.equal(c.stages[0]?.name, 'kernel');
        assert.notEqual(c.stages[0]?.unmeasured, true);
      }
      const byStart = [...calls].sort((a, b) => (a.stages[0]?.start as number) - (b.stages[0]?.start as number));
      for (let i = 1; i < byStart.length; i++)
        assert.ok((byStart[i]?.stages[0]?.start as number) >= (byStart[i - 1]?.stages[0]?.end as number), 'calls of one thread never overlap');
    }
    if (path === 'emulated') {
      const inbound = frames.filter((f) => f.direction === 'host-to-guest').reduce((n, f) => n + f.payload, 0);
      assert.ok(inbound >= body + headers, `the device model's frames carried ${inbound} payload bytes to the guest`);
      for (const c of trace.calls.filter((x) => x.guest !== guest)) assert.equal(c.bytes, 0, 'a refused try moved no bytes');
    }
  });
}

test('trace-only on direct: each thread of a program is a guest of its own (name[pid] and name[pid/tid]), bytes per thread', async () => {
  const bin = join(dir, 'thread-calls');
  cc(['-O2', '-Wall', '-pthread', '-o', bin, join(__dirname, 'thread-calls.c')]);
  let received = 0;
  const sink: Server = createServer((s) => s.on('data', (d: Buffer) => (received += d.length)));
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const sinkPort = (sink.address() as AddressInfo).port;
  const file = join(dir, 'threads.lstrace');
  try {
    const r = await linsockRun(['--path', 'direct', '--trace-file', file, '--', bin, String(sinkPort), '300000']);
    assert.equal(r.code, 0, r.stderr);
    const tids = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]));
    const { calls, dropped } = readTrace(file);
    assert.equal(dropped, 0);
    const pid = Number(tids.main);
    const worker = `thread-calls[${pid}/${tids.worker}]`;
    const main = `thread-calls[${pid}]`;
    assert.deepEqual(new Set(calls.map((c) => c.guest)), new Set([main, worker]), 'one guest per thread');
    for (const g of [main, worker]) {
      const mine = calls.filter((c) => c.guest === g);
      assert.deepEqual([...new Set(mine.map((c) => c.op))].sort(), ['close', 'connect', 'send', 'socket'], g);
      assert.equal(sum(mine, ['send']), 300000, `${g} sent its 300000 bytes`);
    }
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(received, 600000);
  } finally {
    sink.close();
  }
});

test('trace-only: a name lookup is a lookup record, a name that does not resolve ENOTFOUND', async () => {
  const file = join(dir, 'lookup.lstrace');
  const r = await linsockRun(['--path', 'direct', '--trace-file', file, '--', 'sh', '-c', 'getent ahosts localhost >/dev/null && ! getent ahosts no-such-host.invalid']);
  assert.equal(r.code, 0, r.stderr);
  const { calls } = readTrace(file);
  assert.deepEqual(calls.map((c) => [c.op, c.result]), [['lookup', 'ok'], ['lookup', 'ENOTFOUND']]);
  for (const c of calls) assert.match(c.guest, /^getent\[\d+\]$/);
});
