// Trace truth for the emulated path's frames and the run's metadata, on real runs (root: namespaces and
// TAPs): stream and rr in both NIC modes, each through the bench runner into a collecting sink.
//   - every frame the device model handled is a record: as many records as its own counters say;
//   - each record is linked to a call, or marked ACK-only, or dropped with its cause (or, without a TCP/UDP
//     header — ARP — marked `other`): nothing unaccounted;
//   - each frame has its own arrival time, taken at its own read: no two frames from one side share one,
//     and no frame linked to a send, connect or close entered before that call began, not by 1 ns (the
//     call's clock reading comes before the kernel queues the frame, which comes before its read);
//   - each data frame linked to a send or receive starts inside that call's bytes, by its TCP sequence
//     number (the device model hands it to the sink beside the record): a retransmission goes with the
//     bytes it repeats, a frame holding the ends of two calls with the first;
//   - the linking waited long enough: no chunk of calls cut short, no frame late;
//   - RunInfo states each path's MTU (loopback for direct and delegated, the TAP's for emulated) and the
//     daemon's busy-poll window.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FRAME_DROP_CAUSES, invalidRecord, type CallRecord, type FrameRecord, type RunInfo, type TraceRecord } from '../../protocol';
import { runBenchDetailed } from '../../lab/bench/run-bench';
import { framesHandled } from '../../lab/device-model/device-model';
import { CollectingSink } from '../fixtures/collecting-sink';

const BUSY_POLL_US = 150;

/** Keeps the TCP sequence number the device model gives with each frame, by the frame's seq. */
class SequencedSink extends CollectingSink {
  readonly tcpSeq = new Map<number, number>();
  override publish(r: TraceRecord, tcpSeq?: number): void {
    super.publish(r);
    if (r.kind === 'frame' && tcpSeq !== undefined) this.tcpSeq.set(r.seq, tcpSeq);
  }
}

/**
 * Data frames linked to a send or receive whose first byte lies outside that call's bytes, as text. Each
 * socket's calls are in order; a direction's byte 0 follows its SYN (the `handshake` frame it sent).
 */
function linkedOutsideTheirBytes(calls: readonly CallRecord[], frames: ReadonlyMap<number, FrameRecord>, tcpSeq: ReadonlyMap<number, number>): string[] {
  const flowKey = (f: FrameRecord): string => JSON.stringify(f.flow);
  const byteZero = new Map<string, number>();
  for (const f of frames.values()) {
    const s = tcpSeq.get(f.seq);
    if (f.content === 'handshake' && s !== undefined && !byteZero.has(flowKey(f))) byteZero.set(flowKey(f), (s + 1) % 2 ** 32);
  }
  const offsets = new Map<string, number>(); // socket and direction -> bytes of its calls so far
  const wrong: string[] = [];
  for (const c of calls) {
    const dir = c.op === 'send' ? 'out' : c.op === 'recv' ? 'in' : null;
    if (!dir) continue;
    const key = `${c.socket} ${dir}`;
    const from = offsets.get(key) ?? 0;
    offsets.set(key, from + c.bytes);
    for (const seq of c.frames ?? []) {
      const f = frames.get(seq)!;
      const s = tcpSeq.get(seq);
      const zero = byteZero.get(flowKey(f));
      if (f.payload === 0 || s === undefined || zero === undefined) continue;
      const at = (s - zero + 2 ** 32) % 2 ** 32;
      if (at < from || at >= from + c.bytes) wrong.push(`${c.op} ${c.seq} [${from}, ${from + c.bytes}): frame ${seq} starts at ${at}`);
    }
  }
  return wrong;
}

/** TCP data frames that came after a frame further on in their direction's stream: retransmissions. */
function retransmitted(frames: readonly FrameRecord[], tcpSeq: ReadonlyMap<number, number>): number {
  const furthest = new Map<string, number>(); // flow -> furthest end, relative to its first data frame
  const base = new Map<string, number>();
  let n = 0;
  for (const f of [...frames].sort((x, y) => x.tIn - y.tIn)) {
    const s = tcpSeq.get(f.seq);
    if (f.payload === 0 || s === undefined) continue;
    const key = JSON.stringify(f.flow);
    if (!base.has(key)) base.set(key, s);
    const at = (s - base.get(key)! + 2 ** 32) % 2 ** 32;
    if (at < (furthest.get(key) ?? 0)) n++;
    furthest.set(key, Math.max(furthest.get(key) ?? 0, at + f.payload));
  }
  return n;
}

const loopbackMtu = Number(readFileSync('/sys/class/net/lo/mtu', 'utf8').trim());
const pct = (n: number, of: number): number => Math.round((1000 * n) / Math.max(1, of)) / 10;

