import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ERRNO_NAMES } from './errno';
import {
  CHUNK_HEADER_BYTES, CallView, ChunkWriter, decodeChunk, encodeChunk, encodeFile, encodeFileHeader, FILE_HEADER_BYTES, isLstrace,
  LstraceReader, TraceFileError, visitChunk, visitLstrace,
} from './lstrace';
import { crc32 } from './crc32';
import {
  FRAME_CONTENTS, FRAME_DIRECTIONS, FRAME_DROP_CAUSES, invalidRecord, OPS, PATHS, STAGES,
  type CallRecord, type FrameRecord, type RunInfo, type StageName, type TraceRecord,
} from './trace';

// ---- arbitraries for every record kind (valid per invalidRecord) ----

const rec: typeof fc.record = ((model: never) => fc.record(model, { noNullPrototype: true })) as typeof fc.record;
const MAX = Number.MAX_SAFE_INTEGER;
const nat = fc.oneof(fc.constantFrom(0, 1, 127, 128, 2 ** 32, MAX), fc.nat(), fc.maxSafeNat());
const time = fc.oneof(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1e12, max: 1e12 + 1e9 }), fc.maxSafeNat());
const name = fc.oneof(fc.constantFrom('run-1', 'guest-a', 'guest-b', '', 'é😀'), fc.string({ maxLength: 40, unit: 'binary' }));
const stages = fc.tuple(
  fc.array(fc.constantFrom(...STAGES), { minLength: 1, maxLength: 8 }),
  time,
  fc.array(fc.tuple(fc.nat({ max: 100_000 }), fc.nat({ max: 100_000 }), fc.boolean()), { minLength: 8, maxLength: 8 }),
  fc.boolean(),
).map(([names, t0, steps, canonical]) => {
  const list: StageName[] = canonical ? STAGES.filter((s) => names.includes(s)) : names;
  let t = Math.min(t0, MAX - 2_000_000);
  return list.map((n, i) => {
    const [gap, dur, contiguous] = steps[i] as [number, number, boolean];
    const start = i === 0 ? t : t + (contiguous ? 0 : gap);
    const end = start + dur;
    t = Math.max(start, end - (contiguous ? 0 : gap)); // next start may precede this end (overlap) but not this start
    return { name: n, start, end };
  });
});
/** The optional truth of a record (trace.ts): stage flags on canonical stage lists, and call facts. */
const truth = fc.record({
  flags: fc.array(fc.constantFrom('unmeasured', 'shared', 'none'), { minLength: 8, maxLength: 8 }),
  calls: fc.option(nat, { nil: undefined }),
  waitedNs: fc.option(nat, { nil: undefined }),
  clockShiftNs: fc.option(fc.oneof(fc.integer({ min: -1e9, max: 1e9 }), fc.constantFrom(-MAX, MAX)), { nil: undefined }),
  disorderNs: fc.option(nat, { nil: undefined }),
}, { noNullPrototype: true });
type Truth = typeof truth extends fc.Arbitrary<infer U> ? U : never;
function withTruth(c: CallRecord, t: Truth): CallRecord {
  const canonical = c.stages.every((s, i) => i === 0 || STAGES.indexOf(s.name) > STAGES.indexOf((c.stages[i - 1] as { name: StageName }).name));
  const out: CallRecord = { ...c };
  if (canonical) {
    out.stages = c.stages.map((s, i) => {
      const f = t.flags[i];
      if (f === 'unmeasured') return { ...s, end: s.start, unmeasured: true as const };
      if (f === 'shared') return { ...s, shared: true as const };
      return s;
    });
  }
  for (const k of ['calls', 'waitedNs', 'clockShiftNs', 'disorderNs'] as const) if (t[k] !== undefined) out[k] = t[k];
  return out;
}
const call: fc.Arbitrary<CallRecord> = fc.tuple(
  rec({
    kind: fc.constant('call' as const), seq: nat, run: name, guest: name, path: fc.constantFrom(...PATHS), socket: nat,
    op: fc.constantFrom(...OPS), bytes: nat, result: fc.oneof(fc.constant('ok' as const), fc.constantFrom(...ERRNO_NAMES)), stages,
  }),
  fc.option(fc.array(nat, { maxLength: 6 }), { nil: undefined }),
).chain((c) => fc.tuple(fc.constant(c), truth))
  .map(([[c, frames], t]) => withTruth(frames === undefined ? c : { ...c, frames }, t));
