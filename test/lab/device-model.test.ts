// The device model's frame parser and switch, byte by byte: flows and payload sizes of well-formed
// frames, garbage verdicts for frames whose headers contradict their size, never a throw on any input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseFrame, VNET_HDR_LEN } from '../../lab/device-model/frame';
import { LearningSwitch } from '../../lab/device-model/learning-switch';
import { DeviceModel, framesHandled, type FrameSink } from '../../lab/device-model/device-model';
import { nicProfile } from '../../lab/device-model/nic-mode';
import type { DevicePort } from '../../lab/device-model/tap-port';
import { invalidRecord, type FrameRecord, type TraceRecord } from '../../protocol';
import { framesOfCall } from '../../lab/device-model/frame-links';

const MAC_A = Buffer.from([0x02, 0, 0, 0, 0, 0x0a]);
const MAC_B = Buffer.from([0x02, 0, 0, 0, 0, 0x0b]);
const BROADCAST = Buffer.alloc(6, 0xff);

function ether(dst: Buffer, src: Buffer, type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(14);
  dst.copy(h, 0);
  src.copy(h, 6);
  h.writeUInt16BE(type, 12);
  return Buffer.concat([h, body]);
}

const SYN = 0x02;
const ACK = 0x10;

function tcp(srcPort: number, dstPort: number, payload: number, flags = ACK, seq = 0): Buffer {
  const t = Buffer.alloc(20 + payload);
  t.writeUInt16BE(srcPort, 0);
  t.writeUInt16BE(dstPort, 2);
  t.writeUInt32BE(seq, 4);
  t[12] = 5 << 4;
  t[13] = flags;
  return t;
}

function udp(srcPort: number, dstPort: number, payload: number): Buffer {
  const u = Buffer.alloc(8 + payload);
  u.writeUInt16BE(srcPort, 0);
  u.writeUInt16BE(dstPort, 2);
  u.writeUInt16BE(8 + payload, 4);
  return u;
}

function ipv4(proto: number, l4: Buffer, src = [10, 199, 1, 2], dst = [10, 199, 1, 1]): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + l4.length, 2);
  h[8] = 64;
  h[9] = proto;
  Buffer.from(src).copy(h, 12);
  Buffer.from(dst).copy(h, 16);
  return Buffer.concat([h, l4]);
}

function ipv6(next: number, l4: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(l4.length, 4);
  h[6] = next;
  h[23] = 2; // src ::2... written below as fd00::2
  h[8] = 0xfd;
  h[24] = 0xfd;
  h[39] = 1;
  return Buffer.concat([h, l4]);
}

const tcp4Frame = (payload: number): Buffer => ether(MAC_B, MAC_A, 0x0800, ipv4(6, tcp(40000, 5201, payload)));

test('TCP and UDP over IPv4 and IPv6: flow and payload bytes', () => {
  const t = parseFrame(tcp4Frame(1000), 0, 1518);
  assert.ok(t.ok);
  assert.deepEqual(t.frame.flow, { protocol: 'tcp', src: '10.199.1.2', srcPort: 40000, dst: '10.199.1.1', dstPort: 5201 });
  assert.equal(t.frame.payload, 1000);
  assert.equal(t.frame.length, 14 + 20 + 20 + 1000);
  const u = parseFrame(ether(MAC_B, MAC_A, 0x0800, ipv4(17, udp(53, 5353, 7))), 0, 1518);
  assert.ok(u.ok && u.frame.flow?.protocol === 'udp' && u.frame.payload === 7);
  const six = parseFrame(ether(MAC_B, MAC_A, 0x86dd, ipv6(6, tcp(1, 2, 3))), 0, 1518);
  assert.ok(six.ok);
  assert.equal(six.frame.flow?.src, 'fd00::2');
  assert.equal(six.frame.flow?.dst, 'fd00::1');
  assert.equal(six.frame.payload, 3);
});

