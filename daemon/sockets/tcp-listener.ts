// A guest's listening TCP socket: a host server whose connections are handed to the guest as `accepted`
// events with their own handles. When the guest is at its socket limit, accepted connections wait
// (paused, bounded by maxPendingAccepts); beyond that they are dropped, like a full backlog.
import type { Server, Socket } from 'node:net';
import type { Endpoint, SocketInfo } from '../../protocol';
import { formatEndpoint, toEndpoint } from './endpoint';
import type { Respond } from './host-handle';
import type { SameHostListener, SameHostTable } from './same-host-table';
import type { SessionContext } from './session-context';
import { TcpHandle, type TcpOptions } from './tcp-handle';
import { TcpStream } from './tcp-stream';
import { SameHostStream } from './same-host-stream';

export class TcpListener extends TcpHandle implements SameHostListener {
  readonly kind = 'listener' as const;
  private readonly waiting: Socket[] = [];
  private waitingForHandle = false;
  private closed = false;
  private accepted = 0;
  /** Where other guests of this daemon reach this listener through the same-host shortcut. */
  private readonly at: Endpoint | null;

  // Options set on a listener apply to the connections it accepts, as on Linux.
  constructor(
    handle: number,
    ctx: SessionContext,
    private readonly server: Server,
    opts: TcpOptions,
    /** Guest listeners of the whole daemon, for the same-host shortcut; null when it is off. */
    private readonly sameHost: SameHostTable | null,
  ) {
    super(handle, ctx, opts);
    server.on('connection', this.guard('accept', (s: Socket) => this.onConnection(s)));
    server.on('error', (err) => this.ctx.log.warn('listener error', { guest: ctx.guest, handle, error: err.message }));
    const a = server.address();
    this.at = a && typeof a === 'object' ? toEndpoint(a.address, a.port) : null;
    if (this.at) sameHost?.add(this.at, this);
  }

  /**
   * A connection from a guest of this daemon, joined in-process (same-host shortcut): this guest gets an
   * `accepted` event as for a kernel connection. Null when the guest has no free handle (the caller
   * refuses the connect, as a full backlog would).
   */
  acceptSameHost(remote: Endpoint, local: Endpoint): SameHostStream | null {
    if (this.closed || this.waiting.length > 0) return null;
    const ctx = this.ctx;
    const stream = ctx.adopt((h) => new SameHostStream(h, ctx, local, remote, { ...this.opts }));
    if (!stream) return null;
    this.accepted++;
    const id = ctx.nextEventId();
    ctx.out.send({ type: 'accepted', id, handle: this.handle, newHandle: stream.handle, remote, local }, ctx.tracePush(this.handle, 'accept', id, 0, 0));
    return stream;
  }

  private onConnection(s: Socket): void {
    if (this.closed) return void s.destroy();
    if (this.waiting.length > 0 || !this.handOver(s)) {
      if (this.waiting.length >= this.ctx.limits.maxPendingAccepts) {
        this.ctx.counters.drops++;
        this.ctx.log.warn('accepted connection dropped', { guest: this.ctx.guest, handle: this.handle, reason: 'maxPendingAccepts reached' });
        s.destroy();
        return;
      }
      // A waiting connection may be reset by its peer before it gets a handle; that must not be fatal.
      s.on('error', () => undefined);
      this.waiting.push(s);
      this.awaitHandle();
    }
  }

  /** Gives `s` a handle and tells the guest; false when the guest has no free handle. */
  private handOver(s: Socket): boolean {
    const ctx = this.ctx;
    const remote = toEndpoint(s.remoteAddress, s.remotePort);
    const local = toEndpoint(s.localAddress, s.localPort);
    if (!remote || !local) {
      s.destroy(); // already gone (reset before we looked)
      return true;
    }
    const stream = ctx.adopt((h) => new TcpStream(h, ctx, s, { ...this.opts }));
    if (!stream) return false;
    this.accepted++;
    const id = ctx.nextEventId();
    ctx.out.send({ type: 'accepted', id, handle: this.handle, newHandle: stream.handle, remote, local }, ctx.tracePush(this.handle, 'accept', id, 0, 0));
    stream.startAccepted();
    return true;
  }

  private awaitHandle(): void {
    if (this.waitingForHandle) return;
    this.waitingForHandle = true;
    this.ctx.whenHandleFree(() => {
      this.waitingForHandle = false;
      if (this.closed) return;
      while (this.waiting.length > 0) {
        const s = this.waiting[0] as Socket;
        if (!this.handOver(s)) break;
        this.waiting.shift();
      }
      if (this.waiting.length > 0) this.awaitHandle();
    });
  }


  override getsockname(respond: Respond): void {
    const a = this.server.address();
    const e = a && typeof a === 'object' ? toEndpoint(a.address, a.port) : null;
    respond(e ? { type: 'address', endpoint: e } : { type: 'error', errno: 'EINVAL', message: 'getsockname: not listening' });
  }

  info(): SocketInfo {
    const a = this.server.address();
    const local = a && typeof a === 'object' ? formatEndpoint(toEndpoint(a.address, a.port)) : null;
    return { handle: this.handle, kind: 'listener', state: `listening, ${this.accepted} accepted, ${this.waiting.length} waiting`, local, remote: null, bytesIn: 0, bytesOut: 0 };
  }

  override close(): void {
    this.closed = true;
    if (this.at) this.sameHost?.remove(this.at, this);
    this.server.close();
    for (const s of this.waiting) s.destroy();
    this.waiting.length = 0;
  }

  override destroy(): void {
    this.close();
  }
}
