// A guest's UDP socket. Datagrams received are pushed while the guest has credit for them and dropped
// (and counted) otherwise, as a full socket buffer would. Sends are bounded per socket like TCP's, and
// their credit comes back once the kernel took the datagram (send and sendto alike).
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { DEFAULT_INITIAL_CREDIT, toErrnoName, type Endpoint, type Family, type SockOpt, type SocketInfo } from '../../protocol';
import { anyAddress, formatEndpoint, hostAddress, toEndpoint } from './endpoint';
import { BaseHandle } from './base-handle';
import { ownedBytes } from '../channel/shared-pages';
import { fail, OK, type Respond } from './host-handle';
import type { SessionContext } from './session-context';
import { bindRefused, denied } from './denial';

const MAX_CREDIT = 2 ** 31;
/** The largest UDP payload over IPv4 (65535 - 20 - 8); IPv6 allows 8 bytes more without jumbograms. */
const MAX_DATAGRAM = 65507;

export class UdpSocket extends BaseHandle {
  readonly kind = 'udp' as const;
  private readonly sock: Socket;
  private bound = false;
  private connected = false;
  private busy = false;
  private gone = false;
  private pushCredit = DEFAULT_INITIAL_CREDIT;
  private inFlight = 0;
  private pending: Respond | null = null;
  private rcvbuf = 0;
  private sndbuf = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  private drops = 0;

