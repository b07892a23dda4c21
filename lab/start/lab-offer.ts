// What `linsock start`'s lab can run, for the trace server's status reply (DaemonStatus.lab): namespaces
// always; a VM when QEMU is installed (else why not); the bench programs when they are installed and can
// be delegated. Looked up once at startup: what a client offers must not cost a process per status poll.

import { PATHS, WORKLOADS, type GuestKindOffer, type LabOffer, type ProgramOffer } from '../../protocol';
import { BENCH_PROGRAMS, PROGRAM_PATHS, PROGRAM_WORKLOAD } from '../run/program-bench';
import { delegationProblem } from '../run/run-program';
import { findPreload, PRELOAD_MISSING } from '../../native/interposer/preload';
import { qemuProblem, VM_PATHS, VM_WORKLOADS } from '../vm';

/**
 * Why a comparison's program run has no call records: the interposer records them (linsock run
 * --trace-file, bench --program --trace on), but the lab does not feed them to its trace hub yet.
 */
export const PROGRAM_UNTRACED = 'calls were not traced: linsock start does not feed the interposer\'s records to the viewer yet (linsock run --trace-file writes them to a file); the figures are the program\'s own';

export interface LabFacts {
  /** Why QEMU VMs cannot run here, or null. */
  vm: string | null;
  /** Per bench program: why it cannot run here, or null. */
  programs: Record<string, string | null>;
}

export function labOffer(f: LabFacts): LabOffer {
  const guests: GuestKindOffer[] = [
    { kind: 'ns', unavailable: null, workloads: [...WORKLOADS], paths: [...PATHS], modes: ['e1000', 'virtio'] },
    { kind: 'vm', unavailable: f.vm, workloads: [...VM_WORKLOADS], paths: [...VM_PATHS], modes: ['e1000', 'virtio'] },
  ];
  const programs: ProgramOffer[] = BENCH_PROGRAMS.map((name) => ({
    // The lab compares programs on direct and delegated (`linsock bench --program` runs iperf3 and sockperf
    // on emulated too).
    name, workload: PROGRAM_WORKLOAD[name], paths: [...PROGRAM_PATHS], traced: false, unavailable: f.programs[name] ?? null,
  }));
  return { guests, programs };
}

/** Looks at this host: QEMU, the programs, the interposer. */
export async function labFacts(): Promise<LabFacts> {
  const preload = findPreload() ? null : PRELOAD_MISSING;
  const programs: Record<string, string | null> = {};
  for (const name of BENCH_PROGRAMS) programs[name] = delegationProblem(name) ?? preload;
  return { vm: await qemuProblem(), programs };
}
