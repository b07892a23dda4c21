// `linsock bench --workload W --paths P1,P2 [--seconds S] [--trace on|off|alternate] [--mode e1000|virtio]
// [--busy-poll-us N] [--load N] [--guests N] [--json] [--daemon GUEST_SOCKET]`: the contract in DESIGN.md. With --json, one BenchReport object on stdout;
// without, a table. Progress goes to stderr. A path that cannot run here (emulated without namespaces)
// is a row of nulls with `verified: false`, its reason in the report's `unavailable` and on stderr; the
// exit code is 0 when every path that ran was verified. Ctrl-C stops the run and tears the lab down.
// `--trace alternate` (stream on delegated alone) pauses and resumes tracing in phases of 500 ms, in the
// daemon and the guest at once, and adds `trace_overhead` to the report: trace on against off in one run.
// `--program iperf3|curl` runs the real iperf3 or curl on direct and delegated instead of a workload (lab/run/).
// `--load N` runs N CPU-bound processes during each path's measurement (lab/bench/cpu-load.ts).
// `--channel shm|socket` picks what carries the delegated guest's frames to linsockd: shared-memory rings
// (the default where the linsock_shm addon is built; a guest the daemon refuses stays on the socket, and
// each delegated row's `channel` says which it got) or the Unix socket.
// `--guests N` (rr or stream; direct and delegated) runs N guests at once per path, against one daemon on
// delegated; each row then gives the fleet's figures, daemon CPU per op and fairness (lab/bench/guest-fleet.ts).
// `--workers W` starts the bench's own daemon with W worker processes (linsockd --workers; 1 when absent);
// their CPU counts as the daemon's.
// `--guest vm` runs the workload in a QEMU VM (lab/commands/vm-bench.ts); with `--trace-file FILE` it writes
// the run's trace (the VM's delegated calls and clock mapping) as .lstrace.

import { WORKLOADS, type EmulatedMode, type Path, type Workload } from '../../protocol';
import { BenchCancelled, BenchUsageError, MAX_WORKERS } from '../bench/bench-scope';
import { runBenchDetailed } from '../bench/run-bench';
import { formatTable } from '../bench/table';
import { DEFAULT_PHASE_MS } from '../bench/trace-phases';
import { MAX_LOAD } from '../bench/cpu-load';
import { FLEET_WORKLOADS, MAX_GUESTS } from '../bench/guest-fleet';
import { BENCH_PROGRAMS, PROGRAM_PATHS, PROGRAM_PATHS_OF, runProgramBench, type BenchProgram } from '../run/program-bench';
import type { RunPath } from '../run/run-program';
import { VM_BENCH_WORKLOADS, VM_PATHS, type VmPath, type VmWorkload } from '../vm';
import { parseOptions, usageError } from './options';
import { vmBench } from './vm-bench';

export const BENCH_USAGE = 'usage: linsock bench --workload stream|rr|crr|udp-rr|inter-guest --paths direct,delegated,emulated [--seconds S] [--trace on|off|alternate] [--mode e1000|virtio] [--busy-poll-us N] [--load N] [--guests N] [--workers W] [--guest ns|vm [--trace-file FILE.lstrace]] [--channel shm|socket] [--json] [--daemon GUEST_SOCKET]\n       linsock bench --program iperf3|curl|sockperf [--paths direct,delegated[,emulated: iperf3, sockperf]] [--mode e1000|virtio] [--seconds S] [--trace on|off] [--reverse: iperf3] [--json]';

