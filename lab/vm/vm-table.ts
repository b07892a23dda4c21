// The human-readable table of a VM bench, for `linsock bench --guest vm` and lab/vm/cli.ts alike.
import type { VmBenchReport } from './run-vm-bench';

export function formatVmTable(r: VmBenchReport): string {
  const rows = r.results.map((x) => `${x.path.padEnd(16)} ${x.mb_per_s !== null ? `${x.mb_per_s} MB/s` : `p50 ${x.p50_us} µs  p99 ${x.p99_us} µs  ${x.ops_per_s} ops/s`}  ${x.verified ? 'verified' : 'NOT verified'}${x.notes.length ? `  (${x.notes.join('; ')})` : ''}`);
  return [`${r.workload} in a QEMU VM, accel ${r.accel}, mode ${r.mode}`, ...rows, ...r.notes.map((n) => `  ${n}`)].join('\n');
}
