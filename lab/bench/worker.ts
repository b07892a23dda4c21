// The workload process: runs one workload on one path and prints its WorkloadResult as one JSON line on
// stdout. The bench runner starts one per path (`linsock _workload ...`): in a guest namespace with only
// `lo` for `delegated` where the machine allows it, in the emulated guest's namespace for `emulated`.
// With tracing on, direct and emulated workloads record their own calls onto the call log (fd 3).

import { delegatedFactory, directFactory, type SocketFactory } from './socket-factory';
import { CallRecorder, MAX_RECORDED_CALLS, recordingFactory } from './recording';
import { runStream } from './workloads/stream';
import { runRr } from './workloads/rr';
import { runCrr } from './workloads/crr';
import { runUdpRr } from './workloads/udp-rr';
import type { WorkloadResult } from './workload-result';
import type { WorkerSpec } from './worker-spec';
import { followPhases } from './trace-phases';
import { nowNs } from './latency';
import { CpuWindow } from './cpu-cost';
import { runFleet } from './guest-fleet';

export type { WorkerSpec, WorkerWorkload } from './worker-spec';

const RUNNERS = { stream: runStream, rr: runRr, crr: runCrr, 'udp-rr': runUdpRr } as const;

export async function runWorker(spec: WorkerSpec): Promise<WorkloadResult> {
  if (spec.guests !== undefined) return runFleet(spec);
  const run = RUNNERS[spec.workload];
  if (!run) throw new Error(`unknown workload '${String(spec.workload)}'`);
  let factory: SocketFactory;
  let recorder: CallRecorder | null = null;
  if (spec.path === 'direct' || spec.path === 'emulated') {
    // The emulated path's sockets are plain node:net ones: the guest's own kernel stack makes it emulated.
    factory = { ...directFactory(), path: spec.path };
    if (spec.record) {
      recorder = new CallRecorder(spec.record.run, spec.guest ?? spec.path, spec.path);
      factory = recordingFactory(factory, recorder, spec.target);
    }
  } else if (spec.path === 'delegated') {
    if (!spec.channel) throw new Error('the delegated path needs the daemon\'s guest socket');
    factory = await delegatedFactory(spec.channel, spec.guest ?? `bench-${process.pid}`, spec.trace, spec.transport);
  } else throw new Error(`a workload process runs direct, delegated or emulated, not '${String(spec.path)}'`);
  // With --trace alternate the guest's stamps follow the phases that the daemon's sink follows.
  const phases = spec.target.phases;
  const setTracing = factory.setTracing;
  const stopPhases = phases && setTracing ? followPhases(phases, nowNs, (on) => setTracing(on)) : null;
  try {
    if (phases && !setTracing) throw new Error('the guest cannot trace: --trace alternate needs the daemon tracing when the guest connects');
    const cpu = spec.cpuPids ? new CpuWindow(spec.cpuPids, spec.target.seconds) : null;
    const result: WorkloadResult = { ...(await run(factory, spec.target)), ranIn: spec.ranIn };
    result.cpu_us_per_op = cpu ? cpu.perOp(result) : null;
    if (spec.label) result.path = spec.label;
    if (factory.channel) result.channel = factory.channel;
    result.notes.push(...(factory.notes ?? []));
    if (recorder?.skipped) result.notes.push(`recorded ${MAX_RECORDED_CALLS} calls; ${recorder.skipped} more were not recorded (the cap per path and run)`);
    return result;
  } finally {
    stopPhases?.();
    await factory.close();
    await recorder?.close();
  }
}

/** Entry of `linsock _workload SPEC_JSON`: the result or {"error": message} on stdout. */
export async function workerMain(argv: string[]): Promise<number> {
  let spec: WorkerSpec;
  try {
    spec = JSON.parse(argv[0] ?? '') as WorkerSpec;
  } catch {
    console.error('linsock _workload: expects one argument, the workload spec as JSON (the bench runner passes it)');
    return 2;
  }
  try {
    const result = await runWorker(spec);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`);
    return 1;
  }
}
