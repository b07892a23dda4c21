// Where a guest's clock stands against the host's, from its clock probes: the offset added to its stamps
// and how far off that offset may be. No guest is assumed to share the host's clock (a guest in a time
// namespace, or a VM, does not; one on the host's own clock is mapped like any other and comes out near 0).
//
// A probe is (the guest's time when it sent it, the host's time when it answered). The guest sends its
// next probe (or HELLO's first probe) only after it has the answer to the previous one, so at the host's
// answer the guest's clock read between the two send times: offset in [host - next send, host - send].
// The narrowest such interval is the probe with the smallest round trip; its middle is the offset and its
// half width the error bound.

export interface ClockMapping {
  /** Added to the guest's stamps to put them on the host's clock, ns. */
  offsetNs: number;
  /** The offset is off by at most this much, ns. */
  errorNs: number;
}

export class GuestClock {
  private last: { guestNs: number; hostNs: number } | null = null;
  private best: { lo: number; hi: number } | null = null;
  /** Before a round trip closes: the host's receive minus the guest's send of HELLO (an upper bound). */
  private upper = Infinity;

  /** HELLO or a clock probe sent at `guestNs` (guest clock), received at `receivedNs` and answered at `answeredNs`. */
  probe(guestNs: number, receivedNs: number, answeredNs: number): void {
    this.upper = Math.min(this.upper, receivedNs - guestNs);
    const prev = this.last;
    if (prev && guestNs >= prev.guestNs) {
      const lo = prev.hostNs - guestNs;
      const hi = prev.hostNs - prev.guestNs;
      if (!this.best || hi - lo < this.best.hi - this.best.lo) this.best = { lo, hi };
    }
    this.last = { guestNs, hostNs: answeredNs };
  }

  /** The best mapping so far, or null before the first round trip closed. */
  get mapping(): ClockMapping | null {
    const b = this.best;
    if (!b) return null;
    return { offsetNs: Math.round((b.lo + b.hi) / 2), errorNs: Math.ceil((b.hi - b.lo) / 2) };
  }

  /** The offset to use now: the mapping's, else HELLO's upper bound (off by the channel's one-way delay), else 0. */
  get offsetNs(): number {
    const m = this.mapping;
    if (m) return m.offsetNs;
    return Number.isFinite(this.upper) ? this.upper : 0;
  }

  /** See ClockMapping.errorNs; null while no round trip has closed (the error is unknown). */
  get errorNs(): number | null {
    return this.mapping?.errorNs ?? null;
  }
}
