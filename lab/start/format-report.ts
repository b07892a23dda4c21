// A bench outcome as the table `linsock start` prints: one row per path, the ratios, then the notes
// (where a path ran, why one was unavailable).

import { ratioField, ratioLine } from '../../protocol';
import type { BenchOutcome } from '../bench/run-bench';

const fmt = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(1));

export function formatReport({ report, results }: BenchOutcome): string {
  const head = ['path', 'MB/s', 'p50 µs', 'p99 µs', 'ops/s', 'calls', 'verified'];
  const rows = report.results.map((r) => [r.path, fmt(r.mb_per_s), fmt(r.p50_us), fmt(r.p99_us), fmt(r.ops_per_s), String(r.calls), r.verified ? 'yes' : 'NO']);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
  const mode = report.mode ? `, emulated NIC ${report.mode}` : '';
  const ratios = Object.entries(report.ratios).flatMap(([k, v]) => ratioLine(k, v, ratioField(report.workload)) ?? []);
  const notes = results.flatMap((r) => [...(r.ranIn === 'not run' ? [] : [`${r.path} ran in ${r.ranIn}`]), ...r.notes.map((n) => `note (${r.path}): ${n}`)]);
  // A VM's and a program's facts (accel, clock error, why no call was traced) are the report's own.
  const rowNotes = new Set(results.flatMap((r) => r.notes));
  const facts = [...(report.notes ?? []).filter((n) => !rowNotes.has(n)).map((n) => `note: ${n}`), ...(report.untraced ? [report.untraced] : [])];
  const what = `${report.program ?? report.workload}${report.guest === 'vm' ? ` in a QEMU VM (${report.accel ?? 'accel unknown'})` : ''}`;
  return [`${what} (MTU ${report.mtu}${mode})`, line(head), ...rows.map(line), ...ratios, ...notes, ...facts].join('\n') + '\n';
}
