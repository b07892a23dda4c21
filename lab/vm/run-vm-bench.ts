// `linsock bench --guest vm`: the paper's experiment in a real VM. One VM per run carries both paths —
// delegated (the guest runtime over a virtio-serial port into linsockd, which runs in this process) and
// emulated (node:net on the VM's own kernel, QEMU's e1000 or virtio-net on a TAP) — to one host bench
// server; every byte is checked. Rows follow the bench JSON contract of DESIGN.md, plus guest and accel.

import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type RunningDaemon } from '../../daemon';
import { startBenchServer, type BenchServer } from '../bench/server';
import { nowNs } from '../bench/latency';
import type { TraceRecord } from '../../protocol';
import type { AccelChoice } from './accel';
import type { AgentWorkload, ExecResult, VmPath, VmWorkload } from './agent-protocol';
import { runInterVm } from './inter-vm';
import { runFolder } from './leftovers';
import { bootVm, NIC_MODES, type NicMode, type Vm } from './machine';
import { vmRatios, type VmBenchReport, type VmBenchRow } from './vm-report';
import { ProgramGate } from './program-gate';
import { haveCommand } from './run-command';
import { startTapCapture, type TapCapture } from './tap-capture';
import { runDelegatedInVm } from './vm-program';
import { vmRunInfo, VmTraceLog } from './vm-trace';

/** What one VM runs (a session's workloads, `linsock start`'s VM comparison). */
export const VM_WORKLOADS: readonly VmWorkload[] = ['stream', 'rr', 'crr', 'udp-rr'];
/** What `bench --guest vm` runs: those, and inter-guest between two VMs. */
export const VM_BENCH_WORKLOADS: readonly VmWorkload[] = [...VM_WORKLOADS, 'inter-guest'];
export const VM_PATHS: readonly VmPath[] = ['delegated', 'emulated'];
const MAX_SECONDS = 600;
/** The VM's NIC MTU: QEMU's e1000 and virtio-net both come up with 1500. */
const VM_MTU = 1500;

export interface VmBenchOptions {
  workload: VmWorkload;
  paths?: VmPath[];
  mode?: NicMode;
  seconds?: number;
  accel?: AccelChoice;
  /** linsockd's polling window after guest activity (its default when absent; 0 turns it off). */
  busyPollUs?: number;
  /**
   * Trace the delegated path (default true, as `linsock bench --trace on`): the VM's guest runtime stamps
   * its calls and linsockd records them (takeTrace). Off, neither stamps nor records.
   */
  trace?: boolean;
  /**
   * Unmodified programs in the VM too (`session.runProgram`): a program port to linsockd, whose policy also
   * lets them connect to these loopback ports of the host.
   */
  programs?: { connectPorts: number[] };
}

export type { VmBenchReport, VmBenchRow } from './vm-report';

type CheckedOptions = Required<Omit<VmBenchOptions, 'accel' | 'busyPollUs' | 'trace' | 'programs'>>;

function checkOptions(o: VmBenchOptions): CheckedOptions {
  if (!VM_BENCH_WORKLOADS.includes(o.workload)) throw new Error(`--workload must be one of ${VM_BENCH_WORKLOADS.join(', ')} in a VM, not '${String(o.workload)}'`);
  const paths = o.paths ?? ['delegated', 'emulated'];
  if (paths.length === 0) throw new Error('a VM bench needs at least one path (delegated, emulated)');
  for (const p of paths) if (!VM_PATHS.includes(p)) throw new Error(`a VM runs the paths ${VM_PATHS.join(' and ')}, not '${String(p)}'`);
  const mode = o.mode ?? 'virtio';
  if (!Object.hasOwn(NIC_MODES, mode)) throw new Error(`--mode must be e1000 or virtio, not '${String(mode)}'`);
  const seconds = o.seconds ?? 3;
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_SECONDS) throw new Error(`--seconds must be a number of seconds in (0, ${MAX_SECONDS}], not ${seconds}`);
  return { workload: o.workload, paths: [...new Set(paths)], mode, seconds };
}

/** Which of the server's ports a workload talks to. */
function portFor(workload: AgentWorkload, s: { sink: number; echo: number; udpEcho: number }): number {
  return workload === 'stream' ? s.sink : workload === 'udp-rr' ? s.udpEcho : s.echo;
}

/** How a program run in the VM ended, and how many bytes linsockd carried meanwhile (for every guest). */
export type ProgramRun = ExecResult & { daemonBytes: number };

