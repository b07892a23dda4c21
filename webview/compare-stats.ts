// The comparison computed from the store for one run: per operation and per path, latency percentiles,
// throughput and call rate over the path's own active span in that run, and which path is faster than
// the emulated and direct ones; time per stage; the latencies for the charts. A call whose duration is 0
// (a direct receive: the data was in the kernel before user space could time the call) is counted but
// not timed: it enters no percentile, chart or verdict, and a figure with nothing to measure is null
// with the reason beside it.

import { csvField } from '../protocol/csv';
import { METRICS, measurable, relativeText, verdict, type Metric, type Verdict } from '../protocol/comparison';
import { OPS, PATHS } from '../protocol/trace';
import { VIEW_STAGES } from './view-stages';
import type { CallStore } from './call-store';

/** Lane order: emulated and delegated (the two guest paths) next to each other, direct (the bound) last. */
export const PATH_ORDER = ['emulated', 'delegated', 'direct'] as const;

/** The figures of a row that can be "—", and the cells that give the reason. */
export type Figure = 'p50Us' | 'p99Us' | 'mbPerS' | 'callsPerS' | 'vsEmulated' | 'vsDirect';

export interface CompareRow {
  op: string;
  path: string;
  calls: number;
  /** Calls with a non-zero duration: the only ones latency figures are made of. */
  timed: number;
  p50Us: number | null;
  p99Us: number | null;
  mbPerS: number | null;
  callsPerS: number | null;
  /** p50 against the emulated (or direct) path's same op: which is faster and by how much. */
  vsEmulated: Verdict | null;
  vsDirect: Verdict | null;
  /** Why a figure is null, for the cell's tooltip and the table's footnotes. */
  why: Partial<Record<Figure, string>>;
}

export interface PathSummary {
  path: string;
  calls: number;
  timed: number;
  /** The path's active span in this run: its first call's start to its last call's end (ns). */
  spanNs: number;
}

export interface Comparison {
  rows: CompareRow[];
  /** Durations (µs) of timed calls per path, sorted ascending, for histogram and CDF. */
  durations: Map<string, Float64Array>;
  /** Total ns per stage per path (timed calls). */
  stageTotals: Map<string, Float64Array>;
  /** Paths with calls, in lane order. */
  paths: string[];
  summaries: Map<string, PathSummary>;
}

/** Which calls a comparison reads: those whose run index (RunIndex.runOf) is `run`; all when run is null. */
export interface CallSelection {
  runOf: Uint16Array;
  run: number | null;
}

export const NOT_TIMED = 'not measurable: these calls are not timed (their kernel stage is 0 ns long: a direct receive returns data the kernel already held, so user space cannot see how long it took)';
const NO_SPAN = 'not measurable: the calls span no time, and a rate over zero time has no meaning';

