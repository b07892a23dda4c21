import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv4, isIPv6, SocketAddress } from 'node:net';
import fc from 'fast-check';
import { concatBytes } from './bytes';
import { ERRNO_NAMES } from './errno';
import { formatIPv6, parseIPv4, parseIPv6 } from './ip-address';
import { utf8Length } from './utf8';
import {
  DEFAULT_MAX_PAYLOAD, FrameType, HEADER_BYTES, MAX_LOOKUP_ADDRESSES, MAX_NAME_BYTES, MAX_STAMP_ENTRIES, SOCKOPTS,
  type Endpoint, type WireMessage, type WireType,
} from './wire';
import { encodeFrameParts, encodeMessage, FrameDecoder, MIN_MAX_PAYLOAD, ProtocolError } from './wire-codec';
import { PAYLOAD_RANGE } from './wire-layout';

// ---- arbitraries for every WireMessage variant ----

// Plain objects, as the codec builds them (fast-check may otherwise pick null prototypes).
const rec: typeof fc.record = ((model: never) => fc.record(model, { noNullPrototype: true })) as typeof fc.record;

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.oneof(
  fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff),
  fc.tuple(u16, u16).map(([hi, lo]) => hi * 0x10000 + lo),
);
const u64 = fc.oneof(fc.constantFrom(0, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER), fc.maxSafeNat());
const text = (min: number) =>
  fc.string({ unit: fc.oneof(fc.constantFrom('a', 'é', '€', '😀', '\u0000', '\ufeff'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), minLength: min, maxLength: 120 })
    .filter((s) => { const n = utf8Length(s); return n >= min && n <= MAX_NAME_BYTES; });
const ipv4Text = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => b.join('.'));
const ipv6Text = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  // zero runs, mapped and compatible forms: the interesting cases for the text form
  fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 16 }), fc.boolean())
    .map(([b, from, n, mapped]) => {
      b.fill(0, from, Math.min(16, from + n));
      if (mapped) { b.fill(0, 0, 10); b[10] = 0xff; b[11] = 0xff; }
      return b;
    }),
).map((b) => formatIPv6(b, 0));
const endpoint: fc.Arbitrary<Endpoint> = fc.oneof(
  rec({ family: fc.constant(4 as const), address: ipv4Text, port: u16 }),
  rec({ family: fc.constant(6 as const), address: ipv6Text, port: u16 }),
  rec({ family: fc.constant(6 as const), address: ipv6Text, port: u16, scopeId: u32.filter((n) => n > 0) }),
);
const data = fc.uint8Array({ maxLength: 300 });
const errno = fc.constantFrom(...ERRNO_NAMES);
const maxPayload = fc.integer({ min: MIN_MAX_PAYLOAD, max: 16 * 1024 * 1024 });
const base = { id: u32, handle: u32 };
const stampEntry = rec({ id: u32, enter: u64, channelOut: u64, replyIn: u64, return: u64 });