test('padding after the IP packet is not payload; ARP and other EtherTypes pass without a flow', () => {
  const padded = Buffer.concat([ether(MAC_B, MAC_A, 0x0800, ipv4(6, tcp(1, 2, 0))), Buffer.alloc(6)]);
  const p = parseFrame(padded, 0, 1518);
  assert.ok(p.ok && p.frame.payload === 0);
  const arp = parseFrame(ether(BROADCAST, MAC_A, 0x0806, Buffer.alloc(28)), 0, 1518);
  assert.ok(arp.ok && arp.frame.flow === null && arp.frame.group);
});

test('the virtio-net header is skipped and not counted in the length', () => {
  const f = Buffer.concat([Buffer.alloc(VNET_HDR_LEN), tcp4Frame(60000)]);
  const v = parseFrame(f, VNET_HDR_LEN, 65535 + 18);
  assert.ok(v.ok && v.frame.payload === 60000 && v.frame.length === f.length - VNET_HDR_LEN);
  assert.equal(parseFrame(f, VNET_HDR_LEN, 1518).ok, false, 'a 60 KB frame is garbage on an MTU-1500 port');
});

test('headers that contradict the frame are garbage, with a reason', () => {
  const cases: [string, Buffer][] = [
    ['short', Buffer.alloc(10)],
    ['zero source MAC', ether(MAC_B, Buffer.alloc(6), 0x0800, ipv4(6, tcp(1, 2, 0)))],
    ['IPv4 truncated', ether(MAC_B, MAC_A, 0x0800, Buffer.alloc(10))],
    ['IPv4 total length beyond the frame', (() => { const f = tcp4Frame(10); f.writeUInt16BE(2000, 14 + 2); return f; })()],
    ['IPv4 header length below 20', (() => { const f = tcp4Frame(10); f[14] = 0x44; return f; })()],
    ['TCP data offset beyond the segment', (() => { const f = tcp4Frame(0); f[14 + 20 + 12] = 15 << 4; return f; })()],
    ['UDP length beyond the datagram', (() => { const f = ether(MAC_B, MAC_A, 0x0800, ipv4(17, udp(1, 2, 4))); f.writeUInt16BE(500, 14 + 20 + 4); return f; })()],
    ['IPv6 payload length beyond the frame', (() => { const f = ether(MAC_B, MAC_A, 0x86dd, ipv6(17, udp(1, 2, 4))); f.writeUInt16BE(900, 14 + 4); return f; })()],
  ];
  for (const [what, frame] of cases) {
    const v = parseFrame(frame, 0, 1518);
    assert.equal(v.ok, false, what);
    assert.ok(!v.ok && v.reason.length > 0);
  }
});

test('any bytes at all: a verdict, never a throw, and payload never exceeds the frame', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(0, VNET_HDR_LEN), (bytes, offset) => {
      const v = parseFrame(Buffer.from(bytes), offset, 1518);
      if (v.ok) assert.ok(v.frame.payload <= v.frame.length);
    }),
    { numRuns: 3000 },
  );
  // Mutations of a valid frame reach deeper into the IP and TCP checks than random bytes do.
  const base = tcp4Frame(40);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(base.length), (edits, cut) => {
      const f = Buffer.from(base.subarray(0, cut));
      for (const [at, byte] of edits) if (at < f.length) f[at] = byte;
      const v = parseFrame(f, 0, 1518);
      if (v.ok) assert.ok(v.frame.payload <= v.frame.length - 14);
    }),
    { numRuns: 3000 },
  );
});

test('the switch learns, forgets a port, and stays bounded', () => {
  const sw = new LearningSwitch<string>(4);
  for (let mac = 1; mac <= 10; mac++) sw.learn(mac, `p${mac % 2}`);
  assert.equal(sw.size, 4);
  assert.equal(sw.lookup(10), 'p0');
  assert.equal(sw.lookup(1), undefined, 'the oldest went first');
  sw.forget('p0');
  assert.equal(sw.lookup(10), undefined);
  assert.equal(sw.lookup(9), 'p1');
});

/** A port that keeps what the model writes to it: the switching decisions without devices. */
class RecordingPort implements DevicePort {
  readonly written: Buffer[] = [];
  constructor(readonly name: string, readonly guest: string | null) {}
  writeFrames(frames: readonly Buffer[]): number {
    this.written.push(...frames);
    return frames.length;
  }
}

