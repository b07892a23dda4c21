import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LstraceReader, encodeFile, encodeFileHeader, type TraceRecord } from '../../protocol';
import { readChromeTrace } from '../../protocol/chrome-trace-reader';
import { exportCommand, exportFile } from '../../lab/commands/export';
import { recordCommand } from '../../lab/commands/record';
import { TraceHub } from '../../daemon/trace/trace-hub';
import { startTraceServer } from '../../daemon/trace/trace-server';
import { MIXED_OPS, syntheticCalls, syntheticStream } from '../fixtures/synthetic';
import { traceEventProblems } from './trace-event-format';

const dir = mkdtempSync(join(tmpdir(), 'linsock-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const records = syntheticCalls(20_000, { seed: 31, ops: MIXED_OPS });
const lstrace = join(dir, 'in.lstrace');
writeFileSync(lstrace, encodeFile(records, 4096));

function readLstrace(file: string): { records: TraceRecord[]; error: string | null } {
  const r = new LstraceReader();
  const { records: got, error } = r.push(new Uint8Array(readFileSync(file)));
  return { records: got, error: (error ?? r.end())?.message ?? null };
}

test('export .lstrace -> chrome reads back into the same records and passes the format checks', async () => {
  const out = join(dir, 'out.json');
  const r = await exportFile(lstrace, 'chrome', out);
  assert.deepEqual(r, { records: records.length, damage: null, skipped: null, notes: [] });
  const text = readFileSync(out, 'utf8');
  assert.deepEqual(traceEventProblems(JSON.parse(text)), []);
  assert.deepEqual(readChromeTrace(text), records);
});

test('export .lstrace -> csv has a row per record; -> lstrace keeps every record', async () => {
  const csv = join(dir, 'out.csv');
  assert.equal((await exportFile(lstrace, 'csv', csv)).records, records.length);
  const lines = readFileSync(csv, 'utf8').split('\r\n');
  assert.equal(lines.length, records.length + 2); // header + rows + the empty string after the last CRLF
  const again = join(dir, 'again.lstrace');
  assert.equal((await exportFile(lstrace, 'lstrace', again)).records, records.length);
  assert.deepEqual(readLstrace(again), { records, error: null });
  // A Linsock Chrome export converts back to .lstrace as well.
  const fromChrome = join(dir, 'from-chrome.lstrace');
  assert.equal((await exportFile(join(dir, 'out.json'), 'lstrace', fromChrome)).records, records.length);
  assert.deepEqual(readLstrace(fromChrome).records, records);
});

test('a truncated .lstrace exports every whole record before the damage and says where', async () => {
  const whole = readFileSync(lstrace);
  const cut = join(dir, 'cut.lstrace');
  const at = Math.floor(whole.length * 0.6);
  writeFileSync(cut, whole.subarray(0, at));
  const out = join(dir, 'cut.json');
  const r = await exportFile(cut, 'chrome', out);
  assert.match(r.damage ?? '', /offset \d+/);
  assert.match(r.damage ?? '', /truncated/);
  assert.ok(r.records > 4096 && r.records < records.length, `${r.records} records`);
  const back = readChromeTrace(readFileSync(out, 'utf8'));
  assert.deepEqual(back, records.slice(0, back.length), 'the records before the damage, unchanged');
  const code = await exportCommand([cut, '--format', 'csv', '-o', join(dir, 'cut.csv')]);
  assert.equal(code, 1);
});

test('a corrupted byte stops the export at the damaged chunk with its offset', async () => {
  const bad = Buffer.from(readFileSync(lstrace));
  const second = encodeFile(records.slice(0, 4096), 4096).length; // where the second chunk starts
  bad[second + 40] = (bad[second + 40] as number) ^ 0xff;
  const file = join(dir, 'bad.lstrace');
  writeFileSync(file, bad);
  const r = await exportFile(file, 'lstrace', join(dir, 'bad-out.lstrace'));
  assert.match(r.damage ?? '', new RegExp(`^damaged chunk at offset ${second}: CRC-32`));
  assert.equal(r.records, 4096, 'the first chunk, whole');
  assert.deepEqual(readLstrace(join(dir, 'bad-out.lstrace')).records, records.slice(0, r.records));
});

test('a file that is not a trace is refused with a message that says what it is', async () => {
  const cases: [string, Uint8Array | string, RegExp][] = [
    ['notes.txt', 'hello, I am not a trace\n', /unknown format: the file starts with bytes 68 65 6c 6c/],
    ['empty.lstrace', '', /empty file \(0 bytes\)/],
    ['short.lstrace', encodeFileHeader().subarray(0, 6), /truncated \.lstrace file: it ends at offset 6/],
    ['wide.json', Buffer.from('\ufeff{"traceEvents":[]}', 'utf16le'), /UTF-16 text/],
  ];
  for (const [name, bytes, why] of cases) {
    const file = join(dir, name);
    writeFileSync(file, bytes);
    await assert.rejects(exportFile(file, 'csv', join(dir, `${name}.csv`)), why);
    assert.equal(await exportCommand([file, '--format', 'csv', '-o', join(dir, `${name}.csv`)]), 1);
  }
  assert.equal(await exportCommand([join(dir, 'notes.txt'), '--format', 'pdf', '-o', 'x']), 2);
});

test('export reads the JSON Array Format (a bare list of events) as well as the Object Format', async () => {
  const objectForm = join(dir, 'object.linsock.json');
  await exportFile(lstrace, 'chrome', objectForm);
  const events = (JSON.parse(readFileSync(objectForm, 'utf8')) as { traceEvents: unknown[] }).traceEvents;
  // Array form, without the closing bracket as the format allows, and with events that are not Linsock's.
  const arrayForm = join(dir, 'array.json');
  writeFileSync(arrayForm, `[${[...events.map((e) => JSON.stringify(e)), '{"ph":"X","name":"other tool"}'].join(',\n')}\n`);
  const out = join(dir, 'from-array.lstrace');
  const r = await exportFile(arrayForm, 'lstrace', out);
  assert.equal(r.damage, null);
  assert.equal(r.records, records.length);
  assert.match(r.skipped ?? '', /^1 events skipped: 1 'X' events without Linsock's details .* \(first at traceEvents\[\d+\]\)/);
  assert.deepEqual(readLstrace(out).records, records);
  assert.equal(await exportCommand([arrayForm, '--format', 'csv', '-o', join(dir, 'from-array.csv')]), 0);
});

test('linsock record writes the live stream to an .lstrace file, or to the format its suffix names', async () => {
  const hub = new TraceHub({ batchMs: 5 });
  const tokenFile = join(dir, 'token');
  const server = await startTraceServer({ port: 0, tokenFile, hub });
  const out = join(dir, 'rec.lstrace');
  try {
    const before = [...syntheticStream(500, { seed: 41 })];
    for (const r of before) hub.publish(r); // before the recording: not in the file
    const done = recordCommand(['--seconds', '1', '-o', out, '--url', server.url, '--token-file', tokenFile]);
    const chromeOut = join(dir, 'rec.linsock.json');
    const doneChrome = recordCommand(['--seconds', '1', '-o', chromeOut, '--url', server.url, '--token-file', tokenFile]);
    // Publish once both recorders have subscribed.
    for (let i = 0; i < 300 && hub.stats().subscribers < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const live = [...syntheticStream(3000, { seed: 42 })];
    for (const r of live) hub.publish(r);
    assert.equal(await done, 0);
    assert.equal(await doneChrome, 0);
    assert.deepEqual(readChromeTrace(readFileSync(chromeOut, 'utf8')), live);
    const got = readLstrace(out);
    assert.equal(got.error, null);
    assert.deepEqual(got.records, live);
    assert.equal(readFileSync(out).subarray(0, 12).compare(Buffer.from(encodeFileHeader())), 0);
    assert.equal(await recordCommand(['--seconds', '1', '-o', join(dir, 'x.lstrace'), '--url', server.url, '--token-file', join(dir, 'missing')]), 2);
  } finally {
    await server.close();
    hub.close();
  }
});
