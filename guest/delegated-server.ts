// DelegatedServer: a listening TCP socket that linsockd opens on the host (subject to its policy); every
// connection the host accepts arrives as a DelegatedSocket in 'connection', as with net.Server.

import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { Endpoint, Family, HostEvent } from '../protocol';
import type { Channel, ChannelEndpoint } from './channel';
import { DelegatedSocket, familyName, type DelegatedSocketOptions } from './delegated-socket';
import { socketError, type SocketError } from './errors';

export interface DelegatedListenOptions {
  port?: number;
  host?: string;
  backlog?: number;
}

export class DelegatedServer extends EventEmitter {
  listening = false;
  private handle = 0;
  private local: Endpoint | null = null;
  private readonly connections = new Set<DelegatedSocket>();
  private closing = false;
  private refd = true;
  private retained = false;

  constructor(readonly channel: Channel, private readonly socketOptions: DelegatedSocketOptions = {}, connectionListener?: (s: DelegatedSocket) => void) {
    super();
    if (connectionListener) this.on('connection', connectionListener);
  }

  /** listen(port, host?, backlog?, cb?) or listen({ port, host, backlog }, cb?), as net.Server. */
  listen(...args: unknown[]): this {
    const cb = typeof args[args.length - 1] === 'function' ? (args.pop() as () => void) : undefined;
    let o: DelegatedListenOptions;
    if (typeof args[0] === 'object' && args[0] !== null) o = args[0] as DelegatedListenOptions;
    else o = { port: args[0] as number | undefined, host: typeof args[1] === 'string' ? args[1] : undefined, backlog: typeof args[1] === 'number' ? args[1] : (args[2] as number | undefined) };
    if (cb) this.once('listening', cb);
    this.open(o).catch((err: Error) => this.emit('error', err));
    return this;
  }

  address(): { address: string; family: string; port: number } | null {
    return this.local ? { address: this.local.address, family: familyName(this.local.family), port: this.local.port } : null;
  }

  /** Stops listening; 'close' follows once every accepted connection has closed, as with net.Server. */
  close(cb?: (err?: Error) => void): this {
    if (cb) {
      if (!this.listening && !this.handle) {
        process.nextTick(cb, socketError('ERR_SERVER_NOT_RUNNING', 'close', 'the server is not running'));
        return this;
      }
      this.once('close', () => cb());
    }
    this.closing = true;
    this.listening = false;
    if (this.handle) {
      this.channel.detach(this.handle);
      this.channel.post({ type: 'close', handle: this.handle });
      this.handle = 0;
    }
    this.syncRetain();
    this.maybeClosed();
    return this;
  }

  getConnections(cb: (err: Error | null, count: number) => void): this {
    process.nextTick(cb, null, this.connections.size);
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

  private async open(o: DelegatedListenOptions): Promise<void> {
    await this.channel.ready;
    const host = o.host ?? '0.0.0.0';
    const fam = isIP(host);
    if (fam === 0) throw socketError('EINVAL', 'listen', `listen needs an IP address, got '${host}'`);
    const family = fam as Family;
    const local: Endpoint = { family, address: host, port: o.port ?? 0 };
    const sock = await this.channel.request({ type: 'socket', handle: 0, family, kind: 'tcp' }, 'ok', 'socket');
    this.handle = sock.value;
    const listener: ChannelEndpoint = {
      onEvent: (m) => this.onEvent(m),
      onCredit: () => undefined,
      onChannelClosed: (err) => this.onChannelClosed(err),
    };
    this.channel.attach(this.handle, listener);
    this.syncRetain();
    try {
      await this.channel.request({ type: 'bind', handle: this.handle, local }, 'address', 'bind', local);
      const r = await this.channel.request({ type: 'listen', handle: this.handle, backlog: o.backlog ?? 511 }, 'address', 'listen', local);
      this.local = r.endpoint;
    } catch (err) {
      this.channel.detach(this.handle);
      this.channel.post({ type: 'close', handle: this.handle });
      this.handle = 0;
      this.syncRetain();
      throw err;
    }
    if (this.closing) return;
    this.listening = true;
    this.emit('listening');
  }

  private onEvent(m: HostEvent): void {
    if (m.type === 'accepted') {
      const s = DelegatedSocket.accepted(this.channel, m.newHandle, m.local, m.remote, this.socketOptions);
      this.connections.add(s);
      s.once('close', () => {
        this.connections.delete(s);
        this.maybeClosed();
      });
      this.emit('connection', s);
    } else if (m.type === 'socketError') {
      this.emit('error', socketError(m.errno, 'accept', m.message));
    } else if (m.type === 'closed') {
      this.handle = 0;
      this.listening = false;
      this.syncRetain();
      this.maybeClosed();
    }
  }

  private onChannelClosed(err: SocketError): void {
    this.handle = 0;
    this.listening = false;
    this.closing = true;
    this.syncRetain();
    this.emit('error', err);
    this.maybeClosed();
  }

  private maybeClosed(): void {
    if (this.closing && this.handle === 0 && this.connections.size === 0) {
      this.closing = false;
      process.nextTick(() => this.emit('close'));
    }
  }

  private syncRetain(): void {
    const want = this.refd && this.handle !== 0;
    if (want === this.retained) return;
    this.retained = want;
    if (want) this.channel.retain();
    else this.channel.release();
  }
}
