// The trace files `linsock start` writes for a run: the .lstrace holds every record; the Chrome JSON holds
// the first calls of each run and path with their frames, says what it left out, and still reads back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LstraceReader, type CallRecord, type FrameRecord, type Path, type RunInfo, type TraceRecord } from '../../protocol';
import { readChromeTrace } from '../../protocol/chrome-trace-reader';
import { traceFilesMessage, writeTraceFiles } from '../../lab/start/trace-files';

const FLOW = { protocol: 'tcp' as const, src: '10.199.1.2', srcPort: 40000, dst: '10.199.1.1', dstPort: 5000 };

function records(): TraceRecord[] {
  const out: TraceRecord[] = [];
  let seq = 0;
  for (const run of ['a', 'b']) {
    const info: RunInfo = { kind: 'run', id: run, workload: 'rr', paths: ['direct', 'emulated'], params: {}, host: { kernel: 'k', cpu: 'c', cpus: 2, mtu: 1500, mode: 'e1000', offloads: [] }, startedNs: 1, clockErrorNs: {} };
    out.push(info);
    for (let i = 0; i < 5; i++) {
      const t = 1000 + i * 1000;
      // One data frame per emulated call, and one frame no call links (an ACK) after each.
      const data: FrameRecord = { kind: 'frame', seq: seq++, run, guest: 'emu', direction: 'guest-to-host', length: 55, payload: 1, flow: FLOW, tIn: t + 10, tOut: t + 20 };
      const ack: FrameRecord = { ...data, seq: seq++, direction: 'host-to-guest', payload: 0, length: 54, tIn: t + 30, tOut: t + 40 };
      out.push(data, ack);
      for (const path of ['direct', 'emulated'] as Path[]) {
        const c: CallRecord = { kind: 'call', seq: seq++, run, guest: path === 'direct' ? 'host' : 'emu', path, socket: 1, op: 'send', bytes: 1, result: 'ok', stages: [{ name: 'kernel', start: t, end: t + 5 }] };
        if (path === 'emulated') c.frames = [data.seq];
        out.push(c);
      }
    }
  }
  return out;
}

test('the Chrome JSON holds the first calls of each run and path and their frames, says what it left out; the .lstrace holds all', () => {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-trace-files-'));
  try {
    const all = records();
    const files = writeTraceFiles(dir, 'r', all, { recordsPerPath: 4 });
    const reader = new LstraceReader();
    const full = reader.push(readFileSync(files.lstrace));
    assert.equal(full.error, null);
    assert.equal(full.records.length, all.length);

    const text = readFileSync(files.chrome, 'utf8');
    const doc = JSON.parse(text) as { otherData: { linsock: { capped?: Record<string, unknown>; runs: unknown[] } } };
    assert.equal(doc.otherData.linsock.runs.length, 2);
    // 4 records per run and path: 4 direct calls, 2 emulated calls with a frame each. Left out: per run 1
    // direct and 3 emulated calls, their 3 data frames and the 4 ACKs that entered after the last kept emulated call ended.
    assert.deepEqual(doc.otherData.linsock.capped, {
      recordsPerRunAndPath: 4, callsLeftOut: 8, framesLeftOut: 14, complete: 'r.lstrace',
      note: 'only the first 4 records (calls and their frames) of each run and path; r.lstrace holds every record (linsock export r.lstrace --format chrome converts it all)',
    });
    assert.deepEqual(files.chromeLeftOut, { calls: 8, frames: 14 });
    const back = readChromeTrace(text);
    const calls = back.filter((r): r is CallRecord => r.kind === 'call');
    for (const run of ['a', 'b']) for (const [path, n] of [['direct', 4], ['emulated', 2]] as const) assert.equal(calls.filter((c) => c.run === run && c.path === path).length, n);
    const frames = new Set(back.filter((r) => r.kind === 'frame').map((f) => f.seq));
    assert.equal(frames.size, 6);
    for (const c of calls) for (const f of c.frames ?? []) assert.ok(frames.has(f), `frame ${f} of call ${c.seq} is in the file`);
    assert.match(traceFilesMessage(files, all.length, 0), /capped at the first 10000 records per run and path .*: 8 calls and 14 frames left out/);

    // Under the cap the file is the plain export: no `capped`.
    const small = writeTraceFiles(dir, 's', all);
    assert.equal((JSON.parse(readFileSync(small.chrome, 'utf8')) as typeof doc).otherData.linsock.capped, undefined);
    assert.equal(readChromeTrace(readFileSync(small.chrome, 'utf8')).length, all.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
