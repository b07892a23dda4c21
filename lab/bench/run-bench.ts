// `linsock bench`: starts the host server (its own process) and, for `delegated`, an embedded linsockd
// whose policy allows exactly that server; runs the workload on each path in its own process (the
// delegated one in a guest namespace with only `lo` where the machine allows it); assembles the report.

import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { BenchReport, EmulatedMode, Workload } from '../../protocol';
import type { BenchServerPorts } from '../server';
import { LabRun, NamespacesUnavailable, type Guest } from '../netns';
import { firstJsonLine, linsockArgv, spawnLinsock } from './linsock-process';
import { startEmbeddedDaemon, type EmbeddedDaemon } from './embedded-daemon';
import type { WorkerSpec } from './worker';
import type { WorkloadResult } from './workload-result';
import { round } from './workload-result';

export const BENCH_WORKLOADS = ['stream', 'rr', 'crr', 'udp-rr'] as const;
export type BenchWorkload = (typeof BENCH_WORKLOADS)[number];

export interface BenchOptions {
  workload: Workload;
  paths: string[];
  seconds: number;
  trace: boolean;
  mode: EmulatedMode | null;
  /** The guest socket of a running linsockd (its policy must allow the bench server); else one is embedded. */
  daemon?: string;
  /** A bench server that is already running (npm start); else one is started for the run. */
  server?: BenchServerPorts;
  /** Progress lines for a person (stderr); silent when absent. */
  log?: (line: string) => void;
}

export interface BenchOutcome {
  report: BenchReport;
  results: WorkloadResult[];
}

/** Which figure the ratios compare: throughput for stream, median latency for the others. */
export function ratioMetric(workload: string): 'mb_per_s' | 'p50_us' {
  return workload === 'stream' ? 'mb_per_s' : 'p50_us';
}

export function loopbackMtu(): number {
  try {
    return Number(readFileSync('/sys/class/net/lo/mtu', 'utf8').trim()) || 65536;
  } catch {
    return 65536;
  }
}

export function validatePaths(workload: string, paths: string[]): void {
  if (!(BENCH_WORKLOADS as readonly string[]).includes(workload))
    throw new BenchUsageError(workload === 'inter-guest'
      ? "workload 'inter-guest' is not available yet: it needs two guests (lab/emulated, issue 5)"
      : `unknown workload '${workload}'; expected one of ${BENCH_WORKLOADS.join(', ')}`);
  if (paths.length === 0) throw new BenchUsageError('--paths names no path; expected e.g. direct,delegated');
  for (const p of paths) {
    if (p === 'emulated') throw new BenchUsageError("path 'emulated' is not available yet: the emulated NIC path (TAP + device model, issue 5) has not landed in lab/; run --paths direct,delegated");
    if (p !== 'direct' && p !== 'delegated') throw new BenchUsageError(`unknown path '${p}'; expected direct, delegated or emulated`);
  }
}

export class BenchUsageError extends Error {}

export async function runBench(o: BenchOptions): Promise<BenchOutcome> {
  validatePaths(o.workload, o.paths);
  const log = o.log ?? (() => undefined);
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    let server = o.server;
    if (!server) {
      const child = spawnLinsock(['_server', '127.0.0.1']);
      cleanups.push(() => stop(child));
      server = await firstJsonLine<BenchServerPorts>(child, 'the bench server', 10_000);
    }
    const port = o.workload === 'stream' ? server.sink : o.workload === 'udp-rr' ? server.udpEcho : server.echo;
    let channel = o.daemon;
    if (o.paths.includes('delegated') && !channel) {
      const d: EmbeddedDaemon = await startEmbeddedDaemon({ allow: { address: server.host, port, udp: o.workload === 'udp-rr' }, trace: o.trace });
      cleanups.push(() => d.close());
      channel = d.guestPath;
      log(`linsock bench: embedded linsockd on ${channel}, policy allows ${server.host}:${port} only`);
    }
    const results: WorkloadResult[] = [];
    for (const path of o.paths) {
      const spec: WorkerSpec = {
        workload: o.workload as BenchWorkload,
        path: path as 'direct' | 'delegated',
        target: { host: server.host, port, seconds: o.seconds },
        channel,
        guest: `bench-${path}-${process.pid}`,
        trace: o.trace,
        ranIn: 'host',
      };
      log(`linsock bench: ${o.workload} on ${path} for ${o.seconds} s ...`);
      const r = path === 'delegated' ? await runDelegated(spec, log) : await runWorkerProcess(spec, null, null);
      log(`linsock bench:   ${describe(r)}`);
      results.push(r);
    }
    return { report: assemble(o, results), results };
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}

