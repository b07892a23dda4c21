// The A/B comparison computed from the store: per operation and per path, latency percentiles,
// throughput and call rate, ratios against the emulated and direct paths, and time per stage.

import { csvField } from '../protocol/csv';
import { OPS, PATHS, STAGES } from '../protocol/trace';
import type { CallStore } from './call-store';

export interface CompareRow {
  op: string;
  path: string;
  calls: number;
  p50Us: number;
  p99Us: number;
  mbPerS: number | null;
  callsPerS: number;
  /** p50 latency of the emulated (or direct) path divided by this path's: > 1 means this path is faster. */
  speedupVsEmulated: number | null;
  speedupVsDirect: number | null;
}

export interface Comparison {
  rows: CompareRow[];
  /** Durations (µs) per path, sorted ascending, for histogram and CDF. */
  durations: Map<string, Float64Array>;
  /** Total ns per stage per path. */
  stageTotals: Map<string, Float64Array>;
  paths: string[];
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export function compare(store: CallStore): Comparison {
  const n = store.count;
  const groups = OPS.length * PATHS.length;
  const counts = new Uint32Array(groups);
  const pathCounts = new Uint32Array(PATHS.length);
  for (let s = 0; s < n; s++) {
    counts[store.op[s]! * PATHS.length + store.path[s]!]!++;
    pathCounts[store.path[s]!]!++;
  }
  // one pass fills each group's durations into its own slice of a single buffer
  const offsets = new Uint32Array(groups + 1);
  for (let g = 0; g < groups; g++) offsets[g + 1] = offsets[g]! + counts[g]!;
  const fill = offsets.slice(0, groups);
  const all = new Float64Array(n);
  const bytes = new Float64Array(groups);
  const first = new Float64Array(groups).fill(Infinity);
  const last = new Float64Array(groups).fill(-Infinity);
  const stageTotals = new Map<string, Float64Array>();
  const perPath = PATHS.map(() => new Float64Array(0));
  const pathFill = new Uint32Array(PATHS.length);
  PATHS.forEach((p, i) => {
    perPath[i] = new Float64Array(pathCounts[i]!);
    stageTotals.set(p, new Float64Array(STAGES.length));
  });
  for (let s = 0; s < n; s++) {
    const p = store.path[s]!;
    const g = store.op[s]! * PATHS.length + p;
    const d = (store.end[s]! - store.start[s]!) / 1000;
    all[fill[g]!++] = d;
    perPath[p]![pathFill[p]!++] = d;
    bytes[g]! += store.bytes[s]!;
    if (store.start[s]! < first[g]!) first[g] = store.start[s]!;
    if (store.end[s]! > last[g]!) last[g] = store.end[s]!;
    const st = stageTotals.get(PATHS[p]!)!;
    const f = store.stageFirst[s]!;
    for (let j = 0; j < store.stageCount[s]!; j++) st[store.stageName[f + j]!]! += store.stageEnd[f + j]! - store.stageStart[f + j]!;
  }
  const rows: CompareRow[] = [];
  const p50 = new Float64Array(groups).fill(NaN);
  for (let g = 0; g < groups; g++) {
    if (counts[g] === 0) continue;
    const slice = all.subarray(offsets[g]!, offsets[g + 1]!).sort();
    p50[g] = quantile(slice, 0.5);
    const op = OPS[Math.floor(g / PATHS.length)]!;
    const path = PATHS[g % PATHS.length]!;
    const spanS = Math.max(last[g]! - first[g]!, 1) / 1e9;
    rows.push({
      op,
      path,
      calls: counts[g]!,
      p50Us: p50[g]!,
      p99Us: quantile(slice, 0.99),
      mbPerS: bytes[g]! > 0 ? bytes[g]! / 1e6 / spanS : null,
      callsPerS: counts[g]! / spanS,
      speedupVsEmulated: null,
      speedupVsDirect: null,
    });
  }
  for (const r of rows) {
    const base = OPS.indexOf(r.op as (typeof OPS)[number]) * PATHS.length;
    const em = p50[base + PATHS.indexOf('emulated')]!;
    const di = p50[base + PATHS.indexOf('direct')]!;
    if (r.path !== 'emulated' && Number.isFinite(em) && r.p50Us > 0) r.speedupVsEmulated = em / r.p50Us;
    if (r.path !== 'direct' && Number.isFinite(di) && r.p50Us > 0) r.speedupVsDirect = di / r.p50Us;
  }
  // rows by op, then in lane order so emulated and delegated sit next to each other
  const order = ['emulated', 'delegated', 'direct'];
  rows.sort((a, b) => OPS.indexOf(a.op as (typeof OPS)[number]) - OPS.indexOf(b.op as (typeof OPS)[number]) || order.indexOf(a.path) - order.indexOf(b.path));
  const durations = new Map<string, Float64Array>();
  const paths: string[] = [];
  for (const p of order) {
    const i = PATHS.indexOf(p as (typeof PATHS)[number]);
    if (pathCounts[i]! > 0) {
      durations.set(p, perPath[i]!.sort());
      paths.push(p);
    }
  }
  return { rows, durations, stageTotals, paths };
}

export const COMPARE_HEADER = ['op', 'path', 'calls', 'p50 µs', 'p99 µs', 'MB/s', 'calls/s', 'speed-up vs emulated', 'speed-up vs direct'];

export function compareCells(r: CompareRow): string[] {
  const f = (v: number | null, d: number) => (v === null || !Number.isFinite(v) ? '' : v.toFixed(d));
  return [r.op, r.path, String(r.calls), f(r.p50Us, 1), f(r.p99Us, 1), f(r.mbPerS, 1), f(r.callsPerS, 0), f(r.speedupVsEmulated, 2), f(r.speedupVsDirect, 2)];
}

export function tableMarkdown(rows: CompareRow[]): string {
  const lines = [`| ${COMPARE_HEADER.join(' | ')} |`, `| ${COMPARE_HEADER.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`];
  for (const r of rows) lines.push(`| ${compareCells(r).join(' | ')} |`);
  return lines.join('\n') + '\n';
}

export function tableCsv(rows: CompareRow[]): string {
  return [COMPARE_HEADER, ...rows.map(compareCells)].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

