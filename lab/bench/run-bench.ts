// The bench runner: `linsock bench`, and the comparisons `linsock start` runs on request. It prepares the
// run's lab (guest namespaces, and the emulated path: TAPs, device model in this process), hands it to the
// workload's shape of run (guest-to-host.ts: stream, rr, crr, udp-rr; inter-guest.ts), and assembles the
// BenchReport from their rows. With a sink it publishes the run's RunInfo and the emulated frames; the
// steps publish the workloads' calls. Whatever the run started is undone however it ends.

import type { BenchReport, BenchResult, RunInfo } from '../../protocol';
import { DEFAULT_BUSY_POLL_US, TraceHub, type TraceSink } from '../../daemon';
import { LabRun, NamespacesUnavailable } from '../netns';
import { emulatedPathSupport, startEmulatedPath } from '../emulated';
import { BenchCancelled, BenchUsageError, DEFAULT_MODE, ratioMetric, validateOptions, type BenchEnv, type BenchOptions, type BenchOutcome, type BenchScope } from './bench-scope';
import { hostFacts, loopbackMtu } from './host-facts';
import { FrameLog } from './recording';
import { nowNs } from './latency';
import { round } from './figures';
import { runGuestToHost } from './guest-to-host';
import { runInterGuest } from './inter-guest';
import { traceOverhead } from './trace-phases';
import type { WorkloadResult } from './workload-result';

// `linsock start` (lab/serve/) knows the runner by this file.
export { BenchCancelled, BenchUsageError, type BenchEnv, type BenchOptions, type BenchOutcome } from './bench-scope';

export async function runBench(options: BenchOptions, env: BenchEnv = {}): Promise<BenchReport> {
  return (await runBenchDetailed(options, env)).report;
}

