// The guest's stage stamps (enter, channel out, reply in, return), collected per completed call and
// handed to the channel in batches, so that tracing never costs a round trip of its own.

import { MAX_STAMP_ENTRIES, type StampEntry } from '../protocol';

/** Monotonic nanoseconds; process.hrtime reads CLOCK_MONOTONIC, the host's clock on one machine. */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/** How long stamps may wait for a frame to ride along with before they go on their own. */
export const STAMP_FLUSH_MS = 5;

export class StampBatch {
  private entries: StampEntry[] = [];
  private oldestNs = 0;

  get size(): number {
    return this.entries.length;
  }

  add(id: number, enter: number, channelOut: number, replyIn: number, ret: number): void {
    this.push({ id, enter, channelOut, replyIn, return: ret });
  }

  /** Takes `e` as it is (a pipelined send's entry, made when it was queued). */
  push(e: StampEntry): void {
    if (this.entries.length === 0) this.oldestNs = e.return || e.channelOut;
    this.entries.push(e);
  }

  /** True when the batch is full or has waited long enough that it should leave with the next write. */
  due(now: number): boolean {
    return this.entries.length >= MAX_STAMP_ENTRIES || (this.entries.length > 0 && now - this.oldestNs >= STAMP_FLUSH_MS * 1e6);
  }

  /**
   * Takes at most MAX_STAMP_ENTRIES entries, oldest first, never splitting the entries of one frame (the
   * host joins consecutive entries of one id: a pipelined send's application calls).
   */
  take(): StampEntry[] {
    if (this.entries.length <= MAX_STAMP_ENTRIES) {
      const all = this.entries;
      this.entries = [];
      return all;
    }
    let cut = MAX_STAMP_ENTRIES;
    while (cut > 1 && (this.entries[cut] as StampEntry).id === (this.entries[cut - 1] as StampEntry).id) cut--;
    const head = this.entries.slice(0, cut);
    this.entries = this.entries.slice(cut);
    const first = this.entries[0];
    this.oldestNs = first ? first.return || first.channelOut : 0;
    return head;
  }
}
