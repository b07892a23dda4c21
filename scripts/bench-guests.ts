// `npm run bench:guests`: many guests against one daemon. Runs `linsock bench --guests N --json` for each N,
// interleaved round by round (the order rotates each round, so that each N meets the shared machine's moods
// alike), and prints per N the median and range over the rounds of the fleet's throughput, latency, the
// daemon's CPU per op (and the calls per second one daemon core sustains at that cost), and fairness
// (busiest guest's ops over the idlest's); then the issue's targets: daemon CPU per op within 1.5x from the
// fewest guests to the most, the busiest guest within 2x of the idlest at the most. The last line is JSON.
//   --rounds N (default 3)  --seconds S (per run, default 3)  --guests 1,8,64  --workload rr|stream
//   --paths delegated  --busy-poll-us US  --trace on|off  --json (the JSON alone)
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { BenchReport, BenchResult } from '../protocol';
import { median, option } from './measure';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => option(argv, name, dflt);
const ROUNDS = Number(opt('rounds', '3'));
const SECONDS = Number(opt('seconds', '3'));
const GUESTS = opt('guests', '1,8,64').split(',').map(Number);
const WORKLOAD = opt('workload', 'rr');
const PATH = opt('paths', 'delegated');
const BUSY = opt('busy-poll-us', '');
const TRACE = opt('trace', 'on');
const json = argv.includes('--json');
if (!(Number.isSafeInteger(ROUNDS) && ROUNDS > 0 && ROUNDS <= 20) || !(SECONDS > 0 && SECONDS <= 60) || GUESTS.some((g) => !Number.isSafeInteger(g) || g < 1 || g > 256) || !['rr', 'stream'].includes(WORKLOAD) || !['direct', 'delegated'].includes(PATH) || !/^\d*$/.test(BUSY) || !['on', 'off'].includes(TRACE)) {
  console.error('usage: bench-guests [--rounds 1..20] [--seconds S<=60] [--guests 1,8,64 (each 1..256)] [--workload rr|stream] [--paths direct|delegated] [--busy-poll-us US] [--trace on|off] [--json]');
  process.exit(2);
}
const cli = join(__dirname, '..', 'lab', 'cli.ts');

const FIGURES = ['ops_per_s', 'mb_per_s', 'p50_us', 'p99_us', 'daemon_cpu_us_per_op', 'cpu_us_per_op', 'busiest_to_idlest', 'daemon_calls_per_core_s'] as const;
type Figure = (typeof FIGURES)[number];
type Figures = Partial<Record<Figure, number>>;

function run(guests: number): Figures {
  const args = ['--import', 'tsx', cli, 'bench', '--workload', WORKLOAD, '--paths', PATH, '--guests', String(guests), '--seconds', String(SECONDS), '--trace', TRACE, '--json', ...(BUSY ? ['--busy-poll-us', BUSY] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: (SECONDS + 120) * 1000 });
  if (r.status !== 0) throw new Error(`linsock bench --guests ${guests} failed (exit ${r.status}): ${r.stderr.trim().split('\n').pop()}`);
  const row = (JSON.parse(r.stdout) as BenchReport).results[0] as BenchResult;
  if (!row.verified) throw new Error(`linsock bench --guests ${guests}: ${row.path} is not verified`);
  const f: Figures = {};
  for (const k of FIGURES) {
    const x = (row as unknown as Record<string, unknown>)[k];
    if (typeof x === 'number') f[k] = x;
  }
  // A round trip costing the daemon D µs of CPU: one core does 1e6 / D of them a second.
  if (f.daemon_cpu_us_per_op) f.daemon_calls_per_core_s = Math.round(1e6 / f.daemon_cpu_us_per_op);
  return f;
}

const runs = new Map<number, Figures[]>(GUESTS.map((g) => [g, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < GUESTS.length; i++) {
    const g = GUESTS[(i + round) % GUESTS.length] as number;
    const f = run(g);
    runs.get(g)?.push(f);
    if (!json) console.error(`round ${round + 1}/${ROUNDS}, ${g} guests: ${Object.entries(f).map(([k, x]) => `${k} ${x}`).join(', ')}`);
  }
}

type Stat = { median: number; min: number; max: number; runs: number[] };
const summary: Record<string, Partial<Record<Figure, Stat>>> = {};
for (const [g, list] of runs) {
  const s: Partial<Record<Figure, Stat>> = {};
  for (const k of FIGURES) {
    const xs = list.map((f) => f[k]).filter((x): x is number => typeof x === 'number');
    if (xs.length) s[k] = { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs };
  }
  summary[String(g)] = s;
}

// The issue's targets, on the medians.
const fewest = Math.min(...GUESTS);
const most = Math.max(...GUESTS);
const cpu = GUESTS.map((g) => summary[String(g)]?.daemon_cpu_us_per_op?.median).filter((x): x is number => x !== undefined);
const cpuSpread = cpu.length === GUESTS.length ? Math.round((Math.max(...cpu) / Math.min(...cpu)) * 100) / 100 : null;
const cpuGrowth = cpu.length === GUESTS.length ? Math.round(((summary[String(most)]?.daemon_cpu_us_per_op?.median as number) / (summary[String(fewest)]?.daemon_cpu_us_per_op?.median as number)) * 100) / 100 : null;
const fairness = summary[String(most)]?.busiest_to_idlest?.median ?? null;
const targets = {
  daemon_cpu_spread: cpuSpread,
  daemon_cpu_most_over_fewest: cpuGrowth,
  daemon_cpu_flat_within_1_5x: cpuSpread === null ? null : cpuSpread <= 1.5,
  busiest_to_idlest_at_most: fairness,
  fair_within_2x: fairness === null ? null : fairness <= 2,
};

if (!json) {
  const cols = GUESTS.map(String);
  console.log(`${WORKLOAD} on ${PATH}, ${ROUNDS} rounds of ${SECONDS} s, medians (range)`);
  const fmt = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2));
  console.log(`${'guests'.padEnd(24)}${cols.map((c) => c.padStart(26)).join('')}`);
  for (const k of FIGURES) {
    if (!cols.some((c) => summary[c]?.[k])) continue;
    const cell = (c: string): string => {
      const s = summary[c]?.[k];
      return (s ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : '-').padStart(26);
    };
    console.log(`${k.padEnd(24)}${cols.map(cell).join('')}`);
  }
  console.log(`daemon CPU per op, ${most} guests over ${fewest}: ${cpuGrowth ?? '-'}x; spread over all: ${cpuSpread ?? '-'}x (target within 1.5x: ${targets.daemon_cpu_flat_within_1_5x === null ? 'not measured' : targets.daemon_cpu_flat_within_1_5x ? 'met' : 'NOT met'})`);
  console.log(`busiest/idlest guest at ${most}: ${fairness ?? '-'} (target at most 2: ${targets.fair_within_2x === null ? 'not measured' : targets.fair_within_2x ? 'met' : 'NOT met'})`);
}
process.stdout.write(`${JSON.stringify({ workload: WORKLOAD, path: PATH, seconds: SECONDS, rounds: ROUNDS, busy_poll_us: BUSY ? Number(BUSY) : null, summary, targets })}\n`);