const byType: { [T in WireType]: fc.Arbitrary<Extract<WireMessage, { type: T }>> } = {
  hello: rec({ type: fc.constant('hello'), ...base, version: u16, guest: text(1), capabilities: u32, maxPayload, guestTimeNs: u64 }),
  clock: rec({ type: fc.constant('clock'), ...base, guestTimeNs: u64 }),
  socket: rec({ type: fc.constant('socket'), ...base, family: fc.constantFrom(4 as const, 6 as const), kind: fc.constantFrom('tcp' as const, 'udp' as const) }),
  connect: rec({ type: fc.constant('connect'), ...base, remote: endpoint }),
  bind: rec({ type: fc.constant('bind'), ...base, local: endpoint }),
  listen: rec({ type: fc.constant('listen'), ...base, backlog: u32 }),
  send: rec({ type: fc.constant('send'), ...base, noReply: fc.boolean(), data }),
  shutdown: rec({ type: fc.constant('shutdown'), ...base, how: fc.constantFrom('read' as const, 'write' as const, 'both' as const) }),
  close: rec({ type: fc.constant('close'), ...base }),
  sendto: rec({ type: fc.constant('sendto'), ...base, noReply: fc.boolean(), remote: endpoint, data }),
  lookup: rec({ type: fc.constant('lookup'), ...base, hostname: text(1), family: fc.constantFrom(0 as const, 4 as const, 6 as const) }),
  setsockopt: rec({ type: fc.constant('setsockopt'), ...base, option: fc.constantFrom(...SOCKOPTS), value: u32 }),
  getsockopt: rec({ type: fc.constant('getsockopt'), ...base, option: fc.constantFrom(...SOCKOPTS) }),
  getsockname: rec({ type: fc.constant('getsockname'), ...base }),
  getpeername: rec({ type: fc.constant('getpeername'), ...base }),
  passFd: rec({ type: fc.constant('passFd'), ...base }),
  stamps: rec({ type: fc.constant('stamps'), ...base, entries: fc.array(stampEntry, { maxLength: 20 }) }),
  sendmsg: rec({ type: fc.constant('sendmsg'), ...base, noReply: fc.boolean(), remote: fc.option(endpoint, { nil: null }), buffers: fc.array(data, { maxLength: 6 }) }),
  goodbye: rec({ type: fc.constant('goodbye'), ...base, reason: text(0) }),
  credit: rec({ type: fc.constant('credit'), ...base, bytes: u32 }),
  ok: rec({ type: fc.constant('ok'), ...base, value: u32 }),
  error: rec({ type: fc.constant('error'), ...base, errno, message: text(0) }),
  helloOk: rec({ type: fc.constant('helloOk'), ...base, version: u16, capabilities: u32, maxPayload, initialCredit: u32, hostTimeNs: u64 }),
  clockOk: rec({ type: fc.constant('clockOk'), ...base, guestTimeNs: u64, hostTimeNs: u64 }),
  address: rec({ type: fc.constant('address'), ...base, endpoint }),
  lookupOk: rec({ type: fc.constant('lookupOk'), ...base, addresses: fc.array(endpoint, { maxLength: 8 }) }),
  data: rec({ type: fc.constant('data'), ...base, data }),
  datagram: rec({ type: fc.constant('datagram'), ...base, remote: endpoint, data }),
  accepted: rec({ type: fc.constant('accepted'), ...base, newHandle: u32, remote: endpoint, local: endpoint }),
  peerClosed: rec({ type: fc.constant('peerClosed'), ...base }),
  socketError: rec({ type: fc.constant('socketError'), ...base, errno, message: text(0) }),
  closed: rec({ type: fc.constant('closed'), ...base }),
};
const message: fc.Arbitrary<WireMessage> = fc.oneof(...Object.values(byType));

/** Pushes `bytes` cut at `cuts` into a fresh decoder; never lets an exception through unnoticed. */
function decodeSplit(bytes: Uint8Array, cuts: number[], maxPayload = DEFAULT_MAX_PAYLOAD, pieces = false) {
  const d = new FrameDecoder({ maxPayload, pieces });
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const messages: WireMessage[] = [];
  let error: ProtocolError | null = null;
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    const r = d.push(bytes.subarray(prev, p));
    messages.push(...r.messages);
    error = r.error;
    prev = p;
    if (error) break;
  }
  return { messages, error, pending: d.buffered };
}

/**
 * What any decode of any bytes must satisfy: the messages re-encode to exactly the bytes they came from (so
 * each is valid and canonical), and an error points inside the rest, at a decoder-made reason.
 */
function assertSound(bytes: Uint8Array, r: ReturnType<typeof decodeSplit>): void {
  const prefix = concatBytes(r.messages.map(encodeMessage));
  assert.deepEqual(prefix, bytes.subarray(0, prefix.length));
  if (r.error) {
    assert.ok(r.error instanceof ProtocolError);
    assert.ok(r.error.offset >= prefix.length && r.error.offset <= bytes.length, `offset ${r.error.offset} outside ${prefix.length}..${bytes.length}`);
    assert.doesNotMatch(r.error.reason, /decoder fault/);
  } else {
    assert.equal(prefix.length + r.pending, bytes.length);
  }
}

