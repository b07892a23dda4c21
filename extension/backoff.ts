// Reconnect delays: exponential growth capped at a ceiling, with jitter so that many clients that lost the
// same daemon do not all knock again in the same millisecond.

export interface BackoffOptions {
  /** Delay before the first retry, ms. */
  firstMs: number;
  /** Ceiling of any delay, ms. */
  maxMs: number;
  /** Growth per failed attempt. */
  factor: number;
  /** Share of each delay that is random, 0..1: 0.5 gives a delay in [d/2, d]. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { firstMs: 250, maxMs: 15_000, factor: 2, jitter: 0.5 };

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {
    if (!(options.firstMs > 0) || !(options.maxMs >= options.firstMs) || !(options.factor >= 1)) throw new RangeError('backoff needs 0 < firstMs <= maxMs and factor >= 1');
    if (!(options.jitter >= 0 && options.jitter <= 1)) throw new RangeError('backoff jitter must be within 0..1');
  }

  /** Failed attempts since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt; each call counts one more failed attempt. */
  next(): number {
    const { firstMs, maxMs, factor, jitter } = this.options;
    // Capping the exponent keeps factor ** attempt finite however long the daemon stays away.
    const ceiling = Math.min(maxMs, firstMs * factor ** Math.min(this.attempt, 64));
    this.attempt++;
    const r = Math.min(Math.max(this.random(), 0), 1);
    return Math.round(ceiling * (1 - jitter) + ceiling * jitter * r);
  }

  reset(): void {
    this.attempt = 0;
  }
}
