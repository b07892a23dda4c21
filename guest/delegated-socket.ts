// DelegatedSocket: a TCP socket whose calls linsockd performs on a host socket. It is a stream.Duplex
// with the surface of net.Socket that existing Node code relies on (http.Agent included). Writes are
// pipelined sends bounded by the host's credit; data the host pushes is granted back as it is consumed.

import { Duplex } from 'node:stream';
import { isIP } from 'node:net';
import type { Endpoint, Family, HostEvent } from '../protocol';
import type { Channel, ChannelEndpoint } from './channel';
import { socketError, type SocketError } from './errors';
import { connectArgs } from './node-args';
import { nowNs } from './stamp-batch';

export interface DelegatedConnectOptions {
  port: number;
  host?: string;
  /** 0 (either), 4 or 6: which address family a host name resolves to. */
  family?: number;
  localAddress?: string;
  localPort?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  timeout?: number;
}

export interface DelegatedSocketOptions {
  allowHalfOpen?: boolean;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
}

/**
 * Consumed bytes are granted back to the host in batches of at least this much: the host's credit
 * (DEFAULT_INITIAL_CREDIT, 1 MiB) is far larger, so it never stalls, and a request/response exchange
 * does not pay a credit frame (and a daemon wake-up) per message.
 */
export const CREDIT_BATCH_BYTES = 64 * 1024;

interface HeldWrite {
  chunk: Buffer;
  offset: number;
  cb: (err?: Error | null) => void;
  /** The write's stamps when traced (0: not traced): it entered at `enter` and returned at `returned`. */
  enter: number;
  returned: number;
}

export function familyName(f: Family): 'IPv4' | 'IPv6' {
  return f === 6 ? 'IPv6' : 'IPv4';
}

export class DelegatedSocket extends Duplex implements ChannelEndpoint {
  connecting = false;
  pending = true;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  remoteFamily: 'IPv4' | 'IPv6' | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  localFamily: 'IPv4' | 'IPv6' | undefined;
  bytesRead = 0;
  /** The host's handle for this socket (0 before `socket` succeeded). */
  handle = 0;

  private sent = 0;
  private sendCredit = 0;
  private held: HeldWrite | null = null;
  private waitingConnect: (() => void) | null = null;
  /** Pushed bytes the application has not consumed yet: granted back to the host on the next _read. */
  private owedCredit = 0;
  /** Consumed bytes not yet granted back (below CREDIT_BATCH_BYTES). */
  private consumed = 0;
  private hostGone = false;
  private refd = true;
  private retained = false;
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private noDelay: boolean | null = null;
  private keepAlive: { enable: boolean; delay: number } | null = null;

  constructor(readonly channel: Channel, options: DelegatedSocketOptions = {}) {
    super({
      allowHalfOpen: options.allowHalfOpen ?? false,
      readableHighWaterMark: options.readableHighWaterMark ?? 64 * 1024,
      // Room for a whole frame of writes per tick (DEFAULT_MAX_PAYLOAD), which send() merges into one.
      writableHighWaterMark: options.writableHighWaterMark ?? 256 * 1024,
    });
  }

  /** A connection a delegated server accepted: already connected, its handle named by the host. */
  static accepted(channel: Channel, handle: number, local: Endpoint, remote: Endpoint, options: DelegatedSocketOptions = {}): DelegatedSocket {
    const s = new DelegatedSocket(channel, options);
    s.adopt(handle);
    s.established(local, remote);
    return s;
  }

  /** As net.Socket's (deprecated) bufferSize: bytes written and not yet sent; undefined without a socket. */
  get bufferSize(): number | undefined {
    if (this.destroyed || (!this.connecting && !this.handle)) return undefined;
    return this.writableLength;
  }

