// How much send data may be on its way to the kernel before the channel's writers wait, and the writers
// waiting for it to go down. Apart from the channel: it is the guest's one brake on a writer that has
// credit to spare, and the channel only reports what it queued and handed over.

/**
 * Send data not yet taken by the kernel beyond which writers wait (whenWritable). Without it a writer with
 * credit to spare queues megabytes in one go while its event loop is busy, and the channel stays empty
 * (the daemon idle) until the writer yields; with it the writer yields every few frames and the transport
 * keeps the channel full.
 */
export const SEND_BACKLOG_BYTES = 512 * 1024;

export class SendBacklog {
  /** Send data queued in this tick, not yet handed to the transport. */
  private unflushed = 0;
  private waiters: (() => void)[] = [];

  /** `queued`: send data the transport holds that the kernel has not taken yet. */
  constructor(private readonly queued: () => number) {}

  /** `bytes` of send data queued in this tick. */
  add(bytes: number): void {
    this.unflushed += bytes;
  }

  /** The tick's batch went to the transport. */
  handedOver(): void {
    this.unflushed = 0;
  }

  /** True while more send data waits for the kernel than SEND_BACKLOG_BYTES: writers should wait. */
  congested(): boolean {
    return this.unflushed + this.queued() > SEND_BACKLOG_BYTES;
  }

  /** Calls `fn` once the channel is no longer congested (or is closed). */
  whenWritable(fn: () => void): void {
    this.waiters.push(fn);
  }

  /** Lets the waiting writers go when the channel takes more, or at once when it is `closed`. */
  release(closed: boolean): void {
    if (this.waiters.length === 0 || (!closed && this.congested())) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
