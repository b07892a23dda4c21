// Latency samples and their percentiles, in microseconds.

export class LatencySamples {
  private values = new Float64Array(1024);
  private n = 0;

  get count(): number {
    return this.n;
  }

  addNs(ns: number): void {
    if (this.n === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.n++] = ns;
  }

  /** The p-th percentile (0..100) in µs, nearest rank; null without samples. */
  percentileUs(p: number): number | null {
    if (this.n === 0) return null;
    const sorted = this.values.slice(0, this.n).sort();
    const rank = Math.min(this.n - 1, Math.max(0, Math.ceil((p / 100) * this.n) - 1));
    return (sorted[rank] as number) / 1000;
  }
}

export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/**
 * Latency samples count from the end of a warm-up (a tenth of the run, at most 0.5 s): the first
 * operations of a fresh process run cold code on every path alike.
 */
export function warmupEndNs(t0: number, seconds: number): number {
  return t0 + Math.min(0.5, seconds * 0.1) * 1e9;
}
