// One comparison run for `linsock start`: the bench runner drives the workload on each path against the
// daemon this process hosts, and publishes into the same sink the daemon uses, so a viewer sees every
// path of the run on one stream.

import type { Policy, PolicyRuleConfig, TraceSink } from '../../daemon';
import type { BenchServerPorts } from '../bench/server';
import type { EmulatedMode, GuestKind, Path, Workload } from '../../protocol';
import { runBenchDetailed, type BenchOutcome } from '../bench/run-bench';

export interface ComparisonRequest {
  workload: Workload;
  paths: Path[];
  seconds: number;
  mode: EmulatedMode | null;
  /** Namespaces (default) or a QEMU VM (start/vm-comparison.ts). */
  guest?: GuestKind;
  /** A real program instead of the workload (start/program-comparison.ts). */
  program?: string;
}

export interface ComparisonHost {
  /** The guest socket of the hosted daemon. */
  guestPath: string;
  /** The hosted daemon's policy, opened to the run's bench server's ports for the run only. */
  policy: Policy;
  sink: TraceSink;
  /** The hosted daemon's busy-polling window, recorded in each run's metadata. */
  busyPollUs: number;
}

export interface ComparisonEnv {
  runId: string;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
}

/**
 * The runner starts its own bench server on the host's loopback, on ports it picks when the run starts;
 * the daemon's defaults keep guests off host loopback. Once the server listens (onServerPorts) the policy
 * lets guests reach exactly its ports there, TCP ones by connect and the UDP one by sendto, and the rules
 * are removed when the run ends, however it ends. Emulated runs reach the server on their host TAP
 * address, not through the daemon.
 */
export function serverRules(p: BenchServerPorts): PolicyRuleConfig[] {
  return [
    { action: 'allow', ops: ['connect'], cidr: p.host, ports: p.sink },
    { action: 'allow', ops: ['connect'], cidr: p.host, ports: p.echo },
    { action: 'allow', ops: ['sendto'], cidr: p.host, ports: p.udpEcho },
  ];
}

/** Runs the comparison; the outcome's rows carry where each path ran and why one was unavailable. */
export async function runComparison(req: ComparisonRequest, host: ComparisonHost, env: ComparisonEnv): Promise<BenchOutcome> {
  const removers: (() => void)[] = [];
  const allow = (p: BenchServerPorts): void => {
    for (const rule of serverRules(p)) removers.push(host.policy.addRule(rule));
  };
  try {
    return await runBenchDetailed(
      { workload: req.workload, paths: req.paths, seconds: req.seconds, mode: req.mode, trace: host.sink.enabled },
      { daemonGuestPath: host.guestPath, sink: host.sink, runId: env.runId, signal: env.signal, onProgress: env.onProgress, onServerPorts: allow, daemonBusyPollUs: host.busyPollUs },
    );
  } finally {
    for (const remove of removers) remove();
  }
}
