// `npm run bench:trace-overhead`: what tracing costs the delegated path. Runs `linsock bench --workload
// stream --paths delegated --trace alternate`, which pauses and resumes tracing (daemon and guest at once)
// in 500 ms phases of one run, so that trace-on and trace-off throughput meet the same load moments apart.
// Separate runs cannot show a few percent here: on this 2-core machine one run's throughput moves ±15%
// from second to second. Reports the median over --runs of each run's overhead (1 - on/off, in percent).
//   --runs N (default 3)  --seconds S (per run, default 20)  --json
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { BenchReport, TraceOverhead } from '../protocol';
import { median } from './measure';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const RUNS = opt('runs', 3);
const SECONDS = opt('seconds', 20);
const json = argv.includes('--json');
if (!(Number.isSafeInteger(RUNS) && RUNS > 0) || !(SECONDS >= 2)) {
  console.error('usage: bench-trace-overhead [--runs N] [--seconds S (at least 2)] [--json]');
  process.exit(2);
}
const cli = join(__dirname, '..', 'dist', 'linsock.js');

function run(): TraceOverhead {
  const args = [cli, 'bench', '--workload', 'stream', '--paths', 'delegated', '--seconds', String(SECONDS), '--trace', 'alternate', '--json'];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: (SECONDS + 120) * 1000 });
  if (r.status !== 0) throw new Error(`linsock bench --trace alternate failed (exit ${r.status}): ${r.stderr.trim().split('\n').pop()}`);
  const report = JSON.parse(r.stdout) as BenchReport;
  if (!report.results[0]?.verified) throw new Error('linsock bench --trace alternate: the delegated row is not verified');
  if (!report.trace_overhead || report.trace_overhead.overhead_pct === null) throw new Error('linsock bench --trace alternate: no trace_overhead in the report');
  return report.trace_overhead;
}

const runs: TraceOverhead[] = [];
for (let i = 0; i < RUNS; i++) {
  const o = run();
  runs.push(o);
  if (!json) console.error(`run ${i + 1}/${RUNS}: off ${o.off_mb_per_s} MB/s, on ${o.on_mb_per_s} MB/s over ${o.phases} phases: overhead ${o.overhead_pct}% (median of pairs ${o.pair_overhead_pct_median}%)`);
}
const pick = (f: (o: TraceOverhead) => number | null): number => median(runs.map((o) => f(o) ?? NaN));
const result = {
  runs: RUNS,
  seconds: SECONDS,
  phase_ms: runs[0]?.phase_ms,
  off_mb_per_s: pick((o) => o.off_mb_per_s),
  on_mb_per_s: pick((o) => o.on_mb_per_s),
  overhead_pct_median: pick((o) => o.overhead_pct),
  overhead_pct: runs.map((o) => o.overhead_pct),
  pair_overhead_pct_median: pick((o) => o.pair_overhead_pct_median),
};
if (json) console.log(JSON.stringify(result));
else console.log(`stream delegated, tracing overhead: median ${result.overhead_pct_median}% over ${RUNS} runs of ${SECONDS} s (${result.overhead_pct.join('%, ')}%); trace off ${result.off_mb_per_s}, on ${result.on_mb_per_s} MB/s`);
