// What a VM bench reports: the bench JSON of DESIGN.md plus guest, accel and kernel (one VM or two).
import type { WorkloadResult } from '../bench/workload-result';
import type { Accel } from './accel';
import type { VmWorkload } from './agent-protocol';
import type { NicMode } from './machine';

export type VmBenchRow = WorkloadResult;

export interface VmBenchReport {
  workload: VmWorkload;
  mode: NicMode;
  mtu: number;
  guest: 'vm';
  accel: Accel;
  results: VmBenchRow[];
  ratios: Record<string, number | null>;
  /** How the emulated NIC was set up, and why KVM was not used when it was not. */
  notes: string[];
  kernel: string;
}

/**
 * The report's ratios from its rows' figures (MB/s, else ops/s). A VM has no direct path (the host's own
 * figures come from `linsock bench --paths direct`), so only delegated/emulated can be given.
 */
export function vmRatios(results: VmBenchRow[]): Record<string, number | null> {
  const figure = (path: string): number | null => {
    const row = results.find((r) => r.path === path);
    return row ? (row.mb_per_s ?? row.ops_per_s) : null;
  };
  const delegated = figure('delegated');
  const emulated = figure('emulated');
  return { 'delegated/direct': null, 'delegated/emulated': delegated !== null && emulated !== null && emulated > 0 ? Math.round((delegated / emulated) * 1000) / 1000 : null };
}
