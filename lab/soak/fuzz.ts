// Fuzzing guests: connections to the daemon's guest socket that send malformed frames — garbage, a header
// that promises a huge payload, unknown types and flags, frames cut short, a HELLO followed by nonsense,
// a valid call and then an abrupt close, or half a header held open. The daemon must refuse each guest
// and stay up; nothing here expects an answer.

import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Capability, DEFAULT_MAX_PAYLOAD, HEADER_BYTES, WIRE_VERSION, encodeMessage, type WireMessage } from '../../protocol';

let names = 0;

function hello(): Uint8Array {
  return encodeMessage({
    type: 'hello', id: 1, handle: 0, version: WIRE_VERSION, guest: `fuzz-${process.pid}-${++names}`,
    capabilities: Capability.stamps | Capability.pushData, maxPayload: DEFAULT_MAX_PAYLOAD, guestTimeNs: Number(process.hrtime.bigint()),
  });
}

function header(type: number, flags: number, id: number, handle: number, length: number): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  b.writeUInt8(type, 0);
  b.writeUInt8(flags, 1);
  b.writeUInt32BE(id, 4);
  b.writeUInt32BE(handle, 8);
  b.writeUInt32BE(length, 12);
  return b;
}

const frame = (m: WireMessage): Uint8Array => encodeMessage(m);

/** Each case: the byte runs to write, in order. */
const CASES: (() => Uint8Array[])[] = [
  () => [randomBytes(1 + Math.floor(Math.random() * 4096))],
  () => [hello(), randomBytes(64 + Math.floor(Math.random() * 2048))],
  () => [hello(), header(0x14, 0, 2, 1, 0xffff_fff0)],
  () => [header(0x10, 0, 1, 0, 16 * 1024 * 1024 + 1), randomBytes(512)],
  () => [hello(), header(0x7e, 0, 2, 0, 8), randomBytes(8)],
  () => [hello(), header(0x10, 0xfe, 2, 0, 2), Buffer.from([4, 0])],
  () => [hello(), header(0x11, 0, 3, 999_999, 3), Buffer.from([1, 2, 3])],
  () => [hello(), frame({ type: 'socket', id: 2, handle: 0, family: 4, kind: 'tcp' }), frame({ type: 'send', id: 3, handle: 1, noReply: true, data: randomBytes(100) })],
  () => [hello(), hello()],
  () => [hello().subarray(0, 9)],
  () => [frame({ type: 'socket', id: 2, handle: 0, family: 4, kind: 'udp' })],
];

export class Fuzzer {
  frames = 0;
  connections = 0;
  private readonly open = new Set<Socket>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly guestSocket: string, private readonly maxOpen = 4) {}

  /** Starts one malformed guest every `everyMs`, at most maxOpen at once, each cut after `holdMs`. */
  start(everyMs = 200, holdMs = 1500): void {
    this.timer = setInterval(() => this.one(holdMs), everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const s of this.open) s.destroy();
    this.open.clear();
  }

  private one(holdMs: number): void {
    if (this.open.size >= this.maxOpen) return;
    const runs = (CASES[Math.floor(Math.random() * CASES.length)] as () => Uint8Array[])();
    const s = connect(this.guestSocket);
    this.open.add(s);
    this.connections++;
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    s.once('connect', () => {
      for (const r of runs) s.write(r);
      this.frames += runs.length;
    });
    const t = setTimeout(() => s.destroy(), holdMs);
    s.once('close', () => {
      clearTimeout(t);
      this.open.delete(s);
    });
  }
}
