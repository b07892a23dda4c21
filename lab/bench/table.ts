// The human-readable form of a bench report: one row per path, then the ratios and what they compare.

import type { BenchReport } from '../../protocol';
import type { WorkloadResult } from './workload-result';
import { ratioField, ratioLine } from '../../protocol';

const fmt = (x: number | null): string => (x === null ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(1));

export function formatTable(report: BenchReport, results: WorkloadResult[]): string {
  // CPU per op: per round trip (rr, udp-rr), per connection (crr), per 64 KiB (stream, inter-guest).
  const perOp = ratioField(report.workload) === 'mb_per_s' ? 'CPU µs/64K' : 'CPU µs/op';
  const head = ['path', 'MB/s', 'p50 µs', 'p99 µs', 'ops/s', perOp, 'calls', 'verified', 'ran in'];
  const rows = results.map((r) => [r.path, fmt(r.mb_per_s), fmt(r.p50_us), fmt(r.p99_us), fmt(r.ops_per_s), fmt(r.cpu_us_per_op ?? null), String(r.calls), r.verified ? 'yes' : 'NO', r.ranIn]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ');
  const nic = report.mode ? `emulated NIC ${report.mode}, MTU ${report.mtu}, offloads ${report.offloads?.join(',') || 'none'}` : `loopback MTU ${report.mtu}`;
  const load = report.load ? `, with ${report.load} CPU-bound processes running` : '';
  const out = [`${report.workload} (${nic}${load})`, line(head), ...rows.map(line)];
  for (const [k, v] of Object.entries(report.ratios)) {
    const said = ratioLine(k, v, ratioField(report.workload));
    if (said) out.push(said);
  }
  const o = report.trace_overhead;
  if (o) out.push(`tracing overhead: ${fmt(o.overhead_pct)}% (trace off ${fmt(o.off_mb_per_s)} MB/s, on ${fmt(o.on_mb_per_s)} MB/s over ${o.phases} phases of ${o.phase_ms} ms; median of off/on pairs ${fmt(o.pair_overhead_pct_median)}%)`);
  for (const r of results) if (r.guests !== undefined) out.push(`${r.path}: ${r.guests} guests at once, ${r.ops} ops; daemon CPU ${fmt(r.daemon_cpu_us_per_op ?? null)} µs/op; busiest/idlest guest ${fmt(r.busiest_to_idlest ?? null)}`);
  for (const r of results) {
    const b = r.busy_poll;
    if (b && b.activity > 0) out.push(`${r.path}: busy polling found the daemon awake for ${fmt(b.found_pct)}% of ${b.activity} guest frames in and out (machine crowded ${fmt(b.crowded_pct)}%, window empty ${fmt(b.empty_pct)}%; window now ${fmt(b.window_us)} µs)`);
  }
  for (const r of results) for (const n of r.notes) out.push(`note (${r.path}): ${n}`);
  for (const [p, why] of Object.entries(report.unavailable ?? {})) out.push(`unavailable (${p}): ${why}`);
  return `${out.join('\n')}\n`;
}
