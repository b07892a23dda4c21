// One end of a same-host shortcut: a TCP connection between two guests of this daemon, joined in-process
// instead of through two host kernel sockets. What one guest sends becomes the other's pushed data, with
// the same credit flow as a kernel connection: the sender's credit comes back when its bytes are pushed to
// the receiver's channel, and the receiver's credit bounds what is pushed. Bytes waiting in between are
// bounded by the sender's window (maxBufferPerSocket), like a socket's send buffer.
//
// Ends follow TCP: shutdown(write) and close send EOF (peerClosed) after the queued bytes; a close with
// bytes unread, or sends to an end that is closed, reset the other end (socketError ECONNRESET, closed).
import { DEFAULT_INITIAL_CREDIT, type Endpoint, type SocketInfo } from '../../protocol';
import { nowNs } from '../clock';
import { formatEndpoint } from './endpoint';
import { unpinned } from './base-handle';
import { fail, OK, type Respond } from './host-handle';
import type { SessionContext } from './session-context';
import { TcpHandle, type TcpOptions } from './tcp-handle';

const MAX_CREDIT = 2 ** 31;
/** How long a closed end may take to hand its queued bytes to the peer before the peer is reset. */
const LINGER_MS = 30_000;
/** Sends up to this size are copied into a shared block: no pinned channel chunk, no entry per tiny send. */
const SMALL_SEND = 4096;
const BLOCK_BYTES = 64 * 1024;

interface Queued {
  data: Uint8Array;
  /** When the bytes were handed over (tracing: the pushed event's execute stage starts here); 0 untraced. */
  at: number;
  /** A copy block that small sends may still be appended to. */
  room: Buffer | null;
}

export class SameHostStream extends TcpHandle {
  readonly kind = 'tcp' as const;
  private peer: SameHostStream | null = null;
  /** Bytes this guest sent that are not pushed to the peer's guest yet, oldest first from `head`. */
  private queue: Queued[] = [];
  private head = 0;
  private queued = 0;
  /** What this guest lets the daemon push to it (its receive window). */
  private pushCredit = DEFAULT_INITIAL_CREDIT;
  private writeShut = false;
  private eofSent = false;
  private readShut = false;
  /** Closed by the guest, destroyed or reset: nothing more goes to this guest. */
  private gone = false;
  private lingerDone: (() => void) | null = null;
  private lingerTimer: NodeJS.Timeout | null = null;
  private bytesIn = 0;
  private bytesOut = 0;

  constructor(
    handle: number,
    ctx: SessionContext,
    private readonly local: Endpoint,
    private readonly remote: Endpoint,
    opts: TcpOptions,
  ) {
    super(handle, ctx, opts);
  }

  /** Connects two ends; from now on each one's sends are the other's data. */
  static join(a: SameHostStream, b: SameHostStream): void {
    a.peer = b;
    b.peer = a;
  }

  // ---- moving bytes to the peer ----

  /** Pushes queued bytes to the peer's guest as far as its credit and channel allow; EOF after the last. */
  private pump(): void {
    const p = this.peer;
    if (!p) return;
    if (p.gone && this.queued > 0) return this.reset('the peer closed the connection');
    const q = this.queue;
    if (p.readShut) {
      // Shut for reading: the peer's kernel would take and drop the bytes.
      this.delivered(this.queued);
      this.clearQueue();
    }
    const ctx = p.ctx;
    let pushed = false;
    while (this.head < q.length && p.pushCredit > 0 && !ctx.outputBlocked()) {
      pushed = true;
      const e = q[this.head] as Queued;
      const n = Math.min(e.data.byteLength, p.pushCredit, ctx.maxPayload);
      const data = n === e.data.byteLength ? e.data : e.data.subarray(0, n);
      if (n === e.data.byteLength) q[this.head++] = undefined as unknown as Queued;
      else {
        e.data = e.data.subarray(n);
        e.room = null;
      }
      const id = ctx.nextEventId();
      ctx.out.send({ type: 'data', id, handle: p.handle, data }, ctx.tracePush(p.handle, 'recv', id, n, e.at));
      p.pushCredit -= n;
      p.bytesIn += n;
      ctx.counters.bytes += n;
      this.delivered(n);
    }
    if (this.head >= q.length) this.clearQueue();
    else if (this.head > 64 && this.head * 2 > q.length) {
      this.queue = q.slice(this.head);
      this.head = 0;
    }
    if (this.queued === 0 && this.writeShut && !this.eofSent) {
      this.eofSent = true;
      if (!p.gone) ctx.out.send({ type: 'peerClosed', id: ctx.nextEventId(), handle: p.handle });
      this.endLinger();
    }
    // The other guest gets its data in this callback, as from a host socket's read.
    if (pushed) ctx.out.flush();
  }

  /** `n` queued bytes left this end: the guest's budget and its send credit get them back. */
  private delivered(n: number): void {
    if (n === 0) return;
    this.queued -= n;
    this.ctx.heldBytes -= n;
    if (!this.gone) this.ctx.out.owe(this.handle, n);
  }

  private clearQueue(): void {
    this.queue = [];
    this.head = 0;
  }

  private dropQueue(): void {
    this.ctx.heldBytes -= this.queued;
    this.queued = 0;
    this.clearQueue();
  }

