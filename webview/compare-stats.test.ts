// The comparison figures without a browser: per run only, rates over each path's own span, untimed calls
// (zero-length direct receives) shown as not measurable, verdicts that name the faster path, and the run
// index beside the store following its record limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallStore } from './call-store';
import { ingestRecords } from './chunk-ingest';
import { compare, compareCells, footnotes, NOT_MEASURED, NOT_TIMED, tableCsv, tableMarkdown } from './compare-stats';
import { abVerdicts, pathVerdicts } from './compare-verdicts';
import { runIndexOf } from './run-index';
import { syntheticCalls } from '../test/fixtures/synthetic';
import type { CallRecord, Path, RunInfo } from '../protocol/trace';
import type { BenchReport } from '../protocol/trace-stream';

const kcall = (seq: number, run: string, path: Path, op: 'send' | 'recv', start: number, dur: number, bytes = 1000): CallRecord => ({
  kind: 'call', seq, run, guest: `g-${path}`, path, socket: 3, op, bytes, result: 'ok', stages: [{ name: 'kernel', start, end: start + dur }],
});
const info = (id: string, workload = 'stream'): RunInfo => ({
  kind: 'run', id, workload, paths: ['direct', 'emulated'], params: {}, host: { kernel: '6.1', cpu: 'test', cpus: 2, mtu: 1500, mode: 'e1000', offloads: [] }, startedNs: 1, clockErrorNs: {},
});

test('per-op percentiles and p50 verdicts; tables render as Markdown and CSV', () => {
  const st = new CallStore();
  ingestRecords(syntheticCalls(3000, { seed: 5 }), st);
  const c = compare(st);
  assert.deepEqual(c.paths, ['emulated', 'delegated', 'direct']);
  const send = c.rows.filter((r) => r.op === 'send');
  const d = send.find((r) => r.path === 'delegated')!;
  const e = send.find((r) => r.path === 'emulated')!;
  assert.ok(d.p50Us! < e.p50Us! && d.p99Us! >= d.p50Us!);
  assert.equal(d.vsEmulated?.faster, 'delegated', 'delegated is faster in this synthetic trace');
  assert.ok(d.vsEmulated!.factor > 1.2);
  assert.match(compareCells(d)[7]!, /^\d\.\d\d× faster$/);
  assert.match(compareCells(d)[8]!, /^\d\.\d\d× slower$/, 'direct is faster than delegated');
  assert.equal(e.vsEmulated, null);
  const md = tableMarkdown(c.rows);
  assert.match(md, /^\| op \| path \| calls \| p50 µs \| p99 µs \| MB\/s \| calls\/s \| p50 vs emulated \| p50 vs direct \|/);
  assert.equal(md.trim().split('\n').length, c.rows.length + 2, 'no footnotes: every figure measured');
  assert.equal(tableCsv(c.rows).trim().split('\n')[1]!.split(',')[0], c.rows[0]!.op);
  assert.ok(c.stageTotals.get('delegated')![3]! > 0, 'execute time is counted');
});

test('one run at a time: figures come from that run\'s calls, rates over its own active span per path', () => {
  const st = new CallStore();
  const recs: (CallRecord | RunInfo)[] = [info('a')];
  // run a: direct sends of 1 MB every 1 ms for 10 ms -> 1000 MB/s; run b 10 s later, 10x slower
  for (let i = 0; i < 10; i++) recs.push(kcall(i, 'a', 'direct', 'send', 1e9 + i * 1e6, 1e6, 1e6));
  recs.push(info('b'));
  for (let i = 0; i < 10; i++) recs.push(kcall(100 + i, 'b', 'direct', 'send', 11e9 + i * 1e7, 1e6, 1e6));
  ingestRecords(recs, st);
  const runs = runIndexOf(st);
  assert.deepEqual(runs.withCalls().map((r) => r.id), ['a', 'b']);
  const ca = compare(st, { runOf: runs.runOf, run: runs.get('a')!.index });
  const cb = compare(st, { runOf: runs.runOf, run: runs.get('b')!.index });
  assert.equal(ca.rows[0]!.calls, 10);
  assert.ok(Math.abs(ca.rows[0]!.mbPerS! - 1000) < 1e-6, `a: ${ca.rows[0]!.mbPerS}`);
  assert.ok(Math.abs(cb.rows[0]!.mbPerS! - 10 / 0.091) < 1e-6, `b: ${cb.rows[0]!.mbPerS}`);
  const pooled = compare(st);
  assert.ok(pooled.rows[0]!.mbPerS! < 2, 'pooled over both runs the rate is meaningless: what the per-run view avoids');
});

