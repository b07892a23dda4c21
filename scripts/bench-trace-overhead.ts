// `npm run bench:trace-overhead`: what tracing costs the delegated path. Runs `linsock bench --workload
// stream --paths delegated` with `--trace off` and `--trace on` in interleaved pairs (the order alternates,
// so a drift in the machine's load favours neither), and reports the median of the pairs' overheads
// (1 - on/off). One pair says little on a shared 2-core machine; the median of many says what it costs.
//   --pairs N (default 10)  --seconds S (per run, default 2)  --workload W (default stream)  --json
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { BenchReport } from '../protocol';
import { median } from './measure';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? String(argv[i + 1]) : dflt;
};
const PAIRS = Number(opt('pairs', '10'));
const SECONDS = Number(opt('seconds', '2'));
const WORKLOAD = opt('workload', 'stream');
const json = argv.includes('--json');
if (!(Number.isSafeInteger(PAIRS) && PAIRS > 0) || !(SECONDS > 0)) {
  console.error('usage: bench-trace-overhead [--pairs N] [--seconds S] [--workload W] [--json]');
  process.exit(2);
}
const cli = join(__dirname, '..', 'dist', 'linsock.js');

/** One bench run; its throughput (stream, inter-guest) or median latency in µs (the others). */
function run(trace: 'on' | 'off'): number {
  const args = [cli, 'bench', '--workload', WORKLOAD, '--paths', 'delegated', '--seconds', String(SECONDS), '--trace', trace, '--json'];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: (SECONDS + 120) * 1000 });
  if (r.status !== 0) throw new Error(`linsock bench --trace ${trace} failed (exit ${r.status}): ${r.stderr.trim().split('\n').pop()}`);
  const report = JSON.parse(r.stdout) as BenchReport;
  const row = report.results.find((x) => x.path === 'delegated');
  if (!row?.verified) throw new Error(`linsock bench --trace ${trace}: the delegated row is not verified`);
  const v = WORKLOAD === 'stream' ? row.mb_per_s : row.p50_us;
  if (v === null) throw new Error(`linsock bench --trace ${trace}: no figure for ${WORKLOAD}`);
  return v;
}

const lowerIsBetter = WORKLOAD !== 'stream';
const pairs: { off: number; on: number; overheadPct: number }[] = [];
for (let i = 0; i < PAIRS; i++) {
  const order: ('on' | 'off')[] = i % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
  const got: Record<string, number> = {};
  for (const t of order) got[t] = run(t);
  const off = got.off as number;
  const on = got.on as number;
  // The cost as a share of the untraced figure: throughput lost, or latency added.
  const overheadPct = 100 * (lowerIsBetter ? on / off - 1 : 1 - on / off);
  pairs.push({ off, on, overheadPct });
  if (!json) console.error(`pair ${i + 1}/${PAIRS}: off ${off.toFixed(1)}, on ${on.toFixed(1)}, overhead ${overheadPct.toFixed(1)}%`);
}
const result = {
  workload: WORKLOAD,
  unit: lowerIsBetter ? 'p50_us' : 'mb_per_s',
  pairs: pairs.length,
  seconds: SECONDS,
  off_median: median(pairs.map((p) => p.off)),
  on_median: median(pairs.map((p) => p.on)),
  overhead_pct_median: Number(median(pairs.map((p) => p.overheadPct)).toFixed(2)),
  overhead_pct: pairs.map((p) => Number(p.overheadPct.toFixed(2))),
};
if (json) console.log(JSON.stringify(result));
else console.log(`${WORKLOAD} delegated: trace off ${result.off_median.toFixed(1)}, on ${result.on_median.toFixed(1)} ${result.unit} (medians); overhead per pair: median ${result.overhead_pct_median}% (${Math.min(...result.overhead_pct)}..${Math.max(...result.overhead_pct)}%)`);