const flow = fc.option(rec({
  protocol: fc.constantFrom('tcp' as const, 'udp' as const), src: fc.constantFrom('10.0.0.2', 'fd00::2', ''), srcPort: fc.nat({ max: 65535 }),
  dst: fc.string({ maxLength: 64 }), dstPort: fc.nat({ max: 65535 }),
}), { nil: null });
const frame: fc.Arbitrary<FrameRecord> = fc.tuple(
  rec({ kind: fc.constant('frame' as const), seq: nat, run: name, guest: name, direction: fc.constantFrom(...FRAME_DIRECTIONS), length: nat, payload: nat, flow, tIn: time }),
  fc.nat({ max: 1e9 }),
  fc.option(fc.constantFrom(...FRAME_CONTENTS), { nil: undefined }),
  fc.option(fc.constantFrom(...FRAME_DROP_CAUSES), { nil: undefined }),
).map(([f, d, content, dropped]) => ({
  ...f, tOut: Math.min(MAX, f.tIn + d), ...(content === undefined ? {} : { content }), ...(dropped === undefined ? {} : { dropped }),
}));
const anyNumber = fc.oneof(fc.double(), nat, fc.constantFrom(-0, NaN, -1, 0.5, Infinity));
const pathMtu = fc.option(fc.dictionary(fc.constantFrom(...PATHS), nat, { maxKeys: 3, noNullPrototype: true }), { nil: undefined });
const run: fc.Arbitrary<RunInfo> = fc.tuple(rec({
  kind: fc.constant('run' as const), id: name, workload: fc.constantFrom('stream', 'rr', 'crr'), paths: fc.array(fc.constantFrom(...PATHS), { maxLength: 4 }),
  params: fc.dictionary(fc.oneof(name, fc.constant('__proto__')), fc.oneof(name, anyNumber, fc.boolean()), { maxKeys: 5, noNullPrototype: true }),
  host: rec({ kernel: name, cpu: name, cpus: anyNumber, mtu: anyNumber, mode: fc.constantFrom(null, 'e1000' as const, 'virtio' as const), offloads: fc.array(name, { maxLength: 3 }) }),
  startedNs: nat, clockErrorNs: fc.dictionary(name, anyNumber, { maxKeys: 3, noNullPrototype: true }),
  offsets: fc.array(fc.oneof(fc.integer({ min: -1e12, max: 1e12 }), anyNumber), { maxLength: 3 }),
}), pathMtu).map(([{ offsets, ...r }, m]) => {
  const withMtu: RunInfo = m === undefined ? r : { ...r, host: { ...r.host, pathMtu: m } };
  // Clock offsets of some of the guests with an error bound (an offset needs one).
  const keys = Object.keys(r.clockErrorNs).slice(0, offsets.length);
  return keys.length === 0 ? withMtu : { ...withMtu, clockOffsetNs: Object.fromEntries(keys.map((k, i) => [k, offsets[i] as number])) };
});
const dropped = rec({ kind: fc.constant('dropped' as const), count: nat, atNs: nat });
const record: fc.Arbitrary<TraceRecord> = fc.oneof({ arbitrary: call, weight: 6 }, { arbitrary: frame, weight: 2 }, { arbitrary: run, weight: 1 }, { arbitrary: dropped, weight: 1 });

