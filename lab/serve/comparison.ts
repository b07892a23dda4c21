// One comparison run for `linsock start`: the bench runner drives the workload on each path against the
// daemon this process hosts, and publishes into the same sink the daemon uses, so a viewer sees every
// path of the run on one stream.

import type { Policy, TraceSink } from '../../daemon';
import type { EmulatedMode, Path, Workload } from '../../protocol';
import { runBenchDetailed, type BenchOutcome } from '../bench/run-bench';

export interface ComparisonRequest {
  workload: Workload;
  paths: Path[];
  seconds: number;
  mode: EmulatedMode | null;
}

export interface ComparisonHost {
  /** The guest socket of the hosted daemon. */
  guestPath: string;
  /** The hosted daemon's policy, opened to the run's bench server for the run only. */
  policy: Policy;
  sink: TraceSink;
}

export interface ComparisonEnv {
  runId: string;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
}

/**
 * The runner starts its own bench server on the host's loopback, on ports it picks when the run starts,
 * so the daemon cannot be told the exact ports beforehand. For the length of the run the policy lets
 * guests reach unprivileged ports on 127.0.0.0/8 (the daemon's defaults keep them off host loopback);
 * the rule is removed when the run ends, however it ends. Emulated runs reach the server on their host
 * TAP address, which the defaults already allow.
 */
export const RUN_RULE = { action: 'allow', ops: ['connect', 'sendto'], cidr: '127.0.0.0/8', ports: '1024-65535' } as const;

/** Runs the comparison; the outcome's rows carry where each path ran and why one was unavailable. */
export async function runComparison(req: ComparisonRequest, host: ComparisonHost, env: ComparisonEnv): Promise<BenchOutcome> {
  const remove = host.policy.addRule({ ...RUN_RULE, ops: [...RUN_RULE.ops] });
  try {
    return await runBenchDetailed(
      { workload: req.workload, paths: req.paths, seconds: req.seconds, mode: req.mode, trace: host.sink.enabled },
      { daemonGuestPath: host.guestPath, sink: host.sink, runId: env.runId, signal: env.signal, onProgress: env.onProgress },
    );
  } finally {
    remove();
  }
}
