// The guest's Channel against a bare host on a Unix socket that speaks the wire codec and nothing else:
// what the channel puts on the wire, and how it takes what comes back.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { Capability, WIRE_VERSION, type WireMessage } from '../protocol';
import { encodeMessage, FrameDecoder } from '../protocol/wire-codec';
import { Channel } from './channel';

let dir: string;
let server: Server;
const accepted: ((h: BareHost) => void)[] = [];

/** The host end of one channel: every frame the guest sent, in order, and a way to answer. */
class BareHost {
  readonly frames: WireMessage[] = [];
  private waiters: (() => void)[] = [];
  private readonly decoder = new FrameDecoder({ maxPayload: 1024 * 1024 });
  constructor(readonly socket: Socket) {
    socket.on('data', (chunk) => {
      this.frames.push(...this.decoder.push(chunk).messages);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
  }
  send(m: WireMessage): void {
    this.socket.write(encodeMessage(m));
  }
  /** Resolves with the first frame (from `from` on) that `pred` accepts. */
  async frame(pred: (m: WireMessage) => boolean, from = 0): Promise<WireMessage> {
    for (;;) {
      const m = this.frames.slice(from).find(pred);
      if (m) return m;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
  /** Answers HELLO and one clock probe as linsockd would. */
  async handshake(initialCredit = 1 << 20): Promise<void> {
    const hello = await this.frame((m) => m.type === 'hello');
    this.send({ type: 'helloOk', id: hello.id, handle: 0, version: WIRE_VERSION, capabilities: Capability.pushData, maxPayload: 65536, initialCredit, hostTimeNs: 1 });
    const clock = await this.frame((m) => m.type === 'clock');
    this.send({ type: 'clockOk', id: clock.id, handle: 0, guestTimeNs: clock.type === 'clock' ? clock.guestTimeNs : 0, hostTimeNs: 2 });
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'guest-channel-'));
  server = createServer((s) => accepted.shift()?.(new BareHost(s)));
  await new Promise<void>((r) => server.listen(join(dir, 'h.sock'), r));
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function open(guest: string): Promise<{ channel: Channel; host: BareHost }> {
  const host = new Promise<BareHost>((r) => accepted.push(r));
  const channel = new Channel({ path: join(dir, 'h.sock') }, { guest, trace: false, clockProbes: 1, maxPayload: 128 * 1024 });
  const h = await host;
  await h.handshake();
  await channel.ready;
  return { channel, host: h };
}

it('says hello with its name, version and limits, and takes the host\'s lower ones', async () => {
  const { channel, host } = await open('unit-hello');
  const hello = host.frames[0];
  assert.equal(hello?.type, 'hello');
  if (hello?.type === 'hello') {
    assert.equal(hello.guest, 'unit-hello');
    assert.equal(hello.version, WIRE_VERSION);
    assert.equal(hello.maxPayload, 128 * 1024);
    assert.equal(hello.capabilities & ~Capability.shm, Capability.pushData, 'asked for stamps with trace: false');
  }
  assert.equal(channel.maxPayload, 65536);
  assert.equal(channel.initialCredit, 1 << 20);
  assert.equal(channel.tracing, false);
  await channel.close();
});

it('matches replies by id, whatever their order, and turns an error reply into a Node-style error', async () => {
  const { channel, host } = await open('unit-replies');
  const from = host.frames.length;
  const a = channel.request({ type: 'getsockname', handle: 4 }, 'address', 'getsockname');
  const b = channel.request({ type: 'connect', handle: 5, remote: { family: 4, address: '127.0.0.1', port: 9 } }, 'address', 'connect', { address: '127.0.0.1', port: 9 });
  const ra = await host.frame((m) => m.type === 'getsockname', from);
  const rb = await host.frame((m) => m.type === 'connect', from);
  host.send({ type: 'error', id: rb.id, handle: 5, errno: 'ECONNREFUSED', message: 'refused' });
  host.send({ type: 'address', id: ra.id, handle: 4, endpoint: { family: 4, address: '127.0.0.1', port: 4000 } });
  assert.deepEqual((await a).endpoint, { family: 4, address: '127.0.0.1', port: 4000 });
  await assert.rejects(b, (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED' && e.syscall === 'connect' && /127\.0\.0\.1:9/.test(e.message));
  await channel.close();
});

it('joins one socket\'s sends of one tick into one frame, grants credit once per tick, and sends a sendmsg uncut', async () => {
  const { channel, host } = await open('unit-batching');
  const from = host.frames.length;
  channel.send(3, Buffer.from('one '));
  channel.send(3, Buffer.from('frame'));
  channel.grantCredit(3, 1000);
  channel.grantCredit(3, 24);
  channel.sendMsg(3, null, [Buffer.from('vec'), Buffer.from('tor')]);
  const send = await host.frame((m) => m.type === 'send', from);
  assert.ok(send.type === 'send' && send.noReply);
  assert.equal(send.type === 'send' && Buffer.from(send.data).toString(), 'one frame');
  const credit = await host.frame((m) => m.type === 'credit', from);
  assert.deepEqual(credit.type === 'credit' && [credit.handle, credit.bytes], [3, 1024]);
  const vec = await host.frame((m) => m.type === 'sendmsg', from);
  assert.ok(vec.type === 'sendmsg' && vec.noReply && vec.remote === null);
  assert.deepEqual(vec.type === 'sendmsg' && vec.buffers.map((b) => Buffer.from(b).toString()), ['vec', 'tor']);
  const sent = host.frames.slice(from).map((m) => m.type);
  assert.equal(sent.filter((t) => t === 'send').length, 1, `sends of one tick left as ${sent.join(', ')}`);
  assert.equal(sent.filter((t) => t === 'credit').length, 1);
  await channel.close();
});

it('closes on a malformed frame from the host: pending calls fail with ECONNRESET saying why', async () => {
  const { channel, host } = await open('unit-malformed');
  const pending = channel.request({ type: 'getpeername', handle: 1 }, 'address', 'getpeername');
  await host.frame((m) => m.type === 'getpeername');
  host.socket.write(Uint8Array.of(0x7f, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0));
  await assert.rejects(pending, (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET' && /malformed frame/.test(e.message) && /unknown frame type 0x7f/.test(e.message));
  assert.equal(channel.closed, true);
  await assert.rejects(channel.request({ type: 'close', handle: 1 }, 'ok', 'close'), (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET');
  await once(host.socket, 'close');
});
