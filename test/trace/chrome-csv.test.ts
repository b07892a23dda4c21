import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChromeTraceWriter, toChromeTrace, nsToUs, PATH_PIDS } from '../../protocol/chrome-trace';
import { readChromeTrace, ChromeTraceError } from '../../protocol/chrome-trace-reader';
import { CSV_COLUMNS, toCsv } from '../../protocol/csv';
import type { CallRecord, RunInfo, TraceRecord } from '../../protocol';
import { MIXED_OPS, syntheticCalls } from '../fixtures/synthetic';
import { traceEventProblems } from './trace-event-format';

const run: RunInfo = {
  kind: 'run', id: 'run-1', workload: 'stream', paths: ['delegated', 'emulated', 'direct'], params: { seconds: 3, note: 'a, "quoted" value' },
  host: { kernel: '6.1', cpu: 'test', cpus: 2, mtu: 1500, mode: 'virtio', offloads: ['tso'] }, startedNs: 1, clockErrorNs: { 'guest-a': 0 },
};

function sample(): TraceRecord[] {
  const recs = syntheticCalls(3000, { seed: 21, ops: MIXED_OPS });
  return [run, ...recs.slice(0, 1500), { kind: 'dropped', count: 17, atNs: 5_000_000_123_456 }, ...recs.slice(1500)];
}

const key = (r: TraceRecord): string => (r.kind === 'call' || r.kind === 'frame' ? `${r.kind}${r.seq}` : r.kind === 'run' ? `run${r.id}` : `dropped${r.atNs}`);

test('ns become µs with exactly three decimals', () => {
  assert.equal(nsToUs(0), '0.000');
  assert.equal(nsToUs(1), '0.001');
  assert.equal(nsToUs(1_234_567_890_123), '1234567890.123');
  assert.equal(nsToUs(5_000_000_000_010), '5000000000.010');
});

test('the Chrome export follows the Trace Event Format: fields, names, nesting and flows', () => {
  const text = toChromeTrace(sample());
  const doc = JSON.parse(text) as { traceEvents: Record<string, unknown>[]; displayTimeUnit: string };
  assert.deepEqual(traceEventProblems(doc), []);
  assert.equal(doc.displayTimeUnit, 'ns');
  const ev = doc.traceEvents;
  const procs = ev.filter((e) => e.name === 'process_name').map((e) => (e.args as { name: string }).name).sort();
  assert.deepEqual(procs, ['delegated', 'direct', 'emulated', 'linsockd']);
  const threads = ev.filter((e) => e.name === 'thread_name').map((e) => (e.args as { name: string }).name);
  assert.ok(threads.includes('guest-d1 socket 3'));
  assert.ok(threads.some((t) => /frames guest-to-host/.test(t)));
  // Every stage lies within the call before it on its thread.
  let call: Record<string, unknown> | undefined;
  let stages = 0;
  for (const e of ev) {
    if (e.cat === 'call') call = e;
    if (e.cat !== 'stage') continue;
    stages++;
    assert.ok(call && call.pid === e.pid && call.tid === e.tid);
    assert.ok((e.ts as number) >= (call.ts as number) && (e.ts as number) + (e.dur as number) <= (call.ts as number) + (call.dur as number) + 1e-6);
  }
  assert.ok(stages > 3000);
  const flowStarts = ev.filter((e) => e.ph === 's');
  const frameLinks = sample().reduce((n, r) => n + (r.kind === 'call' ? (r.frames?.length ?? 0) : 0), 0);
  assert.ok(frameLinks > 100);
  assert.equal(flowStarts.length, frameLinks, 'one flow per call->frame link');
  for (const s of flowStarts) assert.equal(s.pid === PATH_PIDS.emulated || s.pid === PATH_PIDS.delegated || s.pid === PATH_PIDS.direct, true);
  // Timestamps keep their nanoseconds: three decimals in the text.
  assert.ok(/"ts":\d+\.\d{3},/.test(text));
  assert.ok(!/"ts":\d+\.\d{4,}/.test(text));
});