// ---- round trips ----

for (const [type, arb] of Object.entries(byType)) {
  test(`${type}: decode(encode(m)) equals m`, () => {
    fc.assert(fc.property(arb, (m) => {
      const r = new FrameDecoder().push(encodeMessage(m));
      assert.equal(r.error, null);
      assert.deepEqual(r.messages, [m]);
    }), { numRuns: 300 });
  });
}

test('encodeFrameParts concatenated equals encodeMessage, with the data uncopied', () => {
  fc.assert(fc.property(message, (m) => {
    const parts = encodeFrameParts(m);
    assert.deepEqual(concatBytes(parts), encodeMessage(m));
    if ('data' in m) assert.equal(parts[1], m.data);
    if (m.type === 'sendmsg') m.buffers.forEach((b, i) => assert.equal(parts[1 + i], b));
  }), { numRuns: 1000 });
});

test('frames split and joined at any bytes decode to the same messages', () => {
  fc.assert(fc.property(fc.array(message, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 30 }), (ms, cuts) => {
    const r = decodeSplit(concatBytes(ms.map(encodeMessage)), cuts);
    assert.equal(r.error, null);
    assert.equal(r.pending, 0);
    assert.deepEqual(r.messages, ms);
  }), { numRuns: 1500 });
});

test('every single split point of a mixed stream, and one byte at a time', () => {
  const ms = fc.sample(message, { numRuns: 40, seed: 7 });
  const bytes = concatBytes(ms.map(encodeMessage));
  for (let cut = 0; cut <= bytes.length; cut++) assert.deepEqual(decodeSplit(bytes, [cut]).messages, ms);
  const d = new FrameDecoder();
  const got: WireMessage[] = [];
  for (let i = 0; i < bytes.length; i++) got.push(...d.push(bytes.subarray(i, i + 1)).messages);
  assert.deepEqual(got, ms);
});

/**
 * Joins the pieces a decoder with `pieces` delivered back into whole messages, checking on the way that
 * only send and data frames come in pieces, that each piece carries data, and that the pieces of one frame
 * follow each other with nothing between them, under one type, id and handle, the last with more: false.
 */
function joinPieces(messages: WireMessage[]): WireMessage[] {
  const out: WireMessage[] = [];
  let open: { m: WireMessage & { data: Uint8Array }; parts: Uint8Array[] } | null = null;
  for (const m of messages) {
    const more = (m as { more?: boolean }).more;
    if (open) {
      assert.ok(m.type === open.m.type && m.id === open.m.id && m.handle === open.m.handle && more !== undefined, `${m.type} came between the pieces of a ${open.m.type}`);
    }
    if (more === undefined) {
      out.push(m);
      continue;
    }
    assert.ok(m.type === 'send' || m.type === 'data', `a ${m.type} came in pieces`);
    assert.ok(m.data.length > 0, 'an empty piece');
    open ??= { m, parts: [] };
    open.parts.push(m.data);
    if (!more) {
      const { more: _more, ...whole } = open.m as typeof open.m & { more?: boolean };
      out.push({ ...whole, data: concatBytes(open.parts) } as WireMessage);
      open = null;
    }
  }
  assert.equal(open, null, 'the last frame\'s pieces did not end');
  return out;
}