test('the device model floods unknown and group destinations, then switches by learned MAC, and records what it drops', () => {
  const records: TraceRecord[] = [];
  const sink: FrameSink = { enabled: true, publish: (r) => records.push(r) };
  for (const mode of ['e1000', 'virtio'] as const) {
    records.length = 0;
    const model = new DeviceModel(nicProfile(mode), 'lsk-test', sink);
    const host = new RecordingPort('h', null);
    const a = new RecordingPort('a', 'a');
    const b = new RecordingPort('b', 'b');
    for (const p of [host, a, b]) model.attach(p);
    const hdr = mode === 'virtio' ? Buffer.alloc(VNET_HDR_LEN) : Buffer.alloc(0);
    const fromA = Buffer.concat([hdr, ether(BROADCAST, MAC_A, 0x0806, Buffer.alloc(28))]);
    const fromB = Buffer.concat([hdr, ether(MAC_A, MAC_B, 0x0800, ipv4(6, tcp(5201, 40000, 100)))]);
    const toB = Buffer.concat([hdr, ether(MAC_B, MAC_A, 0x0800, ipv4(6, tcp(40000, 5201, 1200)))]);
    const ackToB = Buffer.concat([hdr, ether(MAC_B, MAC_A, 0x0800, ipv4(6, tcp(40000, 5201, 0, ACK)))]);
    const hairpin = Buffer.concat([hdr, ether(MAC_A, MAC_A, 0x0800, ipv4(6, tcp(40000, 5201, 0, SYN)))]);
    model.ingest(a, [fromA], [1000]);
    assert.deepEqual([host.written.length, b.written.length, a.written.length], [1, 1, 0], 'broadcast floods');
    model.ingest(b, [fromB, Buffer.from('garbage'), Buffer.alloc(0)], [2000, 2001, 2002]);
    assert.equal(a.written.length, 1, 'B -> A by the learned MAC');
    assert.equal(host.written.length, 1, 'not flooded once learned');
    model.ingest(a, [toB, ackToB, hairpin], [3000, 3001, 3002]);
    assert.equal(b.written.length, 3);
    assert.equal(model.counters.garbage, 2);
    assert.equal(model.counters.hairpinDrops, 1);
    assert.equal(model.counters.flooded, 1);
    assert.equal(model.counters.framesIn, 7);
    assert.equal(model.counters.framesOut, 5);
    const frames = records.filter((r): r is FrameRecord => r.kind === 'frame');
    assert.equal(frames.length, framesHandled(model.counters), 'every frame handled is recorded');
    assert.equal(frames.length, 8);
    for (const r of frames) assert.equal(invalidRecord(r), null);
    assert.deepEqual(frames.map((r) => r.tIn).sort((x, y) => x - y), [1000, 1000, 2000, 2001, 2002, 3000, 3001, 3002], 'each frame keeps its own arrival time');
    assert.deepEqual(frames.filter((r) => r.dropped).map((r) => [r.dropped, r.tIn, r.content]), [['garbage', 2001, 'other'], ['garbage', 2002, 'other'], ['hairpin', 3002, 'handshake']]);
    const delivered = frames.filter((r) => !r.dropped);
    assert.deepEqual(delivered.map((r) => [r.tIn, r.content]), [[1000, 'other'], [1000, 'other'], [2000, 'data'], [3000, 'data'], [3001, 'ack']]);
    const last = delivered[3]!;
    assert.ok(last.direction === 'guest-to-guest' && last.payload === 1200 && last.tOut >= last.tIn);
    assert.ok(delivered[0]!.direction === 'guest-to-host' && delivered[0]!.flow === null);
  }
});

