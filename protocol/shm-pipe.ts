// One side of the shared-memory channel as a byte pipe: frames written here go into the outgoing ring as
// space allows (the rest waits here, like a socket's write queue), and bytes of the incoming ring are
// handed to the caller and freed. It decides when the peer's doorbell must ring (the consumer said it
// sleeps, or the producer waits for space); ringing it, and watching our own, is the caller's I/O.
import { RingConsumer, RingProducer, checkRegion, initRegion, type RingDirection } from './shm-ring';

export type ShmSide = 'guest' | 'host';

const OUTGOING: Record<ShmSide, RingDirection> = { guest: 'toHost', host: 'toGuest' };
const INCOMING: Record<ShmSide, RingDirection> = { guest: 'toGuest', host: 'toHost' };

export class ShmPipe {
  readonly ringBytes: number;
  private readonly tx: RingProducer;
  private readonly rx: RingConsumer;
  private pending: Uint8Array[] = [];
  /** Bytes of pending[0] already in the ring. */
  private skip = 0;
  private pendingBytes = 0;

  /**
   * `ringBytes` given: a fresh region is initialised (the guest, which made it); absent: the region is a
   * peer's and its header is checked (throws RingCorruption).
   */
  constructor(region: Uint8Array, readonly side: ShmSide, private readonly ringDoorbell: () => void, ringBytes?: number) {
    if (ringBytes !== undefined) initRegion(region, ringBytes);
    this.ringBytes = checkRegion(region);
    this.tx = new RingProducer(region, OUTGOING[side], this.ringBytes);
    this.rx = new RingConsumer(region, INCOMING[side], this.ringBytes);
  }

  /** Bytes written here that are not in the ring yet. */
  queued(): number {
    return this.pendingBytes;
  }

  /** Queues `parts` (kept by reference until copied in) and moves what fits into the ring. */
  write(parts: readonly Uint8Array[]): void {
    for (const p of parts) {
      if (p.byteLength === 0) continue;
      this.pending.push(p);
      this.pendingBytes += p.byteLength;
    }
    this.pump();
  }

  /**
   * Moves queued bytes into the ring and rings the peer when it sleeps. Returns true when nothing is left
   * queued; false when the ring is full (the peer rings us once it frees space). Throws RingCorruption.
   */
  pump(): boolean {
    let moved = false;
    while (this.pendingBytes > 0) {
      const wrote = this.tx.write(this.pending, this.skip);
      if (wrote > 0) {
        this.advance(wrote);
        moved = true;
      }
      if (this.pendingBytes === 0) break;
      if (wrote === 0 && !this.tx.waitForSpace()) break;
    }
    if (moved && this.tx.consumerAsleep()) this.ringDoorbell();
    return this.pendingBytes === 0;
  }

  private advance(n: number): void {
    this.pendingBytes -= n;
    let left = this.skip + n;
    let drop = 0;
    while (drop < this.pending.length && left >= (this.pending[drop] as Uint8Array).byteLength) {
      left -= (this.pending[drop] as Uint8Array).byteLength;
      drop++;
    }
    if (drop > 0) this.pending = this.pending.slice(drop);
    this.skip = left;
  }

  /**
   * Hands up to `max` waiting bytes to `take` as views of the ring, valid only during the call (copy what
   * you keep), then frees them and rings the peer if it waits for space. Returns the bytes handed over.
   * Throws RingCorruption.
   */
  receive(take: (views: Uint8Array[], bytes: number) => void, max: number): number {
    const views = this.rx.peek(max);
    if (views.length === 0) return 0;
    let n = 0;
    for (const v of views) n += v.byteLength;
    take(views, n);
    if (this.rx.release(n)) this.ringDoorbell();
    return n;
  }

  /** About to wait for the doorbell: true when bytes arrived meanwhile (receive them instead). */
  sleep(): boolean {
    return this.rx.sleep();
  }

  /** Drops what is queued (the channel is gone). */
  drop(): void {
    this.pending = [];
    this.skip = 0;
    this.pendingBytes = 0;
  }
}
