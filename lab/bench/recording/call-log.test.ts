// The call log between a workload process and the runner, and how frames are linked to calls: a corrupt
// log is a clear error, a send's frames are those that carried its bytes, a receive lasts from its first
// frame to its delivery, and the frames kept are bounded.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { encodeChunk, type CallRecord, type FrameRecord, type TraceRecord } from '../../../protocol';
import { frameOf, KIND_CHUNK, KIND_FLOW, readCallLog, type SocketFlow } from './call-log';
import { CallIntake } from './call-intake';
import { FrameLog, FrameQueue } from './frame-log';

const call = (op: CallRecord['op'], bytes: number, start: number): CallRecord => ({
  kind: 'call', seq: 0, run: 'r', guest: 'emu', path: 'emulated', socket: 1, op, bytes, result: 'ok', stages: [{ name: 'kernel', start, end: start + 1000 }],
});
const frame = (seq: number, payload: number, tIn: number, out: boolean): FrameRecord => ({
  kind: 'frame', seq, run: 'r', guest: 'emu', direction: out ? 'guest-to-host' : 'host-to-guest', length: payload + 54, payload, tIn, tOut: tIn,
  flow: out ? { protocol: 'tcp', src: '10.199.1.2', srcPort: 40000, dst: '10.199.1.1', dstPort: 5000 } : { protocol: 'tcp', src: '10.199.1.1', srcPort: 5000, dst: '10.199.1.2', dstPort: 40000 },
});
const FLOW: SocketFlow = { socket: 1, protocol: 'tcp', local: '10.199.1.2', localPort: 40000, remote: '10.199.1.1', remotePort: 5000 };

test('a call log delivers its calls and flows, split at any byte', async () => {
  const bytes = Buffer.concat([frameOf(KIND_FLOW, Buffer.from(JSON.stringify(FLOW))), frameOf(KIND_CHUNK, encodeChunk([call('connect', 0, 10), call('send', 5, 20)]))]);
  const log = new PassThrough();
  const calls: CallRecord[] = [];
  const flows: SocketFlow[] = [];
  const done = readCallLog(log, (c) => calls.push(...c), (f) => flows.push(f));
  for (let i = 0; i < bytes.length; i += 7) log.write(bytes.subarray(i, i + 7));
  log.end();
  await done;
  assert.deepEqual(flows, [FLOW]);
  assert.deepEqual(calls.map((c) => [c.op, c.bytes]), [['connect', 0], ['send', 5]]);
});

test('a corrupt call log is an error that says what is wrong', async () => {
  const bad = (bytes: Buffer): Promise<void> => {
    const log = new PassThrough();
    const p = readCallLog(log, () => undefined, () => undefined);
    log.end(bytes);
    return p;
  };
  await assert.rejects(bad(frameOf(9, Buffer.alloc(3))), /call log is corrupt: frame kind 9/);
  await assert.rejects(bad(frameOf(KIND_CHUNK, Buffer.from('not a chunk at all'))), /call log is corrupt/);
  await assert.rejects(bad(Buffer.from([KIND_CHUNK, 0xff, 0xff, 0xff, 0xff])), /a frame of 4294967295 bytes/);
  await assert.rejects(bad(frameOf(KIND_FLOW, Buffer.from('{}')).subarray(0, 6)), /ended inside a frame/);
});

test('sends link the frames that carried their bytes; connect links its handshake; receives link what they got', async () => {
  const published: TraceRecord[] = [];
  const frames = new FrameLog({ enabled: true, publish: (r) => published.push(r) });
  // Times in ns. SYN (out), SYN-ACK (in), ACK (out) during connect; 3000 bytes in frames of 1448, 1448 and
  // 104 after the sends returned, with an ACK between; an echo of 2 bytes.
  const ms = 1e6;
  [frame(1, 0, 90_100, true), frame(2, 0, 90_500, false), frame(3, 0, 90_900, true), frame(4, 1448, 5 * ms, true), frame(5, 1448, 5 * ms + 1, true),
    frame(6, 0, 5 * ms + 2, false), frame(7, 104, 6 * ms, true), frame(8, 2, 7 * ms, false)].forEach((f) => frames.publish(f));
  const sink: TraceRecord[] = [];
  const intake = new CallIntake({ enabled: true, publish: (r) => sink.push(r) }, frames);
  const log = new PassThrough();
  const done = intake.read(log);
  log.write(frameOf(KIND_FLOW, Buffer.from(JSON.stringify(FLOW))));
  log.end(frameOf(KIND_CHUNK, encodeChunk([call('connect', 0, 90_000), call('send', 2000, 4.9 * ms), call('send', 1000, 4.95 * ms), call('recv', 2, 7 * ms)])));
  await done;
  const links = (sink as CallRecord[]).map((c) => [c.op, c.frames ?? []]);
  assert.deepEqual(JSON.stringify(links), JSON.stringify([['connect', [1, 2, 3]], ['send', [4, 5]], ['send', [7]], ['recv', [8]]]));
  assert.equal(published.length, 8);
});

