// Measures the .lstrace codec on 1,000,000 typical delegated calls (7 stages): bytes per call, encode time,
// and decode time three ways: the viewer's flyweight visitor, the streaming reader and decodeChunk objects.
// Usage: npx tsx scripts/bench-lstrace.ts [--calls N] [--json]   (or npm run bench:lstrace)
import { DEFAULT_RECORDS_PER_CHUNK, encodeChunk, encodeFileHeader, LstraceReader, visitLstrace } from '../protocol/lstrace';
import type { CallRecord, StageName } from '../protocol/trace';
import { concatBytes } from '../protocol/bytes';
import { median } from './measure';

const args = process.argv.slice(2);
const calls = Number(args[args.indexOf('--calls') + 1]) || 1_000_000;
const json = args.includes('--json');

const STAGE_NAMES: StageName[] = ['guest', 'channel-out', 'host-queue', 'execute', 'reply-out', 'channel-in', 'guest-return'];
// Stage durations as measured on the prototype: a few µs each, execute longer for bulk sends.
const TYPICAL_NS = [1_500, 9_000, 2_500, 14_000, 1_200, 9_500, 2_000];

let seed = 12345;
const rand = (): number => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 2 ** 32;
};

let clock = 3_600_000_000_000; // an hour of uptime, in ns
function makeCalls(n: number, first: number): CallRecord[] {
  const out: CallRecord[] = new Array(n);
  if (first === 0) clock = 3_600_000_000_000;
  let t = clock;
  const guests = ['guest-a', 'guest-b'];
  for (let i = 0; i < n; i++) {
    const stages = new Array(7);
    let s = t;
    for (let k = 0; k < 7; k++) {
      const d = Math.round((TYPICAL_NS[k] as number) * (0.5 + rand()));
      stages[k] = { name: STAGE_NAMES[k], start: s, end: s + d };
      s += d;
    }
    const send = rand() < 0.7;
    out[i] = {
      kind: 'call', seq: first + i + 1, run: 'run-1', guest: guests[i & 1] as string, path: 'delegated', socket: 3 + (i % 4),
      op: send ? 'send' : 'recv', bytes: send ? 65536 : Math.round(rand() * 65536), result: rand() < 0.001 ? 'ECONNRESET' : 'ok', stages,
    };
    t += Math.round(5_000 + rand() * 40_000);
  }
  clock = t;
  return out;
}

const encodeMs: number[] = [];
const visitMs: number[] = [];
const readerMs: number[] = [];
let file: Uint8Array = new Uint8Array(0);
for (let round = 0; round < 3; round++) {
  // As the daemon does: records are built, encoded in chunks of 4096 and dropped; only encoding is timed.
  seed = 12345;
  const chunks: Uint8Array[] = [encodeFileHeader()];
  let ms = 0;
  for (let i = 0; i < calls; i += DEFAULT_RECORDS_PER_CHUNK) {
    const batch = makeCalls(Math.min(DEFAULT_RECORDS_PER_CHUNK, calls - i), i);
    const t0 = performance.now();
    chunks.push(encodeChunk(batch));
    ms += performance.now() - t0;
  }
  encodeMs.push(ms);
  file = concatBytes(chunks);
}

for (let round = 0; round < 3; round++) {
  // What the viewer does: copy each call into columns of typed arrays.
  const seqs = new Float64Array(calls);
  const starts = new Float64Array(calls);
  const ends = new Float64Array(calls);
  const ops = new Uint8Array(calls);
  let n = 0;
  const t0 = performance.now();
  const error = visitLstrace(file, {
    call(c) {
      seqs[n] = c.seq;
      starts[n] = c.stageStarts[0] as number;
      ends[n] = c.stageEnds[c.stageCount - 1] as number;
      ops[n++] = c.op;
    },
  });
  visitMs.push(performance.now() - t0);
  if (error || n !== calls) throw new Error(`visit failed: ${error?.message ?? `${n} calls`}`);
}
for (let round = 0; round < 3; round++) {
  const t0 = performance.now();
  const reader = new LstraceReader();
  let got = 0;
  for (let i = 0; i < file.length; i += 64 * 1024) got += reader.push(file.subarray(i, i + 64 * 1024)).records.length;
  if (reader.end() || got !== calls) throw new Error('reader failed');
  readerMs.push(performance.now() - t0);
}

const result = {
  calls,
  bytes: file.length,
  bytes_per_call: +(file.length / calls).toFixed(2),
  encode_ms: +median(encodeMs).toFixed(1),
  visit_ms: +median(visitMs).toFixed(1),
  reader_objects_ms: +median(readerMs).toFixed(1),
};
if (json) console.log(JSON.stringify(result));
else {
  console.log(`.lstrace, ${calls} delegated calls of 7 stages (medians of 3):`);
  console.log(`  size          ${result.bytes} bytes = ${result.bytes_per_call} bytes/call`);
  console.log(`  encode        ${result.encode_ms} ms`);
  console.log(`  visit (view)  ${result.visit_ms} ms`);
  console.log(`  reader (objs) ${result.reader_objects_ms} ms`);
}
