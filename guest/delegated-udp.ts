// DelegatedUdpSocket: a UDP socket performed by linsockd, with node:dgram's surface (bind, send,
// 'message', close, address). Received datagrams beyond the guest's credit are dropped by the host, as
// a full receive buffer drops them: that is UDP's contract.

import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { Endpoint, Family, HostEvent } from '../protocol';
import type { Channel } from './channel';
import { CREDIT_BATCH_BYTES, familyName } from './delegated-socket';
import { nodeError, socketError, type SocketError } from './errors';
import { datagramParts, invalidArgType, sliceDatagram, validatePort } from './node-args';

export interface RemoteInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

type SendCallback = (err: Error | null, bytes?: number) => void;

interface QueuedDatagram {
  kind: 'datagram';
  /** One buffer, or the buffers of a vectored send (one datagram, sent as they are). */
  parts: Buffer[];
  size: number;
  /** Where it goes; null: to the connected peer (`peer`, kept in case a disconnect came first). */
  to: { port: number; host: string } | null;
  peer: Endpoint | null;
  cb: SendCallback | undefined;
}

/** connect() and disconnect() take their turn in the send queue, so that sends keep their order around them. */
interface QueuedConnect { kind: 'connect'; port: number; host: string; cb: ((err?: Error) => void) | undefined }
interface QueuedDisconnect { kind: 'disconnect' }
type Queued = QueuedDatagram | QueuedConnect | QueuedDisconnect;

/**
 * Socket options the wire protocol does not carry (it has TCP_NODELAY, SO_KEEPALIVE, SO_RCVBUF, SO_SNDBUF):
 * setting one to the value a new Linux socket already has is a no-op, as on a host socket; any other value
 * fails with ENOPROTOOPT saying linsockd does not perform it (a guest's datagrams go only where the
 * daemon's policy lets each one go).
 */
const HOST_DEFAULTS = { setTTL: 64, setBroadcast: false, setMulticastTTL: 1, setMulticastLoopback: true } as const;

function notRunning(): Error {
  return nodeError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
}

export class DelegatedUdpSocket extends EventEmitter {
  private handle = 0;
  private local: Endpoint | null = null;
  private binding: Promise<void> | null = null;
  private closed = false;
  private sendCredit = 0;
  private readonly waiting: Queued[] = [];
  private draining = false;
  private consumed = 0;
  private refd = true;
  private retained = false;
  private connectState: 'disconnected' | 'connecting' | 'connected' = 'disconnected';
  /** What bind asked for: a disconnect binds the new host socket the same way (see reopen). */
  private bindRequest: { port: number; address: string | undefined } = { port: 0, address: undefined };
  private peer: Endpoint | null = null;

  constructor(readonly channel: Channel, readonly family: Family, listener?: (msg: Buffer, rinfo: RemoteInfo) => void) {
    super();
    if (listener) this.on('message', listener);
  }