test('a frame queue stays bounded and keeps byte offsets right when it forgets frames', () => {
  const q = new FrameQueue();
  for (let i = 0; i < 10; i++) q.push(frame(i, 100, i, true), 4);
  assert.ok(q.frames.length <= 4);
  const out: number[] = [];
  q.takeBytes(1000, out);
  // The forgotten frames' bytes count as passed: the next take starts at the frames still kept.
  assert.equal(q.taken, 1000);
  assert.ok(out.length === q.frames.length && out.every((s) => s >= 6));
});

test('a receive lasts from when the first frame with its bytes entered the device model to its delivery', async () => {
  const frames = new FrameLog({ enabled: true, publish: () => undefined });
  const ms = 1e6;
  // 3000 bytes in two frames, read as 1000 then 2000: the second read's first bytes came in frame 10.
  // Frame 12 seems to enter after its receive was delivered (a miscount): the receive must not end before it starts.
  [frame(10, 1448, 10 * ms, false), frame(11, 1552, 10.1 * ms, false), frame(12, 5, 14 * ms, false)].forEach((f) => frames.publish(f));
  const sink: CallRecord[] = [];
  const intake = new CallIntake({ enabled: true, publish: (r) => sink.push(r as CallRecord) }, frames);
  const log = new PassThrough();
  const done = intake.read(log);
  const at = (op: CallRecord['op'], bytes: number, t: number): CallRecord => ({ ...call(op, bytes, t), stages: [{ name: 'kernel', start: t, end: t }] });
  log.write(frameOf(KIND_FLOW, Buffer.from(JSON.stringify(FLOW))));
  // The last receive's frames never came (not traced): it keeps its delivery time as start.
  log.end(frameOf(KIND_CHUNK, encodeChunk([at('recv', 1000, 11 * ms), at('recv', 2000, 12 * ms), at('recv', 5, 13 * ms), at('recv', 7, 15 * ms)])));
  await done;
  assert.deepEqual(sink.map((c) => [c.frames ?? [], c.stages]), [
    [[10], [{ name: 'kernel', start: 10 * ms, end: 11 * ms }]],
    [[11], [{ name: 'kernel', start: 10 * ms, end: 12 * ms }]],
    [[12], [{ name: 'kernel', start: 13 * ms, end: 13 * ms }]],
    [[], [{ name: 'kernel', start: 15 * ms, end: 15 * ms }]],
  ]);
});

test('a frame queue names the frame of a call\'s first byte, and none when that frame was forgotten', () => {
  const q = new FrameQueue();
  q.push(frame(1, 10, 5000, false), 100);
  assert.equal(q.takeBytes(10, [])?.seq, 1);
  // Forgotten frames: which one held the next bytes is unknown.
  const f = new FrameQueue();
  for (let i = 0; i < 10; i++) f.push(frame(i, 100, i, false), 4);
  assert.equal(f.takeBytes(50, []), null);
});

test('a send waits for the frames that carry its bytes, however late they come; frames after its wait are counted late', async () => {
  const ms = 1e6;
  const published: TraceRecord[] = [];
  const frames = new FrameLog({ enabled: true, publish: (r) => published.push(r) });
  const sink: CallRecord[] = [];
  const intake = new CallIntake({ enabled: true, publish: (r) => sink.push(r as CallRecord) }, frames);
  const log = new PassThrough();
  const done = intake.read(log);
  log.write(frameOf(KIND_FLOW, Buffer.from(JSON.stringify(FLOW))));
  log.end(frameOf(KIND_CHUNK, encodeChunk([call('send', 3000, 1 * ms)])));
  // The frames enter 300 ms after the call log arrived: twice the old fixed wait of 150 ms.
  await new Promise((r) => setTimeout(r, 300));
  [frame(1, 1448, 300 * ms, true), frame(2, 1552, 301 * ms, true)].forEach((f) => frames.publish(f));
  await done;
  assert.deepEqual(sink[0]!.frames, [1, 2]);
  assert.ok(intake.stats.maxWaitMs >= 290, `waited ${intake.stats.maxWaitMs} ms`);
  assert.equal(intake.stats.chunksCutShort, 0);
  assert.equal(intake.stats.maxSendToFrameNs, 301 * ms - (1 * ms + 1000));

  // A frame of bytes whose call was already linked is late: counted, and linked to no later call.
  const q = new FrameQueue();
  q.push(frame(1, 100, 10, true), 100);
  const first: number[] = [];
  q.takeBytes(200, first);
  q.push(frame(2, 100, 20, true), 100);
  q.push(frame(3, 50, 30, true), 100);
  const second: number[] = [];
  q.takeBytes(250, second);
  assert.deepEqual([first, second, q.late], [[1], [3], 1]);
});

test('a dropped TCP frame is linked to its send but its bytes count once, in the retransmission', () => {
  const q = new FrameQueue();
  q.push({ ...frame(1, 1000, 10, true), dropped: 'queue-full' }, 100);
  q.push(frame(2, 1000, 20, true), 100);
  q.push(frame(3, 1000, 30, true), 100);
  assert.equal(q.arrived, 2000);
  const out: number[] = [];
  q.takeBytes(1000, out);
  assert.deepEqual(out, [1, 2]);
  const next: number[] = [];
  q.takeBytes(2000, next);
  assert.deepEqual(next, [3]);
});

