// The daemon's end of one guest's shared-memory channel: the guest's region mapped here, its doorbell
// watched from the event loop, frames read from the toHost ring in place (a send's data goes to the host
// socket straight from the shared pages when the kernel takes it at once: tcp-stream.ts) and written
// into the toGuest ring (what does not fit waits here, counted as backlog like a socket's write queue). The
// ring logic and every bounds check on what the guest wrote are protocol/shm-pipe.ts's: a corrupt ring
// fails this session only.
import { ShmPipe } from '../../protocol';
import { addSharedPages } from './shared-pages';
import { ringDoorbell, refDoorbell, unwatchDoorbell, watchDoorbell, type DoorbellWatch } from '../../native/shm-channel';

/** Bytes taken from one guest's ring per wake-up before the loop serves others (fairness). */
const RECEIVE_BATCH = 1024 * 1024;

export interface HostShmEvents {
  onChunk(chunk: Buffer): void;
  /** Everything queued for the guest is in its ring. */
  onDrain(): void;
  onFail(error: Error): void;
}

export class HostShm {
  private readonly pipe: ShmPipe;
  private watch: DoorbellWatch | null;
  private paused = false;
  private scheduled = false;
  private stopped = false;
  private whenEmpty: (() => void)[] = [];

  /** Takes ownership of `bell` (the guest's doorbell, checked to be a datagram socket); throws RingCorruption. */
  constructor(region: Uint8Array, bell: number, private readonly events: HostShmEvents) {
    addSharedPages(region.buffer);
    this.pipe = new ShmPipe(region, 'host', () => {
      try {
        ringDoorbell(bell);
      } catch {
        // The guest's end is gone: its channel socket's close ends the session.
      }
    });
    this.watch = watchDoorbell(bell, (gone) => {
      // A failed doorbell is the guest closing; its socket's close says so in order.
      if (!gone) this.service();
    });
  }

  get ringBytes(): number {
    return this.pipe.ringBytes;
  }

  queued(): number {
    return this.pipe.queued();
  }

  write(parts: readonly Uint8Array[]): void {
    if (this.stopped) return;
    try {
      this.pipe.write(parts);
    } catch (e) {
      this.fail(e as Error);
    }
  }

  /** Calls `fn` once everything queued is in the ring (at once when it is). */
  afterQueued(fn: () => void): void {
    if (this.pipe.queued() === 0 || this.stopped) fn();
    else this.whenEmpty.push(fn);
  }

  /** Stops reading the guest's frames (its output is backed up); the full ring holds the guest back. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.schedule();
  }

  /** Serves the ring now: frames the guest wrote before its doorbell was watched, or before its socket closed. */
  serviceNow(): void {
    this.service();
  }

  setRef(ref: boolean): void {
    if (this.watch) refDoorbell(this.watch, ref);
  }

  /** Stops watching and drops the queue; the mapping goes with the last view of it (the GC unmaps it). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.pipe.drop();
    if (this.watch) unwatchDoorbell(this.watch);
    this.watch = null;
    const waiting = this.whenEmpty;
    this.whenEmpty = [];
    for (const f of waiting) f();
  }

  private readonly deliver = (views: Uint8Array[]): void => {
    // In place: the frame decoder copies only frames split across reads; send data stays a view of the ring,
    // which is freed when this returns (whatever keeps data longer copies it: shared-pages.ts).
    for (const v of views) {
      if (this.stopped) return;
      this.events.onChunk(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    }
  };

  private readonly again = (): void => {
    this.scheduled = false;
    this.service();
  };

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(this.again);
  }

  private service(): void {
    if (this.stopped) return;
    try {
      if (this.pipe.queued() > 0 && this.pipe.pump()) this.drained();
      for (;;) {
        if (this.paused || this.stopped) return;
        const got = this.pipe.receive(this.deliver, RECEIVE_BATCH);
        if (this.stopped) return;
        if (got >= RECEIVE_BATCH) return this.schedule();
        if (got === 0 && !this.pipe.sleep()) return;
      }
    } catch (e) {
      this.fail(e as Error);
    }
  }

  private drained(): void {
    const waiting = this.whenEmpty;
    this.whenEmpty = [];
    for (const f of waiting) f();
    this.events.onDrain();
  }

  private fail(error: Error): void {
    if (this.stopped) return;
    this.stop();
    this.events.onFail(error);
  }
}
