// Busy polling after activity, as vhost-net's busyloop_timeout and SO_BUSY_POLL do: for a short window
// after a guest's frames the event loop keeps polling (epoll with a zero timeout) instead of sleeping, so
// the host socket's answer and the guest's next request find the daemon awake. On a virtual machine a
// sleep and a cross-CPU wake-up cost tens of microseconds each, which a request/response exchange through
// the daemon pays twice more than a direct one. The window is reopened by activity only: an idle daemon
// sleeps, a busy one spends up to one CPU on polling (0 turns it off). Bulk transfers do not gain from it
// (their data is pipelined, nobody waits for an answer) and the polling CPU is taken from the guests and
// the host's peers: chunks of bulk data keep the daemon from polling for a while (bulk()).

/** Microseconds the daemon keeps polling after a guest's frames (linsockd --busy-poll-us). */
export const DEFAULT_BUSY_POLL_US = 200;
/** A longer window is no longer a poll after activity but a spinning daemon. */
export const MAX_BUSY_POLL_US = 10_000;
/** A channel read or write at least this large is bulk data. */
export const BULK_BYTES = 32 * 1024;
/** After bulk data, activity starts no polling for this long. */
const BULK_QUIET_NS = 20e6;

export class BusyPoll {
  private readonly windowNs: number;
  private until = 0;
  private quietUntil = 0;
  private polling = false;
  private readonly tick = (): void => {
    if (Number(process.hrtime.bigint()) < this.until) setImmediate(this.tick);
    else this.polling = false;
  };

  constructor(windowUs: number) {
    this.windowNs = windowUs * 1000;
  }

  /** Whether the loop is being kept polling now. */
  get active(): boolean {
    return this.polling;
  }

  /** Activity at `nowNs`: keep polling until the window after it has passed. */
  touch(nowNs: number): void {
    if (this.windowNs <= 0 || nowNs < this.quietUntil) return;
    this.until = nowNs + this.windowNs;
    if (this.polling) return;
    this.polling = true;
    setImmediate(this.tick);
  }

  /** Bulk data moved at `nowNs`: stop polling, and let activity start it again only after a quiet while. */
  bulk(nowNs: number): void {
    this.quietUntil = nowNs + BULK_QUIET_NS;
    this.until = 0;
  }
}
