// stream, rr, crr, udp-rr: every path's workload talks to one bench server on the host (its own process,
// on 127.0.0.1 and, for \`emulated\`, on the emulated host TAP's address). \`direct\` runs on the host,
// \`delegated\` in a guest namespace through linsockd (the caller's, or one started here that allows exactly
// the server's port), \`emulated\` in the emulated guest. With a sink the workloads' own calls (direct,
// emulated) go there; delegated calls reach it through the daemon.

import type { TraceSink } from '../../daemon';
import type { LabRun } from '../netns';
import type { BenchScope } from './bench-scope';
import { startBenchDaemon, type BenchDaemon } from './bench-daemon';
import { busyPollFigures } from './poll-figures';
import { nowNs } from './latency';
import { CallIntake } from './recording';
import { describe, emulatedRanIn, unavailableRow } from './rows';
import { followPhases, type TracePhases } from './trace-phases';
import type { WorkerSpec, WorkerWorkload } from './worker';
import type { WorkloadResult } from './workload-result';
import { startServerProcess, stop, type Where } from './workload-process';
import { delegatedProcesses, measurePath } from './measure-path';
import type { PathProcesses } from './cpu-cost';

/** One bench server on the host, one workload process per path. */
export async function runGuestToHost(s: BenchScope, sink: TraceSink | null): Promise<WorkloadResult[]> {
  const { o, env, log } = s;
  const workload = o.workload as WorkerWorkload;
  const hosts = ['127.0.0.1', ...(s.emulated ? [s.emulated.hostAddress] : [])];
  const server = await startServerProcess(s.runId, hosts, null);
  s.cleanups.push(() => stop(server.child));
  const portOf = (p: { sink: number; echo: number; udpEcho: number }): number => (workload === 'stream' ? p.sink : workload === 'udp-rr' ? p.udpEcho : p.echo);
  const loop = server.ports.hosts[0]!;
  let channel = env.daemonGuestPath;
  const serverPid = server.child.pid as number;
  let phases: TracePhases | null = null;
  let ownDaemon: BenchDaemon | null = null;
  if (channel && o.paths.includes('delegated')) env.onServerPorts?.(loop);
  if (o.paths.includes('delegated') && !channel) {
    // Into the caller's sink; without one, into a hub of the daemon's own, as in linsockd, apart from the run's.
    const d = await startBenchDaemon({ sink: env.sink ? sink : null, trace: o.trace, run: s.runId, busyPollUs: o.busyPollUs, workers: o.workers });
    s.cleanups.push(() => d.close());
    ownDaemon = d;
    d.allow(workload === 'udp-rr' ? 'sendto' : 'connect', loop.host, portOf(loop));
    channel = d.guestPath;
    if (o.tracePhaseMs !== undefined) {
      // Phase 0 starts once the guest has normally connected; the daemon's switch stays on until it has.
      phases = { originNs: nowNs() + 1.5e9, phaseMs: o.tracePhaseMs };
      s.cleanups.push(followPhases(phases, nowNs, (on) => d.setTracing(on)));
    }
    const workers = d.workerPids();
    log(`linsock bench: embedded linsockd on ${channel}, policy allows ${loop.host}:${portOf(loop)} only${workers.length ? `, guests served by ${workers.length} worker processes (pids ${workers.join(', ')})` : ''}`);
  }
  const results: WorkloadResult[] = [];
  for (const path of o.paths) {
    s.checkAborted();
    if (path === 'emulated' && !s.emulated) {
      results.push(unavailableRow('emulated', s.emulatedWhy ?? 'emulated path unavailable'));
      continue;
    }
    const at = path === 'emulated' ? server.ports.hosts[1]! : loop;
    const spec: WorkerSpec = {
      workload,
      path,
      target: { host: at.host, port: portOf(at), seconds: o.seconds, local: path === 'emulated' ? s.emulated!.guestAddress : undefined, phases: phases ?? undefined },
      channel,
      transport: o.channel,
      guest: path === 'direct' ? 'host' : path === 'emulated' ? 'emu' : `${s.runId}-delegated`,
      trace: o.trace,
      record: sink && path !== 'delegated' ? { run: s.runId } : undefined,
      ranIn: 'host',
      guests: o.guests,
    };
    log(`linsock bench: ${o.workload} on ${path} for ${o.seconds} s ...`);
    let where: Where | null = null;
    if (path === 'emulated') {
      where = { run: s.lab as LabRun, guest: s.emulated!.guest };
      spec.ranIn = emulatedRanIn(s.emulated!, s.emulated!.guest.netns);
    } else if (path === 'delegated') {
      if (s.lab) {
        const guest = s.lab.guests.find((g) => g.role === 'client') ?? (await s.lab.addGuest('client', 'delegated'));
        where = { run: s.lab, guest };
        spec.ranIn = `netns ${guest.netns} (lo only)`;
      } else {
        spec.ranIn = `host (no namespace: ${s.labWhy})`;
        log(`linsock bench: delegated guest runs as a host process: ${s.labWhy}`);
      }
    }
    const intake = spec.record && sink ? new CallIntake(sink, path === 'emulated' ? s.frames : null) : null;
    const others: PathProcesses = path === 'delegated' ? delegatedProcesses(channel as string, channel !== env.daemonGuestPath, [serverPid], ownDaemon?.workerPids()) : { pids: path === 'emulated' ? [serverPid, process.pid] : [serverPid] };
    const polled = path === 'delegated' ? ownDaemon?.busyPoll() : undefined;
    const r = await measurePath(s, spec, where, intake, others);
    if (polled && ownDaemon) r.busy_poll = busyPollFigures(polled, ownDaemon.busyPoll());
    log(`linsock bench:   ${describe(r)}`);
    results.push(r);
  }
  return results;
}