test('with pieces, send and data frames split anywhere arrive as pieces that join to the same messages', () => {
  const big = fc.oneof(
    message,
    rec({ ...base, type: fc.constant('send' as const), noReply: fc.boolean(), data: fc.uint8Array({ minLength: 1, maxLength: 5000 }) }),
    rec({ ...base, type: fc.constant('data' as const), data: fc.uint8Array({ minLength: 1, maxLength: 5000 }) }),
  );
  fc.assert(fc.property(fc.array(big, { minLength: 1, maxLength: 10 }), fc.array(fc.nat(), { maxLength: 30 }), (ms, cuts) => {
    const r = decodeSplit(concatBytes(ms.map(encodeMessage)), cuts, DEFAULT_MAX_PAYLOAD, true);
    assert.equal(r.error, null);
    assert.equal(r.pending, 0);
    assert.deepEqual(joinPieces(r.messages), ms);
  }), { numRuns: 1500 });
  // One byte at a time: every data byte is a piece of its own, and no frame is buffered.
  const ms = fc.sample(big, { numRuns: 30, seed: 11 });
  const bytes = concatBytes(ms.map(encodeMessage));
  const d = new FrameDecoder({ pieces: true });
  const got: WireMessage[] = [];
  for (let i = 0; i < bytes.length; i++) got.push(...d.push(bytes.subarray(i, i + 1)).messages);
  assert.deepEqual(joinPieces(got), ms);
});

test('pieces are views into the chunks they came in, never copies', () => {
  const data = new Uint8Array(100_000).map((_, i) => i & 0xff);
  const bytes = encodeMessage({ type: 'send', id: 9, handle: 4, noReply: true, data });
  const d = new FrameDecoder({ pieces: true });
  const first = bytes.subarray(0, 65536);
  const rest = bytes.subarray(65536);
  const a = d.push(first).messages;
  const b = d.push(rest).messages;
  assert.deepEqual(a.map((m) => (m as { more?: boolean }).more), [true]);
  assert.deepEqual(b.map((m) => (m as { more?: boolean }).more), [false]);
  const [pa, pb] = [a[0], b[0]] as { data: Uint8Array }[];
  assert.equal(pa?.data.buffer, first.buffer);
  assert.equal(pa?.data.byteOffset, first.byteOffset + 16);
  assert.equal(pb?.data.buffer, rest.buffer);
  assert.equal((pa?.data.length ?? 0) + (pb?.data.length ?? 0), data.length);
});

test('IPv6 text is printed as node:net prints it and parsed back to the same bytes', () => {
  fc.assert(fc.property(ipv6Text, (address) => {
    assert.equal(new SocketAddress({ address, family: 'ipv6' }).address, address);
    const b = new Uint8Array(16);
    assert.ok(parseIPv6(address, b, 0));
    assert.equal(formatIPv6(b, 0), address);
  }), { numRuns: 2000 });
  // non-canonical input is accepted and comes back canonical
  const m: WireMessage = { type: 'address', id: 1, handle: 2, endpoint: { family: 6, address: '2001:DB8:0:0:0:0:0:01', port: 9 } };
  assert.equal((new FrameDecoder().push(encodeMessage(m)).messages[0] as { endpoint: Endpoint }).endpoint.address, '2001:db8::1');
});

