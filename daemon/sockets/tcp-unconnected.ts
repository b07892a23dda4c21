// A TCP socket the guest created and has not yet connected or made listen. Node cannot bind a TCP socket
// by itself, so the bound address is kept and used by connect (localAddress/localPort) or listen.
import { connect as netConnect, createServer, type Server } from 'node:net';
import { toErrnoName, type Endpoint, type Family, type SocketInfo } from '../../protocol';
import { anyAddress, formatEndpoint, hostAddress, toEndpoint } from './endpoint';
import { fail, type Respond } from './host-handle';
import type { SameHostListener, SameHostTable } from './same-host-table';
import type { SessionContext } from './session-context';
import { TcpHandle } from './tcp-handle';
import { TcpListener } from './tcp-listener';
import { SameHostStream } from './same-host-stream';
import { TcpStream } from './tcp-stream';
import { bindRefused, denied } from './denial';

export class UnconnectedTcp extends TcpHandle {
  readonly kind = 'tcp' as const;
  private local: Endpoint | null = null;
  private busy = false;
  private closed = false;
  private pendingServer: Server | null = null;

  constructor(
    handle: number,
    ctx: SessionContext,
    private readonly family: Family,
    /** Guest listeners of the whole daemon, for the same-host shortcut; null when it is off. */
    private readonly sameHost: SameHostTable | null,
  ) {
    super(handle, ctx, { noDelay: false, keepAlive: false });
  }

  override bind(local: Endpoint, respond: Respond): void {
    if (this.local) return respond(fail('EINVAL', 'bind: the socket is already bound'));
    if (local.family !== this.family) return respond(fail('EAFNOSUPPORT', `bind: an IPv${local.family} address on an IPv${this.family} socket`));
    if (bindRefused(this.ctx, local, respond)) return;
    this.local = local;
    respond({ type: 'address', endpoint: local });
  }

  override connect(remote: Endpoint, respond: Respond): void {
    if (this.busy) return respond(fail('EALREADY', 'connect: an operation is already in progress'));
    if (remote.family !== this.family) return respond(fail('EAFNOSUPPORT', `connect: an IPv${remote.family} address on an IPv${this.family} socket`));
    if (denied(this.ctx, 'connect', remote, respond)) return;
    const listener = this.sameHost?.find(remote);
    if (listener) return this.connectSameHost(listener, remote, respond);
    const host = hostAddress(remote);
    const localAddress = this.local ? hostAddress(this.local) : undefined;
    if (host === null || localAddress === null) return respond(fail('EADDRNOTAVAIL', 'connect: a scope id names no interface of this host'));
    let socket;
    try {
      socket = netConnect({
        host,
        port: remote.port,
        family: remote.family,
        localAddress,
        localPort: this.local?.port || undefined,
        allowHalfOpen: true,
        noDelay: this.opts.noDelay,
        keepAlive: this.opts.keepAlive,
      });
    } catch (e) {
      return respond(fail(toErrnoName(e), `connect: ${(e as Error).message}`));
    }
    const stream = new TcpStream(this.handle, this.ctx, socket, this.opts);
    this.ctx.replace(stream);
    stream.awaitConnect(respond);
  }

  /** Joins this socket to another guest's listener in-process: no host socket, same answers as TCP. */
  private connectSameHost(listener: SameHostListener, remote: Endpoint, respond: Respond): void {
    const bound = this.local;
    const local: Endpoint = {
      family: this.family,
      address: bound && bound.address !== anyAddress(this.family) ? bound.address : remote.address,
      port: bound?.port || (this.sameHost?.ephemeralPort() ?? 0),
    };
    const theirs = listener.acceptSameHost(local, remote);
    if (!theirs) return respond(fail('ECONNREFUSED', `connect: ${formatEndpoint(remote)}: the listening guest accepts no more connections`));
    const mine = new SameHostStream(this.handle, this.ctx, local, remote, this.opts);
    SameHostStream.join(mine, theirs);
    this.ctx.replace(mine);
    respond({ type: 'address', endpoint: local });
  }

  override listen(backlog: number, respond: Respond): void {
    if (this.busy) return respond(fail('EALREADY', 'listen: an operation is already in progress'));
    const at: Endpoint = this.local ?? { family: this.family, address: anyAddress(this.family), port: 0 };
    if (denied(this.ctx, 'listen', at, respond)) return;
    const host = hostAddress(at);
    if (host === null) return respond(fail('EADDRNOTAVAIL', `listen: scope id ${at.scopeId} names no interface of this host`));
    this.busy = true;
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
    const onError = (err: Error): void => {
      this.busy = false;
      server.close();
      const errno = toErrnoName(err);
      respond(fail(errno, `listen: ${formatEndpoint(at)}: ${errno}`));
    };
    server.once('error', onError);
    this.pendingServer = server;
    server.listen({ host, port: at.port, backlog: Math.max(1, Math.min(backlog || 511, 4096)), ipv6Only: this.family === 6 }, () => {
      server.off('error', onError);
      const a = server.address();
      const endpoint = a && typeof a === 'object' ? toEndpoint(a.address, a.port) : null;
      if (this.closed) {
        server.close();
        return respond(fail('EBADF', 'listen: the socket was closed meanwhile'));
      }
      const listener = new TcpListener(this.handle, this.ctx, server, this.opts, this.sameHost);
      this.ctx.replace(listener);
      respond(endpoint ? { type: 'address', endpoint } : fail('EIO', 'listen: no address'));
    });
  }

  override shutdown(_h: 'read' | 'write' | 'both', respond: Respond): void {
    respond(fail('ENOTCONN', 'shutdown: the socket is not connected'));
  }


  override getsockname(respond: Respond): void {
    respond({ type: 'address', endpoint: this.local ?? { family: this.family, address: anyAddress(this.family), port: 0 } });
  }

  info(): SocketInfo {
    return { handle: this.handle, kind: 'tcp', state: 'new', local: formatEndpoint(this.local), remote: null, bytesIn: 0, bytesOut: 0 };
  }

  override close(): void {
    this.closed = true;
    this.pendingServer?.close();
  }

  override destroy(): void {
    this.close();
  }
}
