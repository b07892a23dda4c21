// A bare guest for daemon tests, built only from the wire codec: frames over net.connect, no guest library.
import { connect, type Socket } from 'node:net';
import {
  Capability, DEFAULT_MAX_PAYLOAD, WIRE_VERSION,
  type Endpoint, type ErrorReply, type HelloOk, type WireMessage,
} from '../../protocol';
import { encodeMessage, FrameDecoder } from '../../protocol/wire-codec';

type Reply = Extract<WireMessage, { type: 'ok' | 'error' | 'address' | 'lookupOk' | 'helloOk' | 'clockOk' }>;
const REPLY_TYPES = new Set(['ok', 'error', 'address', 'lookupOk', 'helloOk', 'clockOk']);
// Distributive Omit, so that each member of the union keeps its own fields.
type Unsent<T> = T extends WireMessage ? Omit<T, 'id'> : never;

export class RawGuest {
  readonly events: WireMessage[] = [];
  private readonly decoder = new FrameDecoder({ maxPayload: 16 * 1024 * 1024 });
  private readonly waiting = new Map<number, { resolve: (m: Reply) => void; reject: (e: Error) => void }>();
  private watchers: (() => void)[] = [];
  private nextId = 2;
  helloOk: HelloOk | null = null;
  ended = false;
  /** Bytes of pushed data received, per handle. */
  readonly received = new Map<number, Buffer[]>();

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      const { messages, error } = this.decoder.push(chunk);
      for (const m of messages) this.onMessage(m);
      if (error) throw error;
    });
    socket.on('close', () => {
      this.ended = true;
      for (const w of this.waiting.values()) w.reject(new Error(`channel closed; events: ${this.events.map((e) => e.type).join(',')}`));
      this.waiting.clear();
      this.notify();
    });
    socket.on('error', () => undefined);
  }

  /** Connects and says hello; resolves with the guest when helloOk came, rejects with the error reply otherwise. */
  static async open(path: string | { host: string; port: number }, name: string, opts: { version?: number; capabilities?: number; guestTimeNs?: number } = {}): Promise<RawGuest> {
    return RawGuest.hello(await RawGuest.connectOnly(path), name, opts);
  }

  /** Says hello on a socket already connected (from a chosen local address, say). */
  static fromSocket(socket: Socket, name: string): Promise<RawGuest> {
    return RawGuest.hello(new RawGuest(socket), name, {});
  }

  private static async hello(g: RawGuest, name: string, opts: { version?: number; capabilities?: number; guestTimeNs?: number }): Promise<RawGuest> {
    const reply = await g.request({
      type: 'hello', handle: 0, version: opts.version ?? WIRE_VERSION, guest: name,
      capabilities: opts.capabilities ?? (Capability.stamps | Capability.pushData), maxPayload: DEFAULT_MAX_PAYLOAD,
      guestTimeNs: opts.guestTimeNs ?? Number(process.hrtime.bigint()),
    }, 1);
    if (reply.type !== 'helloOk') throw Object.assign(new Error(`hello refused: ${(reply as ErrorReply).errno}`), { reply });
    g.helloOk = reply;
    return g;
  }

  static connectOnly(path: string | { host: string; port: number }): Promise<RawGuest> {
    return new Promise((resolve, reject) => {
      const s = typeof path === 'string' ? connect(path) : connect(path.port, path.host);
      s.once('connect', () => resolve(new RawGuest(s)));
      s.once('error', reject);
    });
  }

  private onMessage(m: WireMessage): void {
    if (REPLY_TYPES.has(m.type) && m.id !== 0) {
      const w = this.waiting.get(m.id);
      if (w) {
        this.waiting.delete(m.id);
        w.resolve(m as Reply);
        return;
      }
    }
    if (m.type === 'data') {
      const list = this.received.get(m.handle) ?? [];
      list.push(Buffer.from(m.data));
      this.received.set(m.handle, list);
    }
    this.events.push(m);
    this.notify();
  }

  private notify(): void {
    const w = this.watchers;
    this.watchers = [];
    for (const f of w) f();
  }

  /** Writes raw bytes (for malformed-frame tests). */
  writeRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  post(m: Unsent<WireMessage>, id = this.nextId++): number {
    this.socket.write(encodeMessage({ ...m, id } as WireMessage));
    return id;
  }

  request(m: Unsent<WireMessage>, id = this.nextId++): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.post(m, id);
    });
  }

  /** A request whose frame is written in parts, `gapMs` apart, so that the daemon reads it in pieces. */
  async requestInParts(m: Unsent<WireMessage>, parts: number, gapMs = 20): Promise<Reply> {
    const id = this.nextId++;
    const reply = new Promise<Reply>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    const bytes = encodeMessage({ ...m, id } as WireMessage);
    const step = Math.ceil(bytes.length / parts);
    for (let at = 0; at < bytes.length; at += step) {
      this.socket.write(bytes.subarray(at, at + step));
      await new Promise((r) => setTimeout(r, gapMs));
    }
    return reply;
  }

  /** Resolves with the first event matching `pred` (already received or coming), rejects after `ms`. */
  waitFor(pred: (m: WireMessage) => boolean, ms = 5000, what = 'event'): Promise<WireMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; events: ${this.events.map((e) => e.type).join(',')}`)), ms);
      const check = (): void => {
        const m = this.events.find(pred);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        } else this.watchers.push(check);
      };
      check();
    });
  }

  /** Resolves when the daemon closed the channel. */
  waitEnd(ms = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for the channel to close')), ms);
      const check = (): void => {
        if (this.ended) {
          clearTimeout(timer);
          resolve();
        } else this.watchers.push(check);
      };
      check();
    });
  }

  /** Waits until `n` bytes of pushed data arrived on `handle`. */
  async waitBytes(handle: number, n: number, ms = 5000): Promise<Buffer> {
    await this.waitFor(() => this.bytesOn(handle) >= n, ms, `${n} bytes on handle ${handle}`);
    return Buffer.concat(this.received.get(handle) ?? []);
  }

  bytesOn(handle: number): number {
    return (this.received.get(handle) ?? []).reduce((a, b) => a + b.length, 0);
  }

  // ---- conveniences ----

  async socket4(kind: 'tcp' | 'udp' = 'tcp', family: 4 | 6 = 4): Promise<number> {
    const r = await this.request({ type: 'socket', handle: 0, family, kind });
    if (r.type !== 'ok') throw new Error(`socket failed: ${JSON.stringify(r)}`);
    return r.value;
  }

  async connectTo(remote: Endpoint, kind: 'tcp' | 'udp' = 'tcp'): Promise<{ handle: number; reply: Reply }> {
    const handle = await this.socket4(kind, remote.family);
    const reply = await this.request({ type: 'connect', handle, remote });
    return { handle, reply };
  }

  close(): void {
    this.socket.destroy();
  }
}
