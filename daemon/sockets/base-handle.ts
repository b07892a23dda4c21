// The answers for operations that a kind of socket does not support (errno names as a socket programmer
// would get them from the kernel), which every host socket class starts from.
import type { Endpoint, SockOpt, SocketInfo } from '../../protocol';
import { fail, type HostHandle, type Respond } from './host-handle';
import type { SessionContext } from './session-context';
import { inSharedPages } from '../channel/shared-pages';

/** See unpinned(). */
const PIN_COPY_BYTES = 16 * 1024;

/**
 * Send data a handle may keep (queued behind a backed-up peer) is a view of the channel read it came in;
 * a small view would keep the whole read alive, and a guest could pin 64 KiB of daemon memory per byte of
 * its send credit. Data under 16 KiB in a buffer at least four times its size is copied; larger data stays
 * a view, pinning at most four times the bytes the credit counts. A view of a guest's shared-memory ring
 * is always copied: the guest reuses that space once the frame is read.
 */
export function unpinned(data: Uint8Array): Uint8Array {
  if (inSharedPages(data)) return Buffer.from(data);
  return data.byteLength < PIN_COPY_BYTES && data.buffer.byteLength > 4 * data.byteLength ? Buffer.from(data) : data;
}

/** Defaults for operations a kind does not support. */
export abstract class BaseHandle implements HostHandle {
  abstract readonly kind: SocketInfo['kind'];
  constructor(readonly handle: number, protected readonly ctx: SessionContext) {}
  /**
   * Wraps a host socket's event handler: an exception in it (whatever the kernel handed over) ends this
   * guest's session through ctx.fault, and never reaches the process's uncaught-exception handler.
   */
  protected guard<A extends unknown[]>(where: string, fn: (...a: A) => void): (...a: A) => void {
    return (...a: A) => {
      try {
        fn(...a);
      } catch (e) {
        this.ctx.fault(e, where);
      }
    };
  }
  abstract info(): SocketInfo;
  connect(_r: Endpoint, respond: Respond): void {
    respond(fail('EISCONN', 'connect: the socket is already connected or listening'));
  }
  bind(_l: Endpoint, respond: Respond): void {
    respond(fail('EINVAL', 'bind: the socket is already bound'));
  }
  listen(_b: number, respond: Respond): void {
    respond(fail('EINVAL', 'listen: the socket cannot listen in its state'));
  }
  send(_d: Uint8Array, _n: boolean, respond: Respond): void {
    respond(fail('ENOTCONN', 'send: the socket is not connected'));
  }
  sendto(_r: Endpoint, _d: Uint8Array, _n: boolean, respond: Respond): void {
    respond(fail('EOPNOTSUPP', 'sendto: only UDP sockets send datagrams'));
  }
  shutdown(_h: 'read' | 'write' | 'both', respond: Respond): void {
    respond(fail('ENOTCONN', 'shutdown: the socket is not connected'));
  }
  setsockopt(option: SockOpt, _v: number, respond: Respond): void {
    respond(fail('ENOPROTOOPT', `setsockopt: ${option} is not supported on this socket`));
  }
  getsockopt(option: SockOpt, respond: Respond): void {
    respond(fail('ENOPROTOOPT', `getsockopt: ${option} is not supported on this socket`));
  }
  getsockname(respond: Respond): void {
    respond(fail('EINVAL', 'getsockname: the socket has no address yet'));
  }
  getpeername(respond: Respond): void {
    respond(fail('ENOTCONN', 'getpeername: the socket is not connected'));
  }
  credit(_b: number): void {}
  resume(): void {}
  abstract close(): void;
  abstract destroy(): void;
}
