import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { TraceRecord } from '../protocol';
import { readChromeTrace } from '../protocol/chrome-trace-reader';
import { LSTRACE } from './record-codec';
import { TraceStore } from './trace-store';
import { writeExport, defaultExportName, formatInfo, ExportCancelled, type ExportFormat } from './trace-export';
import { loadTraceFile } from './trace-file-loader';
import { call, frame, runInfo } from '../test/fixtures/test-records';

const dir = mkdtempSync(join(tmpdir(), 'linsock-export-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A store holding a comparison run: calls of both paths and the emulated path's frames, in 3 chunks. */
function comparisonStore(): { store: TraceStore; records: TraceRecord[] } {
  const store = new TraceStore(1_000_000);
  const records: TraceRecord[] = [runInfo()];
  for (let i = 0; i < 300; i++) records.push(i % 3 === 2 ? frame(i) : call(i, i % 3 === 0 ? 'delegated' : 'emulated'));
  for (const part of [records.slice(0, 100), records.slice(100, 200), records.slice(200)]) store.append(LSTRACE.encodeChunk(part), part);
  return { store, records };
}

async function exportTo(format: ExportFormat, store: TraceStore, opts: Parameters<typeof writeExport>[4] = {}): Promise<{ file: string; n: number }> {
  const file = join(dir, defaultExportName(format, new Date(Date.UTC(2026, 10, 27, 19, 40, 5))));
  const out = createWriteStream(file);
  const sink = { write: (piece: Uint8Array | string) => new Promise<void>((res, rej) => out.write(piece, (e) => (e ? rej(e) : res()))) };
  try {
    const n = await writeExport(format, [...store.since(0)], LSTRACE, sink, opts);
    return { file, n };
  } finally {
    await new Promise((r) => out.end(r));
  }
}

test('export names sort by time and carry the format suffix', () => {
  const at = new Date(Date.UTC(2026, 10, 27, 19, 40, 5, 123));
  assert.equal(defaultExportName('lstrace', at), 'linsock-2026-11-27T19-40-05.lstrace');
  assert.equal(defaultExportName('chrome', at), 'linsock-2026-11-27T19-40-05.linsock.json');
  assert.equal(formatInfo('csv').suffix, '.csv');
});

test('.lstrace export holds every record and opens again through the file loader', async () => {
  const { store, records } = comparisonStore();
  const { file, n } = await exportTo('lstrace', store);
  assert.equal(n, records.length);
  const back = new TraceStore(1_000_000);
  const progress: number[] = [];
  const r = await loadTraceFile(file, back, { pieceBytes: 1000, recordsPerChunk: 64, progress: (l) => progress.push(l) });
  assert.equal(r.format, 'lstrace');
  assert.equal(r.damage, null);
  assert.equal(r.records, records.length);
  assert.deepEqual(back.totals.callsByPath, store.totals.callsByPath);
  assert.ok(progress.length > 3 && progress.at(-1) === r.bytes, 'progress in several steps up to the file size');
  const decoded = [...back.since(0)].flatMap((c) => LSTRACE.decodeChunk(c.bytes).records);
  assert.deepEqual(decoded, records);
});

test('Chrome JSON export parses, has events of both paths, and reads back into the same calls', async () => {
  const { store } = comparisonStore();
  const { file } = await exportTo('chrome', store);
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: { ph: string; pid: number; cat?: string }[] };
  const callPids = new Set(doc.traceEvents.filter((e) => e.ph === 'X' && e.cat !== 'frame' && e.cat !== 'stage').map((e) => e.pid));
  assert.ok(callPids.has(2) && callPids.has(3), `call events under pids ${[...callPids].join(',')}: expected delegated (2) and emulated (3)`);
  const back = readChromeTrace(readFileSync(file, 'utf8'));
  assert.equal(back.filter((r) => r.kind === 'call').length, store.totals.calls);
  const loaded = new TraceStore(1_000_000);
  const r = await loadTraceFile(file, loaded);
  assert.equal(r.format, 'chrome');
  assert.deepEqual(loaded.totals.callsByPath, store.totals.callsByPath);
});

test('CSV export has a header and one row per call and frame', async () => {
  const { store } = comparisonStore();
  const { file } = await exportTo('csv', store);
  const lines = readFileSync(file, 'utf8').trimEnd().split('\r\n');
  assert.match(lines[0]!, /seq/);
  assert.ok(lines.some((l) => l.includes('delegated')) && lines.some((l) => l.includes('emulated')));
  assert.ok(lines.length - 1 >= store.totals.calls + store.totals.frames, `${lines.length - 1} rows`);
});

test('Export Trace… offers pcapng from the registry, and its file holds one packet per frame that tshark reads', async () => {
  assert.deepEqual(formatInfo('pcapng').filter, { 'Wireshark capture (.pcapng)': ['pcapng'] });
  const { store } = comparisonStore();
  const { file } = await exportTo('pcapng', store);
  assert.ok(file.endsWith('.pcapng'));
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.comment'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const comments = r.stdout.split('\n').filter(Boolean);
  assert.equal(comments.length, store.totals.frames);
  assert.ok(comments.every((c) => /^served /.test(c)), comments[0]);
});

test('a cancelled export stops between chunks', async () => {
  const { store } = comparisonStore();
  let asked = 0;
  await assert.rejects(exportTo('chrome', store, { cancelled: () => ++asked >= 1 }), ExportCancelled);
  assert.equal(asked, 1);
});

test('a truncated .lstrace keeps every whole record before the damage and says where', async () => {
  const { store } = comparisonStore();
  const { file } = await exportTo('lstrace', store);
  const bytes = readFileSync(file);
  const cut = join(dir, 'cut.lstrace');
  writeFileSync(cut, bytes.subarray(0, bytes.length - 40));
  const back = new TraceStore(1_000_000);
  const r = await loadTraceFile(cut, back, { pieceBytes: 4096 });
  assert.match(r.damage ?? '', /offset \d+/);
  assert.ok(r.records >= 200 && r.records < 301, `${r.records} records kept`);
});

test('a file of another kind is refused with a clear message', async () => {
  const other = join(dir, 'other.bin');
  writeFileSync(other, 'PK\u0003\u0004 not a trace');
  await assert.rejects(loadTraceFile(other, new TraceStore(10)), /unknown format: the file starts with bytes 50 4b 03 04/);
});