/** A VM with its daemon and bench server, kept up for several workloads (tests, repeated measurements). */
export interface VmBenchSession {
  readonly vm: Vm;
  run(workload: VmWorkload, seconds: number): Promise<VmBenchReport>;
  /**
   * The trace of the runs since the last take (or the open): their run record first — with the VM's clock
   * offset and error bound from linsockd's probes — then every record linsockd made (the VM's delegated
   * calls, guest named after the VM). null when the session does not trace. While the VM runs, it waits
   * for the daemon to be quiet (the last stamps); calls still waiting for guest stamps (a socket's close,
   * which the guest posts without waiting) are recorded when the VM's channel closes: after close(),
   * a take has everything.
   */
  takeTrace(): Promise<TraceRecord[] | null>;
  /** `linsock run` of `command args` in the VM, delegated (needs the `programs` option). */
  runProgram(command: string, args: string[], timeoutMs?: number): Promise<ProgramRun>;
  close(): Promise<void>;
}

export async function openVmBench(options: Omit<VmBenchOptions, 'workload' | 'seconds'>): Promise<VmBenchSession> {
  const o = checkOptions({ ...options, workload: 'stream' });
  const delegated = o.paths.includes('delegated');
  const emulated = o.paths.includes('emulated');
  const dir = runFolder(tmpdir(), 'linsock-vmbench');
  const channelSocket = join(dir, 'guest.sock');
  const programs = options.programs ?? null;
  for (const p of programs?.connectPorts ?? []) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`programs.connectPorts: ${p} is not a port`);
  let vm: Vm | null = null;
  let server: BenchServer | null = null;
  let daemon: RunningDaemon | null = null;
  let gate: ProgramGate | null = null;
  let capture: TapCapture | null = null;
  const traced = options.trace ?? true;
  const log = traced ? new VmTraceLog() : null;
  const runId = `vm-bench-${process.pid}`;
  let closed = false;
  let closing: Promise<void> | null = null;
  // Safe to call twice: the second waits for the first.
  const close = (): Promise<void> => {
    closed = true;
    closing ??= (async () => {
      await capture?.stop();
      await vm?.close();
      await gate?.close();
      await daemon?.close();
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    })();
    return closing;
  };
  try {
    const daemonWanted = delegated || programs !== null;
    if (programs) gate = await ProgramGate.listen(join(dir, 'program.sock'), channelSocket);
    vm = await bootVm({
      nic: emulated ? o.mode : null, channelSocket: delegated ? channelSocket : null, programSocket: programs ? join(dir, 'program.sock') : null,
      accel: options.accel, alsoRemove: [dir],
    });
    server = await startBenchServer(vm.nic ? ['127.0.0.1', vm.nic.hostAddress] : ['127.0.0.1']);
    // The emulated path's frames where they cross the host, when dumpcap is installed (tshark's package).
    if (log && vm.nic && (await haveCommand('dumpcap'))) {
      const sink = log;
      capture = await startTapCapture({ tap: vm.nic.tap, vmMac: vm.nic.mac, guest: vm.name, run: runId, publish: (f) => sink.publish(f) });
    }
    const loopback = server.hosts[0] as BenchServer['hosts'][number];
    if (daemonWanted) {
      // Started after the VM is up: QEMU, retrying its connect, reaches it within a second, and the agent
      // says HELLO at once. The policy allows the bench server's loopback ports and nothing else.
      daemon = await startDaemon({
        guestSocket: channelSocket,
        run: runId,
        busyPollUs: options.busyPollUs,
        trace: log ?? undefined,
        policy: { rules: [
          { action: 'allow', ops: ['connect'], cidr: '127.0.0.1', ports: loopback.sink },
          { action: 'allow', ops: ['connect'], cidr: '127.0.0.1', ports: loopback.echo },
          { action: 'allow', ops: ['sendto'], cidr: '127.0.0.1', ports: loopback.udpEcho },
          ...(programs?.connectPorts ?? []).map((ports) => ({ action: 'allow' as const, ops: ['connect' as const], cidr: '127.0.0.1', ports })),
        ] },
      });
    }
    if (delegated) {
      await vm.agent.request({ op: 'channel', guest: vm.name, trace: traced }, 30_000);
    }
  } catch (e) {
    await close();
    throw e;
  }
  const up = vm;
  const srv = server;
  const ran = new Set<VmWorkload>();
  let startedNs = nowNs();
  return {
    vm: up,
    close,
    runProgram: async (command, args, timeoutMs) => {
      if (!programs || !daemon) throw new Error('this VM session has no program port: open it with the programs option');
      const before = daemon.stats().bytes;
      const exec = await runDelegatedInVm(up, command, args, timeoutMs);
      return { ...exec, daemonBytes: daemon.stats().bytes - before };
    },
    takeTrace: async () => {
      if (!log) return null;
      if (!closed) await log.settled();
      const { records, leftOut } = log.take();
      const run = vmRunInfo({
        id: runId, workload: [...ran].join('+') || 'none', paths: o.paths, mode: o.mode, mtu: VM_MTU,
        vm: { name: up.name, accel: up.accel, kernel: up.kernel }, startedNs, clocks: daemon?.clocks() ?? {},
        disordered: daemon?.disorderedRecords()[up.name] ?? 0, leftOut, tapFrames: capture !== null,
      });
      ran.clear();
      startedNs = nowNs();
      return [run, ...records];
    },
    run: async (workload, seconds) => {
      if (ran.size === 0) startedNs = nowNs();
      ran.add(workload);
      const w = checkOptions({ ...o, workload, seconds });
      if (w.workload === 'inter-guest') throw new Error('inter-guest runs between two VMs: use runVmBench, not a one-VM session');
      const agentWorkload = w.workload;
      const results: VmBenchRow[] = [];
      for (const path of w.paths) {
        const at = path === 'delegated' ? srv.hosts[0] : srv.hosts[1];
        if (!at) throw new Error(`no bench server address for ${path}`);
        const target = { host: at.host, port: portFor(agentWorkload, at), seconds: w.seconds, ...(path === 'emulated' && up.nic ? { local: up.nic.guestAddress } : {}) };
        const row = await up.agent.request({ op: 'run', workload: agentWorkload, path, target }, (w.seconds + 60) * 1000);
        if (!row) throw new Error(`the guest agent returned no result for ${w.workload} on ${path}`);
        if (path === 'emulated') row.notes.push(NIC_MODES[w.mode].profile);
        results.push(row);
      }
      const errors = Object.values(daemon?.clockErrors() ?? {});
      return report(w, up, results, errors.length ? Math.max(...errors) : null, traced, capture !== null);
    },
  };
}

