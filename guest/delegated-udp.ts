// DelegatedUdpSocket: a UDP socket performed by linsockd, with node:dgram's surface (bind, send,
// 'message', close, address). Received datagrams beyond the guest's credit are dropped by the host, as
// a full receive buffer drops them: that is UDP's contract.

import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { Endpoint, Family, HostEvent } from '../protocol';
import type { Channel } from './channel';
import { CREDIT_BATCH_BYTES, familyName } from './delegated-socket';
import { socketError, type SocketError } from './errors';

export interface RemoteInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

type SendCallback = (err: Error | null, bytes?: number) => void;

interface QueuedDatagram {
  /** One buffer, or the buffers of a vectored send (one datagram, sent as they are). */
  parts: Buffer[];
  size: number;
  port: number;
  host: string;
  cb: SendCallback | undefined;
}

/**
 * A copy of `m` (strings as UTF-8): the datagram leaves later (after a bind or a lookup, or for credit), and
 * the caller may reuse its buffer once send() returns, as the old whole-datagram copy allowed.
 */
function asBuffer(m: Buffer | Uint8Array | string): Buffer {
  return Buffer.from(m as Buffer);
}

export class DelegatedUdpSocket extends EventEmitter {
  private handle = 0;
  private local: Endpoint | null = null;
  private binding: Promise<void> | null = null;
  private closed = false;
  private sendCredit = 0;
  private readonly waiting: QueuedDatagram[] = [];
  private consumed = 0;
  private refd = true;
  private retained = false;

  constructor(readonly channel: Channel, readonly family: Family, listener?: (msg: Buffer, rinfo: RemoteInfo) => void) {
    super();
    if (listener) this.on('message', listener);
  }

  /** bind(port?, address?, cb?) or bind({ port, address }, cb?), as dgram.Socket. */
  bind(...args: unknown[]): this {
    const cb = typeof args[args.length - 1] === 'function' ? (args.pop() as () => void) : undefined;
    let port = 0;
    let address: string | undefined;
    if (typeof args[0] === 'object' && args[0] !== null) {
      const o = args[0] as { port?: number; address?: string };
      port = o.port ?? 0;
      address = o.address;
    } else {
      port = (args[0] as number | undefined) ?? 0;
      address = args[1] as string | undefined;
    }
    if (cb) this.once('listening', cb);
    this.ensureBound(port, address).catch((err: Error) => this.emit('error', err));
    return this;
  }

  address(): { address: string; family: string; port: number } {
    if (!this.local) throw socketError('EBADF', 'getsockname', 'the socket is not bound');
    return { address: this.local.address, family: familyName(this.local.family), port: this.local.port };
  }