test('address text is accepted exactly when node:net accepts it (zone ids aside)', () => {
  const b = new Uint8Array(16);
  const chars = fc.constantFrom(...'0123456789abcdefABCDEF'.split(''), ':', ':', ':', '.', '.');
  fc.assert(fc.property(fc.string({ unit: chars, maxLength: 45 }), (s) => {
    assert.equal(parseIPv6(s, b, 0), isIPv6(s), JSON.stringify(s));
    assert.equal(parseIPv4(s, b, 0), isIPv4(s), JSON.stringify(s));
  }), { numRuns: 20_000 });
  for (const s of ['::', '1::', '::1.2.3.4', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7::']) assert.ok(parseIPv6(s, b, 0), s);
  for (const s of ['1:2:3:4:5:6:7:1.2.3.4', ':1::', '1:::2', '::1.02.3.4', 'fe80::1%eth0']) assert.ok(!parseIPv6(s, b, 0), s);
});

// ---- the data path ----

test('data payloads are views into the pushed chunk when the frame lies within it', () => {
  const chunk = concatBytes([1, 2, 3].map((i) => encodeMessage({ type: 'data', id: i, handle: 7, data: new Uint8Array(1000).fill(i) })));
  const r = new FrameDecoder().push(chunk);
  assert.equal(r.messages.length, 3);
  for (const m of r.messages) {
    assert.equal(m.type, 'data');
    if (m.type === 'data') assert.equal(m.data.buffer, chunk.buffer);
  }
});

// ---- bad input: a ProtocolError that names the offset and what was expected ----

function frame(m: WireMessage, patch: (b: Uint8Array) => void = () => undefined): Uint8Array {
  const b = encodeMessage(m);
  patch(b);
  return b;
}
function errorOf(bytes: Uint8Array, maxPayload?: number): ProtocolError {
  const r = new FrameDecoder(maxPayload ? { maxPayload } : {}).push(bytes);
  assert.ok(r.error, 'expected a ProtocolError');
  return r.error;
}
const ok0: WireMessage = { type: 'ok', id: 1, handle: 2, value: 3 };
const conn: WireMessage = { type: 'connect', id: 1, handle: 2, remote: { family: 4, address: '127.0.0.1', port: 80 } };

test('malformed headers are refused at the offending byte', () => {
  const lead = encodeMessage(ok0); // one good frame first: offsets count from the start of the stream
  const at = (b: Uint8Array) => errorOf(concatBytes([lead, b]));
  let e = at(frame(ok0, (b) => { b[0] = 0x7f; }));
  assert.equal(e.offset, 20);
  assert.match(e.message, /unknown frame type 0x7f/);
  e = at(frame(ok0, (b) => { b[1] = 1; }));
  assert.equal(e.offset, 21);
  assert.match(e.reason, /flags/);
  e = at(frame({ type: 'send', id: 1, handle: 1, noReply: true, data: new Uint8Array(1) }, (b) => { b[1] = 3; }));
  assert.match(e.reason, /flags 0x3/);
  e = at(frame(ok0, (b) => { b[3] = 1; }));
  assert.equal(e.offset, 22);
  assert.match(e.reason, /reserved/);
  e = at(frame(ok0, (b) => { b[15] = 5; }));
  assert.equal(e.offset, 32);
  assert.match(e.reason, /ok: payload length 5: expected 4 bytes/);
});

test('a length beyond maxPayload is refused from the header alone, before any payload is buffered', () => {
  const head = frame({ type: 'data', id: 1, handle: 1, data: new Uint8Array(0) }).slice(0, HEADER_BYTES);
  head.set([0x00, 0x10, 0x00, 0x01], 12); // 1 MiB + 1
  const d = new FrameDecoder({ maxPayload: 1024 * 1024 });
  const r = d.push(head);
  assert.match(r.error?.message ?? '', /offset 12: data: payload length 1048577: expected 0\.\.1048576 bytes \(maxPayload 1048576\)/);
  // poisoned: the same error again, nothing more decoded
  assert.equal(d.push(encodeMessage(ok0)).error, r.error);
  assert.throws(() => new FrameDecoder({ maxPayload: 64 * 1024 * 1024 }), RangeError);
});

test('every field is validated', () => {
  const cases: [Uint8Array, RegExp, number][] = [
    [frame(conn, (b) => { b[16] = 5; }), /remote family 5: expected 4, 6 or 134 \(6 with a scope id\)/, 16],
    [frame({ ...conn, remote: { family: 6, address: 'fe80::1', port: 1, scopeId: 3 } }, (b) => { b.fill(0, 35, 39); }), /remote scope id 0: a scoped endpoint names an interface/, 35],
    [frame(conn, (b) => { b[16] = 4 | 0x80; }), /remote family 132: expected 4, 6 or 134/, 16],
    [frame({ type: 'socket', id: 1, handle: 0, family: 4, kind: 'tcp' }, (b) => { b[17] = 2; }), /kind 2: expected 0\.\.1/, 17],
    [frame({ type: 'shutdown', id: 1, handle: 1, how: 'both' }, (b) => { b[16] = 3; }), /how 3/, 16],
    [frame({ type: 'lookup', id: 1, handle: 0, family: 0, hostname: 'ab' }, (b) => { b[16] = 5; }), /family 5: expected 0, 4 or 6/, 16],
    [frame({ type: 'lookup', id: 1, handle: 0, family: 0, hostname: 'ab' }, (b) => { b[18] = 0xff; }), /hostname is not valid UTF-8/, 18],
    [frame({ type: 'lookup', id: 1, handle: 0, family: 0, hostname: 'ab' }, (b) => { b[17] = 0; }), /hostname is empty/, 17],
    [frame({ type: 'error', id: 1, handle: 0, errno: 'EIO', message: '' }, (b) => { b[16] = 200; }), /errno code 200 is not a known errno/, 16],
    [frame({ type: 'setsockopt', id: 1, handle: 1, option: 'SO_RCVBUF', value: 1 }, (b) => { b[16] = 9; }), /option 9/, 16],
    [frame({ type: 'clock', id: 1, handle: 0, guestTimeNs: 1 }, (b) => { b[17] = 0x20; }), /guestTimeNs exceeds 2\^53-1/, 16],
    [frame({ type: 'hello', id: 1, handle: 0, version: 1, guest: 'g', capabilities: 3, maxPayload: 65536, guestTimeNs: 0 }, (b) => { b[22] = 0; b[23] = 0; b[24] = 0; b[25] = 1; }), /maxPayload 1: expected 4096/, 22],
    [frame({ type: 'lookupOk', id: 1, handle: 0, addresses: [] }, (b) => { b[16] = MAX_LOOKUP_ADDRESSES + 1; }), /address count 65: expected at most 64/, 16],
    [frame({ type: 'stamps', id: 1, handle: 0, entries: [] }, (b) => { b[16] = 0xff; b[17] = 0xff; }), /entry count 65535: expected at most 4096/, 16],
    [frame({ type: 'stamps', id: 1, handle: 0, entries: [{ id: 1, enter: 1, channelOut: 2, replyIn: 3, return: 4 }] }, (b) => { b[17] = 2; }), /2 entries need 72 bytes, the payload has 36/, 16],
    [frame({ type: 'goodbye', id: 1, handle: 0, reason: 'abc' }, (b) => { b[16] = 2; }), /1 unexpected bytes after the last field/, 19],
    [frame({ type: 'goodbye', id: 1, handle: 0, reason: 'abc' }, (b) => { b[16] = 9; }), /payload ends inside reason: expected 9 more bytes, 3 left/, 17],
  ];
  for (const [bytes, reason, offset] of cases) {
    const e = errorOf(bytes);
    assert.match(e.reason, reason);
    assert.equal(e.offset, offset, e.message);
  }
});

test('the encoder refuses what it cannot encode and clamps free text', () => {
  assert.throws(() => encodeMessage({ ...conn, remote: { family: 4, address: '1.2.3', port: 1 } }), /connect.remote.address/);
  assert.throws(() => encodeMessage({ ...conn, remote: { family: 4, address: '1.2.3.4', port: 70000 } }), /port/);
  assert.throws(() => encodeMessage({ ...ok0, id: -1 }), /ok.id/);
  assert.throws(() => encodeMessage({ ...conn, remote: { family: 4, address: '1.2.3.4', port: 1, scopeId: 2 } }), /connect.remote.scopeId/);
  assert.throws(() => encodeMessage({ ...conn, remote: { family: 6, address: 'fe80::1', port: 1, scopeId: 2 ** 32 } }), /connect.remote.scopeId/);
  assert.throws(() => encodeMessage({ ...conn, remote: { family: 6, address: 'fe80::1%eth0', port: 1 } }), /connect.remote.address/);
  assert.throws(() => encodeMessage({ type: 'clock', id: 1, handle: 0, guestTimeNs: 2 ** 53 }), /guestTimeNs/);
  assert.throws(() => encodeMessage({ type: 'lookup', id: 1, handle: 0, family: 0, hostname: 'x'.repeat(256) }), /hostname/);
  assert.throws(() => encodeMessage({ type: 'lookup', id: 1, handle: 0, family: 0, hostname: '\ud800' }), /hostname/);
  assert.throws(() => encodeMessage({ type: 'stamps', id: 1, handle: 0, entries: new Array(MAX_STAMP_ENTRIES + 1).fill({ id: 1, enter: 0, channelOut: 0, replyIn: 0, return: 0 }) }), /at most 4096/);
  const long = new FrameDecoder().push(encodeMessage({ type: 'error', id: 0, handle: 0, errno: 'EPROTO', message: '€'.repeat(100) + '\ud800' }));
  assert.equal((long.messages[0] as { message: string }).message, '€'.repeat(85));
});

test('the largest stamps batch fits the default payload limit', () => {
  const entries = Array.from({ length: MAX_STAMP_ENTRIES }, (_, i) => ({ id: i + 1, enter: i, channelOut: i + 1, replyIn: i + 2, return: i + 3 }));
  const r = new FrameDecoder().push(encodeMessage({ type: 'stamps', id: 1, handle: 0, entries }));
  assert.equal(r.error, null);
  assert.equal((r.messages[0] as { entries: unknown[] }).entries.length, MAX_STAMP_ENTRIES);
});

// ---- fuzz: 100,000 cases between these two properties ----

test('fuzz: arbitrary bytes decode to valid messages or a ProtocolError, never a throw (40,000 cases)', () => {
  // Half the cases start with a known type code so that the header checks beyond the type are reached.
  const codes = Object.values(FrameType);
  const noise = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.tuple(fc.constantFrom(...codes), fc.uint8Array({ minLength: 15, maxLength: 80 })).map(([c, rest]) => {
      rest[0] = 0; rest[1] = 0; rest[10] = 0; rest[11] = 0; rest[12] = 0; rest[13] = rest[13]! & 0x3f; // sane length
      return concatBytes([Uint8Array.of(c), rest]);
    }),
  );
  fc.assert(fc.property(noise, fc.array(fc.nat(), { maxLength: 4 }), (bytes, cuts) => {
    assertSound(bytes, decodeSplit(bytes, cuts, MIN_MAX_PAYLOAD));
  }), { numRuns: 40_000 });
});

test('fuzz: mutated valid streams decode to valid messages or a ProtocolError, never a throw (60,000 cases)', () => {
  const mutation = fc.oneof(
    fc.tuple(fc.constant('set' as const), fc.nat(), fc.integer({ min: 0, max: 255 })),
    fc.tuple(fc.constant('flip' as const), fc.nat(), fc.integer({ min: 0, max: 7 })),
    fc.tuple(fc.constant('cut' as const), fc.nat(), fc.constant(0)),
    fc.tuple(fc.constant('insert' as const), fc.nat(), fc.integer({ min: 0, max: 255 })),
  );
  const streams = fc.sample(fc.array(message, { minLength: 1, maxLength: 4 }), { numRuns: 500, seed: 42 }).map((ms) => concatBytes(ms.map(encodeMessage)));
  fc.assert(fc.property(fc.nat({ max: streams.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { maxLength: 3 }), (which, muts, cuts) => {
    let bytes: Uint8Array = streams[which]!.slice();
    for (const [kind, where, v] of muts) {
      const i = where % Math.max(1, bytes.length);
      if (kind === 'set') bytes[i] = v;
      else if (kind === 'flip') bytes[i] = bytes[i]! ^ (1 << v);
      else if (kind === 'cut') bytes = bytes.slice(0, i);
      else bytes = concatBytes([bytes.subarray(0, i), Uint8Array.of(v), bytes.subarray(i)]);
    }
    assertSound(bytes, decodeSplit(bytes, cuts));
  }), { numRuns: 60_000 });
});

test('a scope id rides after the IPv6 address under family byte 0x86; none keeps the 19-byte form', () => {
  const scoped = encodeMessage({ type: 'address', id: 1, handle: 2, endpoint: { family: 6, address: 'fe80::1', port: 80, scopeId: 0x01020304 } });
  assert.equal(scoped.length, 16 + 23);
  assert.equal(scoped[16], 0x86);
  assert.deepEqual([...scoped.subarray(16 + 19)], [1, 2, 3, 4]);
  assert.deepEqual(new FrameDecoder().push(scoped).messages[0], { type: 'address', id: 1, handle: 2, endpoint: { family: 6, address: 'fe80::1', port: 80, scopeId: 0x01020304 } });
  const plain = encodeMessage({ type: 'address', id: 1, handle: 2, endpoint: { family: 6, address: 'fe80::1', port: 80, scopeId: 0 } });
  assert.equal(plain.length, 16 + 19);
  assert.equal(plain[16], 6);
});

test('every type code has a payload layout that round-trips', () => {
  assert.deepEqual(Object.keys(byType).sort(), Object.keys(FrameType).sort());
});

// ---- sendmsg: a vectored send, the recipe's proof ----

test('sendmsg: the frame is the buffers\' count, their lengths, then their bytes back to back', () => {
  const m: WireMessage = { type: 'sendmsg', id: 7, handle: 3, noReply: true, remote: { family: 4, address: '127.0.0.1', port: 9 }, buffers: [Uint8Array.of(0x68), Uint8Array.of(0x69, 0x21)] };
  assert.deepEqual([...encodeMessage(m)], [
    0x1e, 0x01, 0, 0, 0, 0, 0, 7, 0, 0, 0, 3, 0, 0, 0, 20,
    4, 0, 9, 127, 0, 0, 1, // endpoint remote
    0, 2, 0, 0, 0, 1, 0, 0, 0, 2, // 2 buffers: lengths 1, 2
    0x68, 0x69, 0x21,
  ]);
  const none = encodeMessage({ ...m, remote: null, buffers: [] });
  assert.deepEqual([...none.subarray(HEADER_BYTES)], [0, 0, 0]); // no address, no buffers
  assert.deepEqual(new FrameDecoder().push(none).messages, [{ ...m, remote: null, buffers: [] }]);
  // Decoded buffers are views into the chunk, as data is.
  const bytes = encodeMessage(m);
  const got = new FrameDecoder().push(bytes).messages[0] as { buffers: Uint8Array[] };
  assert.ok(got.buffers.every((b) => b.buffer === bytes.buffer));
});

test('sendmsg: lengths that do not fill the payload exactly, or too many buffers, are refused', () => {
  const m: WireMessage = { type: 'sendmsg', id: 1, handle: 1, noReply: false, remote: null, buffers: [new Uint8Array(3)] };
  let e = errorOf(frame(m, (b) => { b[HEADER_BYTES + 6] = 4; })); // length 4, 3 bytes follow
  assert.match(e.reason, /sendmsg: buffers lengths add up to 4 bytes, the payload has 3 after them/);
  assert.equal(e.offset, HEADER_BYTES + 1);
  e = errorOf(frame(m, (b) => { b[HEADER_BYTES + 1] = 0xff; }));
  assert.match(e.reason, /buffers count 65281: expected at most 1024/);
  e = errorOf(frame(m, (b) => { b[HEADER_BYTES] = 5; }));
  assert.match(e.reason, /remote family 5: expected 4, 6 or 134/);
  assert.throws(() => encodeMessage({ ...m, buffers: new Array(1025).fill(new Uint8Array(0)) }), /sendmsg.buffers/);
  assert.throws(() => encodeMessage({ ...m, buffers: ['x' as unknown as Uint8Array] }), /sendmsg.buffers\[\]/);
});

test('payload ranges derived from the layout table match the documented ones', () => {
  const documented: [WireType, number, number][] = [['hello', 20, 274], ['lookup', 3, 257], ['error', 2, 257], ['accepted', 18, 50], ['helloOk', 22, 22], ['lookupOk', 1, 1473], ['stamps', 2, 2 + 36 * MAX_STAMP_ENTRIES]];
  for (const [type, min, max] of documented) assert.deepEqual(PAYLOAD_RANGE[type], [min, max], type);
});
