// The trace format registry: every format round-trips through its own writer and reader (bytes fed in
// pieces of every size, so that state carried across piece boundaries is exercised), sniffing tells each
// written file apart and names what is wrong with the rest, and writers keep only the kinds they declare.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SNIFF_BYTES, sniffTraceFile, traceFormat, traceFormatOfName, TRACE_FORMATS,
  type RunInfo, type TraceFormat, type TracePiece, type TraceRecord,
} from '../../protocol';
import { ChromeTraceReader } from '../../protocol/chrome-trace-reader';
import { MIXED_OPS, syntheticStream } from '../fixtures/synthetic';
import { bytesOf } from './truth-files';

const run: RunInfo = {
  kind: 'run', id: 'run-1', workload: 'stream', paths: ['delegated', 'emulated'], params: { seconds: 3 },
  host: { kernel: '6.1', cpu: 'test', cpus: 2, mtu: 1500, mode: 'e1000', offloads: [] }, startedNs: 1, clockErrorNs: {},
};
const records: TraceRecord[] = [...syntheticStream(2000, { seed: 7, ops: MIXED_OPS }), { kind: 'dropped', count: 3, atNs: 9_000_000 }, run];

function written(f: TraceFormat, recs: readonly TraceRecord[], batch = 333): Uint8Array {
  const w = f.writer();
  const pieces: TracePiece[] = [w.begin()];
  for (let i = 0; i < recs.length; i += batch) pieces.push(w.write(recs.slice(i, i + batch)));
  pieces.push(w.end());
  return bytesOf(pieces);
}

/** Reads `bytes` with `f`'s reader in pieces of the given sizes, cycling. */
function readBack(f: TraceFormat, bytes: Uint8Array, sizes: number[]): { records: TraceRecord[]; error: Error | null } {
  const reader = (f.reader as NonNullable<TraceFormat['reader']>)();
  const out: TraceRecord[] = [];
  let k = 0;
  for (let pos = 0; pos < bytes.length; ) {
    const n = sizes[k++ % sizes.length] as number;
    const step = reader.push(bytes.subarray(pos, pos + n));
    out.push(...step.records);
    if (step.error) return { records: out, error: step.error };
    pos += n;
  }
  const end = reader.finish();
  out.push(...end.records);
  return { records: out, error: end.error };
}

