// inter-guest: guest A serves (the bench sink), guest B streams to it, every byte checksummed.
//   emulated          A and B are emulated guests on the device model's switch: frames go guest to guest.
//   delegated         A listens and B connects through linsockd (the caller's daemon, or one started
//                     here), which joins two of its own guests with its same-host shortcut.
//   delegated-kernel  the same through a linsockd with the shortcut off: the plain route through the
//                     host kernel's loopback.
//   direct            A and B are host processes on loopback (the physical limit).

import type { TraceSink } from '../../daemon';
import type { LabRun } from '../netns';
import { CallIntake } from './recording';
import { startBenchDaemon } from './bench-daemon';
import { startServerProcess, stop, type Where } from './workload-process';
import { delegatedProcesses, measurePath } from './measure-path';
import type { PathProcesses } from './cpu-cost';
import type { BenchScope } from './bench-scope';
import { describe, emulatedRanIn, unavailableRow } from './rows';
import type { WorkerSpec } from './worker';
import type { WorkloadResult } from './workload-result';

const LOOPBACK = '127.0.0.1';

export async function runInterGuest(s: BenchScope, sink: TraceSink | null): Promise<WorkloadResult[]> {
  const results: WorkloadResult[] = [];
  for (const path of s.o.paths) {
    s.checkAborted();
    if (path === 'direct') results.push(await step(s, sink, 'direct', direct(s)));
    else if (path === 'emulated') results.push(s.emulated ? await step(s, sink, 'emulated', emulated(s)) : unavailableRow('emulated', s.emulatedWhy ?? 'emulated path unavailable'));
    else {
      results.push(await step(s, sink, 'delegated', delegated(s, sink, 'delegated', true)));
      results.push(await step(s, sink, 'delegated-kernel', delegated(s, sink, 'delegated-kernel', false)));
    }
  }
  return results;
}

function streamSpec(s: BenchScope, path: WorkerSpec['path'], label: string, host: string, port: number): WorkerSpec {
  return { workload: 'stream', path, label, target: { host, port, seconds: s.o.seconds }, trace: s.o.trace, ranIn: 'host' };
}

/** What a path's set-up hands to its step: the workload to run, and where (the host when null). */
interface Prepared {
  spec: WorkerSpec;
  where: Where | null;
  /** The path's processes besides the workload's, whose CPU counts for it. */
  others: PathProcesses;
}

/** Sets one path up; what it starts goes into `cleanups`, which the step runs in reverse. */
type Prepare = (cleanups: (() => Promise<void>)[]) => Promise<Prepared>;

/** Sets a path up (its servers, its daemon), runs the workload, and undoes the set-up however it ends. */
async function step(s: BenchScope, sink: TraceSink | null, label: string, prepare: Prepare): Promise<WorkloadResult> {
  s.log(`linsock bench: inter-guest on ${label} for ${s.o.seconds} s ...`);
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const { spec, where, others } = await prepare(cleanups);
    // The workload records its own calls (direct, emulated); delegated ones reach the sink through the daemon.
    const recorded = sink && spec.path !== 'delegated';
    if (recorded) spec.record = { run: s.runId };
    const intake = recorded ? new CallIntake(sink, spec.path === 'emulated' ? s.frames : null) : null;
    const r = await measurePath(s, spec, where, intake, others);
    s.log(`linsock bench:   ${describe(r)}`);
    return r;
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}

function direct(s: BenchScope): Prepare {
  return async (cleanups) => {
    const server = await startServerProcess(s.runId, [LOOPBACK], null);
    cleanups.push(() => stop(server.child));
    const spec = { ...streamSpec(s, 'direct', 'direct', LOOPBACK, server.ports.sink), guest: 'host' };
    return { spec, where: null, others: { pids: [server.child.pid as number] } };
  };
}

function emulated(s: BenchScope): Prepare {
  return async (cleanups) => {
    const e = s.emulated!;
    const lab = s.lab as LabRun;
    const a = await e.addGuest('emusrv');
    const server = await startServerProcess(s.runId, [a.address], { run: lab, guest: a.guest });
    cleanups.push(() => stop(server.child));
    const spec = { ...streamSpec(s, 'emulated', 'emulated', a.address, server.ports.sink), guest: 'emu' };
    spec.ranIn = `${emulatedRanIn(e, e.guest.netns)} -> ${a.guest.netns} across the switch`;
    return { spec, where: { run: lab, guest: e.guest }, others: { pids: [server.child.pid as number, process.pid] } };
  };
}

function delegated(s: BenchScope, sink: TraceSink | null, label: 'delegated' | 'delegated-kernel', shortcut: boolean): Prepare {
  return async (cleanups) => {
    let channel = shortcut ? s.env.daemonGuestPath : undefined;
    let allow: ((port: number) => void) | null = null;
    if (!channel) {
      const d = await startBenchDaemon({ sink, trace: s.o.trace, shortcut, run: s.runId, busyPollUs: s.o.busyPollUs, workers: s.o.workers });
      cleanups.push(() => d.close());
      channel = d.guestPath;
      // Guest B may reach exactly guest A's listening port on the host's loopback, nothing else there.
      allow = (port) => d.allow('connect', LOOPBACK, port);
    }
    const tag = shortcut ? 'g' : 'k';
    const place = async (role: string): Promise<Where | null> => (s.lab ? { run: s.lab, guest: await s.lab.addGuest(role, 'delegated') } : null);
    const whereA = await place(`${tag}serve`);
    const whereB = await place(`${tag}client`);
    const server = await startServerProcess(s.runId, [LOOPBACK], whereA, { path: channel, guest: `${s.runId}-${tag}a` });
    cleanups.push(() => stop(server.child));
    allow?.(server.ports.sink);
    // The caller's daemon: its host opens guest A's ports for guest B.
    if (channel === s.env.daemonGuestPath) s.env.onServerPorts?.(server.ports.hosts[0] ?? server.ports);
    const spec: WorkerSpec = { ...streamSpec(s, 'delegated', label, LOOPBACK, server.ports.sink), channel, transport: s.o.channel, guest: `${s.runId}-${tag}b` };
    const inNs = (w: Where | null): string => (w ? `netns ${w.guest.netns} (lo only)` : `host (no namespace: ${s.labWhy})`);
    spec.ranIn = `${inNs(whereB)} -> ${inNs(whereA)} through linsockd, shortcut ${shortcut ? 'on' : 'off'}`;
    return { spec, where: whereB, others: delegatedProcesses(channel, channel !== s.env.daemonGuestPath, [server.child.pid as number]) };
  };
}
