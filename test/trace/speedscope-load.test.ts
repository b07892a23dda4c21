// The Chrome JSON of a real recording (direct, delegated through a real linsockd, emulated with real
// frames), capped and uncapped and one file per path, loaded by two viewers nobody here wrote: speedscope's
// built app in headless Chromium (zero console warnings and errors, the profile drawn, one profile per
// thread) and Chrome DevTools' trace engine (every slice placed in its thread's tree). Each check is first
// shown to fail on the case: an end that overshoots the next start in doubles. Needs root.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { writeTraceFiles } from '../../lab/start/trace-files';
import { PATH_PIDS } from '../../protocol/chrome-trace';
import { PATHS, type TraceRecord } from '../../protocol';
import { realRecording } from './real-recording';
import { SpeedscopeViewer, type SpeedscopeLoad } from './speedscope-page';
import { devtoolsView } from './devtools-engine';
import { traceEventProblems } from './trace-event-format';

type Doc = { traceEvents: Record<string, unknown>[]; otherData: { linsock: { capped?: unknown; timeOriginNs: number } } };

/** Chromium's software WebGL reports its own read-back stalls on the console; they are not speedscope's. */
const GL_DRIVER = /^warning: \[\.WebGL-0x[0-9a-f]+\]GL Driver Message \(OpenGL, Performance, GL_CLOSE_PATH_NV, High\): GPU stall due to ReadPixels( \(this message will no longer repeat\))?$/;

let dir: string;
let records: TraceRecord[];
let viewer: SpeedscopeViewer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'linsock-speedscope-'));
  records = await realRecording('stream', 0.3);
  viewer = await SpeedscopeViewer.start();
});
after(async () => {
  await viewer?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Threads that hold slices: speedscope makes one profile of each. */
function sliceThreads(doc: Doc): Set<string> {
  return new Set(doc.traceEvents.filter((e) => e.ph === 'X').map((e) => `${String(e.pid)}/${String(e.tid)}`));
}

function speedscopeProblems(load: SpeedscopeLoad): string[] {
  return load.problems.filter((p) => !GL_DRIVER.test(p));
}

async function checkBothViewers(file: string, doc: Doc): Promise<void> {
  const name = basename(file);
  assert.deepEqual(traceEventProblems(doc), [], `${name}: Trace Event Format`);
  const load = await viewer.load(file, name);
  assert.deepEqual(speedscopeProblems(load), [], `${name}: speedscope's console\n${load.log.slice(0, 20).join('\n')}`);
  assert.ok(load.canvases > 0, `${name}: speedscope drew no canvas`);
  const threads = sliceThreads(doc).size;
  // The profile picker counts profiles when there is more than one.
  const shown = threads > 1 ? `${name} (1/${threads})` : `\n${name}\n`;
  assert.ok(load.toolbar.includes(shown), `${name}: speedscope shows one profile per thread (${threads}): ${load.toolbar}`);
  const engine = await devtoolsView(doc.traceEvents);
  const xCount = doc.traceEvents.filter((e) => e.ph === 'X').length;
  assert.equal(engine.threads.reduce((n, t) => n + t.entries, 0), xCount, `${name}: DevTools read every slice`);
  for (const t of engine.threads) assert.equal(t.nodes, t.entries, `${name}: DevTools left slices of thread ${t.name} out of its tree`);
}

test('both viewers catch an end that overshoots the next start in doubles (the issue\'s case)', async () => {
  const doc: Doc = {
    traceEvents: [
      { name: 'process_name', ph: 'M', pid: 1, tid: 0, args: { name: 'p' } },
      { name: 'thread_name', ph: 'M', pid: 1, tid: 1, args: { name: 't' } },
      { name: 'send', ph: 'X', pid: 1, tid: 1, ts: 1436508943.005, dur: 46.959 },
      { name: 'recv', ph: 'X', pid: 1, tid: 1, ts: 1436508989.964, dur: 1 },
    ],
    otherData: { linsock: { timeOriginNs: 0 } },
  };
  const file = join(dir, 'overshoot.json');
  writeFileSync(file, JSON.stringify(doc));
  const load = await viewer.load(file, basename(file));
  assert.match(speedscopeProblems(load).join('\n'), /Tried to end|stack was empty/, `speedscope warned: ${load.log.join('\n')}`);
  const engine = await devtoolsView(doc.traceEvents);
  assert.deepEqual(engine.threads.map((t) => [t.entries, t.nodes]), [[2, 1]], 'DevTools drops the slice that does not nest');
});

test('the uncapped and the capped export of a real recording load in speedscope and DevTools without a warning', async () => {
  for (const path of PATHS) assert.ok(records.some((r) => r.kind === 'call' && r.path === path), `the recording has ${path} calls`);
  assert.ok(records.some((r) => r.kind === 'frame'), 'the recording has frames');
  const full = writeTraceFiles(join(dir, 'full'), 'run', records, { recordsPerPath: Infinity });
  const capped = writeTraceFiles(join(dir, 'capped'), 'run', records, { recordsPerPath: 300 });
  assert.ok(capped.chromeLeftOut.calls > 0, 'the cap left calls out');
  for (const [file, isCapped] of [[full.chrome, false], [capped.chrome, true]] as const) {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Doc;
    assert.equal(doc.otherData.linsock.capped !== undefined, isCapped);
    assert.ok(doc.otherData.linsock.timeOriginNs > 0 && doc.traceEvents[0]?.name === 'linsock_time_origin', 'the origin is stated');
    const pids = new Set(doc.traceEvents.filter((e) => e.ph === 'X').map((e) => e.pid));
    for (const path of PATHS) assert.ok(pids.has(PATH_PIDS[path]), `${basename(dir)}: ${path} slices are in the file`);
    await checkBothViewers(file, doc);
  }
});

test('each path of a real recording on its own loads in speedscope and DevTools without a warning', async () => {
  for (const path of PATHS) {
    const mine = records.filter((r) => (r.kind === 'call' ? r.path === path : r.kind === 'frame' ? path === 'emulated' : true));
    const files = writeTraceFiles(join(dir, path), path, mine, { recordsPerPath: Infinity });
    const doc = JSON.parse(readFileSync(files.chrome, 'utf8')) as Doc;
    assert.deepEqual(new Set(doc.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'call').map((e) => e.pid)), new Set([PATH_PIDS[path]]));
    await checkBothViewers(files.chrome, doc);
  }
});
