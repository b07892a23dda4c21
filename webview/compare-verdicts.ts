// The verdict lines at the top of the Compare tab: for every pair of paths in the run, which is faster
// and by how much — from the bench report's measured figures when the run has one, else from the calls
// (p50 of the op both paths timed most) — and, for A/B, each path in run B against the same path in run A.

import { METRICS, ratioField, verdict, verdictFigures, verdictText, type Verdict } from '../protocol/comparison';
import type { BenchReport } from '../protocol/trace-stream';
import { callVerdict, PATH_ORDER, type Comparison } from './compare-stats';

export interface VerdictLine {
  /** "delegated 5.77× faster than emulated (throughput)", or "delegated vs direct: not measurable". */
  text: string;
  /** The figures behind it and where they come from; or why there is no verdict. */
  detail: string;
  measured: boolean;
}

/** What a comparison knows of one run. */
export interface RunFigures {
  label: string;
  report: BenchReport | null;
  comparison: Comparison;
}

const FROM_REPORT = 'measured by the benchmark';
const FROM_CALLS = 'from this run\'s traced calls';

function line(v: Verdict | null, a: string, b: string, source: string, missing: string): VerdictLine {
  if (!v) return { text: `${a} vs ${b}: not measurable`, detail: missing, measured: false };
  return { text: verdictText(v), detail: `${verdictFigures(v)}, ${source}`, measured: true };
}

const laneRank = (p: string): number => {
  const i = PATH_ORDER.indexOf(p as never);
  return i < 0 ? PATH_ORDER.length : i;
};

/** Every pair of the run's paths, once each. */
export function pathVerdicts(run: RunFigures): VerdictLine[] {
  const { report, comparison: c } = run;
  const paths = [...new Set([...(report?.results.map((r) => String(r.path)) ?? []), ...c.paths])].sort((a, b) => laneRank(a) - laneRank(b));
  const out: VerdictLine[] = [];
  for (let i = 0; i < paths.length; i++)
    for (let j = i + 1; j < paths.length; j++) {
      const [a, b] = [paths[i]!, paths[j]!];
      const ra = report?.results.find((r) => r.path === a);
      const rb = report?.results.find((r) => r.path === b);
      if (report && ra && rb) {
        const field = ratioField(report.workload);
        const why = `the benchmark has no ${METRICS[field].name} for ${ra[field] === null ? a : b}${report.unavailable?.[ra[field] === null ? a : b] ? ` (${report.unavailable[ra[field] === null ? a : b]})` : ''}`;
        out.push(line(verdict({ label: a, value: ra[field] }, { label: b, value: rb[field] }, METRICS[field]), a, b, FROM_REPORT, why));
      } else if (c.paths.includes(a) && c.paths.includes(b)) {
        out.push(line(callVerdict({ c, path: a, label: a }, { c, path: b, label: b }), a, b, FROM_CALLS, `${a} and ${b} have no timed operation in common`));
      }
    }
  return out;
}

/** Each path both runs have: run B against run A on that path ("B 1.30× faster than A"). */
export function abVerdicts(a: RunFigures, b: RunFigures): VerdictLine[] {
  const pathsOf = (r: RunFigures) => new Set([...(r.report?.results.map((x) => String(x.path)) ?? []), ...r.comparison.paths]);
  const inA = pathsOf(a);
  const shared = [...pathsOf(b)].filter((p) => inA.has(p)).sort((x, y) => laneRank(x) - laneRank(y));
  if (shared.length === 0) return [{ text: 'A and B: not measurable', detail: 'the two runs share no path', measured: false }];
  return shared.map((p) => {
    const ra = a.report?.results.find((r) => r.path === p);
    const rb = b.report?.results.find((r) => r.path === p);
    let v: Verdict | null = null;
    let source = FROM_CALLS;
    if (a.report && b.report && ra && rb && ratioField(a.report.workload) === ratioField(b.report.workload)) {
      const field = ratioField(a.report.workload);
      v = verdict({ label: 'B', value: rb[field] }, { label: 'A', value: ra[field] }, METRICS[field]);
      if (v) source = FROM_REPORT;
    }
    v ??= callVerdict({ c: b.comparison, path: p, label: 'B' }, { c: a.comparison, path: p, label: 'A' });
    const l = line(v, 'B', 'A', source, `no figure of ${p} that both runs measured`);
    return { ...l, text: `${p}: ${l.text}` };
  });
}
