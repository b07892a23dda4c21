// The aligned timeline's model without a browser: segments per run and path with readable labels, calls
// that overlap on one socket stacked, emulated stages derived from frames, frames traced to their call,
// and a file's columns sized once from its byte count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallStore } from './call-store';
import { ingestRecords } from './chunk-ingest';
import { layoutTracks, segmentEnd } from './track-layout';
import { VIEW_STAGES } from './view-stages';
import { medianCall } from './waterfall';
import { syntheticComparison, syntheticCalls } from '../test/fixtures/synthetic';

const RUN_A = '0b5e7c1a-1111-4222-8333-944445555666';
const RUN_B = '7f00aa01-2222-4333-8444-955556666777';

test('a comparison lays out a segment per run and path, each from its own start, under run separators', () => {
  const st = new CallStore();
  ingestRecords(syntheticComparison({ runs: [{ id: RUN_A, mode: 'e1000' }, { id: RUN_B, mode: 'virtio' }], callsPerPath: 300 }), st);
  const layout = layoutTracks(st);
  const runs = layout.rows.filter((r) => r.kind === 'run');
  assert.equal(runs.length, 2);
  assert.match(runs[0]!.label, /^run 1 · stream · emulated, delegated, direct · 0b5e7c1a$/);
  const lanes = layout.rows.flatMap((r) => (r.kind === 'lane' ? [r.label] : []));
  assert.deepEqual(lanes, ['emulated · e1000 · stream', 'delegated · stream', 'direct · stream', 'emulated · virtio · stream', 'delegated · stream', 'direct · stream']);
  const tracks = layout.rows.flatMap((r) => (r.kind === 'track' ? [r.label] : []));
  assert.ok(tracks.includes('emu · socket 3') && tracks.includes('emu · frames') && tracks.includes('socket 3') && tracks.includes('host · socket 4'), tracks.join(', '));
  assert.ok(tracks.every((l) => !/[0-9a-f]{8}-[0-9a-f]{4}/.test(l)), 'no UUIDs in track labels');
  // the paths ran one after another, seconds apart: each segment starts later than the previous one ended
  const seg = [...layout.segments].sort((a, b) => a.origin - b.origin);
  assert.equal(seg.length, 6);
  for (let i = 1; i < seg.length; i++) assert.ok(seg[i]!.origin > segmentEnd(st, seg[i - 1]!), `segment ${i} after ${i - 1}`);
});

test('calls that overlap on one socket stack on levels; the next call after them returns to the first level', () => {
  const st = new CallStore();
  const call = (seq: number, start: number, end: number) => ({ kind: 'call' as const, seq, run: 'r', guest: 'g', path: 'delegated' as const, socket: 3, op: 'send' as const, bytes: 1, result: 'ok' as const, stages: [{ name: 'guest' as const, start, end }] });
  ingestRecords([call(1, 0, 100), call(2, 50, 150), call(3, 60, 70), call(4, 200, 300)], st);
  const t = st.tracks[0]!;
  assert.deepEqual(Array.from(t.levels.subarray(0, 4)), [0, 1, 2, 0]);
  assert.equal(t.depth, 3);
  const layout = layoutTracks(st);
  const row = layout.rows.find((r) => r.kind === 'track')!;
  assert.ok(row.h > 16, 'a stacked track is taller');
});

test('an emulated send is split at its frames: guest kernel + TAP, device model, host side', () => {
  const st = new CallStore();
  ingestRecords(syntheticCalls(200, { paths: ['emulated'], ops: ['send'] }), st);
  const names = (s: number) => Array.from({ length: st.stageCount[s]! }, (_, j) => VIEW_STAGES[st.stageName[st.stageFirst[s]! + j]!]!.name);
  assert.deepEqual(names(0), ['guest-tap', 'device-model', 'host-side']);
  // the parts tile the call: they begin at its start and end at its end
  const f = st.stageFirst[0]!;
  assert.equal(st.stageStart[f], 0);
  assert.ok(Math.abs(st.stageEnd[f + 2]! - (st.end[0]! - st.start[0]!)) < 1);
  // a frame knows its call
  const call = st.callOfFrame(0);
  assert.ok(call >= 0 && st.linkSeq[st.linkFirst[call]!] === st.frameSeq[0]);
});

test('told the file size, the store sizes its columns once after the first chunk; the trim gives back the rest', () => {
  const st = new CallStore();
  st.expectedBytes = 10_000_000;
  const before = st.start;
  st.addCall({ seq: 1, guest: 'g', path: 'direct', socket: 1, op: 'send', bytes: 1, result: 'ok', stages: [{ name: 'kernel', start: 0, end: 10 }] });
  st.noteIngested(100);
  assert.ok(st.start.length >= 100_000 && st.start !== before, `sized from the hint (${st.start.length})`);
  const sized = st.start;
  for (let i = 2; i < 1000; i++) st.addCall({ seq: i, guest: 'g', path: 'direct', socket: 1, op: 'send', bytes: 1, result: 'ok', stages: [{ name: 'kernel', start: i * 100, end: i * 100 + 10 }] });
  assert.equal(st.start, sized, 'no regrowth while appending');
  st.compactPending = true;
  st.compact();
  assert.equal(st.start.length, 999);
  assert.equal(st.compactPending, false);
});

test('the waterfall picks the call of median duration of a segment', () => {
  const st = new CallStore();
  const call = (seq: number, start: number, dur: number) => ({ kind: 'call' as const, seq, run: 'r', guest: 'g', path: 'direct' as const, socket: 3, op: 'send' as const, bytes: 1, result: 'ok' as const, stages: [{ name: 'kernel' as const, start, end: start + dur }] });
  ingestRecords([call(1, 0, 50), call(2, 100, 10), call(3, 200, 30), call(4, 300, 90), call(5, 400, 20)], st);
  const seg = layoutTracks(st).segments[0]!;
  const m = medianCall(st, seg, -1);
  assert.equal(m.of, 5);
  assert.equal(st.seq[m.slot], 3, 'durations 10 20 30 50 90: the median is 30');
});