/** A typical delegated call: 7 contiguous stages of a few µs, consecutive seq. */
function typicalCall(i: number, t: number): CallRecord {
  const durations = [1_500, 9_000, 2_500, 14_000, 1_200, 9_500, 2_000].map((d, k) => d + ((i * 7919 + k * 104729) % d));
  let s = t;
  const st = durations.map((d, k) => {
    const stage = { name: STAGES[k] as StageName, start: s, end: s + d };
    s += d;
    return stage;
  });
  return { kind: 'call', seq: 1000 + i, run: 'run-1', guest: i % 2 ? 'guest-a' : 'guest-b', path: 'delegated', socket: 3 + (i % 4), op: i % 3 ? 'send' : 'recv', bytes: 65536 - (i % 1000), result: 'ok', stages: st };
}

// ---- round trips ----

test('decodeChunk(encodeChunk(records)) equals records, for every record kind', () => {
  fc.assert(fc.property(fc.array(record, { maxLength: 12 }), (rs) => {
    const r = decodeChunk(encodeChunk(rs));
    assert.equal(r.error, null);
    assert.deepEqual(r.records, rs);
    for (const x of r.records) assert.equal(invalidRecord(x), null);
  }), { numRuns: 3000 });
});

test('a file streamed in pieces split at any bytes reads back every record', () => {
  fc.assert(fc.property(fc.array(record, { maxLength: 20 }), fc.integer({ min: 1, max: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (rs, perChunk, cuts) => {
    const file = encodeFile(rs, perChunk);
    const reader = new LstraceReader();
    const got: TraceRecord[] = [];
    let prev = 0;
    for (const c of [...cuts.map((x) => x % (file.length + 1)).sort((a, b) => a - b), file.length]) {
      const r = reader.push(file.subarray(prev, c));
      assert.equal(r.error, null);
      got.push(...r.records);
      prev = c;
    }
    assert.equal(reader.end(), null);
    assert.deepEqual(got, rs);
  }), { numRuns: 1000 });
});

test('the flyweight CallView carries every field of the call', () => {
  fc.assert(fc.property(fc.array(call, { minLength: 1, maxLength: 5 }), (calls) => {
    const seen: CallRecord[] = [];
    assert.equal(visitChunk(encodeChunk(calls), {
      call(v: CallView) {
        assert.equal(v.run, calls[seen.length]?.run);
        assert.equal(PATHS[v.path], calls[seen.length]?.path);
        assert.equal(v.start, calls[seen.length]?.stages[0]?.start);
        seen.push(v.toRecord());
      },
    }), null);
    assert.deepEqual(seen, calls);
  }), { numRuns: 300 });
});

test('a typical delegated call (7 stages) takes at most 64 bytes on disk', () => {
  const calls: CallRecord[] = [];
  let t = 3_600_000_000_000;
  for (let i = 0; i < 4096; i++) {
    calls.push(typicalCall(i, t));
    t += 20_000 + ((i * 31337) % 30_000);
  }
  const file = encodeFile(calls);
  const perCall = (file.length - FILE_HEADER_BYTES) / calls.length;
  assert.ok(perCall <= 64, `${perCall} bytes per call`);
  assert.ok(perCall < 40, `${perCall} bytes per call: the varint/delta layout should keep it near 32`);
  assert.deepEqual(decodeChunk(file.subarray(FILE_HEADER_BYTES)).records, calls);
});

// ---- truncation and damage ----

function readAll(file: Uint8Array, split: number): { records: TraceRecord[]; error: TraceFileError | null } {
  const reader = new LstraceReader();
  const a = reader.push(file.subarray(0, split));
  const b = a.error ? { records: [], error: a.error } : reader.push(file.subarray(split));
  const c = a.error || b.error ? { records: [], error: null } : reader.finish();
  return { records: [...a.records, ...b.records, ...c.records], error: a.error ?? b.error ?? c.error };
}

test('a file cut at every offset yields exactly the whole records before the cut, and says what is missing', () => {
  const rs = fc.sample(record, { numRuns: 30, seed: 3 });
  const file = encodeFile(rs, 4);
  const boundaries = new Map<number, number>(); // chunk end offset -> records before it
  let off = FILE_HEADER_BYTES;
  for (let i = 0; i < rs.length; i += 4) {
    off += encodeChunk(rs.slice(i, i + 4)).length;
    boundaries.set(off, Math.min(rs.length, i + 4));
  }
  let prevCount = 0;
  for (let cut = 0; cut <= file.length; cut++) {
    const part = file.slice(0, cut);
    const r = readAll(part, cut >> 1);
    assert.deepEqual(r.records, rs.slice(0, r.records.length), `cut ${cut}`);
    assert.ok(r.records.length >= prevCount, `cut ${cut}: fewer records than a shorter cut`);
    prevCount = r.records.length;
    const atBoundary = boundaries.get(cut);
    if (cut === FILE_HEADER_BYTES || atBoundary !== undefined) {
      assert.equal(r.error, null, `cut ${cut}`);
      assert.equal(r.records.length, atBoundary ?? 0);
    } else {
      assert.ok(r.error instanceof TraceFileError, `cut ${cut}`);
      assert.match(r.error.message, /^(empty file|truncated file header|truncated chunk header|truncated chunk) at offset \d+: expected \d+ bytes, file ended after \d+$|^empty file/);
    }
    if (atBoundary !== undefined && cut > FILE_HEADER_BYTES) {
      // one byte short of a chunk end: every record of that chunk but its last is whole
      const short = readAll(file.slice(0, cut - 1), 0);
      const before = [...boundaries].filter(([end]) => end < cut).map(([, n]) => n).pop() ?? 0;
      assert.ok(short.records.length >= Math.max(before, atBoundary - 1) && short.records.length < atBoundary + 1, `cut ${cut - 1}`);
    }
    const v: TraceRecord[] = [];
    const ve = visitLstrace(part, { call: (c) => v.push(c.toRecord()), frame: (f) => v.push(f), run: (x) => v.push(x), dropped: (d) => v.push(d) });
    assert.deepEqual(v, r.records, `visitLstrace at cut ${cut}`);
    assert.equal(ve?.message, r.error?.message);
  }
});

test('the truncation error names the chunk offset, its size and what the file held', () => {
  const calls = Array.from({ length: 100 }, (_, i) => typicalCall(i, 1e12 + i * 50_000));
  const chunk = encodeChunk(calls);
  const file = new Uint8Array([...encodeFileHeader(), ...chunk]);
  const r = readAll(file.subarray(0, 112), 50);
  assert.equal(r.error?.message, `truncated chunk at offset 12: expected ${chunk.length} bytes, file ended after 100`);
  assert.ok(r.records.length > 0 && r.records.length < 100);
  assert.equal(readAll(new Uint8Array(0), 0).error?.message, 'empty file at offset 0: expected the 12-byte .lstrace header');
  assert.match(readAll(new TextEncoder().encode('{"traceEvents":[]}'), 3).error?.message ?? '', /not an .lstrace file at offset 0/);
  const v3 = encodeFileHeader();
  v3[9] = 3;
  assert.match(readAll(v3, 12).error?.message ?? '', /unsupported .lstrace version at offset 8: expected one of 1, 2, got 3/);
});

test('damage anywhere in a chunk is detected; the records of earlier chunks are kept', () => {
  const calls = Array.from({ length: 20 }, (_, i) => typicalCall(i, 1e12 + i * 50_000));
  const file = encodeFile(calls, 10);
  const second = FILE_HEADER_BYTES + encodeChunk(calls.slice(0, 10)).length;
  for (let i = second; i < file.length; i++) {
    const bad = file.slice();
    bad[i] = bad[i]! ^ 0x40;
    const r = readAll(bad, i);
    assert.ok(r.error, `byte ${i}`);
    assert.deepEqual(r.records.slice(0, 10), calls.slice(0, 10));
    assert.ok(r.records.length === 10 || i >= second + 4, `byte ${i}`); // only a grown length field salvages more
  }
  const whole = decodeChunk(file.subarray(second));
  assert.equal(whole.error, null);
  const damaged = file.slice(second);
  damaged[40] = damaged[40]! ^ 1;
  assert.match(decodeChunk(damaged).error?.message ?? '', /^damaged chunk at offset 0: CRC-32 of its \d+-byte body is 0x[0-9a-f]{8}, expected 0x[0-9a-f]{8}$/);
  assert.deepEqual(decodeChunk(damaged).records, []);
});

test('a seq beyond 2^53-1 is refused in either form, a delta or "the next one" (found by the fuzz test)', () => {
  const MAX = Number.MAX_SAFE_INTEGER;
  // Written with seqs 2^53-2 and 2^53-1; then the first's delta (from -1) becomes 2^53, one more, in the
  // same number of bytes, so the second, "the next seq", would be 2^53.
  const chunk = encodeChunk([{ ...typicalCall(0, 1e12), seq: MAX - 1 }, { ...typicalCall(1, 1e12), seq: MAX }]);
  const from = [0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]; // sign-magnitude varint of 2^53-1
  const to = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]; // of 2^53
  const at = chunk.findIndex((_, i) => from.every((b, k) => chunk[i + k] === b));
  assert.ok(at > 0);
  const bent = chunk.slice();
  bent.set(to, at);
  const r = decodeChunk(resealed(bent));
  assert.match(String(r.error?.message), /bad call seq .*got 9007199254740992/);
  assert.deepEqual(r.records.map((x) => (x as CallRecord).seq), [MAX]);
});

test('isLstrace sniffs the file magic', () => {
  assert.ok(isLstrace(encodeFile([])));
  assert.ok(!isLstrace(encodeChunk([])));
  assert.ok(!isLstrace(new TextEncoder().encode('{"traceEvents"')));
});

test('the encoder refuses records it cannot write losslessly', () => {
  const c = typicalCall(0, 1e12);
  assert.throws(() => encodeChunk([{ ...c, seq: -1 }]), /call.seq/);
  assert.throws(() => encodeChunk([{ ...c, stages: [] }]), /call.stages/);
  assert.throws(() => encodeChunk([{ ...c, stages: [{ name: 'guest', start: 5, end: 4 }] }]), /end/);
  assert.throws(() => encodeChunk([{ ...c, guest: 'x'.repeat(256) }]), /record.guest/);
  assert.throws(() => encodeChunk([{ ...c, run: '\ud800' }]), /record.run/);
  assert.throws(() => encodeChunk([{ ...c, op: 'teleport' as CallRecord['op'] }]), /call.op/);
});

test('a ChunkWriter that refuses a record keeps the chunk as it was: the others read back, names and deltas intact', () => {
  // The refused record names the run and guest of the next one and fails after interning them and moving
  // the delta bases: the next record must not find itself pointing at names that were taken back.
  const bad = (r: TraceRecord): TraceRecord =>
    r.kind === 'call' ? { ...r, stages: [{ name: 'guest', start: 5, end: 4 }] }
      : r.kind === 'frame' ? { ...r, tIn: 10, tOut: 5 }
        : { kind: 'dropped', count: -1, atNs: 0 };
  fc.assert(fc.property(fc.array(fc.tuple(record, fc.boolean()), { maxLength: 12 }), (items) => {
    const w = new ChunkWriter();
    const kept: TraceRecord[] = [];
    for (const [r, refuse] of items) {
      if (refuse) {
        assert.throws(() => w.add(bad(r)), RangeError);
        assert.equal(w.count, kept.length);
      }
      w.add(r);
      kept.push(r);
    }
    const back = decodeChunk(w.finish());
    assert.equal(back.error, null);
    assert.deepEqual(back.records, kept);
    assert.equal(w.count, 0, 'finish starts the next chunk');
  }), { numRuns: 1000 });
});

// ---- fuzz: never a throw, only valid records or a TraceFileError ----

function assertSound(bytes: Uint8Array): void {
  const records: TraceRecord[] = [];
  const error = visitChunk(bytes, { call: (c) => records.push(c.toRecord()), frame: (f) => records.push(f), run: (r) => records.push(r), dropped: (d) => records.push(d) });
  assert.ok(error === null || error instanceof TraceFileError);
  for (const r of records) assert.equal(invalidRecord(r), null);
  const reader = new LstraceReader();
  const a = reader.push(encodeFileHeader());
  const b = reader.push(bytes);
  const e = b.error ?? reader.end();
  assert.ok(a.error === null && (e === null || e instanceof TraceFileError));
}

/** Rewrites the CRC so that mutations reach the record parser instead of stopping at the checksum. */
function resealed(chunk: Uint8Array): Uint8Array {
  if (chunk.length < CHUNK_HEADER_BYTES) return chunk;
  const c = chunk.slice();
  const body = Math.min(c.length, CHUNK_HEADER_BYTES + (((c[4]! << 24) | (c[5]! << 16) | (c[6]! << 8) | c[7]!) >>> 0));
  const crc = crc32(c, CHUNK_HEADER_BYTES, body);
  c.set([crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff], 12);
  return c;
}

test('fuzz: mutated chunks (resealed or not) and arbitrary bytes never throw (30,000 cases)', () => {
  const chunks = fc.sample(fc.array(record, { minLength: 1, maxLength: 6 }), { numRuns: 300, seed: 11 }).map((rs) => encodeChunk(rs));
  const mutated = fc.tuple(fc.nat({ max: chunks.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'cut', 'insert')), { minLength: 1, maxLength: 4 }), fc.boolean())
    .map(([which, muts, reseal]) => {
      let b: Uint8Array = chunks[which]!.slice();
      for (const [where, v, kind] of muts) {
        const i = CHUNK_HEADER_BYTES + (where % Math.max(1, b.length - CHUNK_HEADER_BYTES + 1));
        if (kind === 'set' && i < b.length) b[i] = v;
        else if (kind === 'cut') b = b.slice(0, i);
        else b = new Uint8Array([...b.subarray(0, i), v, ...b.subarray(i)]);
      }
      return reseal ? resealed(b) : b;
    });
  const noise = fc.uint8Array({ maxLength: 80 }).map((b) => {
    if (b.length >= 8) b.set([0x4c, 0x53, 0x43, 0x4b, 0, 0, 0, Math.max(0, b.length - 16)], 0);
    return resealed(b);
  });
  fc.assert(fc.property(fc.oneof(mutated, noise), assertSound), { numRuns: 30_000 });
});

