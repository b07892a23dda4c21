// `node --import tsx scripts/bench-load.ts`: latency when the machine is busy, and what busy polling does to
// it. Runs `linsock bench --workload rr --json` for every busy-polling variant and every load, interleaved
// round by round (the order of the variants rotates each round), so that each variant meets the shared
// machine's moods alike, and prints per variant and load the median and range over the rounds of each
// path's p50 and CPU per op and of the ratios.
//   --rounds N (default 5)  --seconds S (per path, default 3)  --loads 0,2  --workload rr
//   --paths direct,delegated,emulated  --variants fixed:200,off:0,adaptive:200  --trace on|off  --json
// A variant is POLICY:US: LINSOCK_BUSY_POLL=POLICY for the bench's daemon and --busy-poll-us US.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { BenchReport } from '../protocol';
import { option, printSummary, summarize, type Figures } from './measure';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => option(argv, name, dflt);
const ROUNDS = Number(opt('rounds', '5'));
const SECONDS = Number(opt('seconds', '3'));
const LOADS = opt('loads', '0,2').split(',').map(Number);
const WORKLOAD = opt('workload', 'rr');
const PATHS = opt('paths', 'direct,delegated,emulated');
const VARIANTS = opt('variants', 'fixed:200,off:0,adaptive:200').split(',').map((v) => {
  const [policy, us] = v.split(':');
  return { name: v, policy: policy === 'off' ? 'fixed' : String(policy), us: String(us) };
});
const TRACE = opt('trace', 'on');
const json = argv.includes('--json');
if (!(Number.isSafeInteger(ROUNDS) && ROUNDS > 0) || !(SECONDS > 0) || LOADS.some((l) => !Number.isSafeInteger(l) || l < 0) || VARIANTS.some((v) => !/^\d+$/.test(v.us) || !['fixed', 'adaptive'].includes(v.policy)) || !['on', 'off'].includes(TRACE)) {
  console.error('usage: bench-load [--rounds N] [--seconds S] [--loads 0,2] [--workload rr] [--paths P,..] [--variants fixed:200,off:0,adaptive:200] [--trace on|off] [--json]');
  process.exit(2);
}
const cli = join(__dirname, '..', 'lab', 'cli.ts');

function run(v: (typeof VARIANTS)[number], load: number): Figures {
  const args = ['--import', 'tsx', cli, 'bench', '--workload', WORKLOAD, '--paths', PATHS, '--seconds', String(SECONDS), '--load', String(load), '--busy-poll-us', v.us, '--trace', TRACE, '--json'];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: (SECONDS * 3 + 120) * 1000, env: { ...process.env, LINSOCK_BUSY_POLL: v.policy } });
  if (r.status !== 0) throw new Error(`linsock bench (${v.name}, load ${load}) failed (exit ${r.status}): ${r.stderr.trim().split('\n').pop()}`);
  const report = JSON.parse(r.stdout) as BenchReport;
  const f: Figures = {};
  for (const row of report.results) {
    if (!row.verified) throw new Error(`linsock bench (${v.name}, load ${load}): ${row.path} is not verified`);
    f[`${row.path} p50`] = row.p50_us ?? row.mb_per_s;
    f[`${row.path} cpu`] = row.cpu_us_per_op ?? null;
  }
  for (const [k, x] of Object.entries(report.ratios)) if (x !== null) f[k] = x;
  return f;
}

const runs = new Map<string, Figures[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const load of LOADS) {
    for (let i = 0; i < VARIANTS.length; i++) {
      const v = VARIANTS[(i + round) % VARIANTS.length] as (typeof VARIANTS)[number];
      const f = run(v, load);
      const key = `${v.name} load ${load}`;
      runs.set(key, [...(runs.get(key) ?? []), f]);
      if (!json) console.error(`round ${round + 1}/${ROUNDS} ${key}: ${Object.entries(f).map(([k, x]) => `${k} ${x}`).join(', ')}`);
    }
  }
}

const summary = summarize(runs);
if (json) process.stdout.write(`${JSON.stringify({ workload: WORKLOAD, seconds: SECONDS, rounds: ROUNDS, summary })}\n`);
else printSummary(summary);
