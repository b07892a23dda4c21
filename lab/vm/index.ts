// The VM lab's entry point: real QEMU guests for the paper's experiment (see run-vm-bench.ts).
export { openVmBench, runVmBench, runVmBenchTraced, VM_PATHS, VM_WORKLOADS, VM_BENCH_WORKLOADS, type VmBenchOptions, type VmBenchReport, type VmBenchRow, type VmBenchSession, type ProgramRun } from './run-vm-bench';
export { bootVm, qemuProblem, NIC_MODES, QEMU_APT_LINE, type MachineOptions, type NicMode, type Vm, type VmNic } from './machine';
export { ensureVmImage, type VmImage } from './image';
export { sweepDeadTaps, tapExists } from './tap';
export type { Accel, AccelChoice } from './accel';
export type { VmPath, VmWorkload } from './agent-protocol';
export { formatVmTable } from './vm-table';
export type { ExecResult } from './agent-protocol';
export { runDelegatedInVm, PROGRAM_DEVICE } from './vm-program';
