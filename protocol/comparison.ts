// The one convention for saying which of two paths (or runs) is faster and by how much, used by the
// viewer, the CLI tables and the extension's notifications: "delegated 2.40× faster than emulated (p50)".
// The factor is always ≥ 1 and names the faster side first, whichever way the metric runs (throughput:
// higher is better; latency: lower is better). A figure that is missing, zero or not finite cannot be
// compared: the answer is null, never a ratio against zero. Pure code.

export type Better = 'higher' | 'lower';

/** A figure a comparison reads: what it is called in a verdict, and which way is better. */
export interface Metric {
  /** As a verdict names it: "throughput", "p50". */
  readonly name: string;
  readonly unit: string;
  readonly better: Better;
}

/** The report fields `linsock bench` computes its `ratios` from (BenchReport.ratios = a/b of this field). */
export type RatioField = 'mb_per_s' | 'p50_us';

export const METRICS: Readonly<Record<RatioField | 'ops_per_s' | 'p99_us', Metric>> = {
  mb_per_s: { name: 'throughput', unit: 'MB/s', better: 'higher' },
  ops_per_s: { name: 'ops/s', unit: 'ops/s', better: 'higher' },
  p50_us: { name: 'p50', unit: 'µs', better: 'lower' },
  p99_us: { name: 'p99', unit: 'µs', better: 'lower' },
};

/** Bulk workloads compare throughput; request/response ones the median round trip. */
export function ratioField(workload: string): RatioField {
  return workload === 'stream' || workload === 'inter-guest' ? 'mb_per_s' : 'p50_us';
}

/** Two figures closer than this factor are reported as equally fast (below the two decimals shown). */
const SAME_BELOW = 1.005;

export interface Verdict {
  faster: string;
  slower: string;
  /** How many times faster: ≥ 1. */
  factor: number;
  /** Within rounding of each other: neither is faster. */
  same: boolean;
  metric: Metric;
  /** The two figures compared, the faster side's first. */
  values: [number, number];
}

/** A figure that can be compared: finite and above zero (a zero duration or rate is not a measurement). */
export function measurable(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0;
}

/** Which of `a` and `b` is faster on `metric`, and by what factor; null when either is not measurable. */
export function verdict(a: { label: string; value: number | null | undefined }, b: { label: string; value: number | null | undefined }, metric: Metric): Verdict | null {
  if (!measurable(a.value) || !measurable(b.value)) return null;
  const aFaster = metric.better === 'higher' ? a.value >= b.value : a.value <= b.value;
  const [f, s] = aFaster ? [a, b] : [b, a];
  const factor = metric.better === 'higher' ? (f.value as number) / (s.value as number) : (s.value as number) / (f.value as number);
  return { faster: f.label, slower: s.label, factor, same: factor < SAME_BELOW, metric, values: [f.value as number, s.value as number] };
}

/** The verdict that a `ratios` entry of a bench report states: key "a/b", value a/b of `field`. */
export function ratioVerdict(key: string, ratio: number | null | undefined, field: RatioField): Verdict | null {
  const [a, b] = key.split('/');
  if (!a || !b || !measurable(ratio)) return null;
  return verdict({ label: a, value: ratio }, { label: b, value: 1 }, METRICS[field]);
}

/** "2.40×", "12.3×", "150×": three significant figures. */
export function formatFactor(f: number): string {
  return `${f >= 100 ? f.toFixed(0) : f.toPrecision(3)}×`;
}

/** "delegated 2.40× faster than emulated" (or "as fast as"), then "(p50)" unless `withMetric` is false. */
export function verdictText(v: Verdict, withMetric = true): string {
  const core = v.same ? `${v.faster} as fast as ${v.slower}` : `${v.faster} ${formatFactor(v.factor)} faster than ${v.slower}`;
  return withMetric ? `${core} (${v.metric.name})` : core;
}

/** "715 vs 124 MB/s": the figures a verdict compared, the faster side's first. */
export function verdictFigures(v: Verdict): string {
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  return `${f(v.values[0])} vs ${f(v.values[1])} ${v.metric.unit}`;
}

/** One side's view of a verdict, for a table cell next to `self`: "2.40× faster", "1.32× slower", "as fast". */
export function relativeText(v: Verdict, self: string): string {
  if (v.same) return 'as fast';
  return `${formatFactor(v.factor)} ${v.faster === self ? 'faster' : 'slower'}`;
}

/** A report's ratio as a line of a table: the verdict, then the raw ratio it comes from (the JSON's number). */
export function ratioLine(key: string, ratio: number | null | undefined, field: RatioField): string | null {
  const v = ratioVerdict(key, ratio, field);
  if (!v) return null;
  const m = v.metric;
  return `${verdictText(v, false)} (${m.name}, ${m.better} ${m.unit} is better; ${key} = ${(ratio as number).toFixed(2)})`;
}
