// Synthetic traces for the viewer's tests and benchmark: calls on the emulated, delegated and direct
// paths with realistic stage shapes (delegated: seven contiguous stages; emulated and direct: one kernel
// stage; emulated sends cause frames), deterministic for a seed. Pure code: runs in Node and in the page.

import type { CallRecord, FrameRecord, Op, Path, StageName, TraceRecord } from '../../protocol/trace';

export interface SyntheticOptions {
  calls: number;
  paths?: Path[];
  guestsPerPath?: number;
  socketsPerGuest?: number;
  /** Overall calls per second: sets the trace's span. */
  callsPerSecond?: number;
  seed?: number;
  /** Host ns of the first call. */
  startNs?: number;
  /** seq of the first record. */
  firstSeq?: number;
}

/** A small deterministic PRNG (mulberry32), so a failing test reproduces. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Median latency per path in ns: the delegated path is the fastest of the two guest paths here. */
const BASE_NS: Record<Path, number> = { direct: 8_000, delegated: 30_000, emulated: 60_000 };
const DELEGATED_SHARES: [StageName, number][] = [['guest', 0.06], ['channel-out', 0.2], ['host-queue', 0.05], ['execute', 0.35], ['reply-out', 0.05], ['channel-in', 0.2], ['guest-return', 0.09]];

/** Generates records in batches of `batch` (records that a chunk holds), calling `emit` for each batch. */
export function generateTrace(opts: SyntheticOptions, batch: number, emit: (records: TraceRecord[]) => void): void {
  const paths = opts.paths ?? ['emulated', 'delegated', 'direct'];
  const guestsPerPath = opts.guestsPerPath ?? 2;
  const socketsPerGuest = opts.socketsPerGuest ?? 4;
  const rate = opts.callsPerSecond ?? 100_000;
  const rnd = prng(opts.seed ?? 1);
  const tracks = paths.flatMap((path) => Array.from({ length: guestsPerPath * socketsPerGuest }, (_, i) => ({
    path,
    guest: `${path === 'direct' ? 'host' : path === 'delegated' ? 'guest-d' : 'guest-e'}${Math.floor(i / socketsPerGuest) + 1}`,
    socket: 3 + (i % socketsPerGuest),
    cursor: (opts.startNs ?? 1_000_000_000) + Math.floor(rnd() * 1000),
  })));
  // each track runs its calls back to back with gaps; the mean gap gives the requested overall rate
  const perTrackInterval = (tracks.length * 1e9) / rate;
  let seq = opts.firstSeq ?? 1;
  let out: TraceRecord[] = [];
  for (let i = 0; i < opts.calls; i++) {
    const t = tracks[i % tracks.length]!;
    const r = rnd();
    const op: Op = r < 0.45 ? 'send' : r < 0.9 ? 'recv' : r < 0.95 ? 'connect' : 'close';
    // long-tailed latencies: mostly near the base, a few tens of times longer
    const dur = Math.max(200, Math.round(BASE_NS[t.path] * (0.5 + rnd()) * (rnd() < 0.02 ? 10 + rnd() * 30 : 1)));
    const start = t.cursor;
    const end = start + dur;
    t.cursor = start + Math.max(dur + 100, Math.round(perTrackInterval * (0.5 + rnd())));
    const bytes = op === 'send' || op === 'recv' ? 64 + Math.floor(rnd() * 16_384) : 0;
    const result = rnd() < 0.01 ? (op === 'recv' ? 'EAGAIN' : 'ECONNRESET') : 'ok';
    const call: CallRecord = { kind: 'call', seq: 0, run: 'synthetic', guest: t.guest, path: t.path, socket: t.socket, op, bytes, result, stages: [] };
    if (t.path === 'delegated') {
      let at = start;
      DELEGATED_SHARES.forEach(([name, share], j) => {
        const e = j === DELEGATED_SHARES.length - 1 ? end : Math.min(end, at + Math.round(dur * share));
        call.stages.push({ name, start: at, end: e });
        at = e;
      });
    } else call.stages.push({ name: 'kernel', start, end });
    if (t.path === 'emulated' && op === 'send') {
      const frames: number[] = [];
      const nf = 1 + Math.floor(bytes / 8000);
      for (let k = 0; k < nf; k++) {
        const tIn = start + Math.round((dur * (k + 1)) / (nf + 2));
        const f: FrameRecord = { kind: 'frame', seq: seq++, run: 'synthetic', guest: t.guest, direction: 'guest-to-host', length: Math.min(1514, 54 + bytes), payload: Math.min(1460, bytes), flow: null, tIn, tOut: tIn + 3000 + Math.floor(rnd() * 4000) };
        out.push(f);
        frames.push(f.seq);
      }
      call.frames = frames;
    }
    call.seq = seq++;
    out.push(call);
    if (out.length >= batch) {
      emit(out);
      out = [];
    }
  }
  if (out.length) emit(out);
}

/** All records at once (small traces only). */
export function syntheticRecords(opts: SyntheticOptions): TraceRecord[] {
  const all: TraceRecord[] = [];
  generateTrace(opts, 4096, (r) => all.push(...r));
  return all;
}