test('zero-length calls are not timed: "—" with the reason, no percentile, no verdict against them, no division by zero', () => {
  const st = new CallStore();
  const recs: CallRecord[] = [];
  for (let i = 0; i < 20; i++) {
    recs.push(kcall(i * 3, 'r', 'direct', 'recv', 1e9 + i * 1e5, 0));
    recs.push(kcall(i * 3 + 1, 'r', 'emulated', 'recv', 1e9 + i * 1e5, 50_000));
  }
  recs.push(kcall(1000, 'r', 'direct', 'send', 5e9, 0)); // a lone untimed call: its path spans more, its own op nothing
  ingestRecords(recs, st);
  const c = compare(st);
  const dr = c.rows.find((r) => r.op === 'recv' && r.path === 'direct')!;
  assert.equal(dr.p50Us, null);
  assert.equal(dr.timed, 0);
  assert.equal(dr.why.p50Us, NOT_TIMED);
  const cells = compareCells(dr);
  assert.deepEqual([cells[2], cells[3], cells[4]], ['20 (20 not timed)', NOT_MEASURED, NOT_MEASURED]);
  assert.ok(dr.mbPerS! > 0 && dr.mbPerS! < 1, `a rate over the direct path's whole span (${dr.mbPerS})`);
  const er = c.rows.find((r) => r.op === 'recv' && r.path === 'emulated')!;
  assert.equal(er.vsDirect, null);
  assert.equal(compareCells(er)[8], NOT_MEASURED);
  assert.match(er.why.vsDirect!, /direct recv calls are not timed/);
  assert.equal(c.summaries.get('direct')!.timed, 0);
  assert.equal(c.durations.has('direct'), false, 'the charts get no zero durations');
  assert.ok(footnotes(c.rows).some((n) => n.startsWith('— direct send, direct recv: not measurable')), footnotes(c.rows).join('\n'));
  assert.match(tableMarkdown(c.rows), /\n— direct send, direct recv: not measurable/);
  const v = pathVerdicts({ label: 'r', report: null, comparison: c });
  assert.deepEqual(v.map((l) => l.text), ['emulated vs direct: not measurable']);
});

test('a run with one instant of calls has no rate: never a division by zero', () => {
  const st = new CallStore();
  ingestRecords([kcall(1, 'r', 'direct', 'recv', 1e9, 0, 5000), kcall(2, 'r', 'direct', 'recv', 1e9, 0, 5000)], st);
  const r = compare(st).rows[0]!;
  assert.equal(r.mbPerS, null);
  assert.equal(r.callsPerS, null);
  assert.deepEqual(compareCells(r).slice(3, 7), [NOT_MEASURED, NOT_MEASURED, NOT_MEASURED, NOT_MEASURED]);
});

test('verdicts at the top: the bench report\'s measured figures when the run has one; A/B per path', () => {
  const st = new CallStore();
  ingestRecords(syntheticCalls(3000, { seed: 5, paths: ['emulated', 'delegated'] }), st);
  const c = compare(st);
  const row = (path: string, mb: number | null) => ({ path, mb_per_s: mb, p50_us: null, p99_us: null, ops_per_s: null, calls: 10, bytes: 1, verified: true });
  const report: BenchReport = { workload: 'stream', mode: 'e1000', mtu: 1500, results: [row('delegated', 366), row('emulated', 58)], ratios: { 'delegated/emulated': 6.31 } };
  const lines = pathVerdicts({ label: 'A', report, comparison: c });
  assert.deepEqual(lines.map((l) => l.text), ['delegated 6.31× faster than emulated (throughput)']);
  assert.equal(lines[0]!.detail, '366 vs 58.0 MB/s, measured by the benchmark');
  const fromCalls = pathVerdicts({ label: 'A', report: null, comparison: c });
  assert.match(fromCalls[0]!.text, /^delegated \d\.\d\d× faster than emulated \((send|recv) p50\)$/);
  const before: BenchReport = { ...report, results: [row('delegated', 300), row('emulated', 60)] };
  const ab = abVerdicts({ label: 'A', report: before, comparison: c }, { label: 'B', report, comparison: c });
  assert.deepEqual(ab.map((l) => l.text), ['emulated: A 1.03× faster than B (throughput)', 'delegated: B 1.22× faster than A (throughput)']);
});

test('the run index follows the store past its record limit and starts over with it', () => {
  const st = new CallStore(1000);
  const recs: CallRecord[] = [];
  for (let i = 0; i < 1500; i++) recs.push(kcall(i, i < 700 ? 'old' : 'new', 'direct', 'send', 1e9 + i * 1000, 500));
  ingestRecords(recs, st);
  const runs = runIndexOf(st);
  assert.equal(runs.length, st.count);
  for (let s = 0; s < st.count; s++) assert.equal(runs.runs[runs.runOf[s]!]!.id, st.seq[s]! < 700 ? 'old' : 'new', `slot ${s}`);
  st.clear();
  ingestRecords([kcall(1, 'fresh', 'direct', 'send', 1e9, 500)], st);
  assert.deepEqual(runs.withCalls().map((r) => r.id), ['fresh']);
});