test('connect and close take their flow\'s SYNs and FINs whenever they came', async () => {
  const ms = 1e6;
  const frames = new FrameLog({ enabled: true, publish: () => undefined });
  const signal = (seq: number, tIn: number, out: boolean, content: 'handshake' | 'teardown' | 'ack'): FrameRecord => ({ ...frame(seq, 0, tIn, out), content });
  [signal(1, 1 * ms, true, 'handshake'), signal(2, 50 * ms, false, 'handshake'), signal(3, 51 * ms, true, 'ack'),
    signal(4, 100 * ms, true, 'teardown'), signal(5, 180 * ms, false, 'teardown'), signal(6, 181 * ms, true, 'ack')].forEach((f) => frames.publish(f));
  const sink: CallRecord[] = [];
  const intake = new CallIntake({ enabled: true, publish: (r) => sink.push(r as CallRecord) }, frames);
  const log = new PassThrough();
  const done = intake.read(log);
  const span = (op: CallRecord['op'], start: number, end: number): CallRecord => ({ ...call(op, 0, start), stages: [{ name: 'kernel', start, end }] });
  log.write(frameOf(KIND_FLOW, Buffer.from(JSON.stringify(FLOW))));
  log.end(frameOf(KIND_CHUNK, encodeChunk([span('connect', 0.5 * ms, 51 * ms), span('close', 99 * ms, 100 * ms)])));
  await done;
  // The peer's FIN came 80 ms after the close returned, the last ACK after that: not in the close's window.
  assert.deepEqual(sink.map((c) => c.frames), [[1, 2, 3], [4, 5]]);
});

/** Frames of the outgoing direction, placed by TCP sequence number: a SYN at `isn`, then data at `isn + 1 + offset`. */
function numbered(isn: number, frames: Array<[seq: number, offset: number, payload: number, dropped?: boolean]>): FrameQueue {
  const q = new FrameQueue();
  q.push({ ...frame(0, 0, 0, true), content: 'handshake' }, 1000, isn);
  for (const [seq, offset, payload, dropped] of frames) {
    const f = { ...frame(seq, payload, seq, true), content: 'data' as const };
    q.push(dropped ? { ...f, dropped: 'queue-full' } : f, 1000, (isn + 1 + offset) % 2 ** 32);
  }
  return q;
}

test('a retransmission goes with the bytes it repeats, and later frames keep their calls (a tail loss probe on virtio)', () => {
  // Seen on a virtio stream run: 15,040 bytes, then their last 560 sent again, then the next send's bytes.
  // Counted one after another, the 560 bytes shifted every later frame onto the next call.
  const q = numbered(7, [[1, 0, 1500], [2, 1500, 500], [3, 1800, 200], [4, 2000, 1000], [5, 3000, 376]]);
  assert.equal(q.arrived, 3376);
  const calls = [2000, 3000, 3376].map((upTo) => {
    const out: number[] = [];
    q.takeBytes(upTo, out);
    return out;
  });
  assert.deepEqual(calls, [[1, 2, 3], [4], [5]]);
  assert.equal(q.late, 0);
});

test('a frame carrying two calls\' bytes is the call\'s whose bytes it starts with, and says when the second call\'s bytes entered', () => {
  const q = numbered(100, [[1, 0, 1448], [2, 1448, 1448], [3, 2896, 104]]);
  const first: number[] = [];
  q.takeBytes(2000, first);
  const second: number[] = [];
  assert.equal(q.takeBytes(3000, second)?.seq, 2);
  assert.deepEqual([first, second], [[1, 2], [3]]);
  assert.equal(q.last?.seq, 3);
});

test('a dropped frame resent after later ones is its call\'s, which waits for the resend; sequence numbers wrap', () => {
  const isn = 2 ** 32 - 600;
  const q = numbered(isn, [[1, 0, 1000, true], [2, 1000, 1000], [3, 2000, 500]]);
  assert.equal(q.arrived, 0, 'nothing contiguous before the resend');
  q.push({ ...frame(4, 1000, 4, true), content: 'data' }, 1000, (isn + 1) % 2 ** 32);
  assert.equal(q.arrived, 2500);
  const a: number[] = [];
  assert.equal(q.takeBytes(1000, a)?.seq, 4, 'its bytes entered with the resend');
  const b: number[] = [];
  q.takeBytes(2500, b);
  assert.deepEqual([a, b], [[1, 4], [2, 3]]);
});

test('a retransmission of bytes whose call was linked already is late, never another call\'s', () => {
  const q = numbered(1, [[1, 0, 1000]]);
  const a: number[] = [];
  q.takeBytes(1000, a);
  q.push({ ...frame(2, 500, 2, true), content: 'data' }, 1000, 1 + 1 + 500);
  q.push({ ...frame(3, 800, 3, true), content: 'data' }, 1000, 1 + 1 + 1000);
  const b: number[] = [];
  q.takeBytes(1800, b);
  assert.deepEqual([a, b, q.late, q.arrived], [[1], [3], 1, 1800]);
});
