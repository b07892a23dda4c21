// Frames from the daemon to one guest. The event handlers that produce frames (a chunk of guest requests, a
// read from a host socket) flush at their end, so an answer leaves in the same callback that caused it;
// frames from elsewhere (write callbacks, lookups) are flushed once per loop turn (setImmediate). A flush is
// one write: small frames copied together, larger ones as a writev with pushed data as its own (uncopied)
// part. The send credit owed per socket is coalesced into one credit frame per flush. Credit rides along with
// other frames; alone it goes out only once it is worth a wake-up of the guest (a quarter of the window) or
// after CREDIT_LINGER_MS, so a request/response exchange costs the guest no extra wake-up for credit.
import type { Socket } from 'node:net';
import type { WireMessage } from '../../protocol';
import { encodeFrameParts } from '../../protocol/wire-codec';
import { nowNs } from '../clock';
import type { HostShm } from './host-shm';

/** Something to stamp with the time its frame left for the guest (trace "reply out"). */
export interface ReplyStamp {
  replyOut: number;
}

/** How long a small amount of owed credit may wait for a frame to ride along with. */
const CREDIT_LINGER_MS = 2;
/** Batches up to this size are copied into one buffer: cheaper than a writev of small parts. */
const COPY_BATCH_BYTES = 4096;

export class ChannelOut {
  private parts: Uint8Array[] = [];
  private queued = 0;
  private scheduled = false;
  private closed = false;
  private readonly owed = new Map<number, number>();
  private stamps: ReplyStamp[] = [];
  private onStamped: ((s: ReplyStamp) => void) | null = null;
  private creditTimer: NodeJS.Timeout | null = null;
  /** Owed credit on a handle at or above this goes out at once, alone if need be. */
  private creditThreshold = 0;
  /** The guest's shared-memory ring once attached: frames go there instead of the socket. */
  private ring: HostShm | null = null;

  constructor(
    private readonly socket: Socket,
    /** Backlog (bytes) above which the channel counts as backed up. */
    private readonly highWater: number,
    /** Called when a backed-up channel has drained below the high-water mark. */
    private readonly onDrain: () => void,
    /**
     * Called with each write's size: busy polling counts a small one as activity (the guest's next request
     * usually follows its answer) and a large one as bulk data (BULK_BYTES or more).
     */
    private readonly onWrite: (bytes: number) => void,
    /**
     * Called with a message that could not be encoded (a value the wire cannot carry) instead of throwing:
     * whatever a host socket reported, the frame is the only thing lost. The owner answers or cleans up.
     */
    private readonly onUnencodable: (m: WireMessage, error: Error) => void,
  ) {
    socket.on('drain', () => {
      if (!this.backedUp()) this.onDrain();
    });
  }

  /** From now on frames go into the guest's ring (the socket stays open, carrying nothing); null: back to the socket. */
  useRing(ring: HostShm | null): void {
    this.ring = ring;
  }

  /** The ring took everything queued: as the socket's 'drain'. */
  ringDrained(): void {
    if (!this.backedUp()) this.onDrain();
  }

  /** Sets the guest's send window; owed credit below a quarter of it may wait for company. */
  setWindow(initialCredit: number): void {
    this.creditThreshold = Math.max(1, Math.floor(initialCredit / 4));
  }

  /** Stamped replies are handed here after their frame was written. */
  setStampSink(fn: (s: ReplyStamp) => void): void {
    this.onStamped = fn;
  }

  send(m: WireMessage, stamp?: ReplyStamp): void {
    if (this.closed) return;
    let ps: Uint8Array[];
    try {
      ps = encodeFrameParts(m);
    } catch (e) {
      return this.onUnencodable(m, e as Error);
    }
    for (const p of ps) {
      this.parts.push(p);
      this.queued += p.byteLength;
    }
    if (stamp) this.stamps.push(stamp);
    this.schedule();
  }

  /** Owes the guest `bytes` of send credit on `handle`; sent as one credit frame at the next flush. */
  owe(handle: number, bytes: number): void {
    if (this.closed) return;
    const total = (this.owed.get(handle) ?? 0) + bytes;
    this.owed.set(handle, total);
    if (total >= this.creditThreshold) this.schedule();
    else this.lingerCredit();
  }

  private lingerCredit(): void {
    if (this.creditTimer || this.closed) return;
    // Not cleared when credit leaves with other frames: in a request/response exchange that would arm and
    // clear a timer per round trip; one that finds nothing owed costs less.
    this.creditTimer = setTimeout(() => {
      this.creditTimer = null;
      if (this.owed.size > 0) this.flushAll(true);
    }, CREDIT_LINGER_MS);
  }

  /** Forgets credit owed on a handle that is gone. */
  forget(handle: number): void {
    this.owed.delete(handle);
  }

  /** Bytes waiting here plus bytes the socket has not yet handed to the kernel. */
  backlog(): number {
    return this.queued + this.socket.writableLength + (this.ring?.queued() ?? 0);
  }

  backedUp(): boolean {
    return this.backlog() > this.highWater;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.onImmediate);
  }

  private readonly onImmediate = (): void => {
    this.scheduled = false;
    this.flushAll(false);
  };

  /** Writes what is queued now; event handlers call it at their end (see the top of this file). */
  flush(): void {
    if (this.parts.length > 0 || this.owed.size > 0) this.flushAll(false);
  }

  private flushAll(force: boolean): void {
    if (this.closed) return;
    if (this.owed.size > 0 && (force || this.parts.length > 0 || this.creditDue())) {
      for (const [handle, bytes] of this.owed) {
        for (const p of encodeFrameParts({ type: 'credit', id: 0, handle, bytes })) {
          this.parts.push(p);
          this.queued += p.byteLength;
        }
      }
      this.owed.clear();
    }
    if (this.owed.size > 0) this.lingerCredit();
    const parts = this.parts;
    if (parts.length === 0) return;
    const queued = this.queued;
    this.parts = [];
    this.queued = 0;
    this.onWrite(queued);
    // Reply out is the moment the write to the guest begins: taken after it, a guest already woken by
    // the bytes could stamp its reply-in first. The write itself lies in channel-in.
    if (this.stamps.length > 0) {
      const t = nowNs();
      for (const st of this.stamps) st.replyOut = t;
    }
    const s = this.socket;
    if (this.ring) this.ring.write(parts);
    else if (parts.length === 1) s.write(parts[0] as Uint8Array);
    else if (queued <= COPY_BATCH_BYTES) s.write(Buffer.concat(parts, queued));
    else {
      s.cork();
      for (const p of parts) s.write(p);
      s.uncork();
    }
    if (this.stamps.length > 0) {
      const stamps = this.stamps;
      this.stamps = [];
      for (const st of stamps) this.onStamped?.(st);
    }
  }

  private creditDue(): boolean {
    for (const bytes of this.owed.values()) if (bytes >= this.creditThreshold) return true;
    return false;
  }

  /** Writes what is queued now and ends the channel after it; later sends are ignored. */
  end(): void {
    if (this.closed) return;
    this.flushAll(true);
    this.dropTimer();
    this.closed = true;
    // The socket's end follows the last frames into the ring (its close is how the guest learns it is over).
    if (this.ring) this.ring.afterQueued(() => this.socket.end());
    else this.socket.end();
  }

  private dropTimer(): void {
    if (this.creditTimer) clearTimeout(this.creditTimer);
    this.creditTimer = null;
  }

  /** Drops everything queued; the caller destroys the socket. */
  abandon(): void {
    this.closed = true;
    this.dropTimer();
    this.parts = [];
    this.queued = 0;
    this.stamps = [];
    this.owed.clear();
  }
}