  get bytesWritten(): number {
    return this.sent;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.destroyed || (!this.readable && !this.writable)) return 'closed';
    if (this.readable && this.writable) return 'open';
    return this.readable ? 'readOnly' : 'writeOnly';
  }

  get timeout(): number | undefined {
    return this.idleMs || undefined;
  }

  /** As net.Socket: connect(options, listener?), connect(port, host?, listener?); bad ports throw at once. */
  connect(options: DelegatedConnectOptions, listener?: () => void): this;
  connect(port: number | string, host?: string, listener?: () => void): this;
  connect(port: number | string, listener?: () => void): this;
  connect(...args: unknown[]): this {
    const { options, listener } = connectArgs<DelegatedConnectOptions>(args);
    if (listener) this.once('connect', listener);
    this.connecting = true;
    if (options.timeout) this.setTimeout(options.timeout);
    if (options.noDelay !== undefined) this.noDelay = options.noDelay;
    if (options.keepAlive) this.keepAlive = { enable: true, delay: options.keepAliveInitialDelay ?? 0 };
    this.establish(options).catch((err: Error) => {
      this.connecting = false;
      this.destroy(err);
    });
    return this;
  }

  address(): { address: string; family: string; port: number } | Record<string, never> {
    if (this.localAddress === undefined || this.localPort === undefined) return {};
    return { address: this.localAddress, family: this.localFamily ?? 'IPv4', port: this.localPort };
  }

  /** As net.Socket, a value already in force costs nothing (no request to the host). */
  setNoDelay(noDelay = true): this {
    if (this.noDelay === noDelay) return this;
    this.noDelay = noDelay;
    if (this.handle) this.setOption('TCP_NODELAY', noDelay ? 1 : 0);
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    if (this.keepAlive?.enable === enable) return this;
    this.keepAlive = { enable, delay: initialDelay };
    if (this.handle) this.setOption('SO_KEEPALIVE', enable ? 1 : 0);
    return this;
  }

  /** As net.Socket: 'timeout' after `ms` without activity; 0 disables. */
  setTimeout(ms: number, callback?: () => void): this {
    this.idleMs = ms;
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (callback) {
      if (ms === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    if (ms > 0 && !this.destroyed) {
      this.idleTimer = setTimeout(() => this.emit('timeout'), ms);
      this.idleTimer.unref();
    }
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

  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  resetAndDestroy(): this {
    return this.destroy();
  }

  // ---- from the channel ----

  onEvent(m: HostEvent, decoded: number): void {
    switch (m.type) {
      case 'data': {
        const len = m.data.byteLength;
        this.bytesRead += len;
        this.touch();
        const buf = Buffer.from(m.data.buffer, m.data.byteOffset, len);
        if (this.push(buf)) this.creditConsumed(len);
        else this.owedCredit += len;
        // A frame read in pieces (see Channel) is one pushed event, delivered when its last piece is.
        if (decoded && !m.more) this.channel.stampDelivery(m.id, decoded);
        return;
      }
      case 'peerClosed':
        this.push(null);
        return;
      case 'socketError':
        this.destroy(socketError(m.errno, this.connecting ? 'connect' : 'read', m.message, { address: this.remoteAddress, port: this.remotePort }));
        return;
      case 'closed':
        this.hostGone = true;
        this.channel.detach(this.handle);
        this.push(null);
        if (this.held) this.failHeld(socketError('EPIPE', 'write', 'the host closed the socket'));
        return;
      default:
        return;
    }
  }

  onCredit(bytes: number): void {
    this.sendCredit += bytes;
    if (this.held) {
      const h = this.held;
      this.held = null;
      this.sendFrom(h.chunk, h.offset, h.cb, h.enter, h.returned);
    }
  }

  onChannelClosed(err: SocketError): void {
    this.hostGone = true;
    this.destroy(err);
  }

  // ---- stream implementation ----

  override _read(): void {
    if (this.owedCredit > 0 && this.handle && !this.hostGone) {
      const n = this.owedCredit;
      this.owedCredit = 0;
      this.creditConsumed(n);
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.connecting || !this.handle) {
      this.waitingConnect = () => this._write(chunk, _enc, cb);
      return;
    }
    if (this.hostGone) {
      cb(socketError('EPIPE', 'write', 'the host closed the socket'));
      return;
    }
    // An application write: stamped from here to when it returns (its trace record counts it, stampCall).
    this.sendFrom(chunk, 0, cb, this.channel.tracing ? nowNs() : 0, 0);
  }

  /** Buffered writes go out in order, uncopied; the channel merges them into as few frames as fit. */
  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    let i = 0;
    const step = (err?: Error | null): void => {
      while (!err && i < chunks.length) {
        let sync = true;
        let done = false;
        let failed: Error | null | undefined;
        this._write((chunks[i++] as { chunk: Buffer }).chunk, 'buffer' as BufferEncoding, (e) => {
          done = true;
          failed = e;
          if (!sync) step(e);
        });
        sync = false;
        if (!done) return; // waiting for credit: the callback resumes the loop
        err = failed;
      }
      cb(err);
    };
    step();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.connecting || !this.handle) {
      this.waitingConnect = () => this._final(cb);
      return;
    }
    if (this.hostGone) {
      cb();
      return;
    }
    this.channel.request({ type: 'shutdown', handle: this.handle, how: 'write' }, 'ok', 'shutdown').then(() => cb(), (err: Error) => cb(err));
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.connecting = false;
    if (this.held) this.failHeld(err ?? socketError('ECANCELED', 'write', 'the socket was destroyed'));
    if (this.handle && !this.hostGone) {
      this.hostGone = true;
      this.channel.detach(this.handle);
      this.channel.post({ type: 'close', handle: this.handle });
    }
    if (this.retained) {
      this.retained = false;
      this.channel.release();
    }
    cb(err);
  }

  // ---- internals ----

  private async establish(o: DelegatedConnectOptions): Promise<void> {
    const port = Number(o.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw socketError('EINVAL', 'connect', `port must be 0..65535, got ${String(o.port)}`);
    await this.channel.ready;
    const host = o.host ?? 'localhost';
    let family = isIP(host) as 0 | 4 | 6;
    let address = host;
    if (family === 0) {
      const want = o.family === 4 || o.family === 6 ? o.family : 0;
      const found = await this.channel.lookup(host, want);
      const first = found[0];
      if (!first) throw socketError('ENOTFOUND', 'getaddrinfo', `no address for ${host}`);
      family = first.family;
      address = first.address;
      this.emit('lookup', null, address, family, host);
    }
    const remote: Endpoint = { family: family as Family, address, port };
    const sock = await this.channel.request({ type: 'socket', handle: 0, family: remote.family, kind: 'tcp' }, 'ok', 'socket');
    if (this.destroyed) {
      this.channel.post({ type: 'close', handle: sock.value });
      return;
    }
    this.adopt(sock.value);
    // Options asked for before the handle existed go out now, pipelined ahead of the connect (the host
    // applies them to the socket it is about to connect): no round trip of their own.
    if (this.noDelay !== null) this.setOption('TCP_NODELAY', this.noDelay ? 1 : 0);
    if (this.keepAlive?.enable) this.setOption('SO_KEEPALIVE', 1);
    if (o.localAddress !== undefined || o.localPort !== undefined) {
      const local = { family: remote.family, address: o.localAddress ?? (remote.family === 6 ? '::' : '0.0.0.0'), port: o.localPort ?? 0 };
      await this.channel.request({ type: 'bind', handle: this.handle, local }, 'address', 'bind', local);
    }
    const r = await this.channel.request({ type: 'connect', handle: this.handle, remote }, 'address', 'connect', remote);
    if (this.destroyed) return;
    this.established(r.endpoint, remote);
    this.emit('connect');
    this.emit('ready');
    const resume = this.waitingConnect;
    this.waitingConnect = null;
    resume?.();
  }

  private adopt(handle: number): void {
    this.handle = handle;
    this.channel.attach(handle, this);
    this.syncRetain();
  }

  private established(local: Endpoint, remote: Endpoint): void {
    this.connecting = false;
    this.pending = false;
    this.sendCredit = this.channel.initialCredit;
    this.localAddress = local.address;
    this.localPort = local.port;
    this.localFamily = familyName(local.family);
    this.remoteAddress = remote.address;
    this.remotePort = remote.port;
    this.remoteFamily = familyName(remote.family);
    this.touch();
  }

  /**
   * Sends chunk[offset..] in frames no larger than the credit and the frame limit; waits for credit. A
   * traced write (enter != 0) is stamped into the frame that carries its last byte; a write that waits for
   * credit returned to the application when it first waited (`returned`).
   */
  private sendFrom(chunk: Buffer, offset: number, cb: (err?: Error | null) => void, enter: number, returned: number): void {
    const max = this.channel.maxPayload;
    let frame = 0;
    while (offset < chunk.length) {
      const n = Math.min(chunk.length - offset, this.sendCredit, max);
      if (n <= 0) {
        this.held = { chunk, offset, cb, enter, returned: returned || (enter ? nowNs() : 0) };
        return;
      }
      frame = this.channel.send(this.handle, offset === 0 && n === chunk.length ? chunk : chunk.subarray(offset, offset + n));
      this.sendCredit -= n;
      this.sent += n;
      offset += n;
    }
    if (enter) this.channel.stampCall(frame, enter, returned || nowNs());
    this.touch();
    // The write completes once the channel can take more (see SEND_BACKLOG_BYTES): the writer yields to
    // the event loop, which keeps the channel to the daemon full.
    if (this.channel.congested()) this.channel.whenWritable(() => cb());
    else cb();
  }

  private creditConsumed(n: number): void {
    this.consumed += n;
    if (this.consumed < CREDIT_BATCH_BYTES) return;
    this.channel.grantCredit(this.handle, this.consumed);
    this.consumed = 0;
  }

  private failHeld(err: Error): void {
    const h = this.held;
    this.held = null;
    h?.cb(err);
  }

  private setOption(option: 'TCP_NODELAY' | 'SO_KEEPALIVE', value: number): void {
    // Fire and forget, as net.Socket's setters: a failure does not concern the stream.
    this.channel.request({ type: 'setsockopt', handle: this.handle, option, value }, 'ok', 'setsockopt').catch(() => undefined);
  }

  private syncRetain(): void {
    const want = this.refd && this.handle !== 0 && !this.destroyed;
    if (want === this.retained) return;
    this.retained = want;
    if (want) this.channel.retain();
    else this.channel.release();
  }

  private touch(): void {
    this.idleTimer?.refresh();
  }
}
