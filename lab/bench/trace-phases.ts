// `linsock bench --trace alternate`: tracing turned off and on in phases within one run, on both sides of
// the delegated path at once (the daemon's sink in the bench process, the guest's stamps in the workload
// process), so that trace-on and trace-off throughput are measured under the same load, moments apart.
// Both processes follow the same schedule on the host's monotonic clock, which they share.

import type { TraceOverhead } from '../../protocol';
import { mbPerS, round } from './figures';

export interface TracePhases {
  /** Monotonic ns at which phase 0 starts. */
  originNs: number;
  phaseMs: number;
}

/** Bytes a workload moved in the settled part of one phase. */
export interface PhaseBytes {
  index: number;
  tracing: boolean;
  bytes: number;
  ns: number;
}

export const DEFAULT_PHASE_MS = 500;

export const phaseIndex = (p: TracePhases, ns: number): number => Math.floor((ns - p.originNs) / (p.phaseMs * 1e6));
/** Even phases run untraced, odd ones traced; before phase 0 tracing is on, for the guest's HELLO. */
export const tracingIn = (index: number): boolean => index < 0 || index % 2 === 1;
/**
 * The start of a phase is left out of its count: bytes queued in the channel and socket buffers at a
 * switch still move at the previous phase's pace for a few milliseconds.
 */
export const settleNs = (p: TracePhases): number => Math.min(50, p.phaseMs / 5) * 1e6;

/** Calls `apply` with each phase's tracing state at its start (and now); returns the function that stops. */
export function followPhases(p: TracePhases, now: () => number, apply: (tracing: boolean) => void): () => void {
  let timer: NodeJS.Timeout | null = null;
  const step = (): void => {
    const t = now();
    const k = phaseIndex(p, t);
    apply(tracingIn(k));
    const next = p.originNs + (k + 1) * p.phaseMs * 1e6;
    timer = setTimeout(step, Math.max(1, (next - t) / 1e6));
    timer.unref();
  };
  step();
  return () => {
    if (timer) clearTimeout(timer);
  };
}

/** Counts bytes per phase as a workload moves them. */
export class PhaseCounter {
  private readonly byIndex = new Map<number, number>();
  constructor(private readonly p: TracePhases) {}

  add(ns: number, bytes: number): void {
    const k = phaseIndex(this.p, ns);
    if (ns - (this.p.originNs + k * this.p.phaseMs * 1e6) < settleNs(this.p)) return;
    this.byIndex.set(k, (this.byIndex.get(k) ?? 0) + bytes);
  }

  /** The phases that lie wholly within [fromNs, toNs]. */
  phases(fromNs: number, toNs: number): PhaseBytes[] {
    const out: PhaseBytes[] = [];
    const len = this.p.phaseMs * 1e6;
    for (let k = phaseIndex(this.p, fromNs) + 1; this.p.originNs + (k + 1) * len <= toNs; k++) {
      out.push({ index: k, tracing: tracingIn(k), bytes: this.byIndex.get(k) ?? 0, ns: len - settleNs(this.p) });
    }
    return out;
  }
}

export function traceOverhead(phaseMs: number, phases: readonly PhaseBytes[]): TraceOverhead {
  const rate = (list: readonly PhaseBytes[]): number | null =>
    list.length ? mbPerS(list.reduce((n, x) => n + x.bytes, 0), list.reduce((n, x) => n + x.ns, 0)) : null;
  const off = rate(phases.filter((x) => !x.tracing));
  const on = rate(phases.filter((x) => x.tracing));
  const pairs: number[] = [];
  for (let i = 0; i + 1 < phases.length; i += 2) {
    const [a, b] = [phases[i] as PhaseBytes, phases[i + 1] as PhaseBytes];
    const offB = a.tracing ? b : a;
    const onB = a.tracing ? a : b;
    if (offB.bytes > 0) pairs.push(100 * (1 - onB.bytes / offB.bytes));
  }
  return {
    phase_ms: phaseMs,
    phases: phases.length,
    off_mb_per_s: round(off),
    on_mb_per_s: round(on),
    overhead_pct: on !== null && off ? round(100 * (1 - on / off)) : null,
    pair_overhead_pct_median: pairs.length ? round([...pairs].sort((x, y) => x - y)[pairs.length >> 1] as number) : null,
  };
}