  constructor(handle: number, ctx: SessionContext, private readonly family: Family) {
    super(handle, ctx);
    this.sock = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    this.sock.on('message', this.guard('udp message', (msg: Buffer, rinfo: RemoteInfo) => this.onMessage(msg, rinfo)));
    this.sock.on('listening', this.guard('udp listening', () => {
      this.bound = true;
      this.applyBufferSizes();
    }));
    this.sock.on('error', this.guard('udp error', (err: Error) => {
      const errno = toErrnoName(err);
      const p = this.pending;
      if (p) {
        this.pending = null;
        this.busy = false;
        return p(fail(errno, `udp: ${errno}`));
      }
      if (!this.gone) this.ctx.out.send({ type: 'socketError', id: 0, handle: this.handle, errno, message: `udp: ${errno}` });
    }));
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.gone) return;
    const ctx = this.ctx;
    const n = msg.length;
    this.bytesIn += n;
    // A sender whose address the wire cannot carry (a zone of an interface gone meanwhile) is dropped like
    // a datagram without room: counted, never a failure of the daemon.
    const remote = toEndpoint(rinfo.address, rinfo.port);
    if (!remote || n > this.pushCredit || ctx.outputBlocked() || n > ctx.maxPayload - 32) {
      this.drops++;
      ctx.counters.drops++;
      return;
    }
    this.pushCredit -= n;
    ctx.counters.bytes += n;
    const id = ctx.nextEventId();
    ctx.out.send({ type: 'datagram', id, handle: this.handle, remote, data: msg }, ctx.tracePush(this.handle, 'recvfrom', id, n, 0));
  }

  private applyBufferSizes(): void {
    try {
      if (this.rcvbuf) this.sock.setRecvBufferSize(this.rcvbuf);
      if (this.sndbuf) this.sock.setSendBufferSize(this.sndbuf);
    } catch (e) {
      this.ctx.log.warn('udp buffer size not applied', { guest: this.ctx.guest, handle: this.handle, error: (e as Error).message });
    }
  }

  override credit(bytes: number): void {
    this.pushCredit = Math.min(this.pushCredit + bytes, MAX_CREDIT);
  }

  override bind(local: Endpoint, respond: Respond): void {
    if (this.bound || this.busy) return respond(fail('EINVAL', 'bind: the socket is already bound'));
    if (local.family !== this.family) return respond(fail('EAFNOSUPPORT', `bind: an IPv${local.family} address on an IPv${this.family} socket`));
    if (bindRefused(this.ctx, local, respond)) return;
    const address = hostAddress(local);
    if (address === null) return respond(fail('EADDRNOTAVAIL', `bind: scope id ${local.scopeId} names no interface of this host`));
    this.busy = true;
    this.pending = respond;
    this.sock.bind({ address, port: local.port, exclusive: true }, () => {
      this.busy = false;
      const p = this.pending;
      this.pending = null;
      if (p) p(this.localReply());
    });
  }

  override connect(remote: Endpoint, respond: Respond): void {
    if (this.connected) return respond(fail('EISCONN', 'connect: the socket is already connected'));
    if (this.busy) return respond(fail('EALREADY', 'connect: an operation is already in progress'));
    if (remote.family !== this.family) return respond(fail('EAFNOSUPPORT', `connect: an IPv${remote.family} address on an IPv${this.family} socket`));
    if (denied(this.ctx, 'connect', remote, respond)) return;
    const address = hostAddress(remote);
    if (address === null) return respond(fail('EADDRNOTAVAIL', `connect: scope id ${remote.scopeId} names no interface of this host`));
    this.busy = true;
    this.pending = respond;
    this.sock.connect(remote.port, address, () => {
      this.busy = false;
      this.connected = true;
      const p = this.pending;
      this.pending = null;
      if (p) p(this.localReply());
    });
  }

  private localReply(): ReturnType<typeof fail> | { type: 'address'; endpoint: Endpoint } {
    const a = this.sock.address();
    const e = toEndpoint(a.address, a.port);
    return e ? { type: 'address', endpoint: e } : fail('EIO', 'udp: no local address');
  }

  /** Checks the per-socket and per-guest send budget; answers ENOBUFS when over. */
  private overBudget(n: number, respond: Respond): boolean {
    if (n > MAX_DATAGRAM) {
      respond(fail('EMSGSIZE', `send: ${n} bytes exceed the largest datagram (${MAX_DATAGRAM})`));
      return true;
    }
    const limit = this.ctx.limits.maxBufferPerSocket;
    if (this.inFlight + n > limit || !this.ctx.mayHold(n)) {
      respond(fail('ENOBUFS', `send: the socket's send buffer is full (${limit} bytes)`));
      return true;
    }
    return false;
  }

  private transmit(data: Uint8Array, to: Endpoint | null, creditBack: boolean, respond: Respond): void {
    const n = data.length;
    this.inFlight += n;
    this.ctx.heldBytes += n;
    const done = (err: Error | null, bytes?: number): void => {
      if (this.inFlight >= n) {
        this.inFlight -= n;
        this.ctx.heldBytes -= n;
      }
      if (creditBack && !this.gone) this.ctx.out.owe(this.handle, n);
      if (err) return respond(fail(toErrnoName(err), `send: ${toErrnoName(err)}`));
      this.bytesOut += n;
      this.ctx.counters.bytes += n;
      respond({ type: 'ok', value: bytes ?? n }, n);
    };
    const address = to ? hostAddress(to) : null;
    if (to && address === null) return done(Object.assign(new Error('scope'), { code: 'EADDRNOTAVAIL' }));
    try {
      // The kernel may take the datagram later: keep data of our own (it may be a view of a guest's ring).
      const own = ownedBytes(data);
      if (to) this.sock.send(own, to.port, address as string, done);
      else this.sock.send(own, done);
    } catch (e) {
      done(e as Error);
    }
  }

  override send(data: Uint8Array, _noReply: boolean, respond: Respond): void {
    const refuse = this.refunding(data.length, respond);
    if (!this.connected) return refuse(fail('EDESTADDRREQ', 'send: the UDP socket is not connected; use sendto'));
    if (this.overBudget(data.length, refuse)) return;
    this.transmit(data, null, true, respond);
  }

  override sendto(remote: Endpoint, data: Uint8Array, _noReply: boolean, respond: Respond): void {
    const refuse = this.refunding(data.length, respond);
    if (this.connected) return refuse(fail('EISCONN', 'sendto: the socket is connected; use send'));
    if (remote.family !== this.family) return refuse(fail('EAFNOSUPPORT', `sendto: an IPv${remote.family} address on an IPv${this.family} socket`));
    if (this.busy) return refuse(fail('EALREADY', 'sendto: the socket is binding'));
    if (denied(this.ctx, 'sendto', remote, refuse)) return;
    if (this.overBudget(data.length, refuse)) return;
    this.transmit(data, remote, true, respond);
  }

  /**
   * The guest spent send credit on this datagram when it sent it: a send refused before the kernel saw it
   * hands the credit back too, or a guest sending with noReply would run dry after enough refusals.
   */
  private refunding(n: number, respond: Respond): Respond {
    return (reply, bytes) => {
      if (!this.gone) this.ctx.out.owe(this.handle, n);
      respond(reply, bytes);
    };
  }

  override shutdown(_how: 'read' | 'write' | 'both', respond: Respond): void {
    respond(this.connected ? OK : fail('ENOTCONN', 'shutdown: the socket is not connected'));
  }

  override setsockopt(option: SockOpt, value: number, respond: Respond): void {
    if (option !== 'SO_RCVBUF' && option !== 'SO_SNDBUF') return super.setsockopt(option, value, respond);
    if (value <= 0) return respond(fail('EINVAL', `setsockopt: ${option} must be positive`));
    if (option === 'SO_RCVBUF') this.rcvbuf = value;
    else this.sndbuf = value;
    // Node sets buffer sizes only on a bound socket; before that they are applied at bind.
    if (this.bound) {
      try {
        if (option === 'SO_RCVBUF') this.sock.setRecvBufferSize(value);
        else this.sock.setSendBufferSize(value);
      } catch (e) {
        return respond(fail(toErrnoName(e), `setsockopt: ${option}: ${(e as Error).message}`));
      }
    }
    respond(OK);
  }

  override getsockopt(option: SockOpt, respond: Respond): void {
    if (option !== 'SO_RCVBUF' && option !== 'SO_SNDBUF') return super.getsockopt(option, respond);
    if (!this.bound) return respond({ type: 'ok', value: option === 'SO_RCVBUF' ? this.rcvbuf : this.sndbuf });
    try {
      respond({ type: 'ok', value: option === 'SO_RCVBUF' ? this.sock.getRecvBufferSize() : this.sock.getSendBufferSize() });
    } catch (e) {
      respond(fail(toErrnoName(e), `getsockopt: ${option}: ${(e as Error).message}`));
    }
  }

  override getsockname(respond: Respond): void {
    if (!this.bound) return respond({ type: 'address', endpoint: { family: this.family, address: anyAddress(this.family), port: 0 } });
    respond(this.localReply());
  }

  override getpeername(respond: Respond): void {
    if (!this.connected) return respond(fail('ENOTCONN', 'getpeername: the socket is not connected'));
    const a = this.sock.remoteAddress();
    const e = toEndpoint(a.address, a.port);
    respond(e ? { type: 'address', endpoint: e } : fail('ENOTCONN', 'getpeername: the socket is not connected'));
  }

  info(): SocketInfo {
    let local: string | null = null;
    let remote: string | null = null;
    try {
      if (this.bound) local = formatEndpoint(toEndpoint(this.sock.address().address, this.sock.address().port));
      if (this.connected) remote = formatEndpoint(toEndpoint(this.sock.remoteAddress().address, this.sock.remoteAddress().port));
    } catch {
      // closed meanwhile
    }
    const state = this.connected ? 'connected' : this.bound ? 'bound' : 'new';
    return { handle: this.handle, kind: 'udp', state: this.drops ? `${state}, ${this.drops} dropped` : state, local, remote, bytesIn: this.bytesIn, bytesOut: this.bytesOut };
  }

  override close(): void {
    this.destroy();
  }

  override destroy(): void {
    if (this.gone) return;
    this.gone = true;
    this.pending = null;
    this.ctx.heldBytes -= this.inFlight;
    this.inFlight = 0;
    try {
      this.sock.close();
    } catch {
      // already closed
    }
  }
}
