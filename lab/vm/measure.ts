// The VM comparison: rounds of stream and rr, each round one VM with QEMU's e1000 and one with
// virtio-net, both also carrying the delegated path; prints per-row min–max (median) and the raw rows.
//   node --import tsx lab/vm/measure.ts [--rounds 3] [--seconds 3] [--json]

import { parseArgs } from 'node:util';
import { openVmBench, type VmBenchReport } from './run-vm-bench';
import type { NicMode } from './machine';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } } });
  const rounds = Number(values.rounds);
  const seconds = Number(values.seconds);
  const reports: (VmBenchReport & { round: number })[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const mode of ['e1000', 'virtio'] as NicMode[]) {
      // Untraced: tracing costs each path its own way (stamps and records; a capture of the TAP).
      const session = await openVmBench({ paths: ['delegated', 'emulated'], mode, trace: false });
      try {
        for (const workload of ['stream', 'rr'] as const) {
          const r = await session.run(workload, seconds);
          reports.push({ ...r, round });
          process.stderr.write(`round ${round} ${mode} ${workload}: ${r.results.map((x) => `${x.path} ${x.mb_per_s ?? x.p50_us}${x.verified ? '' : ' NOT verified'}`).join(', ')}\n`);
        }
      } finally {
        await session.close();
      }
    }
  }
  const series = new Map<string, number[]>();
  const add = (key: string, v: number | null): void => { if (v !== null) series.set(key, [...(series.get(key) ?? []), v]); };
  for (const r of reports) {
    for (const row of r.results) {
      const label = row.path === 'emulated' ? `emulated ${r.mode}` : `delegated (VM with ${r.mode})`;
      if (r.workload === 'stream') add(`${label} stream MB/s`, row.mb_per_s);
      else {
        add(`${label} rr p50 µs`, row.p50_us);
        add(`${label} rr p99 µs`, row.p99_us);
      }
    }
  }
  const summary = [...series].map(([k, xs]) => ({ row: k, min: Math.min(...xs), max: Math.max(...xs), median: median(xs), n: xs.length }));
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ accel: reports[0]?.accel, summary, reports })}\n`);
    return;
  }
  for (const s of summary) process.stdout.write(`${s.row.padEnd(40)} ${s.min}–${s.max} (${s.median}) n=${s.n}\n`);
  process.stdout.write(`accel ${reports[0]?.accel}; ${reports[0]?.notes[0] ?? ''}\n`);
}

main().catch((e: Error) => {
  console.error(`vm measure: ${e.message}`);
  process.exitCode = 1;
});
