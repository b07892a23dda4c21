// `npm run bench:channel`: the shared-memory channel against the socket channel, side by side. Each round
// runs `linsock bench --json` for every case (stream --mode e1000, rr, rr --load 2) on both channels (their
// order alternates round by round, so each meets the shared machine's moods alike), then prints per case and
// channel the median and range over the rounds of each path's figure (MB/s or p50 µs), its CPU per op
// (per 64 KiB for stream) and the ratios. The README's channel table comes from this.
//   --rounds N (default 5)  --seconds S (per path, default 3)  --paths direct,delegated,emulated
//   --trace on|off (default on, as `linsock bench`)  --json
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { BenchReport } from '../protocol';
import { option, printSummary, summarize, type Figures } from './measure';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => option(argv, name, dflt);
const ROUNDS = Number(opt('rounds', '5'));
const SECONDS = Number(opt('seconds', '3'));
const PATHS = opt('paths', 'direct,delegated,emulated');
const TRACE = opt('trace', 'on');
const json = argv.includes('--json');
if (!(Number.isSafeInteger(ROUNDS) && ROUNDS > 0) || !(SECONDS > 0) || !['on', 'off'].includes(TRACE)) {
  console.error('usage: bench-channel [--rounds N] [--seconds S] [--paths P,..] [--trace on|off] [--json]');
  process.exit(2);
}
const CASES: { name: string; args: string[] }[] = [
  { name: 'stream --mode e1000', args: ['--workload', 'stream', '--mode', 'e1000'] },
  { name: 'rr', args: ['--workload', 'rr'] },
  { name: 'rr --load 2', args: ['--workload', 'rr', '--load', '2'] },
];
const CHANNELS = ['shm', 'socket'] as const;
const cli = join(__dirname, '..', 'lab', 'cli.ts');

function run(c: (typeof CASES)[number], channel: string): Figures {
  const args = ['--import', 'tsx', cli, 'bench', ...c.args, '--paths', PATHS, '--channel', channel, '--seconds', String(SECONDS), '--trace', TRACE, '--json'];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: (SECONDS * 3 + 120) * 1000 });
  if (r.status !== 0) throw new Error(`linsock bench ${c.name} --channel ${channel} failed (exit ${r.status}): ${r.stderr.trim().split('\n').pop()}`);
  const report = JSON.parse(r.stdout) as BenchReport;
  const f: Figures = {};
  for (const row of report.results) {
    if (!row.verified) throw new Error(`linsock bench ${c.name} --channel ${channel}: ${row.path} is not verified`);
    // A guest that asked for shared memory and did not get it would make the comparison a lie.
    if (row.path === 'delegated' && row.channel !== channel) throw new Error(`${c.name}: asked for --channel ${channel}, the guest ran on ${row.channel ?? 'an unknown channel'}`);
    f[row.path] = row.p50_us ?? row.mb_per_s;
    f[`${row.path} cpu`] = row.cpu_us_per_op ?? null;
  }
  for (const [k, x] of Object.entries(report.ratios)) if (x !== null) f[k] = x;
  return f;
}

const runs = new Map<string, Figures[]>();
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? CHANNELS : [...CHANNELS].reverse();
  for (const channel of order) {
    for (const c of CASES) {
      const f = run(c, channel);
      const key = `${c.name}, ${channel}`;
      runs.set(key, [...(runs.get(key) ?? []), f]);
      if (!json) console.error(`round ${round + 1}/${ROUNDS} ${key}: ${Object.entries(f).map(([k, x]) => `${k} ${x}`).join(', ')}`);
    }
  }
}

const summary = summarize(runs);
if (json) process.stdout.write(`${JSON.stringify({ seconds: SECONDS, rounds: ROUNDS, paths: PATHS, trace: TRACE, summary })}\n`);
else printSummary(summary);