test('pipelined calls on one socket go to overlap threads rather than break nesting', () => {
  const mk = (seq: number, start: number, end: number): CallRecord => ({
    kind: 'call', seq, run: 'r', guest: 'g', path: 'delegated', socket: 3, op: 'send', bytes: 1, result: 'ok',
    stages: [{ name: 'guest', start, end: start + 1 }, { name: 'execute', start: start + 1, end }],
  });
  const doc = JSON.parse(toChromeTrace([mk(1, 1000, 5000), mk(2, 2000, 6000), mk(3, 7000, 8000)]));
  assert.deepEqual(traceEventProblems(doc), []);
  const names = (doc.traceEvents as { name: string; args?: { name: string } }[]).filter((e) => e.name === 'thread_name').map((e) => e.args?.name);
  assert.deepEqual(names, ['g socket 3', 'g socket 3 (overlap 1)']);
});

test('the checker catches broken nesting and unpaired flows (so its passes mean something)', () => {
  const doc = {
    traceEvents: [
      { name: 'process_name', ph: 'M', pid: 1, tid: 0, args: { name: 'p' } },
      { name: 'thread_name', ph: 'M', pid: 1, tid: 1, args: { name: 't' } },
      { name: 'a', ph: 'X', pid: 1, tid: 1, ts: 0, dur: 10 },
      { name: 'b', ph: 'X', pid: 1, tid: 1, ts: 5, dur: 10 },
      { name: 'f', cat: 'c', ph: 's', id: 1, pid: 1, tid: 1, ts: 1 },
    ],
  };
  const problems = traceEventProblems(doc);
  assert.equal(problems.length, 2);
  assert.match(problems.join('\n'), /overlaps/);
  assert.match(problems.join('\n'), /lacks its finish/);
});

test('ends that overshoot the next start in doubles are caught, and the writer cuts durations so that they do not', () => {
  // The case: an absolute ts near 1.4e9 µs with exact decimals sums past the next slice's start.
  const doc = {
    traceEvents: [
      { name: 'process_name', ph: 'M', pid: 1, tid: 0, args: { name: 'p' } },
      { name: 'thread_name', ph: 'M', pid: 1, tid: 1, args: { name: 't' } },
      { name: 'a', ph: 'X', pid: 1, tid: 1, ts: 1436508943.005, dur: 46.959 },
      { name: 'b', ph: 'X', pid: 1, tid: 1, ts: 1436508989.964, dur: 1 },
    ],
  };
  assert.equal(1436508943.005 + 46.959 > 1436508989.964, true);
  assert.match(traceEventProblems(doc).join('\n'), /overlaps/);
  const at = 1_436_508_943_005;
  const mk = (seq: number, start: number, mid: number, end: number): CallRecord => ({
    kind: 'call', seq, run: 'r', guest: 'g', path: 'delegated', socket: 3, op: 'send', bytes: 1, result: 'ok',
    stages: [{ name: 'guest', start, end: mid }, { name: 'execute', start: mid, end: mid }, { name: 'channel-out', start: mid, end }],
  });
  const recs = [mk(1, at - 7_000, at - 5_000, at), mk(2, at, at + 46_000, at + 46_959), mk(3, at + 46_959, at + 47_000, at + 50_000)];
  const text = toChromeTrace(recs);
  assert.deepEqual(traceEventProblems(JSON.parse(text)), []);
  assert.deepEqual(readChromeTrace(text), recs, 'the cut durations and the origin restore the exact ns');
  assert.match(text, /"ts":508943\.005,"dur":46\.9589,/, 'times relative to the whole second before the first record');
  assert.match(text, /"name":"execute","cat":"stage","ph":"i","s":"t"/, 'a zero-length stage is an instant');
  const origin = (JSON.parse(text) as { otherData: { linsock: { timeOriginNs: number } } }).otherData.linsock.timeOriginNs;
  assert.equal(origin, 1_436_000_000_000);
});