export async function runBenchDetailed(o: BenchOptions, env: BenchEnv = {}): Promise<BenchOutcome> {
  validateOptions(o);
  if (o.tracePhaseMs !== undefined && (env.daemonGuestPath || env.sink)) throw new BenchUsageError('--trace alternate needs the bench\'s own daemon: it cannot pause tracing in --daemon or in a sink of `linsock start`');
  const mode = o.mode ?? DEFAULT_MODE;
  const log = env.onProgress ?? (() => undefined);
  const scope: BenchScope = {
    o, env, mode, log,
    runId: env.runId ?? `bench-${process.pid}-${Date.now().toString(36)}`,
    lab: null, labWhy: null, emulated: null, emulatedWhy: null, frames: null,
    cleanups: [],
    checkAborted: () => {
      if (env.signal?.aborted) throw new BenchCancelled();
    },
  };
  log(`linsock bench: run ${scope.runId}`);
  // With tracing on every path pays for it: without the caller's sink, the workloads' calls and the
  // frames go into a TraceHub nobody reads, as the bench's own daemon's delegated calls do (bench-daemon.ts).
  let sinkOn: TraceSink | null = null;
  if (o.trace && env.sink) sinkOn = env.sink.enabled ? env.sink : null;
  else if (o.trace) {
    const hub = new TraceHub();
    scope.cleanups.push(() => hub.close());
    sinkOn = hub;
  }
  try {
    scope.checkAborted();
    await prepareLab(scope, sinkOn);
    if (sinkOn) sinkOn.publish(runInfo(scope));
    const results = o.workload === 'inter-guest' ? await runInterGuest(scope, sinkOn) : await runGuestToHost(scope, sinkOn);
    scope.checkAborted();
    const outcome: BenchOutcome = { report: assemble(scope, results), results };
    if (scope.emulated && scope.frames) outcome.emulatedFrames = { counters: scope.emulated.relay.counters, linking: scope.frames.linking, lateFrames: () => (scope.frames as FrameLog).lateFrames };
    return outcome;
  } catch (e) {
    // A cancelled run's children die mid-step; say that, not what their death looked like.
    if (env.signal?.aborted) throw new BenchCancelled();
    throw e;
  } finally {
    const errors: string[] = [];
    for (const c of scope.cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    if (errors.length) log(`linsock bench: cleanup: ${errors.join('; ')}`);
  }
}

/** The run's namespaces (delegated and emulated guests) and the emulated path, or why they are unavailable. */
async function prepareLab(s: BenchScope, sink: TraceSink | null): Promise<void> {
  const wantsEmulated = s.o.paths.includes('emulated');
  if (!wantsEmulated && !s.o.paths.includes('delegated')) return;
  try {
    s.lab = await LabRun.create({ prefix: 'lsb', handleSignals: false });
    const lab = s.lab;
    s.cleanups.push(() => lab.teardown());
  } catch (err) {
    s.labWhy = err instanceof NamespacesUnavailable ? err.reason : (err as Error).message;
  }
  if (!wantsEmulated) return;
  const support = s.lab ? await emulatedPathSupport() : { ok: false as const, reason: `emulated path unavailable: ${s.labWhy}` };
  if (!support.ok) {
    s.emulatedWhy = support.reason;
    s.log(`linsock bench: ${support.reason}; the other paths still run`);
    return;
  }
  s.frames = sink ? new FrameLog(sink) : null;
  s.emulated = await startEmulatedPath(s.lab as LabRun, { mode: s.mode, sink: s.frames, role: 'emu', runId: s.runId });
  const p = s.emulated.profile;
  s.log(`linsock bench: emulated guest ${s.emulated.guest.netns} at ${s.emulated.guestAddress}, host TAP ${s.emulated.hostTap} at ${s.emulated.hostAddress} (${p.mode}, MTU ${p.mtu}, offloads ${p.offloads.join(',') || 'none'})`);
}

function runInfo(s: BenchScope): RunInfo {
  const params: RunInfo['params'] = { seconds: s.o.seconds, trace: s.o.trace, mode: s.mode, emulated: s.emulated ? 'available' : s.emulatedWhy ?? 'not requested' };
  // The delegated path's polling window: the caller's daemon's when it says it, else that of the daemon
  // the run starts. A daemon behind --daemon that did not say has none here rather than a made-up one.
  const busyPollUs = s.env.daemonGuestPath ? s.env.daemonBusyPollUs : s.o.busyPollUs ?? DEFAULT_BUSY_POLL_US;
  if (busyPollUs !== undefined) params.busyPollUs = busyPollUs;
  return {
    kind: 'run',
    id: s.runId,
    workload: s.o.workload,
    paths: [...s.o.paths],
    params,
    host: hostFacts(s.emulated?.profile ?? null, s.o.paths),
    startedNs: nowNs(),
    clockErrorNs: {},
  };
}

/** A result as the report gives it: the contract's fields, and with --guests the fleet's. */
function reportRow(r: WorkloadResult): BenchResult {
  const row: BenchResult = { path: r.path, mb_per_s: r.mb_per_s, p50_us: r.p50_us, p99_us: r.p99_us, ops_per_s: r.ops_per_s, calls: r.calls, bytes: r.bytes, verified: r.verified, cpu_us_per_op: r.cpu_us_per_op ?? null };
  if (r.guests !== undefined) {
    row.guests = r.guests;
    row.ops = r.ops ?? 0;
    row.guest_ops = r.guest_ops ?? [];
    row.daemon_cpu_us_per_op = r.daemon_cpu_us_per_op ?? null;
    row.busiest_to_idlest = r.busiest_to_idlest ?? null;
  }
  if (r.busy_poll) row.busy_poll = r.busy_poll;
  if (r.channel) row.channel = r.channel;
  return row;
}

function assemble(s: BenchScope, results: WorkloadResult[]): BenchReport {
  const metric = ratioMetric(s.o.workload);
  const by = (p: string): WorkloadResult | undefined => results.find((r) => r.path === p);
  const ratio = (a: string, b: string): number | null => {
    const x = by(a)?.[metric];
    const y = by(b)?.[metric];
    return x !== undefined && x !== null && y !== undefined && y !== null && y > 0 ? round(x / y) : null;
  };
  const ratios: Record<string, number | null> = { 'delegated/direct': ratio('delegated', 'direct'), 'delegated/emulated': ratio('delegated', 'emulated') };
  if (by('delegated-kernel')) ratios['delegated-kernel/emulated'] = ratio('delegated-kernel', 'emulated');
  const e = s.emulated?.profile ?? null;
  const report: BenchReport = {
    workload: s.o.workload,
    mode: s.o.paths.includes('emulated') ? s.mode : null,
    mtu: e ? e.mtu : loopbackMtu(),
    results: results.map(reportRow),
    ratios,
    load: s.o.load ?? 0,
  };
  if (s.o.guests !== undefined) report.guests = s.o.guests;
  if (s.o.paths.includes('emulated')) report.offloads = e ? [...e.offloads] : null;
  if (s.emulatedWhy) report.unavailable = { emulated: s.emulatedWhy };
  const phased = by('delegated')?.phases;
  if (s.o.tracePhaseMs !== undefined && phased) report.trace_overhead = traceOverhead(s.o.tracePhaseMs, phased);
  return report;
}
