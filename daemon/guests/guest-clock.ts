// Where a guest's clock stands against the host's, from (host receive, guest send) pairs: the offset
// added to its stamps and how far off that offset may be.

/** Guest clocks within this distance of ours count as the same clock (one host; only the channel delay differs). */
const SAME_CLOCK_NS = 5_000_000;

export class GuestClock {
  private minDelta = Infinity;
  /** Smallest time from an answer to HELLO or a clock probe until the guest's next frame: a round trip. */
  private minRttNs = Infinity;
  private answeredAt = 0;

  /**
   * One (host receive, guest send) pair. The smallest difference bounds the offset from above by the
   * one-way delay; a guest on this host's clock lands within SAME_CLOCK_NS and is left unmapped.
   */
  sample(hostNs: number, guestNs: number): void {
    const d = hostNs - guestNs;
    if (d < this.minDelta) this.minDelta = d;
  }

  /** The host answered HELLO or a clock probe at `hostNs`: the guest's next frame closes a round trip. */
  answered(hostNs: number): void {
    this.answeredAt = hostNs;
  }

  /** A frame of the guest arrived at `hostNs`. */
  frameArrived(hostNs: number): void {
    if (this.answeredAt === 0) return;
    const rtt = hostNs - this.answeredAt;
    if (rtt >= 0 && rtt < this.minRttNs) this.minRttNs = rtt;
    this.answeredAt = 0;
  }

  /** Whether a frame arriving now would close a round trip (so its time is worth taking). */
  get awaitingFrame(): boolean {
    return this.answeredAt !== 0;
  }

  /** The offset added to the guest's stamps: 0 for a guest on this host's clock. */
  get offsetNs(): number {
    const d = this.minDelta;
    return !Number.isFinite(d) || (d >= 0 && d < SAME_CLOCK_NS) ? 0 : d;
  }

  /**
   * The estimated error of this guest's stamps on the host's clock, in ns: 0 for a guest on this host's
   * clock; for a mapped guest, the smallest round trip seen (the offset is off by at most the one-way
   * delay of the sample it came from); null when no round trip was seen yet.
   */
  get errorNs(): number | null {
    if (this.offsetNs === 0 && Number.isFinite(this.minDelta)) return 0;
    return Number.isFinite(this.minRttNs) ? Math.round(this.minRttNs) : null;
  }
}