const key = (r: TraceRecord): string => (r.kind === 'call' || r.kind === 'frame' ? `${r.kind}${r.seq}` : r.kind === 'run' ? `run${r.id}` : `dropped${r.atNs}`);
const sorted = (rs: TraceRecord[]): TraceRecord[] => [...rs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

test('the registry has the four formats, each with a unique name and suffix', () => {
  assert.deepEqual(TRACE_FORMATS.map((f) => f.name), ['lstrace', 'chrome', 'csv', 'pcapng']);
  const suffixes = TRACE_FORMATS.flatMap((f) => f.suffixes);
  assert.equal(new Set(suffixes).size, suffixes.length);
  assert.equal(traceFormatOfName('/x/run.LINSOCK.json')?.name, 'chrome');
  assert.equal(traceFormatOfName('a.lstrace')?.name, 'lstrace');
  assert.equal(traceFormatOfName('a.csv')?.name, 'csv');
  assert.equal(traceFormatOfName('a.pcap'), undefined);
  assert.equal(traceFormatOfName('a.pcapng')?.name, 'pcapng');
  assert.equal(traceFormat('pdf'), undefined);
});

for (const f of TRACE_FORMATS.filter((x) => x.reader)) {
  test(`${f.name}: written records read back, whatever the piece sizes, and the file sniffs as ${f.name}`, () => {
    assert.ok(records.some((r) => r.kind === 'frame') && records.some((r) => r.kind === 'call'));
    const bytes = written(f, records);
    const s = sniffTraceFile(bytes.subarray(0, SNIFF_BYTES), bytes.length);
    assert.equal(s.format?.name, f.name, s.problem ?? '');
    for (const sizes of [[bytes.length], [1], [7, 1, 4096, 3], [65_536]]) {
      const got = readBack(f, bytes, sizes);
      assert.equal(got.error, null, `pieces ${sizes.join(',')}`);
      assert.deepEqual(sorted(got.records), sorted(records), `pieces ${sizes.join(',')}`);
    }
  });
}

test('csv: write-only, one row per kept record; runs keep a row for their clocks', () => {
  const f = traceFormat('csv') as TraceFormat;
  assert.equal(f.reader, null);
  assert.ok(f.keeps.includes('run'));
  const text = new TextDecoder().decode(written(f, records));
  const rows = text.split('\r\n').filter((l) => l.length > 0);
  assert.equal(rows.length, 1 + records.filter((r) => f.keeps.includes(r.kind)).length);
  // A CSV file is not mistaken for a readable trace.
  assert.match(sniffTraceFile(new TextEncoder().encode(text.slice(0, SNIFF_BYTES)), text.length).problem ?? '', /unknown format/);
});

test('pcapng: write-only, frames only, a section header first and one packet block per frame', () => {
  const f = traceFormat('pcapng') as TraceFormat;
  assert.equal(f.reader, null);
  assert.deepEqual(f.keeps, ['frame']);
  const bytes = written(f, records, 97);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const types: number[] = [];
  for (let at = 0; at < bytes.length; ) {
    const len = view.getUint32(at + 4, true);
    assert.ok(len >= 12 && len % 4 === 0 && at + len <= bytes.length, `block at ${at} has length ${len}`);
    assert.equal(view.getUint32(at + len - 4, true), len, `block at ${at} repeats its length`);
    types.push(view.getUint32(at, true));
    at += len;
  }
  assert.equal(types[0], 0x0a0d0d0a);
  assert.equal(types.filter((t) => t === 6).length, records.filter((r) => r.kind === 'frame').length);
  assert.ok(types.filter((t) => t === 1).length >= 1);
});

test('the .lstrace writer passes stored chunks through unchanged', () => {
  const lstrace = traceFormat('lstrace') as TraceFormat;
  const w = lstrace.writer();
  const chunk = w.write(records.slice(0, 100)) as Uint8Array;
  assert.equal(w.writeLstraceChunk?.(chunk), chunk);
  assert.equal(traceFormat('chrome')?.writer().writeLstraceChunk, undefined, 'text formats are given records');
});

test('sniffing names what is wrong with a file that is not a readable trace', () => {
  const lstraceHead = written(traceFormat('lstrace') as TraceFormat, []).subarray(0, 12);
  const cases: [Uint8Array, number, RegExp][] = [
    [new Uint8Array(0), 0, /^empty file \(0 bytes\)/],
    [lstraceHead.subarray(0, 5), 5, /^truncated \.lstrace file: it ends at offset 5, inside the 12-byte file header/],
    [Uint8Array.of(0xff, 0xfe, 0x7b, 0, 0x22, 0), 6, /^UTF-16 text/],
    [Uint8Array.of(0x7b, 0, 0x22, 0, 0x74, 0), 6, /^UTF-16 text/],
    [new TextEncoder().encode('   \n\t'), 5, /^only white space/],
    [Uint8Array.of(0x50, 0x4b, 3, 4, 1, 2), 6, /^unknown format: the file starts with bytes 50 4b 03 04 01 02; expected/],
  ];
  for (const [head, size, why] of cases) {
    const s = sniffTraceFile(head, size);
    assert.equal(s.format, null);
    assert.match(s.problem ?? '', why);
  }
  // A UTF-8 byte order mark and white space may come before the JSON.
  assert.equal(sniffTraceFile(new TextEncoder().encode('\ufeff \n [{"ph":"M"}]'), 20).format?.name, 'chrome');
});

test('the Chrome reader skips and counts events that are not Linsock\'s, and the strict reader refuses no records', () => {
  const r = new ChromeTraceReader();
  const text = `{"traceEvents":[${Array.from({ length: 1000 }, () => '{"ph":"X"}').join(',')},17,{"ph":"B","name":"x"}]}`;
  const a = r.push(new TextEncoder().encode(text));
  const b = r.finish();
  assert.equal(a.error ?? b.error, null);
  assert.equal(a.records.length + b.records.length, 0);
  assert.equal(r.skipped.total, 1002);
  assert.match(r.skipped.summary() ?? '', /^1002 events skipped: 1000 'X' events without Linsock's details .*\(first at traceEvents\[0\]\); 1 elements that are not event objects .*\(first at traceEvents\[1000\]\); 1 'B' events/);
  assert.match(r.notes.join('\n'), /not exported by Linsock/);
});

test('the Chrome reader stops at nesting past its limit, at once, and at malformed JSON with line and column', () => {
  const deep = new ChromeTraceReader();
  const step = deep.push(new TextEncoder().encode(`{"traceEvents":[${'['.repeat(100_000)}`));
  assert.match(step.error?.message ?? '', /^JSON nested deeper than 32 levels at line 1 column 49 \(offset 48\)/);
  const skippedMember = new ChromeTraceReader();
  const e2 = skippedMember.push(new TextEncoder().encode(`{"meta":${'{"a":'.repeat(40)}`)).error;
  assert.match(e2?.message ?? '', /nested deeper than 32/, 'members passed over are held to the limit too');
  const bad = new ChromeTraceReader();
  const e3 = bad.push(new TextEncoder().encode('{"traceEvents":[\n  {"ph":"M"},\n  {"ph" "X"}]}')).error;
  assert.match(e3?.message ?? '', /^not valid JSON at line 3 column 9 \(offset 39\) in traceEvents\[1\]/);
  const cut = new ChromeTraceReader();
  cut.push(new TextEncoder().encode('{"traceEvents":[{"ph":"M"},{"ph":'));
  assert.match(cut.finish().error?.message ?? '', /^truncated JSON inside traceEvents\[1\]/);
});
