// Latency samples and their percentiles, in microseconds, and the clock of a timed latency workload.

import { round } from './figures';
import type { WorkloadResult } from './workload-result';

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

  /** All of `parts`' samples in one (the percentiles over several guests' round trips). */
  static merged(parts: readonly LatencySamples[]): LatencySamples {
    const all = new LatencySamples();
    const n = parts.reduce((sum, p) => sum + p.n, 0);
    all.values = new Float64Array(Math.max(1024, n));
    for (const p of parts) {
      all.values.set(p.values.subarray(0, p.n), all.n);
      all.n += p.n;
    }
    return all;
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

/** How long a latency workload of `seconds` warms up before its operations count. */
export function warmUpSeconds(seconds: number): number {
  return Math.min(0.5, seconds * 0.1);
}

/**
 * One request/response workload's clock: when it ends, and the latencies it keeps. Samples count from the
 * end of a warm-up (a tenth of the run, at most 0.5 s): the first operations of a fresh process run cold
 * code on every path alike.
 */
export class LatencyRun {
  readonly deadline: number;
  private readonly warm: number;
  /** `samples`: where the kept latencies go, when the caller wants them beyond the summary (guest-fleet.ts). */
  constructor(seconds: number, private readonly samples = new LatencySamples()) {
    const t0 = nowNs();
    this.deadline = t0 + seconds * 1e9;
    this.warm = t0 + warmUpSeconds(seconds) * 1e9;
  }

  /** Keeps one operation's latency if `atNs` (the moment the workload judges it by) is past the warm-up. */
  add(atNs: number, latencyNs: number): void {
    if (atNs >= this.warm) this.samples.addNs(latencyNs);
  }

  /** Percentiles, and the rate of the operations kept over the time since the warm-up ended. */
  summary(): Pick<WorkloadResult, 'p50_us' | 'p99_us' | 'ops_per_s'> {
    const elapsed = nowNs() - this.warm;
    return {
      p50_us: round(this.samples.percentileUs(50)),
      p99_us: round(this.samples.percentileUs(99)),
      ops_per_s: round(this.samples.count / (elapsed / 1e9)),
    };
  }
}