function report(o: CheckedOptions, vm: Vm, results: VmBenchRow[], clockErrorNs: number | null, traced: boolean, tapFrames: boolean): VmBenchReport {
  const notes = [`${vm.accel.toUpperCase()}${vm.accelNote ? ` (${vm.accelNote})` : ''}; -smp 1; guest kernel ${vm.kernel}`];
  if (o.paths.includes('emulated')) notes.push(NIC_MODES[o.mode].profile);
  if (o.workload !== 'stream') notes.push('latencies are timed inside the VM, on its clock');
  // The guest runtime's stamps are on the VM's clock; linsockd maps them onto the host's from clock probes.
  if (traced && o.paths.includes('delegated') && o.paths.includes('emulated')) notes.push(tapFrames
    ? 'traced: the delegated path pays for stamps and call records, the emulated path for a capture of its TAP (frames only): --trace off compares both untraced'
    : 'only the delegated path is traced in a VM (it pays for stamps and records, the emulated path for nothing: no dumpcap to capture its TAP): --trace off compares both untraced');
  if (clockErrorNs !== null) notes.push(`linsockd maps the VM's clock onto the host's within ${Math.round(clockErrorNs / 1000)} µs (the smallest probe round trip)`);
  return {
    workload: o.workload,
    mode: o.mode,
    mtu: VM_MTU,
    guest: 'vm',
    accel: vm.accel,
    results,
    ratios: vmRatios(results),
    notes,
    kernel: vm.kernel,
  };
}

/** Boots a VM, runs one workload on each path, stops the VM: everything it made is gone when it returns. */
export async function runVmBench(options: VmBenchOptions): Promise<VmBenchReport> {
  return (await runVmBenchTraced(options)).report;
}

/** runVmBench, and the run's trace (see VmBenchSession.takeTrace; null with `trace: false`). */
export async function runVmBenchTraced(options: VmBenchOptions): Promise<{ report: VmBenchReport; trace: TraceRecord[] | null }> {
  const o = checkOptions(options);
  // Two VMs, not traced: a run of its own (inter-vm.ts).
  if (o.workload === 'inter-guest') return { report: await runInterVm({ paths: o.paths, mode: o.mode, seconds: o.seconds, accel: options.accel }), trace: null };
  const session = await openVmBench(options);
  let report: VmBenchReport;
  try {
    report = await session.run(o.workload, o.seconds);
  } finally {
    await session.close();
  }
  // Taken after the VM's channel closed: every call is recorded by then.
  return { report, trace: await session.takeTrace() };
}