export async function benchCommand(argv: string[]): Promise<number> {
  const parsed = parseOptions('bench', BENCH_USAGE, argv, {
    options: {
      workload: { type: 'string' },
      paths: { type: 'string' },
      seconds: { type: 'string', default: '5' },
      trace: { type: 'string', default: 'on' },
      mode: { type: 'string', default: 'virtio' },
      json: { type: 'boolean', default: false },
      daemon: { type: 'string' },
      'busy-poll-us': { type: 'string' },
      load: { type: 'string', default: '0' },
      guests: { type: 'string' },
      workers: { type: 'string' },
      guest: { type: 'string', default: 'ns' },
      'trace-file': { type: 'string' },
      program: { type: 'string' },
      reverse: { type: 'boolean', default: false },
      channel: { type: 'string' },
    },
  });
  if (!parsed) return 2;
  const { values } = parsed;
  const workload = values.workload as string | undefined;
  const seconds = Number(values.seconds);
  const problems: string[] = [];
  const program = values.program as string | undefined;
  if (program !== undefined) return programBench(program, values, seconds);
  if (values.reverse === true) problems.push('--reverse goes with --program iperf3 (the server in the guest)');
  if (!workload) problems.push('--workload is required');
  else if (!(WORKLOADS as readonly string[]).includes(workload)) problems.push(`unknown workload '${workload}' (expected ${WORKLOADS.join(', ')})`);
  if (!(seconds > 0 && seconds <= 3600)) problems.push(`--seconds must be a number in (0, 3600], got '${String(values.seconds)}'`);
  if (values.trace !== 'on' && values.trace !== 'off' && values.trace !== 'alternate') problems.push(`--trace must be on, off or alternate, got '${String(values.trace)}'`);
  if (values.mode !== 'e1000' && values.mode !== 'virtio') problems.push(`--mode must be e1000 or virtio, got '${String(values.mode)}'`);
  const busy = values['busy-poll-us'] as string | undefined;
  if (busy !== undefined && !/^\d+$/.test(busy)) problems.push(`--busy-poll-us must be a whole number of microseconds, got '${busy}'`);
  const load = String(values.load);
  if (!/^\d+$/.test(load) || Number(load) > MAX_LOAD) problems.push(`--load must be a whole number of CPU-bound processes 0..${MAX_LOAD}, got '${load}'`);
  const guests = values.guests as string | undefined;
  if (guests !== undefined) {
    if (!/^\d+$/.test(guests) || Number(guests) < 1 || Number(guests) > MAX_GUESTS) problems.push(`--guests must be a whole number of guests 1..${MAX_GUESTS}, got '${guests}'`);
    else if (workload && !(FLEET_WORKLOADS as readonly string[]).includes(workload)) problems.push(`--guests runs the ${FLEET_WORKLOADS.join(' or ')} workload, not '${workload}'`);
    if (values.guest === 'vm') problems.push('--guests runs with --guest ns only');
    if (values.trace === 'alternate') problems.push('--trace alternate measures one guest: it does not go with --guests');
  }
  const workers = values.workers as string | undefined;
  if (workers !== undefined) {
    if (!/^\d+$/.test(workers) || Number(workers) < 1 || Number(workers) > MAX_WORKERS) problems.push(`--workers must be a whole number of daemon worker processes 1..${MAX_WORKERS}, got '${workers}'`);
    if (values.daemon !== undefined) problems.push('--workers sets the bench\'s own daemon: with --daemon, start that linsockd with --workers');
    if (values.guest === 'vm') problems.push('--workers runs with --guest ns only');
  }
  const channel = values.channel as string | undefined;
  if (channel !== undefined && channel !== 'shm' && channel !== 'socket') problems.push(`--channel must be shm or socket, got '${channel}'`);
  if (values.guest !== 'ns' && values.guest !== 'vm') problems.push(`--guest must be ns or vm, got '${String(values.guest)}'`);
  const paths = String(values.paths ?? (values.guest === 'vm' ? VM_PATHS.join(',') : 'direct,delegated')).split(',').map((p) => p.trim()).filter(Boolean);
  if (values.guest === 'vm') {
    if (workload && !(VM_BENCH_WORKLOADS as readonly string[]).includes(workload)) problems.push(`--guest vm runs ${VM_BENCH_WORKLOADS.join(', ')}, not '${workload}'`);
    const others = paths.filter((p) => !(VM_PATHS as readonly string[]).includes(p));
    if (others.length) problems.push(`--guest vm compares ${VM_PATHS.join(' and ')}; '${others.join(', ')}' has no VM form`);
    if (load !== '0') problems.push('--load runs with --guest ns only');
    if (values.trace === 'alternate') problems.push('--trace alternate runs with --guest ns only');
    if (values['trace-file'] !== undefined && values.trace === 'off') problems.push('--trace-file needs --trace on');
    if (values['trace-file'] !== undefined && workload === 'inter-guest') problems.push('inter-guest between two VMs is not traced: no --trace-file');
  } else if (values['trace-file'] !== undefined) {
    problems.push('--trace-file writes a VM run\'s trace (--guest vm); a namespace run is recorded by linsock start or linsock record');
  }
  if (problems.length) {
    usageError('bench', BENCH_USAGE, problems);
    return 2;
  }
  const json = values.json === true;
  if (values.guest === 'vm') {
    return vmBench({
      workload: workload as VmWorkload, paths: paths as VmPath[], mode: values.mode as 'e1000' | 'virtio', seconds, json,
      trace: values.trace === 'on', traceFile: values['trace-file'] as string | undefined,
    });
  }
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { report, results } = await runBenchDetailed(
      {
        workload: workload as Workload,
        paths: paths as Path[],
        seconds,
        trace: values.trace !== 'off',
        tracePhaseMs: values.trace === 'alternate' ? DEFAULT_PHASE_MS : undefined,
        mode: values.mode as EmulatedMode,
        busyPollUs: busy === undefined ? undefined : Number(busy),
        load: Number(load),
        guests: guests === undefined ? undefined : Number(guests),
        workers: workers === undefined ? undefined : Number(workers),
        channel: channel as 'shm' | 'socket' | undefined,
      },
      { daemonGuestPath: values.daemon as string | undefined, signal: abort.signal, onProgress: (l) => console.error(l) },
    );
    if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else process.stdout.write(formatTable(report, results));
    const unavailable = new Set(Object.keys(report.unavailable ?? {}));
    return results.every((r) => r.verified || unavailable.has(r.path)) ? 0 : 1;
  } catch (err) {
    console.error(`linsock bench: ${(err as Error).message}`);
    return err instanceof BenchUsageError ? 2 : err instanceof BenchCancelled ? 130 : 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/** Where a program ran on each path, for the table. */
const RAN_IN: Record<RunPath, string> = { direct: 'host', delegated: 'netns (lo only), interposer', emulated: 'netns + TAP (virtio), device model' };

/** `--program P`: a real program on direct and delegated, sockperf on emulated too (lab/run/program-bench.ts). */
async function programBench(program: string, values: Record<string, unknown>, seconds: number): Promise<number> {
  const known = (BENCH_PROGRAMS as readonly string[]).includes(program);
  // --reverse serves from the guest through a delegated listen: the emulated guest's server is not the host's.
  const allowed = known && values.reverse !== true ? PROGRAM_PATHS_OF[program as BenchProgram] : PROGRAM_PATHS;
  const paths = String(values.paths ?? allowed.join(',')).split(',').map((p) => p.trim()).filter(Boolean);
  const problems: string[] = [];
  if (!known) problems.push(`unknown program '${program}' (expected ${BENCH_PROGRAMS.join(', ')})`);
  const others = paths.filter((p) => !allowed.includes(p as RunPath));
  if (others.length) problems.push(`--program ${program} runs on ${allowed.join(', ')}; not '${others.join(', ')}'`);
  if (!(seconds > 0 && seconds <= 3600)) problems.push(`--seconds must be a number in (0, 3600], got '${String(values.seconds)}'`);
  if (values.workload !== undefined) problems.push('--program replaces --workload: give one of them');
  if (values.guest !== 'ns') problems.push('--program runs with --guest ns only');
  if (values.guests !== undefined || values.load !== '0') problems.push('--program runs one program per path: no --guests or --load');
  if (values.reverse === true && program !== 'iperf3') problems.push('--reverse runs iperf3 only: its server in the guest through a delegated listen, its client on the host');
  if (values.mode !== 'e1000' && values.mode !== 'virtio') problems.push(`--mode must be e1000 or virtio, got '${String(values.mode)}'`);
  if (values.trace !== 'on' && values.trace !== 'off') problems.push(`--program runs with --trace on (the interposer's records, counted in calls) or off, got '${String(values.trace)}'`);
  if (problems.length) {
    usageError('bench', BENCH_USAGE, problems);
    return 2;
  }
  try {
    const { report, notes } = await runProgramBench(program as BenchProgram, paths as RunPath[], Math.max(1, Math.round(seconds)), (l) => console.error(l), values.trace === 'on', values.reverse === true, values.mode as EmulatedMode);
    if (values.json === true) process.stdout.write(`${JSON.stringify(report)}\n`);
    else process.stdout.write(formatTable(report, report.results.map((r) => ({ ...r, ranIn: RAN_IN[r.path as RunPath], notes: notes[r.path] ?? [] }))));
    return report.results.every((r) => r.verified) ? 0 : 1;
  } catch (err) {
    console.error(`linsock bench --program: ${(err as Error).message}`);
    return 1;
  }
}