test('frame content and drop cause ride behind tag bit 6: frames without them are written as before, bad indexes are refused', () => {
  const f: FrameRecord = { kind: 'frame', seq: 0, run: 'r', guest: 'g', direction: 'guest-to-host', length: 60, payload: 0, flow: null, tIn: 100, tOut: 200 };
  const plain = encodeChunk([f]);
  const detailed = encodeChunk([{ ...f, content: 'ack', dropped: 'queue-full' }]);
  assert.equal(detailed.length, plain.length + 2, 'two bytes: content and drop cause');
  assert.deepEqual(decodeChunk(plain).records, [f]);
  assert.deepEqual(decodeChunk(detailed).records, [{ ...f, content: 'ack', dropped: 'queue-full' }]);
  // Content index past the list, resealed with a good CRC: refused with what was expected.
  const body = detailed.slice(CHUNK_HEADER_BYTES);
  body[body.length - 2] = 99;
  const bad = new Uint8Array([...detailed.subarray(0, CHUNK_HEADER_BYTES), ...body]);
  new DataView(bad.buffer).setUint32(12, crc32(body));
  assert.match(decodeChunk(bad).error?.message ?? '', /bad frame content at offset \d+: 0\.\.5, got 99/);
  const run: RunInfo = { kind: 'run', id: 'r', workload: 'rr', paths: ['direct', 'emulated'], params: {}, host: { kernel: 'k', cpu: 'c', cpus: 2, mtu: 1500, mode: 'e1000', offloads: [], pathMtu: { direct: 65536, emulated: 1500 } }, startedNs: 1, clockErrorNs: {} };
  assert.deepEqual(decodeChunk(encodeChunk([run])).records, [run]);
  assert.throws(() => encodeChunk([{ ...f, content: 'nonsense' as 'ack' }]), /cannot encode frame.content/);
});
