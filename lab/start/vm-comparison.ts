// A comparison in a QEMU VM for `linsock start` (Run Comparison… with the guest kind "VM"): the VM lab
// (lab/vm) boots one VM for the run, runs the workload on its paths and stops it. Its delegated calls are
// recorded by the VM bench's own linsockd, the VM's clock mapped onto the host's; they are handed on to this
// process's sink while the run goes, under the run's id, so that a viewer sees them like any run's. The VM is
// listed as a guest (GuestInfo.vm) from boot to teardown.

import type { BenchReport, EmulatedMode, GuestInfo, Path, RunInfo, TraceRecord, VmInfo, Workload } from '../../protocol';
import type { TraceSink } from '../../daemon';
import type { BenchOutcome } from '../bench/run-bench';
import { openVmBench, VM_PATHS, VM_WORKLOADS, type VmBenchSession, type VmPath, type VmWorkload } from '../vm';

export interface VmComparisonRequest {
  workload: Workload;
  paths: Path[];
  seconds: number;
  mode: EmulatedMode | null;
}

export interface VmComparisonEnv {
  runId: string;
  sink: TraceSink;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
}

/** How often the records of a running VM are handed on. */
const RELAY_MS = 500;

export const VM_EMULATED_UNTRACED = 'calls were not traced: only the delegated path is traced in a VM (QEMU\'s NIC is not linsock\'s device model)';

/** The VMs of runs in progress, by run, for the guests reply: booting, running, stopping. */
export class RunningVms {
  private readonly vms = new Map<string, { name: string; since: bigint; vm: VmInfo }>();

  /** A VM starts booting for `vm.runId`: listed at once under a provisional name. */
  booting(vm: Omit<VmInfo, 'state' | 'accel'>): void {
    this.vms.set(vm.runId, { name: `booting VM of run ${vm.runId.slice(0, 8)}`, since: process.hrtime.bigint(), vm: { ...vm, state: 'booting', accel: null } });
  }

  /** It is up: its own name and accel from now on. */
  running(runId: string, name: string, accel: VmInfo['accel']): void {
    const v = this.vms.get(runId);
    if (v) this.vms.set(runId, { ...v, name, vm: { ...v.vm, state: 'running', accel } });
  }

  stopping(runId: string): void {
    const v = this.vms.get(runId);
    if (v) v.vm = { ...v.vm, state: 'stopping' };
  }

  remove(runId: string): void {
    this.vms.delete(runId);
  }

  /** As guests: a VM's sockets live in the VM bench's own daemon, so none are listed here. */
  guests(): GuestInfo[] {
    return [...this.vms.values()].map((v) => ({ name: v.name, transport: 'chardev', connectedNs: Number(v.since), sockets: [], vm: v.vm }));
  }
}

/** Why the request cannot run in a VM, or null. */
export function vmRequestProblem(req: VmComparisonRequest): string | null {
  if (!VM_WORKLOADS.includes(req.workload as VmWorkload)) return `a VM runs the workloads ${VM_WORKLOADS.join(', ')}, not ${req.workload}`;
  const other = req.paths.filter((p) => !VM_PATHS.includes(p as VmPath));
  if (other.length) return `a VM runs the paths ${VM_PATHS.join(' and ')}, not ${other.join(', ')} (the direct path is the host itself: run it with guest ns)`;
  return null;
}

/**
 * Hands a VM session's records on to `sink` as `runId`'s: call records get the run's id; of the run records
 * (one per take) the first goes on, before the calls, with the run's id and workload.
 */
export class VmTraceRelay {
  private runSent = false;
  calls = 0;

  constructor(
    private readonly sink: TraceSink,
    private readonly runId: string,
    private readonly workload: string,
  ) {}

  forward(records: readonly TraceRecord[] | null): void {
    if (!records) return;
    for (const r of records) {
      if (r.kind === 'run') {
        if (this.runSent) continue;
        this.sink.publish(this.asRun(r));
        this.runSent = true;
      } else {
        if (r.kind === 'call' || r.kind === 'frame') r.run = this.runId;
        if (r.kind === 'call') this.calls++;
        this.sink.publish(r);
      }
    }
  }

  private asRun(r: RunInfo): RunInfo {
    return { ...r, id: this.runId, workload: this.workload };
  }
}

/** Runs the comparison in one VM; the report carries `guest: 'vm'`, the accel and the VM lab's notes. */
export async function runVmComparison(req: VmComparisonRequest, env: VmComparisonEnv, vms: RunningVms): Promise<BenchOutcome> {
  const problem = vmRequestProblem(req);
  if (problem) throw new Error(problem);
  const say = env.onProgress ?? (() => undefined);
  const mode = req.mode ?? 'virtio';
  const paths = req.paths as VmPath[];
  say(`run ${env.runId}: booting a QEMU VM for ${req.workload} on ${paths.join(', ')}${paths.includes('emulated') ? ` (${mode})` : ''}`);
  vms.booting({ nic: paths.includes('emulated') ? mode : null, delegated: paths.includes('delegated'), runId: env.runId });
  let session: VmBenchSession;
  try {
    session = await openVmBench({ paths, mode, trace: env.sink.enabled });
  } catch (err) {
    vms.remove(env.runId);
    throw err;
  }
  const relay = new VmTraceRelay(env.sink, env.runId, req.workload);
  const abort = (): void => void session.close();
  env.signal?.addEventListener('abort', abort, { once: true });
  const name = session.vm.name;
  vms.running(env.runId, name, session.vm.accel);
  say(`run ${env.runId}: ${name} is up (${session.vm.accel})`);
  let running = true;
  // While the workload runs, the records taken so far go on, a take every RELAY_MS: a take returns at once
  // when the daemon is quiet, and a loop of takes that never waits for a timer would starve the event loop.
  const relaying = (async () => {
    while (running && env.sink.enabled) {
      await new Promise((r) => setTimeout(r, RELAY_MS));
      if (running) relay.forward(await session.takeTrace());
    }
  })();
  try {
    if (env.signal?.aborted) throw new Error('the run was cancelled');
    const vmReport = await session.run(req.workload as VmWorkload, req.seconds);
    // Without the emulated path the VM has no NIC: no mode to report.
    const report: BenchReport = { ...vmReport, mode: paths.includes('emulated') ? vmReport.mode : null };
    if (!paths.includes('delegated')) report.untraced = VM_EMULATED_UNTRACED;
    else if (!env.sink.enabled) report.untraced = 'calls were not traced: tracing is off (linsock start --trace off)';
    return { report, results: vmReport.results };
  } finally {
    running = false;
    await relaying.catch(() => undefined);
    env.signal?.removeEventListener('abort', abort);
    vms.stopping(env.runId);
    await session.close();
    vms.remove(env.runId);
    // After the VM's channel closed every call is recorded (a socket's close comes last).
    relay.forward(await session.takeTrace().catch(() => null));
    say(`run ${env.runId}: ${name} stopped; ${relay.calls} delegated call records`);
  }
}
