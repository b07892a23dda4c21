// `linsock bench` end to end: real processes (bench server, workload processes, embedded linsockd), the
// JSON shape of DESIGN.md, verification of every byte, and clear errors for what does not exist.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { BenchReport } from '../../protocol';

function linsock(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'lab/cli.ts', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const FIELDS = ['path', 'mb_per_s', 'p50_us', 'p99_us', 'ops_per_s', 'calls', 'bytes', 'verified', 'cpu_us_per_op'];
/** A delegated row on the bench's own daemon also says what its busy polling did (BusyPollFigures) and its channel. */
const fieldsOf = (path: string): string[] => (path === 'delegated' ? [...FIELDS, 'busy_poll', 'channel'] : FIELDS);
const BUSY_POLL = ['activity', 'found_pct', 'crowded_pct', 'empty_pct', 'window_us'];

test('bench --json: stream on direct and delegated, every byte verified, ratio present', () => {
  const r = linsock(['bench', '--workload', 'stream', '--paths', 'direct,delegated', '--seconds', '0.5', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as BenchReport;
  assert.deepEqual(Object.keys(report), ['workload', 'mode', 'mtu', 'results', 'ratios', 'load']);
  assert.equal(report.load, 0);
  assert.equal(report.workload, 'stream');
  assert.equal(report.mode, null);
  assert.ok(report.mtu > 0);
  assert.deepEqual(report.results.map((x) => x.path), ['direct', 'delegated']);
  for (const row of report.results) {
    assert.deepEqual(Object.keys(row), fieldsOf(String(row.path)));
    if (row.busy_poll) assert.deepEqual(Object.keys(row.busy_poll), BUSY_POLL);
    assert.equal(row.verified, true);
    // The default channel is shared memory (the addon is built here).
    if (row.path === 'delegated') assert.equal(row.channel, 'shm');
    assert.ok((row.mb_per_s ?? 0) > 0 && row.bytes > 0 && row.calls > 0);
    assert.equal(row.p50_us, null);
    // CPU µs per 64 KiB of all the path's processes: more than a copy's, less than a second's.
    assert.ok(typeof row.cpu_us_per_op === 'number' && row.cpu_us_per_op > 1 && row.cpu_us_per_op < 1e6, `${row.path}: cpu_us_per_op ${row.cpu_us_per_op}`);
  }
  const ratio = report.ratios['delegated/direct'];
  assert.ok(typeof ratio === 'number' && ratio > 0);
  assert.equal(report.ratios['delegated/emulated'], null);
  // The delegated guest says where it ran: a namespace with only lo, or the host and why not.
  assert.match(r.stderr, /delegated: .* in (netns \S+ \(lo only\)|host \(no namespace: .+\))/);
});

test('bench --channel socket keeps the delegated guest on the socket and says so; a third channel is a usage error', () => {
  const r = linsock(['bench', '--workload', 'rr', '--paths', 'delegated', '--seconds', '0.5', '--channel', 'socket', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const row = (JSON.parse(r.stdout) as BenchReport).results[0];
  assert.equal(row?.channel, 'socket');
  assert.equal(row?.verified, true);
  const bad = linsock(['bench', '--workload', 'rr', '--paths', 'delegated', '--channel', 'pigeon']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--channel must be shm or socket, got 'pigeon'/);
});

test('bench --json: udp-rr on delegated gives latency percentiles', () => {
  const r = linsock(['bench', '--workload', 'udp-rr', '--paths', 'delegated', '--seconds', '0.5', '--json', '--trace', 'off']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as BenchReport;
  const row = report.results[0];
  assert.ok(row && row.verified && row.mb_per_s === null);
  assert.ok((row.p50_us ?? 0) > 0 && (row.p99_us ?? 0) >= (row.p50_us ?? 0) && (row.ops_per_s ?? 0) > 0);
  assert.equal(report.ratios['delegated/direct'], null);
});

test('bench --trace alternate: tracing off and on in phases of one run, compared in trace_overhead', () => {
  const r = linsock(['bench', '--workload', 'stream', '--paths', 'delegated', '--seconds', '4', '--trace', 'alternate', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as BenchReport;
  assert.equal(report.results[0]?.verified, true);
  const o = report.trace_overhead;
  assert.ok(o, 'the report has trace_overhead');
  assert.equal(o.phase_ms, 500);
  assert.ok(o.phases >= 4, `${o.phases} whole phases`);
  assert.ok((o.off_mb_per_s ?? 0) > 0 && (o.on_mb_per_s ?? 0) > 0);
  assert.equal(typeof o.overhead_pct, 'number');
  assert.equal(typeof o.pair_overhead_pct_median, 'number');
  const rr = linsock(['bench', '--workload', 'rr', '--paths', 'delegated', '--trace', 'alternate']);
  assert.equal(rr.code, 2);
  assert.match(rr.stderr, /--trace alternate measures the stream workload on the delegated path alone/);
  const bad = linsock(['bench', '--workload', 'stream', '--paths', 'delegated', '--trace', 'sometimes']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--trace must be on, off or alternate, got 'sometimes'/);
});

test('bench: paths and arguments that do not exist are clear errors', () => {
  const unknown = linsock(['bench', '--workload', 'stream', '--paths', 'direct,wormhole', '--seconds', '1']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown path 'wormhole'; expected direct, delegated or emulated/);
  const bad = linsock(['bench', '--workload', 'stream', '--seconds', 'soon']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--seconds must be a number/);
  assert.match(bad.stderr, /usage: linsock bench/);
  const mode = linsock(['bench', '--workload', 'stream', '--paths', 'emulated', '--mode', 'rtl8139']);
  assert.equal(mode.code, 2);
  assert.match(mode.stderr, /--mode must be e1000 or virtio/);
  const poll = linsock(['bench', '--workload', 'rr', '--paths', 'direct', '--busy-poll-us', 'lots']);
  assert.equal(poll.code, 2);
  assert.match(poll.stderr, /--busy-poll-us must be a whole number of microseconds, got 'lots'/);
  const far = linsock(['bench', '--workload', 'rr', '--paths', 'direct', '--seconds', '1', '--busy-poll-us', '50000']);
  assert.equal(far.code, 2);
  assert.match(far.stderr, /busy-poll-us must be 0\.\.10000 microseconds, got 50000/);
  const vm = linsock(['bench', '--guest', 'vm', '--workload', 'inter-guest', '--paths', 'direct,delegated']);
  assert.equal(vm.code, 2);
  assert.doesNotMatch(vm.stderr, /--guest vm runs/, 'inter-guest runs in VMs (two of them)');
  const vmTrace = linsock(['bench', '--guest', 'vm', '--workload', 'inter-guest', '--trace-file', '/tmp/x.lstrace']);
  assert.equal(vmTrace.code, 2);
  assert.match(vmTrace.stderr, /inter-guest between two VMs is not traced: no --trace-file/);
  assert.match(vm.stderr, /'direct' has no VM form/);
  const guest = linsock(['bench', '--guest', 'container', '--workload', 'rr']);
  assert.equal(guest.code, 2);
  assert.match(guest.stderr, /--guest must be ns or vm, got 'container'/);
});

test('linsock start refuses a bad --busy-poll-us before it starts anything', () => {
  const r = linsock(['start', '--busy-poll-us', '50000']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--busy-poll-us expects microseconds 0\.\.10000, got '50000'/);
  assert.match(r.stderr, /usage: linsock start .*\[--busy-poll-us N\]/);
});

test('linsock --help, -h and help list the commands and exit 0; an unknown command exits 2', () => {
  for (const flag of ['--help', '-h', 'help']) {
    const r = linsock([flag]);
    assert.equal(r.code, 0, r.stderr);
    for (const c of ['start', 'bench', 'record', 'export']) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
    assert.doesNotMatch(r.stdout + r.stderr, /unknown command/);
  }
  const unknown = linsock(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
});

test('linsock <command> --help prints that command usage and exits 0; after `--` it belongs to the program', () => {
  for (const [command, flag] of [['start', '--help'], ['bench', '-h'], ['record', '--help'], ['export', '--help'], ['run', '--help']] as const) {
    const r = linsock([command, flag]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^usage: linsock ${command} `));
    assert.equal(r.stderr, '');
  }
  // `--help` after `--` belongs to the program that `linsock run` starts: here it is printed, not consumed.
  const passed = linsock(['run', '--path', 'direct', '--', 'printf', '%s', '--help']);
  assert.equal(passed.code, 0, passed.stderr);
  assert.equal(passed.stdout, '--help');
});
