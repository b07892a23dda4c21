import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { traceFormat, type TraceRecord } from '../protocol';
import { cappedNote } from './chrome-cap-note';
import { loadTraceFile } from './trace-file-loader';
import { TraceStore } from './trace-store';

function call(seq: number): TraceRecord {
  const at = 1_000_000 + seq * 100;
  return { kind: 'call', seq, run: 'r1', guest: 'g', path: 'delegated', socket: 3, op: 'send', bytes: 10, result: 'ok', stages: [{ name: 'guest', start: at, end: at + 5 }, { name: 'execute', start: at + 5, end: at + 9 }] };
}

/** A Chrome JSON as the format's writer makes it, with `notes` in otherData.linsock (what lab/start writes). */
function chromeJson(records: TraceRecord[], notes?: Record<string, unknown>): string {
  const w = traceFormat('chrome')!.writer();
  return `${w.begin()}${w.write(records)}${w.end(notes)}`;
}

const CAP = { capped: { recordsPerRunAndPath: 3, callsLeftOut: 7, framesLeftOut: 2, complete: 'run-1.lstrace', note: 'only the first 3 records' } };

test('the note of a capped file names how many records were left out and where they all are', () => {
  const note = cappedNote(chromeJson([call(0), call(1), call(2)], CAP));
  assert.equal(note, 'it was exported with a cap of 3 records per run and path: 9 records were left out (7 calls, 2 frames); run-1.lstrace holds every record');
});

test('no note for a complete file, a file without otherData, a tail cut inside otherData or nonsense', () => {
  assert.equal(cappedNote(chromeJson([call(0)])), null);
  assert.equal(cappedNote(chromeJson([call(0)], { capped: { ...CAP.capped, callsLeftOut: 0, framesLeftOut: 0 } })), null);
  assert.equal(cappedNote('[{"ph":"X","name":"send"}]'), null);
  const text = chromeJson([call(0)], CAP);
  assert.equal(cappedNote(text.slice(0, text.length - 20)), null);
  assert.equal(cappedNote(text.slice(text.indexOf('"otherData"') + 3)), null);
  assert.equal(cappedNote('{"otherData":{"linsock":{"capped":{"callsLeftOut":"7","framesLeftOut":-1}}}}'), null);
});

test('an event whose text mentions "otherData" does not confuse it: the escaped key is not a member', () => {
  const tricky = call(0) as Extract<TraceRecord, { kind: 'call' }>;
  tricky.guest = '"otherData":{"linsock":{"capped":{"callsLeftOut":999}}}';
  const note = cappedNote(chromeJson([tricky], CAP));
  assert.match(note ?? '', /9 records were left out/);
});

test('opening a capped Chrome JSON reports the cap among the notes, with its counts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-cap-'));
  try {
    const file = join(dir, 'run-1.linsock.json');
    writeFileSync(file, chromeJson([call(0), call(1), call(2)], CAP));
    const store = new TraceStore(1000);
    const r = await loadTraceFile(file, store);
    assert.equal(r.records, 3);
    assert.equal(r.damage, null);
    assert.deepEqual(r.notes.filter((n) => n.includes('left out')), ['it was exported with a cap of 3 records per run and path: 9 records were left out (7 calls, 2 frames); run-1.lstrace holds every record']);
    const whole = join(dir, 'whole.linsock.json');
    writeFileSync(whole, chromeJson([call(0)]));
    assert.deepEqual((await loadTraceFile(whole, new TraceStore(1000))).notes, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