  /** bind(port?, address?, cb?) or bind({ port, address }, cb?), as dgram.Socket; a second bind throws. */
  bind(...args: unknown[]): this {
    if (this.closed) throw notRunning();
    if (this.binding) throw nodeError('ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound');
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

  /** As dgram: the connected peer; throws ERR_SOCKET_DGRAM_NOT_CONNECTED when there is none. */
  remoteAddress(): { address: string; family: string; port: number } {
    if (this.closed) throw notRunning();
    if (this.connectState !== 'connected' || !this.peer) throw nodeError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
    return { address: this.peer.address, family: familyName(this.peer.family), port: this.peer.port };
  }

  /**
   * connect(port, address?, cb?), as dgram: an implicit bind, then the host connects its socket (under the
   * daemon's policy for `connect`); 'connect' follows, or the callback (else 'error') gets the failure.
   */
  connect(port: unknown, address?: unknown, cb?: (err?: Error) => void): void {
    const p = validatePort(port, 'Port', false);
    if (typeof address === 'function') {
      cb = address as (err?: Error) => void;
      address = '';
    } else if (address === undefined) address = '';
    if (typeof address !== 'string') throw invalidArgType('address', 'of type string', address);
    if (this.closed) throw notRunning();
    if (this.connectState !== 'disconnected') throw nodeError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
    this.connectState = 'connecting';
    if (cb) this.once('connect', cb);
    this.enqueue({ kind: 'connect', port: p, host: address || this.loopback(), cb });
  }

  /** As dgram: forgets the peer at once; the host socket is replaced by an unconnected one on the same address. */
  disconnect(): void {
    if (this.closed) throw notRunning();
    if (this.connectState !== 'connected') throw nodeError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
    this.connectState = 'disconnected';
    this.enqueue({ kind: 'disconnect' });
  }

  /**
   * send(msg, port, address?, cb?) or send(msg, offset, length, port, address?, cb?); once connected,
   * send(msg, cb?) or send(msg, offset, length, cb?). A list of buffers is one datagram, as in dgram: it
   * goes to the host as one sendmsg frame, its buffers not joined. With a callback the host answers the
   * send and the callback gets its result (bytes, or the error, as node:dgram hands it); without one it is
   * pipelined and a failure is not reported (node:dgram drops it too).
   */
  send(msg: Buffer | Uint8Array | string | readonly (Buffer | Uint8Array | string)[], ...rest: unknown[]): void {
    const [offset, length] = rest;
    let [, , port, address, callback] = rest;
    const connected = this.connectState === 'connected';
    let parts: Buffer[] | null = null;
    if (!connected) {
      if (address || (port && typeof port !== 'function')) parts = [sliceDatagram(msg, offset, length)];
      else {
        callback = port;
        port = offset;
        address = length;
      }
    } else {
      if (typeof length === 'number') {
        parts = [sliceDatagram(msg, offset, length)];
        if (typeof port === 'function') {
          callback = port;
          port = null;
        }
      } else callback = offset;
      if (port || address) throw nodeError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
    }
    parts ??= datagramParts(msg);
    if (!connected) port = validatePort(port, 'Port', false);
    if (typeof callback !== 'function') callback = undefined;
    if (typeof address === 'function') {
      callback = address;
      address = undefined;
    } else if (address !== undefined && address !== null && typeof address !== 'string') throw invalidArgType('address', 'of type string', address);
    if (this.closed) throw notRunning();
    let size = 0;
    for (const part of parts) size += part.length;
    const to = connected ? null : { port: port as number, host: (address as string | undefined) || this.loopback() };
    this.enqueue({ kind: 'datagram', parts, size, to, peer: connected ? this.peer : null, cb: callback as SendCallback | undefined });
  }

  /** Datagrams queued and not yet handed to the host (dgram's getSendQueueCount/Size). */
  getSendQueueCount(): number {
    return this.waiting.filter((q) => q.kind === 'datagram').length;
  }

  getSendQueueSize(): number {
    let n = 0;
    for (const q of this.waiting) if (q.kind === 'datagram') n += q.size;
    return n;
  }

  setTTL(ttl: unknown): number {
    if (typeof ttl !== 'number') throw invalidArgType('ttl', 'of type number', ttl);
    if (ttl < 1 || ttl > 255) throw socketError('EINVAL', 'setTTL', '');
    return this.hostDefault('setTTL', ttl, 'IP_TTL') as number;
  }

  setMulticastTTL(ttl: unknown): number {
    if (typeof ttl !== 'number') throw invalidArgType('ttl', 'of type number', ttl);
    if (ttl < 0 || ttl > 255) throw socketError('EINVAL', 'setMulticastTTL', '');
    return this.hostDefault('setMulticastTTL', ttl, 'IP_MULTICAST_TTL') as number;
  }

  setBroadcast(flag: unknown): void {
    this.hostDefault('setBroadcast', Boolean(flag), 'SO_BROADCAST');
  }

  setMulticastLoopback(flag: unknown): unknown {
    this.hostDefault('setMulticastLoopback', Boolean(flag), 'IP_MULTICAST_LOOP');
    return flag;
  }

  setMulticastInterface(interfaceAddress: unknown): void {
    if (typeof interfaceAddress !== 'string') throw invalidArgType('interfaceAddress', 'of type string', interfaceAddress);
    this.notDelegated('setMulticastInterface', 'IP_MULTICAST_IF');
  }

  addMembership(multicastAddress: unknown): void {
    this.membership('addMembership', multicastAddress, 'IP_ADD_MEMBERSHIP');
  }

  dropMembership(multicastAddress: unknown): void {
    this.membership('dropMembership', multicastAddress, 'IP_DROP_MEMBERSHIP');
  }

  addSourceSpecificMembership(sourceAddress: unknown, groupAddress: unknown): void {
    if (typeof sourceAddress !== 'string') throw invalidArgType('sourceAddress', 'of type string', sourceAddress);
    this.membership('addSourceSpecificMembership', groupAddress, 'IP_ADD_SOURCE_MEMBERSHIP', 'groupAddress');
  }

  dropSourceSpecificMembership(sourceAddress: unknown, groupAddress: unknown): void {
    if (typeof sourceAddress !== 'string') throw invalidArgType('sourceAddress', 'of type string', sourceAddress);
    this.membership('dropSourceSpecificMembership', groupAddress, 'IP_DROP_SOURCE_MEMBERSHIP', 'groupAddress');
  }

  close(cb?: () => void): this {
    if (cb) this.once('close', cb);
    if (this.closed) return this;
    this.closed = true;
    for (const q of this.waiting.splice(0)) if (q.kind === 'datagram') q.cb?.(socketError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'send', 'the socket was closed'));
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

  private loopback(): string {
    return this.family === 6 ? '::1' : '127.0.0.1';
  }

  /** An option set on an unbound socket is EBADF, as in dgram (its host socket does not exist yet). */
  private hostDefault<K extends keyof typeof HOST_DEFAULTS>(method: K, value: number | boolean, option: string): number | boolean {
    if (this.closed) throw notRunning();
    if (!this.local) throw socketError('EBADF', method, '');
    if (value !== HOST_DEFAULTS[method]) this.notDelegated(method, option);
    return value;
  }

  private membership(method: string, group: unknown, option: string, name = 'multicastAddress'): void {
    if (this.closed) throw notRunning();
    if (!group) throw nodeError('ERR_MISSING_ARGS', `The "${name}" argument must be specified`, TypeError);
    if (typeof group !== 'string') throw invalidArgType(name, 'of type string', group);
    this.notDelegated(method, option);
  }

  private notDelegated(method: string, option: string): never {
    throw socketError('ENOPROTOOPT', method, `linsockd does not perform ${option} for a guest; the wire protocol carries TCP_NODELAY, SO_KEEPALIVE, SO_RCVBUF and SO_SNDBUF`);
  }

  private enqueue(q: Queued): void {
    this.waiting.push(q);
    if (!this.draining) void this.drain();
  }

  private ensureBound(port = 0, address?: string): Promise<void> {
    if (!this.binding) {
      this.bindRequest = { port, address };
      this.binding = this.open(port, address, true);
    }
    return this.binding;
  }

  private async open(port: number, address: string | undefined, announce: boolean): Promise<void> {
    await this.channel.ready;
    const local: Endpoint = { family: this.family, address: address ?? (this.family === 6 ? '::' : '0.0.0.0'), port };
    const sock = await this.channel.request({ type: 'socket', handle: 0, family: this.family, kind: 'udp' }, 'ok', 'socket');
    if (this.closed) {
      this.channel.post({ type: 'close', handle: sock.value });
      return;
    }
    this.handle = sock.value;
    this.sendCredit = this.channel.initialCredit;
    this.channel.attach(this.handle, {
      onEvent: (m, decoded) => this.onEvent(m, decoded),
      onCredit: (bytes) => {
        this.sendCredit += bytes;
        if (this.waiting.length > 0 && !this.draining) void this.drain();
      },
      onChannelClosed: (err) => this.onChannelClosed(err),
    });
    this.syncRetain();
    const r = await this.channel.request({ type: 'bind', handle: this.handle, local }, 'address', 'bind', local);
    this.local = r.endpoint;
    if (this.closed || !announce) return;
    this.emit('listening');
  }

  /**
   * Runs the queue in order while credit lasts: an implicit bind comes first, as in dgram; a connect or
   * disconnect waits for the sends before it.
   */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      try {
        await this.ensureBound();
      } catch (err) {
        // The bind failed ('error' was emitted for it): what waited for it fails with it.
        for (const q of this.waiting.splice(0)) {
          if (q.kind === 'datagram') q.cb?.(err as Error);
          else if (q.kind === 'connect') this.connectFailed(q, err as Error);
        }
        return;
      }
      while (this.waiting.length > 0 && !this.closed) {
        const q = this.waiting[0] as Queued;
        if (q.kind === 'connect') await this.doConnect(q);
        else if (q.kind === 'disconnect') await this.reopen();
        else if (!(await this.sendOne(q))) return; // waiting for credit
        this.waiting.shift();
      }
    } finally {
      this.draining = false;
    }
  }

  private async resolve(host: string, port: number): Promise<Endpoint> {
    if (isIP(host) !== 0) return { family: this.family, address: host, port };
    const found = await this.channel.lookup(host, this.family);
    if (!found[0]) throw socketError('ENOTFOUND', 'getaddrinfo', `no address for ${host}`, { address: host });
    return { family: this.family, address: found[0].address, port };
  }

  /** Hands one datagram to the host; false when it must wait for credit. */
  private async sendOne(q: QueuedDatagram): Promise<boolean> {
    if (q.size > this.sendCredit && this.sendCredit < this.channel.initialCredit) return false; // credit comes back
    let remote: Endpoint | null = null;
    if (q.to) {
      try {
        remote = await this.resolve(q.to.host, q.to.port);
      } catch (err) {
        if (q.cb) process.nextTick(q.cb, err);
        else process.nextTick(() => this.emit('error', err));
        return true;
      }
    } else if (this.connectState !== 'connected') remote = q.peer; // disconnected meanwhile: to the old peer
    if (this.closed || !this.handle) return true;
    this.sendCredit -= q.size;
    if (!q.cb) {
      if (remote && q.parts.length === 1) this.channel.sendTo(this.handle, remote, q.parts[0] as Buffer);
      else this.channel.sendMsg(this.handle, remote, q.parts);
      return true;
    }
    const cb = q.cb;
    const where = remote ? { address: remote.address, port: remote.port } : undefined;
    const reply = remote && q.parts.length === 1
      ? this.channel.request({ type: 'sendto', handle: this.handle, noReply: false, remote, data: q.parts[0] as Buffer }, 'ok', 'send', where)
      : this.channel.request({ type: 'sendmsg', handle: this.handle, noReply: false, remote, buffers: q.parts }, 'ok', 'send', where);
    reply.then((r) => cb(null, r.value), (err: Error) => cb(err));
    return true;
  }

  private async doConnect(q: QueuedConnect): Promise<void> {
    try {
      const remote = await this.resolve(q.host, q.port);
      if (this.closed) return;
      await this.channel.request({ type: 'connect', handle: this.handle, remote }, 'address', 'connect', remote);
      if (this.closed) return;
      this.peer = remote;
      this.connectState = 'connected';
      process.nextTick(() => this.emit('connect'));
    } catch (err) {
      this.connectFailed(q, err as Error);
    }
  }

  private connectFailed(q: QueuedConnect, err: Error): void {
    this.connectState = 'disconnected';
    process.nextTick(() => {
      if (q.cb) {
        this.removeListener('connect', q.cb);
        q.cb(err);
      } else this.emit('error', err);
    });
  }

  /**
   * disconnect(): the protocol has no "unconnect", so the host socket is closed and a new one bound as the
   * first was asked to be. As on Linux, a port or address bound as 0 / any is given up by the disconnect
   * (the socket takes a new ephemeral port); one bound explicitly is kept.
   */
  private async reopen(): Promise<void> {
    this.peer = null;
    if (this.handle) {
      this.channel.detach(this.handle);
      this.channel.post({ type: 'close', handle: this.handle });
      this.handle = 0;
      this.syncRetain();
    }
    if (this.closed) return;
    this.binding = this.open(this.bindRequest.port, this.bindRequest.address, false);
    try {
      await this.binding;
    } catch (err) {
      this.emit('error', err);
      this.close();
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
      // A pipelined send that failed (its request id): node:dgram does not report a send without a
      // callback either. Id 0: the socket's own error (an ICMP error on a connected socket), as dgram's 'error'.
      if (m.id === 0) this.emit('error', socketError(m.errno, 'recvmsg', m.message));
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