/** The delegated workload in a fresh namespace with only `lo`; a host process when namespaces are unavailable. */
async function runDelegated(spec: WorkerSpec, log: (l: string) => void): Promise<WorkloadResult> {
  let run: LabRun | null = null;
  try {
    run = await LabRun.create({ prefix: 'lsb' });
  } catch (err) {
    const why = err instanceof NamespacesUnavailable ? err.reason : (err as Error).message;
    log(`linsock bench: delegated guest runs as a host process: ${why}`);
    return runWorkerProcess({ ...spec, ranIn: `host (no namespace: ${why})` }, null, null);
  }
  try {
    const guest = await run.addGuest('client', 'delegated');
    return await runWorkerProcess({ ...spec, ranIn: `netns ${guest.netns} (lo only)` }, run, guest);
  } finally {
    await run.teardown();
  }
}

async function runWorkerProcess(spec: WorkerSpec, run: LabRun | null, guest: Guest | null): Promise<WorkloadResult> {
  const [cmd, ...args] = linsockArgv();
  const all = [...args, '_workload', JSON.stringify(spec)];
  let child: ChildProcess;
  if (run && guest) child = run.spawn(guest, cmd as string, all, { stdio: ['ignore', 'pipe', 'inherit'] });
  else child = spawnLinsock(['_workload', JSON.stringify(spec)]);
  try {
    const out = await firstJsonLine<WorkloadResult | { error: string }>(child, `the ${spec.path} workload process`, (spec.target.seconds + 60) * 1000);
    if ('error' in out) {
      const hint = /EACCES/.test(out.error) ? ` (the daemon's policy must allow ${spec.target.host}:${spec.target.port}; with --daemon, allow the bench server's address in its --config)` : '';
      throw new Error(`${spec.workload} on ${spec.path} failed: ${out.error}${hint}`);
    }
    return out;
  } finally {
    await stop(child);
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.stdin?.end();
    child.kill('SIGTERM');
  });
}

function assemble(o: BenchOptions, results: WorkloadResult[]): BenchReport {
  const metric = ratioMetric(o.workload);
  const by = (p: string): WorkloadResult | undefined => results.find((r) => r.path === p);
  const ratio = (a: string, b: string): number | null => {
    const x = by(a)?.[metric];
    const y = by(b)?.[metric];
    return x !== undefined && x !== null && y !== undefined && y !== null && y > 0 ? round(x / y) : null;
  };
  return {
    workload: o.workload,
    mode: o.paths.includes('emulated') ? o.mode : null,
    mtu: loopbackMtu(),
    results: results.map((r) => ({ path: r.path, mb_per_s: r.mb_per_s, p50_us: r.p50_us, p99_us: r.p99_us, ops_per_s: r.ops_per_s, calls: r.calls, bytes: r.bytes, verified: r.verified })),
    ratios: { 'delegated/direct': ratio('delegated', 'direct'), 'delegated/emulated': ratio('delegated', 'emulated') },
  };
}

export function describe(r: WorkloadResult): string {
  const figs = r.mb_per_s !== null ? `${r.mb_per_s} MB/s` : `p50 ${r.p50_us} µs, p99 ${r.p99_us} µs, ${r.ops_per_s} ops/s`;
  return `${r.path}: ${figs}, ${r.verified ? 'verified' : 'NOT verified'}, in ${r.ranIn}${r.notes.length ? ` (${r.notes.join('; ')})` : ''}`;
}
