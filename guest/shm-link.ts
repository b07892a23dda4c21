// The guest's end of the shared-memory channel: makes the region and the doorbell, passes them to the
// daemon over the side connection, then moves frames through the rings (protocol/shm-pipe.ts). The Unix
// socket the session began on stays open beside it: its close is how either side learns the other is
// gone (a killed process cannot say goodbye through memory).
import {
  DEFAULT_RING_BYTES, ShmPipe, encodeAttach, regionBytes, sideSocketPath,
} from '../protocol';
import {
  closeFd, createRegion, doorbellPair, refDoorbell, ringDoorbell, sendFds, shmProblem, unwatchDoorbell, watchDoorbell, type DoorbellWatch,
} from '../native/shm-channel';

/** Bytes handed to the channel per wake-up before yielding to the loop (other timers, sockets). */
const RECEIVE_BATCH = 1024 * 1024;

export type ChannelKind = 'shm' | 'socket';

/**
 * The channel a guest asks for: LINSOCK_TRANSPORT=socket keeps the Unix socket; otherwise shared memory
 * when the addon is here (the daemon may still say no, and then the socket carries on).
 */
export function wantedChannel(): ChannelKind {
  return process.env.LINSOCK_TRANSPORT === 'socket' || shmProblem() !== null ? 'socket' : 'shm';
}

export interface ShmLinkEvents {
  onData(chunk: Buffer): void;
  /** Everything written has gone into the ring. */
  onDrain(): void;
  /** The ring is unusable (the daemon scribbled on it, or its doorbell failed). */
  onFail(error: Error): void;
}

export class ShmLink {
  private readonly pipe: ShmPipe;
  private watch: DoorbellWatch | null;
  private scheduled = false;
  private stopped = false;

  /** Passes a fresh region to the daemon listening beside `guestSocket`; throws why not (then nothing was set up). */
  constructor(guestSocket: string, guest: string, private readonly events: ShmLinkEvents, ringBytes = DEFAULT_RING_BYTES) {
    const region = createRegion(regionBytes(ringBytes));
    const pair = doorbellPair();
    try {
      this.pipe = new ShmPipe(region.memory, 'guest', () => ringDoorbell(pair.mine), ringBytes);
      // Asleep from the start: the daemon's first frame rings.
      this.pipe.sleep();
      sendFds(sideSocketPath(guestSocket), Buffer.from(encodeAttach(guest)), [region.fd, pair.theirs]);
    } catch (e) {
      closeFd(pair.mine);
      throw e;
    } finally {
      closeFd(region.fd);
      closeFd(pair.theirs);
    }
    // A failed doorbell means the daemon's end is closed: its socket's close follows and says why (its
    // goodbye, read from the ring first), so the doorbell's own error is not the reason given.
    this.watch = watchDoorbell(pair.mine, (gone) => {
      if (!gone) this.service();
    });
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

  setRef(ref: boolean): void {
    if (this.watch) refDoorbell(this.watch, ref);
  }

  /** Hands over what is in the ring now (the daemon's last frames before its socket closed). */
  flushIncoming(): void {
    if (!this.stopped) this.service();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.pipe.drop();
    if (this.watch) unwatchDoorbell(this.watch);
    this.watch = null;
  }

  private readonly deliver = (views: Uint8Array[], bytes: number): void => {
    // A copy: the application keeps the data it reads, and the ring's bytes are freed right after.
    this.events.onData(Buffer.concat(views, bytes));
  };

  private readonly again = (): void => {
    this.scheduled = false;
    this.service();
  };

  /** Receives until the ring is empty (then sleeps) or a batch is done (then yields); moves queued writes. */
  private service(): void {
    if (this.stopped) return;
    try {
      for (;;) {
        const got = this.pipe.receive(this.deliver, RECEIVE_BATCH);
        if (this.stopped) return;
        if (this.pipe.queued() > 0 && this.pipe.pump()) this.events.onDrain();
        if (got >= RECEIVE_BATCH) {
          if (!this.scheduled) {
            this.scheduled = true;
            setImmediate(this.again);
          }
          return;
        }
        if (got === 0 && !this.pipe.sleep()) return;
      }
    } catch (e) {
      this.fail(e as Error);
    }
  }

  private fail(error: Error): void {
    if (this.stopped) return;
    this.stop();
    this.events.onFail(error);
  }
}