function quantile(sorted: Float64Array, q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

const opIndex = (op: string): number => OPS.indexOf(op as (typeof OPS)[number]);

export function compare(store: CallStore, sel: CallSelection | null = null): Comparison {
  const n = store.count;
  const P = PATHS.length;
  const groups = OPS.length * P;
  const inRun = (s: number): boolean => sel === null || sel.run === null || sel.runOf[s] === sel.run;
  const counts = new Uint32Array(groups);
  const timed = new Uint32Array(groups);
  const pathTimed = new Uint32Array(P);
  const pathCalls = new Uint32Array(P);
  const pathFirst = new Float64Array(P).fill(Infinity);
  const pathLast = new Float64Array(P).fill(-Infinity);
  for (let s = 0; s < n; s++) {
    if (!inRun(s)) continue;
    const p = store.path[s]!;
    const g = store.op[s]! * P + p;
    counts[g]!++;
    pathCalls[p]!++;
    if (store.start[s]! < pathFirst[p]!) pathFirst[p] = store.start[s]!;
    if (store.end[s]! > pathLast[p]!) pathLast[p] = store.end[s]!;
    if (store.end[s]! > store.start[s]!) {
      timed[g]!++;
      pathTimed[p]!++;
    }
  }
  // one pass fills each group's timed durations into its own slice of a single buffer
  const offsets = new Uint32Array(groups + 1);
  for (let g = 0; g < groups; g++) offsets[g + 1] = offsets[g]! + timed[g]!;
  const fill = offsets.slice(0, groups);
  const all = new Float64Array(offsets[groups]!);
  const bytes = new Float64Array(groups);
  const perPath = PATHS.map((_, i) => new Float64Array(pathTimed[i]!));
  const pathFill = new Uint32Array(P);
  const stageTotals = new Map<string, Float64Array>(PATHS.map((p) => [p, new Float64Array(VIEW_STAGES.length)]));
  for (let s = 0; s < n; s++) {
    if (!inRun(s)) continue;
    const p = store.path[s]!;
    const g = store.op[s]! * P + p;
    bytes[g]! += store.bytes[s]!;
    const d = (store.end[s]! - store.start[s]!) / 1000;
    if (d <= 0) continue;
    all[fill[g]!++] = d;
    perPath[p]![pathFill[p]!++] = d;
    const st = stageTotals.get(PATHS[p]!)!;
    const f = store.stageFirst[s]!;
    for (let j = 0; j < store.stageCount[s]!; j++) st[store.stageName[f + j]!]! += store.stageEnd[f + j]! - store.stageStart[f + j]!;
  }
  const rows: CompareRow[] = [];
  for (let g = 0; g < groups; g++) {
    if (counts[g] === 0) continue;
    const op = OPS[Math.floor(g / P)]!;
    const pi = g % P;
    const path = PATHS[pi]!;
    const slice = all.subarray(offsets[g]!, offsets[g + 1]!).sort();
    const spanNs = pathLast[pi]! - pathFirst[pi]!;
    const why: CompareRow['why'] = {};
    const row: CompareRow = { op, path, calls: counts[g]!, timed: timed[g]!, p50Us: null, p99Us: null, mbPerS: null, callsPerS: null, vsEmulated: null, vsDirect: null, why };
    if (slice.length > 0) {
      row.p50Us = quantile(slice, 0.5);
      row.p99Us = quantile(slice, 0.99);
    } else why.p50Us = why.p99Us = NOT_TIMED;
    if (spanNs > 0) {
      row.callsPerS = counts[g]! / (spanNs / 1e9);
      if (bytes[g]! > 0) row.mbPerS = bytes[g]! / 1e6 / (spanNs / 1e9);
    } else {
      why.callsPerS = NO_SPAN;
      if (bytes[g]! > 0) why.mbPerS = NO_SPAN;
    }
    rows.push(row);
  }
  for (const r of rows) {
    for (const [base, key] of [['emulated', 'vsEmulated'], ['direct', 'vsDirect']] as const) {
      if (r.path === base) continue;
      const other = rows.find((o) => o.op === r.op && o.path === base);
      if (!other) continue;
      r[key] = verdict({ label: r.path, value: r.p50Us }, { label: base, value: other.p50Us }, METRICS.p50_us);
      if (!r[key]) r.why[key] = r.p50Us === null ? NOT_TIMED : `not measurable: the ${base} ${r.op} calls are not timed, so there is no ${base} p50 to compare with`;
    }
  }
  rows.sort((a, b) => opIndex(a.op) - opIndex(b.op) || PATH_ORDER.indexOf(a.path as never) - PATH_ORDER.indexOf(b.path as never));
  const durations = new Map<string, Float64Array>();
  const summaries = new Map<string, PathSummary>();
  const paths: string[] = [];
  for (const p of PATH_ORDER) {
    const i = PATHS.indexOf(p);
    if (pathCalls[i]! === 0) continue;
    paths.push(p);
    summaries.set(p, { path: p, calls: pathCalls[i]!, timed: pathTimed[i]!, spanNs: Math.max(0, pathLast[i]! - pathFirst[i]!) });
    if (pathTimed[i]! > 0) durations.set(p, perPath[i]!.sort());
  }
  return { rows, durations, stageTotals, paths, summaries };
}

/**
 * Which of two paths (of one comparison or of two: A/B) is faster from the calls alone, when no bench
 * report says: the p50 of the op both timed most often. Null when they share no timed op.
 */
export function callVerdict(a: { c: Comparison; path: string; label: string }, b: { c: Comparison; path: string; label: string }): Verdict | null {
  let best: { op: string; n: number; pa: number; pb: number } | null = null;
  for (const ra of a.c.rows) {
    if (ra.path !== a.path || !measurable(ra.p50Us)) continue;
    const rb = b.c.rows.find((r) => r.op === ra.op && r.path === b.path);
    if (!rb || !measurable(rb.p50Us)) continue;
    const shared = Math.min(ra.timed, rb.timed);
    if (!best || shared > best.n) best = { op: ra.op, n: shared, pa: ra.p50Us, pb: rb.p50Us };
  }
  if (!best) return null;
  const metric: Metric = { ...METRICS.p50_us, name: `${best.op} p50` };
  return verdict({ label: a.label, value: best.pa }, { label: b.label, value: best.pb }, metric);
}

export const COMPARE_HEADER = ['op', 'path', 'calls', 'p50 µs', 'p99 µs', 'MB/s', 'calls/s', 'p50 vs emulated', 'p50 vs direct'];
/** The figure behind each column (for the "—" reasons), by column index. */
export const COLUMN_FIGURE: (Figure | null)[] = [null, null, null, 'p50Us', 'p99Us', 'mbPerS', 'callsPerS', 'vsEmulated', 'vsDirect'];
/** Shown for a figure that cannot be measured (its reason goes in the tooltip and the footnotes). */
export const NOT_MEASURED = '—';

export function compareCells(r: CompareRow): string[] {
  const f = (v: number | null, d: number, k: Figure) => (v !== null && Number.isFinite(v) ? v.toFixed(d) : r.why[k] ? NOT_MEASURED : '');
  const vs = (v: Verdict | null, k: Figure) => (v ? relativeText(v, r.path) : r.why[k] ? NOT_MEASURED : '');
  const calls = r.timed < r.calls ? `${r.calls} (${r.calls - r.timed} not timed)` : String(r.calls);
  return [r.op, r.path, calls, f(r.p50Us, 1, 'p50Us'), f(r.p99Us, 1, 'p99Us'), f(r.mbPerS, 1, 'mbPerS'), f(r.callsPerS, 0, 'callsPerS'), vs(r.vsEmulated, 'vsEmulated'), vs(r.vsDirect, 'vsDirect')];
}

/** One line per distinct reason a figure is "—", naming the rows it applies to. */
export function footnotes(rows: CompareRow[]): string[] {
  const by = new Map<string, string[]>();
  for (const r of rows)
    for (const why of new Set(Object.values(r.why))) {
      const list = by.get(why!) ?? [];
      list.push(`${r.path} ${r.op}`);
      by.set(why!, list);
    }
  return [...by].map(([why, where]) => `${NOT_MEASURED} ${where.join(', ')}: ${why}`);
}

export function tableMarkdown(rows: CompareRow[]): string {
  const lines = [`| ${COMPARE_HEADER.join(' | ')} |`, `| ${COMPARE_HEADER.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`];
  for (const r of rows) lines.push(`| ${compareCells(r).join(' | ')} |`);
  const notes = footnotes(rows);
  return lines.join('\n') + '\n' + (notes.length ? `\n${notes.join('\n\n')}\n` : '');
}

export function tableCsv(rows: CompareRow[]): string {
  return [COMPARE_HEADER, ...rows.map(compareCells)].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}