  /** The connection is reset under this end: its guest hears ECONNRESET and the handle is gone. */
  private reset(why: string): void {
    const wasGone = this.gone;
    const p = this.peer;
    this.gone = true;
    this.dropQueue();
    this.unlink();
    this.endLinger();
    if (p?.gone) {
      // A closed peer still handing its last bytes to this end: they cannot arrive any more.
      p.dropQueue();
      p.endLinger();
    }
    if (wasGone) return;
    this.ctx.out.send({ type: 'socketError', id: 0, handle: this.handle, errno: 'ECONNRESET', message: `socket: ECONNRESET (${why})` });
    this.ctx.out.send({ type: 'closed', id: 0, handle: this.handle });
    this.ctx.out.forget(this.handle);
    this.ctx.forget(this.handle);
  }

  private unlink(): void {
    const p = this.peer;
    this.peer = null;
    if (p && p.peer === this) p.peer = null;
  }

  private endLinger(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    const done = this.lingerDone;
    this.lingerDone = null;
    done?.();
  }

  // ---- guest operations ----

  override send(data: Uint8Array, _noReply: boolean, respond: Respond): void {
    if (this.gone || this.writeShut) return respond(fail('EPIPE', 'send: the socket is shut down for writing'));
    const n = data.byteLength;
    const limit = this.ctx.limits.maxBufferPerSocket;
    if (this.queued + n > limit) return respond(fail('ENOBUFS', `send: ${this.queued + n} bytes in flight exceed the send credit of ${limit}`));
    if (!this.ctx.mayHold(n)) return respond(fail('ENOBUFS', `send: the guest's buffers are full (maxBufferPerGuest ${this.ctx.limits.maxBufferPerGuest})`));
    const p = this.peer;
    if (!p || p.gone) {
      // As over the kernel: the bytes are taken, and the closed peer answers them with a reset.
      respond({ type: 'ok', value: n }, n);
      return this.reset('the peer closed the connection');
    }
    this.enqueue(data);
    this.bytesOut += n;
    this.ctx.counters.bytes += n;
    this.pump();
    respond({ type: 'ok', value: n }, n);
  }

  private enqueue(data: Uint8Array): void {
    const n = data.byteLength;
    this.queued += n;
    this.ctx.heldBytes += n;
    const q = this.queue;
    const last = q.length > this.head ? q[q.length - 1] : undefined;
    if (n <= SMALL_SEND) {
      // Copied: a view would pin the whole channel chunk it came in, and tiny entries would pile up.
      if (last?.room && last.data.byteLength + n <= last.room.length) {
        const at = last.data.byteLength;
        last.room.set(data, at);
        last.data = last.room.subarray(0, at + n);
        return;
      }
      const room = Buffer.allocUnsafe(BLOCK_BYTES);
      room.set(data, 0);
      q.push({ data: room.subarray(0, n), at: this.ctx.tracing ? nowNs() : 0, room });
      return;
    }
    q.push({ data: unpinned(data), at: this.ctx.tracing ? nowNs() : 0, room: null });
  }

  override credit(bytes: number): void {
    this.pushCredit = Math.min(this.pushCredit + bytes, MAX_CREDIT);
    this.peer?.pump();
  }

  override resume(): void {
    this.peer?.pump();
  }

  override connect(_r: Endpoint, respond: Respond): void {
    respond(fail('EISCONN', 'connect: the socket is already connected'));
  }

  override shutdown(how: 'read' | 'write' | 'both', respond: Respond): void {
    if (this.gone) return respond(fail('ENOTCONN', 'shutdown: the socket is not connected'));
    if (how !== 'write') this.readShut = true;
    if (how !== 'read') this.writeShut = true;
    this.pump();
    if (how !== 'write') this.peer?.pump();
    respond(OK);
  }


  override getsockname(respond: Respond): void {
    respond({ type: 'address', endpoint: this.local });
  }

  override getpeername(respond: Respond): void {
    respond(this.gone ? fail('ENOTCONN', 'getpeername: the socket is not connected') : { type: 'address', endpoint: this.remote });
  }

  info(): SocketInfo {
    const state = this.gone ? 'closed' : this.peer ? 'open (same-host shortcut)' : 'peer gone (same-host shortcut)';
    return { handle: this.handle, kind: 'tcp', state, local: formatEndpoint(this.local), remote: formatEndpoint(this.remote), bytesIn: this.bytesIn, bytesOut: this.bytesOut };
  }

  /** The guest's close: queued bytes still reach the peer, then EOF; unread bytes reset the peer instead. */
  override close(): void {
    if (this.gone) return;
    this.gone = true;
    this.ctx.out.forget(this.handle);
    const p = this.peer;
    if (!p || p.gone) {
      this.dropQueue();
      return this.unlink();
    }
    if (p.queued > 0 && !this.readShut) {
      this.dropQueue();
      this.unlink();
      return p.reset('the peer closed with data unread');
    }
    this.writeShut = true;
    this.pump();
    if (this.eofSent || !this.peer) return;
    // Queued bytes wait for the peer's credit, as a closed kernel socket keeps sending what it has.
    this.lingerDone = this.ctx.linger(this);
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      const peer = this.peer;
      this.dropQueue();
      this.unlink();
      peer?.reset('the peer gave up sending after close');
      this.endLinger();
    }, LINGER_MS);
    this.lingerTimer.unref();
  }

  /** Immediate teardown (guest vanished, daemon stopping): EOF to the peer, or a reset if bytes are lost. */
  override destroy(): void {
    const lost = this.queued > 0;
    this.gone = true;
    this.dropQueue();
    this.endLinger();
    const p = this.peer;
    if (!p) return;
    if (p.gone) return this.unlink();
    if (lost || p.queued > 0) {
      this.unlink();
      return p.reset('the peer went away');
    }
    if (!this.eofSent) {
      this.eofSent = true;
      p.ctx.out.send({ type: 'peerClosed', id: p.ctx.nextEventId(), handle: p.handle });
    }
  }
}
