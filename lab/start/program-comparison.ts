// A real program's comparison for `linsock start` (Run Comparison… → "a program…"): the program bench of
// `linsock bench --program` (lab/run/program-bench.ts) on the chosen paths. Its figures are the program's
// own; its calls do not reach the lab's trace hub yet (the interposer writes them to a file only), so the report says that no call was traced rather than
// leaving the viewer to show an empty table as if the program had made no calls.

import type { TraceSink } from '../../daemon';
import type { BenchReport, Path, RunInfo } from '../../protocol';
import { hostFacts } from '../bench/host-facts';
import type { BenchOutcome } from '../bench/run-bench';
import { nowNs } from '../bench/latency';
import { BENCH_PROGRAMS, PROGRAM_PATHS, runProgramBench, type BenchProgram } from '../run/program-bench';
import type { RunPath } from '../run/run-program';
import { PROGRAM_UNTRACED } from './lab-offer';

export interface ProgramComparisonRequest {
  program: string;
  paths: Path[];
  seconds: number;
}

/** Why the request cannot run, or null. */
export function programRequestProblem(req: ProgramComparisonRequest): string | null {
  if (!(BENCH_PROGRAMS as readonly string[]).includes(req.program)) return `unknown program '${req.program}' (the lab runs ${BENCH_PROGRAMS.join(', ')})`;
  const allowed = PROGRAM_PATHS;
  const other = req.paths.filter((p) => !allowed.includes(p as RunPath));
  if (other.length) return `${req.program} runs on the paths ${allowed.join(', ')}, not ${other.join(', ')}`;
  return null;
}

/** The run's record: the run shows in a viewer's list of runs, with the report and no calls. */
export function programRunInfo(req: ProgramComparisonRequest, runId: string): RunInfo {
  return {
    kind: 'run', id: runId, workload: req.program, paths: [...req.paths],
    params: { program: req.program, seconds: req.seconds, traced: false },
    host: hostFacts(null, req.paths), startedNs: nowNs(), clockErrorNs: {},
  };
}

/**
 * Runs the program bench; its daemons are its own (one per delegated run), so no call reaches `sink`: only
 * the run's record goes there.
 */
export async function runProgramComparison(req: ProgramComparisonRequest, env: { runId: string; sink: TraceSink; onProgress: (line: string) => void }): Promise<BenchOutcome> {
  const problem = programRequestProblem(req);
  if (problem) throw new Error(problem);
  if (env.sink.enabled) env.sink.publish(programRunInfo(req, env.runId));
  const onProgress = env.onProgress;
  // iperf3 takes whole seconds.
  const { report, notes } = await runProgramBench(req.program as BenchProgram, req.paths as RunPath[], Math.max(1, Math.round(req.seconds)), onProgress);
  const out: BenchReport = { ...report };
  const lines = Object.entries(notes).flatMap(([path, n]) => n.map((x) => `${path}: ${x}`));
  if (lines.length) out.notes = lines;
  out.untraced = PROGRAM_UNTRACED;
  const results = report.results.map((r) => ({ ...r, ranIn: r.path === 'delegated' ? 'a namespace with only lo, through linsock run\'s interposer' : 'host', notes: notes[String(r.path)] ?? [] }));
  return { report: out, results };
}