  /**
   * send(msg, port, address?, cb?) or send(msg, offset, length, port, address?, cb?). A list of buffers is
   * one datagram, as in dgram: it goes to the host as one sendmsg frame, its buffers not joined.
   */
  send(msg: Buffer | Uint8Array | string | readonly (Buffer | Uint8Array | string)[], ...rest: unknown[]): void {
    const cb = typeof rest[rest.length - 1] === 'function' ? (rest.pop() as SendCallback) : undefined;
    let parts = Array.isArray(msg) ? (msg as (Buffer | Uint8Array | string)[]).map(asBuffer) : [asBuffer(msg as Buffer)];
    if (rest.length >= 3 && typeof rest[1] === 'number') {
      const offset = rest.shift() as number;
      const length = rest.shift() as number;
      parts = [Buffer.concat(parts).subarray(offset, offset + length)];
    }
    let size = 0;
    for (const p of parts) size += p.length;
    const port = rest[0] as number;
    const host = (rest[1] as string | undefined) ?? (this.family === 6 ? '::1' : '127.0.0.1');
    if (this.closed) {
      const err = socketError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'send', 'the socket is closed');
      if (cb) process.nextTick(cb, err);
      else throw err;
      return;
    }
    this.waiting.push({ parts, size, port, host, cb });
    if (this.waiting.length === 1) this.drain().catch((err: Error) => this.emit('error', err));
  }

  close(cb?: () => void): this {
    if (cb) this.once('close', cb);
    if (this.closed) return this;
    this.closed = true;
    for (const q of this.waiting.splice(0)) q.cb?.(socketError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'send', 'the socket was closed'));
    if (this.handle) {
      this.channel.detach(this.handle);
      this.channel.post({ type: 'close', handle: this.handle });
      this.handle = 0;
    }
    this.syncRetain();
    process.nextTick(() => this.emit('close'));
    return this;
  }

  ref(): this {
    this.refd = true;
    this.syncRetain();
    return this;
  }

  unref(): this {
    this.refd = false;
    this.syncRetain();
    return this;
  }

  private ensureBound(port = 0, address?: string): Promise<void> {
    if (!this.binding) this.binding = this.open(port, address);
    return this.binding;
  }

  private async open(port: number, address: string | undefined): Promise<void> {
    await this.channel.ready;
    const local: Endpoint = { family: this.family, address: address ?? (this.family === 6 ? '::' : '0.0.0.0'), port };
    const sock = await this.channel.request({ type: 'socket', handle: 0, family: this.family, kind: 'udp' }, 'ok', 'socket');
    this.handle = sock.value;
    this.sendCredit = this.channel.initialCredit;
    this.channel.attach(this.handle, {
      onEvent: (m, decoded) => this.onEvent(m, decoded),
      onCredit: (bytes) => {
        this.sendCredit += bytes;
        if (this.waiting.length > 0) this.drain().catch((err: Error) => this.emit('error', err));
      },
      onChannelClosed: (err) => this.onChannelClosed(err),
    });
    this.syncRetain();
    const r = await this.channel.request({ type: 'bind', handle: this.handle, local }, 'address', 'bind', local);
    this.local = r.endpoint;
    if (this.closed) return;
    this.emit('listening');
  }

  /** Sends queued datagrams in order while credit lasts; an implicit bind comes first, as in dgram. */
  private async drain(): Promise<void> {
    await this.ensureBound();
    while (this.waiting.length > 0 && !this.closed) {
      const q = this.waiting[0] as QueuedDatagram;
      if (q.size > this.sendCredit && this.sendCredit < this.channel.initialCredit) return; // credit comes back
      let address = q.host;
      if (isIP(address) === 0) {
        const found = await this.channel.lookup(address, this.family);
        if (!found[0]) throw socketError('ENOTFOUND', 'getaddrinfo', `no address for ${address}`);
        address = found[0].address;
      }
      if (this.closed) return;
      this.waiting.shift();
      this.sendCredit -= q.size;
      const remote: Endpoint = { family: this.family, address, port: q.port };
      if (q.parts.length === 1) this.channel.sendTo(this.handle, remote, q.parts[0] as Buffer);
      else this.channel.sendMsg(this.handle, remote, q.parts);
      if (q.cb) process.nextTick(q.cb, null, q.size);
    }
  }

  private onEvent(m: HostEvent, decoded: number): void {
    if (m.type === 'datagram') {
      const msg = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
      this.consumed += msg.length;
      if (this.consumed >= CREDIT_BATCH_BYTES) {
        this.channel.grantCredit(this.handle, this.consumed);
        this.consumed = 0;
      }
      this.emit('message', msg, { address: m.remote.address, family: familyName(m.remote.family), port: m.remote.port, size: msg.length });
      if (decoded) this.channel.stampDelivery(m.id, decoded);
    } else if (m.type === 'socketError') {
      this.emit('error', socketError(m.errno, 'send', m.message));
    } else if (m.type === 'closed') {
      this.handle = 0;
      this.close();
    }
  }

  private onChannelClosed(err: SocketError): void {
    this.handle = 0;
    this.emit('error', err);
    this.close();
  }

  private syncRetain(): void {
    const want = this.refd && this.handle !== 0 && !this.closed;
    if (want === this.retained) return;
    this.retained = want;
    if (want) this.channel.retain();
    else this.channel.release();
  }
}
