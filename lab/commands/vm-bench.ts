// `linsock bench --guest vm`: the workload in a QEMU VM (lab/vm/), delegated over virtio-serial against
// QEMU's NIC. With `--trace-file FILE` the run's trace is written as .lstrace: the VM's delegated calls
// (guest = the VM's name, guest stages on the VM's clock mapped onto the host's) and the run record with
// the VM's clock offset and error bound. The emulated path has frame records (its TAP captured on the
// host side), no call records (lab/vm/vm-trace.ts).

import { DEFAULT_RECORDS_PER_CHUNK, traceFormat, type TraceFormat, type TracePiece, type TraceRecord } from '../../protocol';
import { formatVmTable, runVmBenchTraced, type VmPath, type VmWorkload } from '../vm';
import { TraceOutput } from './trace-output';

export interface VmBenchArgs {
  workload: VmWorkload;
  paths: VmPath[];
  mode: 'e1000' | 'virtio';
  seconds: number;
  json: boolean;
  trace: boolean;
  traceFile?: string;
}

async function put(out: TraceOutput, piece: TracePiece, records = 0): Promise<void> {
  if (!out.write(piece, records)) await new Promise<void>((resolve) => out.whenDrained(resolve));
}

async function writeLstrace(out: TraceOutput, records: readonly TraceRecord[]): Promise<void> {
  const w = (traceFormat('lstrace') as TraceFormat).writer();
  await put(out, w.begin());
  for (let i = 0; i < records.length && !out.failure; i += DEFAULT_RECORDS_PER_CHUNK) {
    const batch = records.slice(i, i + DEFAULT_RECORDS_PER_CHUNK);
    await put(out, w.write(batch), batch.length);
  }
  await put(out, w.end());
}

export async function vmBench(a: VmBenchArgs): Promise<number> {
  let out: TraceOutput | null = null;
  try {
    // Opened before the VM boots: an unwritable path is one line now, not after the run.
    if (a.traceFile !== undefined) out = TraceOutput.open(a.traceFile);
    const { report, trace } = await runVmBenchTraced({ workload: a.workload, paths: a.paths, mode: a.mode, seconds: a.seconds, trace: a.trace });
    process.stdout.write(a.json ? `${JSON.stringify(report)}\n` : `${formatVmTable(report)}\n`);
    if (out) {
      await writeLstrace(out, trace ?? []);
      const how = await out.close(true);
      if (how !== 'complete') throw out.failure ?? new Error(`${out.path} was not written whole (${how})`);
      const calls = (trace ?? []).filter((r) => r.kind === 'call').length;
      const frames = (trace ?? []).filter((r) => r.kind === 'frame').length;
      console.error(`linsock bench --guest vm: wrote ${out.path} (${calls} delegated call records of the VM; ${frames} frames of its TAP, no emulated call records in a VM)`);
      out = null;
    }
    return report.results.every((r) => r.verified) ? 0 : 1;
  } catch (err) {
    console.error(`linsock bench --guest vm: ${(err as Error).message}`);
    return 1;
  } finally {
    await out?.close(true, true);
  }
}
