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