for (const mode of ['e1000', 'virtio'] as const) {
  for (const workload of ['stream', 'rr'] as const) {
    test(`${workload} on ${mode}: every frame recorded with its own time and accounted for; run metadata true per path`, { timeout: 120_000 }, async (t) => {
      const sink = new SequencedSink();
      const runId = `inv-${workload}-${mode}-${process.pid}`;
      const outcome = await runBenchDetailed(
        { workload, paths: ['direct', 'delegated', 'emulated'], seconds: workload === 'stream' ? 0.5 : 0.4, mode, trace: true, busyPollUs: BUSY_POLL_US },
        { sink, runId },
      );
      assert.ok(outcome.results.every((r) => r.verified), JSON.stringify(outcome.report));
      const device = outcome.emulatedFrames;
      assert.ok(device, 'the emulated path ran with a sink');

      // Run metadata.
      const run = sink.records.find((r): r is RunInfo => r.kind === 'run');
      assert.ok(run);
      assert.equal(invalidRecord(run), null);
      assert.deepEqual(run.host.pathMtu, { direct: loopbackMtu, delegated: loopbackMtu, emulated: 1500 });
      assert.equal(run.host.mode, mode);
      assert.equal(run.params.busyPollUs, BUSY_POLL_US);

      // Every frame the device model handled is recorded.
      const frames = sink.records.filter((r): r is FrameRecord => r.kind === 'frame');
      assert.equal(frames.length, framesHandled(device.counters), `records ${frames.length}, device model ${JSON.stringify(device.counters)}`);
      for (const f of frames) assert.equal(invalidRecord(f), null);
      assert.ok(frames.every((f) => f.run === runId && f.content !== undefined), 'every frame says what it carried');

      // Dropped ones with their cause, as many as the device model dropped.
      const c = device.counters;
      const dropped = frames.filter((f) => f.dropped !== undefined);
      assert.ok(dropped.every((f) => FRAME_DROP_CAUSES.includes(f.dropped!)));
      assert.equal(dropped.length, c.garbage + c.queueDrops + c.refusedDrops + c.hairpinDrops + c.noPortDrops);

      // Linked, ACK-only, dropped, or without a flow; nothing else.
      const calls = sink.records.filter((r): r is CallRecord => r.kind === 'call' && r.path === 'emulated');
      const linkedTo = new Map<number, CallRecord>();
      for (const call of calls) for (const seq of call.frames ?? []) {
        assert.ok(!linkedTo.has(seq), `frame ${seq} is linked to two calls`);
        linkedTo.set(seq, call);
      }
      const acks = frames.filter((f) => f.content === 'ack');
      assert.ok(acks.every((f) => f.payload === 0 && f.flow?.protocol === 'tcp'), 'ACK-only frames carry no payload');
      const unaccounted = frames.filter((f) => !linkedTo.has(f.seq) && f.content !== 'ack' && f.dropped === undefined && !(f.content === 'other' && f.flow === null));
      assert.deepEqual(unaccounted.map((f) => `${f.seq} ${f.direction} ${f.content} ${f.payload} B at ${f.tIn}`), [], 'frames neither linked, ACK-only, dropped nor flowless');
      assert.ok(acks.length > 0, 'a TCP run has pure ACKs, and they are marked');
      const sends = calls.filter((x) => x.op === 'send');
      assert.ok(sends.length > 0 && sends.every((x) => x.frames?.length), 'every send links its frames');

      // Each frame its own time: frames read from one TAP never share a reading.
      for (const dir of ['guest-to-host', 'host-to-guest'] as const) {
        const times = frames.filter((f) => f.direction === dir).map((f) => f.tIn);
        assert.equal(new Set(times).size, times.length, `${dir}: ${times.length - new Set(times).size} frames share an arrival time with another`);
      }
      // ...each data frame is linked to the call whose bytes it starts with...
      const bySeq = new Map(frames.map((f) => [f.seq, f]));
      assert.ok(frames.filter((f) => f.flow?.protocol === 'tcp').every((f) => sink.tcpSeq.has(f.seq)), 'every TCP frame came with its sequence number');
      const misplaced = linkedOutsideTheirBytes(calls, bySeq, sink.tcpSeq);
      assert.deepEqual(misplaced.slice(0, 10), [], `${misplaced.length} frames linked to a call whose bytes they do not start in`);
      // ...and no linked frame entered before the send, connect or close it belongs to.
      const early: string[] = [];
      for (const [seq, call] of linkedTo) {
        if (call.op === 'recv' || call.op === 'recvfrom') continue; // its start is its first frame's tIn
        const lead = call.stages[0]!.start - bySeq.get(seq)!.tIn;
        if (lead > 0) early.push(`${call.op} ${call.seq}: frame ${seq} ${(lead / 1e3).toFixed(1)} us before`);
      }
      assert.deepEqual(early.slice(0, 10), [], `${early.length} linked frames entered before their call`);

      // The wait was long enough: nothing cut short, nothing late.
      assert.equal(device.linking.chunksCutShort, 0);
      assert.equal(device.lateFrames(), 0);

      const tcp = frames.filter((f) => f.flow?.protocol === 'tcp');
      t.diagnostic(JSON.stringify({
        mode, workload, frames: frames.length, tcp: tcp.length, linked: linkedTo.size, ack_only: acks.length, ack_only_pct: pct(acks.length, tcp.length),
        ack_only_linked: acks.filter((f) => linkedTo.has(f.seq)).length, retransmitted: retransmitted(frames, sink.tcpSeq), other: frames.filter((f) => f.content === 'other').length, dropped: dropped.length,
        max_wait_ms: device.linking.maxWaitMs, max_send_to_frame_ms: Math.round(device.linking.maxSendToFrameNs / 1e4) / 100,
      }));
    });
  }
}
