// The workload process: runs one workload on one path and prints its WorkloadResult as one JSON line on
// stdout. The bench runner starts one per path (`linsock _workload ...`), in a guest namespace for
// `delegated` where the machine allows it.

import { delegatedFactory, directFactory, type SocketFactory } from './socket-factory';
import { runStream } from './workloads/stream';
import { runRr } from './workloads/rr';
import { runCrr } from './workloads/crr';
import { runUdpRr } from './workloads/udp-rr';
import type { WorkloadResult, WorkloadTarget } from './workload-result';

export interface WorkerSpec {
  workload: 'stream' | 'rr' | 'crr' | 'udp-rr';
  path: 'direct' | 'delegated';
  target: WorkloadTarget;
  /** The daemon's guest socket, for `delegated`. */
  channel?: string;
  guest?: string;
  trace: boolean;
  ranIn: string;
}

const RUNNERS = { stream: runStream, rr: runRr, crr: runCrr, 'udp-rr': runUdpRr } as const;

export async function runWorker(spec: WorkerSpec): Promise<WorkloadResult> {
  const run = RUNNERS[spec.workload];
  if (!run) throw new Error(`unknown workload '${String(spec.workload)}'`);
  let factory: SocketFactory;
  if (spec.path === 'direct') factory = directFactory();
  else if (spec.path === 'delegated') {
    if (!spec.channel) throw new Error('the delegated path needs the daemon\'s guest socket');
    factory = await delegatedFactory(spec.channel, spec.guest ?? `bench-${process.pid}`, spec.trace);
  } else throw new Error(`a workload process runs direct or delegated, not '${String(spec.path)}'`);
  try {
    return { ...(await run(factory, spec.target)), ranIn: spec.ranIn };
  } finally {
    await factory.close();
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