test('a streamed Chrome export equals the one-shot export and reads back into the same records', () => {
  const records = sample();
  const w = new ChromeTraceWriter();
  let text = w.begin();
  for (let i = 0; i < records.length; i += 257) text += w.write(records.slice(i, i + 257));
  text += w.end();
  assert.equal(text, toChromeTrace(records));
  const back = readChromeTrace(text);
  assert.equal(back.length, records.length);
  const byKey = new Map(back.map((r) => [key(r), r]));
  for (const r of records) assert.deepEqual(byKey.get(key(r)), r, key(r));
});

test('reading a foreign or damaged Chrome file names what was expected and where', () => {
  assert.throws(() => readChromeTrace('{"traceEvents": [ {"ph":"X",}\n]}'), (e: Error) => e instanceof ChromeTraceError && /not valid JSON at line 1 column \d+/.test(e.message));
  assert.throws(() => readChromeTrace('[]'), /not exported by Linsock/);
  assert.throws(() => readChromeTrace('{"traceEvents":[]}'), /not exported by Linsock/);
  const good = toChromeTrace(sample().slice(0, 20));
  const doc = JSON.parse(good);
  const stage = doc.traceEvents.findIndex((e: { cat?: string }) => e.cat === 'stage');
  doc.traceEvents[stage].dur = -5;
  assert.throws(() => readChromeTrace(JSON.stringify(doc)), new RegExp(`traceEvents\\[${stage}\\]: expected 'dur'`));
  const doc2 = JSON.parse(good);
  const call = doc2.traceEvents.findIndex((e: { cat?: string }) => e.cat === 'call');
  doc2.traceEvents[call].args.op = 'teleport';
  assert.throws(() => readChromeTrace(JSON.stringify(doc2)), /call.op 'teleport' is unknown/);
});

/** A strict RFC 4180 parser, to check the export rather than trust it. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quote');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            i++;
            break;
          }
        } else field += text[i++];
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\r') {
        if (text[i] === '"' || text[i] === '\n') throw new Error(`bare quote or LF at ${i}`);
        field += text[i++];
      }
    }
    row.push(field);
    if (text[i] === ',') i++;
    else if (text.startsWith('\r\n', i)) {
      rows.push(row);
      row = [];
      i += 2;
    } else if (i < text.length) throw new Error(`expected , or CRLF at ${i}`);
  }
  if (row.length) throw new Error('last row lacks CRLF');
  return rows;
}

test('the CSV export has one RFC 4180 row per call, frame, drop mark and run, with the stages in columns', () => {
  const records = sample();
  const odd: CallRecord = {
    kind: 'call', seq: 99_999, run: 'run "x", 2\nnext', guest: 'g', path: 'direct', socket: 1, op: 'recv', bytes: 3, result: 'ok',
    stages: [{ name: 'kernel', start: 10, end: 25 }],
  };
  const rows = parseCsv(toCsv([...records, odd]));
  assert.deepEqual(rows[0], [...CSV_COLUMNS]);
  const data = rows.slice(1);
  assert.equal(data.length, records.length + 1);
  for (const r of data) assert.equal(r.length, CSV_COLUMNS.length);
  const col = (name: string): number => CSV_COLUMNS.indexOf(name);
  const last = data.at(-1) as string[];
  assert.equal(last[col('run')], 'run "x", 2\nnext');
  assert.equal(last[col('duration_ns')], '15');
  assert.equal(last[col('kernel_start_ns')], '10');
  const firstCall = records.find((r): r is CallRecord => r.kind === 'call' && r.path === 'delegated') as CallRecord;
  const row = data.find((r) => r[col('kind')] === 'call' && r[col('seq')] === String(firstCall.seq)) as string[];
  for (const s of firstCall.stages) {
    assert.equal(row[col(`${s.name}_start_ns`)], String(s.start));
    assert.equal(row[col(`${s.name}_end_ns`)], String(s.end));
  }
  assert.ok(data.some((r) => r[col('kind')] === 'frame' && /^tcp 10\.0\.0\.2:\d+ > 10\.0\.0\.1:5201$/.test(r[col('flow')] as string)));
  assert.ok(data.some((r) => r[col('kind')] === 'dropped' && r[col('dropped_count')] === '17'));
});
