// `linsock bench --guests N` end to end: N guests at once against one daemon, one row per path with the
// fleet's ops (each guest's adding up to them), the daemon's CPU per op and fairness; bad counts and
// combinations are usage errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { BenchReport, BenchResult } from '../../protocol';

function bench(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'bench', ...args], { encoding: 'utf8', timeout: 120_000 });
}

function checkFleet(row: BenchResult, guests: number): void {
  assert.equal(row.verified, true, `${row.path} not verified`);
  assert.equal(row.guests, guests);
  const each = row.guest_ops as number[];
  assert.equal(each.length, guests, `${row.path}: ${each.length} guests' ops`);
  for (const ops of each) assert.ok(Number.isSafeInteger(ops) && ops > 0, `${row.path}: a guest did ${ops} ops`);
  assert.equal(each.reduce((a, b) => a + b, 0), row.ops, `${row.path}: guests' ops do not add up`);
  const ratio = row.busiest_to_idlest as number;
  assert.ok(ratio >= 1, `${row.path}: busiest/idlest ${ratio}`);
  assert.ok(Math.abs(ratio - Math.max(...each) / Math.min(...each)) < 0.001, `${row.path}: busiest/idlest ${ratio} is not max/min of ${each.join(',')}`);
  assert.ok(typeof row.cpu_us_per_op === 'number' && row.cpu_us_per_op > 0, `${row.path}: cpu_us_per_op ${row.cpu_us_per_op}`);
}

test('bench --guests 2 rr: one row per path for both guests; the daemon is one of the delegated path\'s processes', () => {
  const r = bench(['--workload', 'rr', '--paths', 'direct,delegated', '--guests', '2', '--seconds', '1', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as BenchReport;
  assert.equal(report.guests, 2);
  assert.deepEqual(report.results.map((x) => x.path), ['direct', 'delegated']);
  for (const row of report.results) {
    checkFleet(row, 2);
    assert.ok((row.p50_us as number) > 0 && (row.p99_us as number) >= (row.p50_us as number), `${row.path}: p50 ${row.p50_us}, p99 ${row.p99_us}`);
    // The rate covers the measured span, a little under the second the guests ran.
    const ops = row.ops as number;
    assert.ok((row.ops_per_s as number) > ops * 0.8 && (row.ops_per_s as number) < ops * 1.5, `${row.path}: ${row.ops_per_s} ops/s for ${ops} ops in ~0.9 s`);
  }
  const [direct, delegated] = report.results as [BenchResult, BenchResult];
  assert.equal(direct.daemon_cpu_us_per_op, null, 'direct has no daemon');
  const daemon = delegated.daemon_cpu_us_per_op as number;
  assert.ok(daemon > 0 && daemon < (delegated.cpu_us_per_op as number), `daemon ${daemon} µs/op of the path's ${delegated.cpu_us_per_op}`);
});

test('bench --guests 4 stream on delegated: throughput over four guests, each moving data', () => {
  const r = bench(['--workload', 'stream', '--paths', 'delegated', '--guests', '4', '--seconds', '1', '--trace', 'off', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const row = (JSON.parse(r.stdout) as BenchReport).results[0] as BenchResult;
  checkFleet(row, 4);
  assert.ok((row.mb_per_s as number) > 0 && row.p50_us === null);
  assert.equal(row.ops, Math.round(row.bytes / 65536));
  assert.ok(typeof row.daemon_cpu_us_per_op === 'number' && row.daemon_cpu_us_per_op > 0);
});

test('bench --guests: counts outside 1..256 and combinations without a many-guest form are usage errors', () => {
  const cases: [string[], RegExp][] = [
    [['--workload', 'rr', '--guests', '0'], /--guests must be a whole number of guests 1\.\.256, got '0'/],
    [['--workload', 'rr', '--guests', '257'], /--guests must be a whole number of guests 1\.\.256, got '257'/],
    [['--workload', 'rr', '--guests', 'many'], /got 'many'/],
    [['--workload', 'crr', '--guests', '2'], /--guests runs the rr or stream workload, not 'crr'/],
    [['--workload', 'rr', '--guests', '2', '--guest', 'vm'], /--guests runs with --guest ns only/],
    [['--workload', 'rr', '--paths', 'emulated', '--guests', '2'], /'emulated' has no many-guest form/],
  ];
  for (const [args, why] of cases) {
    const r = bench(args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}, ${r.stderr}`);
    assert.match(r.stderr, why);
  }
});

test('bench --guests 4 rr --workers 2: the bench\'s daemon serves the guests from two worker processes, every round trip verified', () => {
  const r = bench(['--workload', 'rr', '--paths', 'delegated', '--guests', '4', '--workers', '2', '--seconds', '1', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const row = (JSON.parse(r.stdout) as BenchReport).results[0] as BenchResult;
  checkFleet(row, 4);
  assert.match(r.stderr, /guests served by 2 worker processes \(pids \d+, \d+\)/);
  // The workers' CPU is the daemon's: without them the figure would be the main process's alone.
  assert.ok(typeof row.daemon_cpu_us_per_op === 'number' && row.daemon_cpu_us_per_op > 0);
  for (const [args, re] of [
    [['--workers', '0'], /--workers must be a whole number of daemon worker processes 1\.\.64, got '0'/],
    [['--workers', '2', '--daemon', '/tmp/none.sock'], /--workers sets the bench's own daemon/],
  ] as [string[], RegExp][]) {
    const bad = bench(['--workload', 'rr', '--paths', 'delegated', ...args]);
    assert.equal(bad.status, 2, `${args.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, re);
  }
});
