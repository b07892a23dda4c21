// `linsock bench --program iperf3 --json`: the real iperf3 on direct and delegated, one JSON object with
// DESIGN.md's row contract, figures from iperf3's own reports; and the usage errors.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { buildPreload, requireProgram, root } from './harness';

function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'lab', 'cli.ts'), 'bench', ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

before(() => {
  requireProgram('iperf3', 'iperf3');
  requireProgram('sockperf', 'sockperf');
  buildPreload();
});

test('bench --program iperf3 --json reports both paths from iperf3 counts, verified', async () => {
  const r = await bench(['--program', 'iperf3', '--paths', 'direct,delegated', '--seconds', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Record<string, unknown> & { results: Record<string, unknown>[]; ratios: Record<string, unknown> };
  assert.equal(report.workload, 'stream');
  assert.equal(report.program, 'iperf3');
  assert.equal(report.guest, 'ns');
  assert.equal(typeof report.mtu, 'number');
  assert.deepEqual(report.results.map((x) => x.path), ['direct', 'delegated']);
  for (const row of report.results) {
    assert.deepEqual(Object.keys(row).sort(), ['bytes', 'calls', 'cpu_us_per_op', 'mb_per_s', 'ops_per_s', 'p50_us', 'p99_us', 'path', 'verified']);
    assert.equal(row.verified, true, `${String(row.path)} verified`);
    assert.ok(typeof row.mb_per_s === 'number' && row.mb_per_s > 0, `${String(row.path)}: ${String(row.mb_per_s)} MB/s`);
    assert.ok(typeof row.bytes === 'number' && row.bytes > 0);
    assert.equal(row.p50_us, null);
    // Traced (the default): the interposer's records of iperf3's calls, counted from the run's trace file.
    assert.ok(typeof row.calls === 'number' && row.calls > 0, `${String(row.path)}: ${String(row.calls)} call records`);
  }
  const [direct, delegated] = report.results.map((x) => x.mb_per_s as number);
  assert.ok(Math.abs((report.ratios['delegated/direct'] as number) - (delegated as number) / (direct as number)) < 1e-9, 'the ratio is of the rows');
});

test('bench --program refuses what it cannot run, with exit 2', async () => {
  const emulated = await bench(['--program', 'curl', '--paths', 'emulated']);
  assert.equal(emulated.code, 2);
  assert.match(emulated.stderr, /--program curl runs on direct, delegated; not 'emulated'/);
  const reverse = await bench(['--program', 'iperf3', '--reverse', '--paths', 'emulated']);
  assert.equal(reverse.code, 2);
  assert.match(reverse.stderr, /--program iperf3 runs on direct, delegated; not 'emulated'/);
  const unknown = await bench(['--program', 'netperf']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown program 'netperf' \(expected iperf3, curl, sockperf\)/);
  const both = await bench(['--program', 'iperf3', '--workload', 'stream']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--program replaces --workload/);
});

test('bench --program sockperf --json: TCP ping-pong on all three paths, sockperf\'s own percentiles and counts', async () => {
  const r = await bench(['--program', 'sockperf', '--seconds', '1', '--trace', 'off', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Record<string, unknown> & { results: Record<string, unknown>[]; ratios: Record<string, number | null> };
  assert.equal(report.workload, 'rr');
  assert.equal(report.program, 'sockperf');
  assert.equal(typeof report.untraced, 'string', 'an untraced run says so');
  assert.deepEqual(report.results.map((x) => x.path), ['direct', 'delegated', 'emulated']);
  for (const row of report.results) {
    assert.equal(row.verified, true, `${String(row.path)} verified`);
    assert.equal(row.mb_per_s, null);
    const p50 = row.p50_us as number;
    const p99 = row.p99_us as number;
    assert.ok(p50 > 0 && p99 >= p50, `${String(row.path)}: p50 ${p50} µs, p99 ${p99} µs`);
    assert.ok((row.ops_per_s as number) > 0 && (row.bytes as number) > 0);
    assert.equal(row.calls, 0, 'untraced: no call records');
  }
  const p50 = (p: string): number => report.results.find((x) => x.path === p)?.p50_us as number;
  console.log(`# sockperf p50: direct ${p50('direct')} µs, delegated ${p50('delegated')} µs, emulated ${p50('emulated')} µs`);
  assert.ok(Math.abs((report.ratios['delegated/emulated'] as number) - p50('delegated') / p50('emulated')) < 1e-9, 'the ratio is of the rows\' p50');
});

test('bench --program iperf3 --reverse: the server in the guest (a delegated listen), the client on the host, verified', async () => {
  const r = await bench(['--program', 'iperf3', '--reverse', '--seconds', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Record<string, unknown> & { results: Record<string, unknown>[] };
  assert.equal(report.reverse, true);
  assert.deepEqual(report.results.map((x) => x.path), ['direct', 'delegated']);
  for (const row of report.results) {
    assert.equal(row.verified, true, `${String(row.path)}: the host client's and the guest server's counts agree`);
    assert.ok((row.mb_per_s as number) > 0 && (row.bytes as number) > 0);
    assert.ok((row.calls as number) > 0, 'the guest server\'s calls were traced');
  }
  const wrong = await bench(['--program', 'curl', '--reverse']);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /--reverse runs iperf3 only/);
});

test('bench --program iperf3 on emulated (e1000): the client in the guest behind the device model reaches a server on the host\'s TAP address', async () => {
  const r = await bench(['--program', 'iperf3', '--paths', 'emulated', '--mode', 'e1000', '--seconds', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Record<string, unknown> & { results: Record<string, unknown>[] };
  assert.equal(report.mode, 'e1000');
  assert.equal(report.mtu, 1500);
  const row = report.results[0] as Record<string, unknown>;
  assert.equal(row.path, 'emulated');
  assert.equal(row.verified, true, 'iperf3\'s counts agree');
  assert.ok((row.mb_per_s as number) > 0 && (row.calls as number) > 0);
});
