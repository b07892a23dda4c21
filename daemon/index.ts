// linsockd's entry point for the rest of the project: start a delegation daemon in this process.
// The lab embeds it for `linsock bench`; cli.ts wraps it with the trace server for `npx linsockd`.
// One process serves every guest (guest-host.ts behind the listeners) unless `workers` asks for worker
// processes (workers/worker-daemon.ts).
import type { Socket } from 'node:net';
import type { GuestInfo } from '../protocol';
import { resolveLimits } from './limits';
import { SILENT } from './log';
import { Policy } from './policy/policy';
import { NO_TRACE } from './trace/trace-sink';
import { FD_RESERVE, FdBudget } from './fd-budget';
import { peerCredentials } from '../native/process-limits';
import { GuestHost, LocalNames } from './guest-host';
import { CallRate, listenForGuests, removeSocketFile } from './guest-listeners';
import { startWorkerDaemon } from './workers/worker-daemon';
import type { DaemonOptions, DaemonStats, RunningDaemon } from './running-daemon';
import { sideSocketPath } from '../protocol';
import { listenShmSide } from './channel/shm-side';
import { defaultGuestSocketPath } from './channel/guest-listener';

export { DEFAULT_BUSY_POLL_US, MAX_BUSY_POLL_US, type BusyPollStats } from './channel/busy-poll';
export { DEFAULT_LIMITS, resolveLimits, type Limits } from './limits';
export { Policy, type PolicyConfig, type PolicyRuleConfig } from './policy/policy';
export { jsonLogger, SILENT, type Logger, type LogLevel } from './log';
export { NO_TRACE, type TraceSink } from './trace/trace-sink';
export { defaultGuestSocketPath, parseHostPort, type HostPort } from './channel/guest-listener';
export { loadConfig, type DaemonConfig } from './config';
export { TraceHub, type TraceHubOptions } from './trace/trace-hub';
export { startTraceServer, type TraceServer, type TraceServerOptions } from './trace/trace-server';
export { defaultTokenFile } from './trace/token';
export type { ClockMapping } from './guests/guest-clock';
export { instanceName } from './instance';
export type { DaemonOptions, DaemonStats, RunningDaemon } from './running-daemon';

export async function startDaemon(options: DaemonOptions = {}): Promise<RunningDaemon> {
  if ((options.workers ?? 1) > 1) return startWorkerDaemon(options);
  const log = options.logger ?? SILENT;
  const limits = resolveLimits(options.limits);
  const policy = options.policy instanceof Policy ? options.policy : Policy.fromConfig(options.policy);
  const sink = options.trace ?? NO_TRACE;
  const ownFds = !options.fds;
  const fds = options.fds ?? FdBudget.forProcess(log, FD_RESERVE);
  // A single guest cannot hold more than the process can give; several guests meet the budget first.
  if (limits.maxSockets > fds.available) {
    log.warn('maxSockets lowered to the descriptor budget', { maxSockets: limits.maxSockets, available: fds.available, limit: fds.limit, reserve: fds.reserve });
    limits.maxSockets = Math.max(1, fds.available);
  }
  const host = new GuestHost({
    limits, policy, sink, log, fds, gate: new LocalNames(limits), run: options.run ?? '',
    busyPollUs: options.busyPollUs, sameHostShortcut: options.sameHostShortcut, pendingHellos: true,
  });
  const wantedPath = options.guestSocket === null ? null : (options.guestSocket ?? defaultGuestSocketPath());
  // The side socket first: a guest is offered shared memory only while it listens.
  const shmSide = wantedPath !== null && options.sharedMemory !== false
    ? await listenShmSide(sideSocketPath(wantedPath), (guest, pid, region, bell) => {
      const s = host.live.get(guest);
      return s ? s.attachShm(pid, region, bell) : `no guest named '${guest}' is connected`;
    }, log)
    : null;
  const accept = (transport: GuestInfo['transport']) => (socket: Socket): void => {
    let peer: string;
    let shmPeerPid = 0;
    if (transport === 'unix') {
      const cred = peerCredentials(socket);
      peer = cred ? `uid:${cred.uid}` : 'uid:?';
      if (shmSide && cred) shmPeerPid = cred.pid;
    } else peer = `ip:${socket.remoteAddress ?? '?'}`;
    host.accept(socket, transport, peer, undefined, shmPeerPid);
  };

  let listening;
  try {
    listening = await listenForGuests({ ...options, guestSocket: wantedPath }, accept, log);
  } catch (e) {
    shmSide?.close();
    throw e;
  }
  const { servers, guestPath, tcpAddress } = listening;
  if (shmSide) servers.push(shmSide);
  const rate = new CallRate();
  const stats = (): DaemonStats => {
    const f = host.figures();
    return { ...f.counters, callsPerSec: rate.perSec(f.counters.calls), guests: f.guests, sockets: f.sockets, tracing: sink.enabled };
  };

  return {
    guestPath,
    tcpAddress,
    guests: () => host.guests(),
    stats,
    busyPoll: () => host.busyPollFigures(),
    clockErrors() {
      return Object.fromEntries(Object.entries(host.clocks()).map(([g, m]) => [g, m.errorNs]));
    },
    clocks: () => host.clocks(),
    disorderedRecords: () => host.disorderedRecords(),
    workerPids: () => [],
    async close() {
      if (host.closing) return;
      const closed = servers.map((srv) => new Promise<void>((r) => srv.close(() => r())));
      host.shutAll();
      await Promise.all(closed);
      removeSocketFile(guestPath);
      if (shmSide && guestPath) removeSocketFile(sideSocketPath(guestPath));
      if (ownFds) fds.stop();
      log.info('daemon stopped', { calls: host.counters.calls });
    },
  };
}