test('the sink gets each TCP frame\'s sequence number beside its record (for linking), delivered or dropped; none for UDP', () => {
  for (const mode of ['e1000', 'virtio'] as const) {
    const got: Array<[number, number | undefined]> = [];
    const model = new DeviceModel(nicProfile(mode), 'lsk-test', { enabled: true, publish: (r, tcpSeq) => void (r.kind === 'frame' && got.push([r.payload, tcpSeq])) });
    const hdr = mode === 'virtio' ? Buffer.alloc(VNET_HDR_LEN) : Buffer.alloc(0);
    const host = new RecordingPort('h', null);
    const a = new RecordingPort('a', 'a');
    model.attach(host);
    model.attach(a);
    const data = Buffer.concat([hdr, ether(BROADCAST, MAC_A, 0x0800, ipv4(6, tcp(40000, 5201, 100, ACK, 0xfffffff0)))]);
    const datagram = Buffer.concat([hdr, ether(BROADCAST, MAC_A, 0x0800, ipv4(17, udp(40000, 53, 7)))]);
    const hairpin = Buffer.concat([hdr, ether(MAC_A, MAC_A, 0x0800, ipv4(6, tcp(40000, 5201, 0, SYN, 42)))]);
    model.ingest(a, [data, datagram, hairpin], [1, 2, 3]);
    // virtio publishes a batch's delivered frames after its drops.
    assert.deepEqual(got.sort((x, y) => x[0] - y[0]), [[0, 42], [7, undefined], [100, 0xfffffff0]]);
  }
});

test('frames a port refuses or has no room for are recorded as dropped with the cause', () => {
  const records: FrameRecord[] = [];
  const sink: FrameSink = { enabled: true, publish: (r) => void (r.kind === 'frame' && records.push(r)) };
  for (const mode of ['e1000', 'virtio'] as const) {
    records.length = 0;
    const model = new DeviceModel(nicProfile(mode), 'lsk-test', sink);
    const hdr = mode === 'virtio' ? Buffer.alloc(VNET_HDR_LEN) : Buffer.alloc(0);
    // The host port refuses the first frame it sees (EINVAL), then takes one and is full (EAGAIN).
    let seen = 0;
    const host: DevicePort = {
      name: 'h', guest: null,
      writeFrames(frames, errnos) {
        let written = 0;
        for (let i = 0; i < frames.length; i++) {
          const n = seen++;
          const e = n === 0 ? 22 : n === 1 ? 0 : 11;
          if (errnos) errnos[i] = e;
          if (e === 0) written++;
        }
        return written;
      },
    };
    const a = new RecordingPort('a', 'a');
    model.attach(host);
    model.attach(a);
    const lone = new DeviceModel(nicProfile(mode), 'lsk-test', sink);
    lone.attach(a);
    const toHost = (payload: number): Buffer => Buffer.concat([hdr, ether(BROADCAST, MAC_A, 0x0800, ipv4(17, udp(40000, 53, payload)))]);
    model.ingest(a, [toHost(1), toHost(2), toHost(3)], [10, 20, 30]);
    lone.ingest(a, [toHost(4)], [40]);
    assert.deepEqual(records.map((r) => [r.payload, r.dropped ?? 'delivered', r.tIn]), [[1, 'refused', 10], [2, 'delivered', 20], [3, 'queue-full', 30], [4, 'no-port', 40]]);
    assert.deepEqual([model.counters.refusedDrops, model.counters.framesOut, model.counters.queueDrops, lone.counters.noPortDrops], [1, 1, 1, 1]);
    assert.equal(framesHandled(model.counters) + framesHandled(lone.counters), records.length);
  }
});

test('frames are linked to the call whose flow and time they share', () => {
  const flow = { protocol: 'tcp' as const, src: '10.199.1.2', srcPort: 40000, dst: '10.199.1.1', dstPort: 5201 };
  const back = { ...flow, src: flow.dst, srcPort: flow.dstPort, dst: flow.src, dstPort: flow.srcPort };
  const other = { ...flow, srcPort: 40001 };
  const f = (seq: number, tIn: number, fl: typeof flow | null): FrameRecord => ({ kind: 'frame', seq, run: 'r', guest: 'g', direction: 'guest-to-host', length: 60, payload: 0, flow: fl, tIn, tOut: tIn });
  const frames = [f(1, 50, flow), f(2, 100, flow), f(3, 150, back), f(4, 160, other), f(5, 170, null), f(6, 1200, flow), f(7, 5000, flow)];
  const call = { protocol: 'tcp' as const, local: '10.199.1.2', localPort: 40000, remote: '10.199.1.1', remotePort: 5201 };
  assert.deepEqual(framesOfCall(frames, call, 100, 200, 1000), [2, 3, 6]);
});
