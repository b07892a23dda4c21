// linsockd with --workers W > 1: this process keeps the guest listeners, the HELLO limits (connections
// waiting for HELLO, per peer and in all), the guest names and caps (maxGuests, maxGuestsPerPeer, unique
// names: decided here for every worker at once), the policy's source and the trace hub; W worker
// processes serve the guest sessions (worker-pool.ts). A connection's HELLO is read here, its name
// judged, and the socket handed with those bytes to the worker with fewest guests; that worker answers the
// HELLO (granted or refused as judged here) and performs every call under the same policy and per-guest
// limits. Call records come back in batches and are merged by time into the hub (trace-merge.ts).
// The same-host shortcut joins only guests of one worker; a connect to a guest listener in another worker
// goes through the host kernel like any other (the listener is a real host listener), subject to policy.
import type { Socket } from 'node:net';
import { decodeChunk, WIRE_VERSION, type ErrnoName, type GuestInfo } from '../../protocol';
import { PendingHellos } from '../channel/pending-hellos';
import type { BusyPollStats } from '../channel/busy-poll';
import type { ClockMapping } from '../guests/guest-clock';
import { FD_RESERVE, FdBudget } from '../fd-budget';
import { CallRate, listenForGuests, removeSocketFile } from '../guest-listeners';
import { resolveLimits } from '../limits';
import { SILENT } from '../log';
import { LogLimit } from '../log-limit';
import { Policy } from '../policy/policy';
import type { Counters } from '../sockets/session-context';
import { NO_TRACE } from '../trace/trace-sink';
import { peerCredentials } from '../../native/process-limits';
import type { DaemonOptions, DaemonStats, RunningDaemon } from '../running-daemon';
import { HelloReader, type FirstFrame } from './hello-reader';
import type { WorkerReport } from './messages';
import { TraceMerge } from './trace-merge';
import { WorkerPool } from './worker-pool';

/** How often the sink's on/off switch (bench --trace alternate) is read and passed on to the workers. */
const TRACING_POLL_MS = 50;
const PAST_GUESTS = 256;

export async function startWorkerDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const workers = options.workers ?? 2;
  if (!Number.isSafeInteger(workers) || workers < 1) throw new Error(`workers must be a positive integer, got ${String(workers)}`);
  const log = options.logger ?? SILENT;
  const limitedLog = new LogLimit(log);
  const limits = resolveLimits(options.limits);
  const policy = options.policy instanceof Policy ? options.policy : Policy.fromConfig(options.policy);
  const sink = options.trace ?? NO_TRACE;
  const run = options.run ?? '';
  const ownFds = !options.fds;
  const fds = options.fds ?? FdBudget.forProcess(log, FD_RESERVE);

  // ---- guest names: one table for every worker ----
  /** Granted names: who holds each (its peer), over what, since when (host ns). */
  const names = new Map<string, { peer: string; transport: GuestInfo['transport']; at: number }>();
  const perPeer = new Map<string, number>();
  const claim = (name: string, peer: string, transport: GuestInfo['transport']): ErrnoName | null => {
    if (names.has(name)) return 'EADDRINUSE';
    if (names.size >= limits.maxGuests || (perPeer.get(peer) ?? 0) >= limits.maxGuestsPerPeer) return 'ENFILE';
    names.set(name, { peer, transport, at: Number(process.hrtime.bigint()) });
    perPeer.set(peer, (perPeer.get(peer) ?? 0) + 1);
    return null;
  };
  const release = (name: string): void => {
    const peer = names.get(name)?.peer;
    if (peer === undefined) return;
    names.delete(name);
    const n = (perPeer.get(peer) ?? 1) - 1;
    if (n > 0) perPeer.set(peer, n);
    else perPeer.delete(peer);
  };

  // ---- what workers that are gone leave in the figures ----
  const retired: Counters = { calls: 0, bytes: 0, errors: 0, drops: 0 };
  const retiredPoll: BusyPollStats = { activity: 0, found: 0, crowded: 0, empty: 0 };
  const pastClocks = new Map<string, ClockMapping>();
  const pastDisorder = new Map<string, number>();
  const remember = <T>(m: Map<string, T>, from: Record<string, T>): void => {
    for (const [k, v] of Object.entries(from)) {
      m.delete(k);
      m.set(k, v);
      if (m.size > PAST_GUESTS) m.delete(m.keys().next().value as string);
    }
  };

  const merge = new TraceMerge(sink);
  const pool = new WorkerPool(workers, (id) => ({
    type: 'init', worker: id, limits, policy: policy.source, runtimeRules: policy.runtimeRules(), run,
    tracing: sink.enabled, busyPollUs: options.busyPollUs, sameHostShortcut: options.sameHostShortcut,
  }), log, {
    released: release,
    // A guest's last records are published before the figures that count its calls (records of other
    // guests still in the window leave too: a little order traded for counters and hub that agree).
    guestLeft: () => merge.drain(true),
    trace: (from, m) => {
      const { records, error } = m.chunk ? decodeChunk(m.chunk) : { records: [], error: null };
      // A worker's own encoding that does not decode is a bug; its records are counted as dropped, not lost silently.
      if (error) limitedLog.error('trace chunk from a worker does not decode', { worker: from.id, error: error.message });
      merge.add(records, m.dropped + (error ? Math.max(1, records.length) : 0));
    },
    retired: (last: WorkerReport | null) => {
      if (!last) return;
      for (const k of Object.keys(retired) as (keyof Counters)[]) retired[k] += last.counters[k];
      for (const k of Object.keys(retiredPoll) as (keyof BusyPollStats)[]) retiredPoll[k] += last.busyPoll[k];
      remember(pastClocks, last.clocks);
      remember(pastDisorder, last.disordered);
    },
  });
  try {
    await pool.ready();
  } catch (e) {
    await pool.stop();
    throw e;
  }
  const unwatch = policy.watchRuntime((runtimeRules) => pool.broadcast({ type: 'policy', runtimeRules }));
  let tracing = sink.enabled;
  const tracingPoll = setInterval(() => {
    if (sink.enabled === tracing) return;
    tracing = sink.enabled;
    pool.broadcast({ type: 'tracing', on: tracing });
  }, TRACING_POLL_MS);
  tracingPoll.unref();

  // ---- new connections: read the HELLO, judge the name, hand the socket on ----
  let closing = false;
  const pending = new PendingHellos<HelloReader>(limits.maxPendingHellosPerPeer, limits.maxPendingHellos);
  const readers = new Set<HelloReader>();
  const handOn = (transport: GuestInfo['transport']) => (r: HelloReader, f: FirstFrame): void => {
    pending.remove(r);
    readers.delete(r);
    const hello = f.first?.type === 'hello' && f.first.version === WIRE_VERSION ? f.first : null;
    const verdict = hello ? claim(hello.guest, r.peer, transport) : undefined;
    const slot = pool.pick();
    if (!slot || closing) {
      if (!closing) limitedLog.error('guest connection closed: no worker is running', { peer: r.peer });
      if (hello && verdict === null) release(hello.guest);
      r.socket.destroy();
      fds.give();
      return;
    }
    pool.hand(slot, { type: 'guest', transport, peer: r.peer, head: f.head, name: hello?.guest, verdict }, r.socket, (err) => {
      fds.give();
      if (err) {
        limitedLog.warn('guest connection lost on its way to a worker', { guest: hello?.guest ?? null, worker: slot.id, error: err.message });
        r.socket.destroy();
      }
    });
    if (hello) log.debug('guest handed to worker', { guest: hello.guest, worker: slot.id, pid: slot.child.pid, verdict: verdict ?? 'granted' });
  };
  const accept = (transport: GuestInfo['transport']) => (socket: Socket): void => {
    if (closing) return void socket.destroy();
    // Held here only until its HELLO is read; at the reserve a new guest is turned away.
    if (!fds.take()) {
      limitedLog.warn('guest connection refused', { reason: 'the daemon is at its descriptor limit', limit: fds.limit, reserve: fds.reserve });
      return void socket.destroy();
    }
    let peer: string;
    if (transport === 'unix') {
      const cred = peerCredentials(socket);
      peer = cred ? `uid:${cred.uid}` : 'uid:?';
    } else peer = `ip:${socket.remoteAddress ?? '?'}`;
    const r = new HelloReader(socket, peer, limits.maxFrame, handOn(transport), (x, why) => {
      pending.remove(x);
      readers.delete(x);
      fds.give();
      log.debug('guest connection closed before hello', { peer, reason: why });
    });
    readers.add(r);
    pending.add(r, peer);
  };

  let listeners;
  try {
    listeners = await listenForGuests(options, accept, log);
  } catch (e) {
    unwatch();
    clearInterval(tracingPoll);
    await pool.stop();
    throw e;
  }
  const { servers, guestPath, tcpAddress } = listeners;
  log.info('workers serving guests', { workers, pids: pool.pids() });

  const reports = (): WorkerReport[] => pool.slots.map((s) => s.report).filter((r): r is WorkerReport => r !== null);
  const rate = new CallRate();
  const stats = (): DaemonStats => {
    const c = { ...retired };
    let sockets = 0;
    for (const r of reports()) {
      for (const k of Object.keys(c) as (keyof Counters)[]) c[k] += r.counters[k];
      sockets += r.sockets;
    }
    return { ...c, callsPerSec: rate.perSec(c.calls), guests: names.size, sockets, tracing: sink.enabled };
  };
  const clocks = (): Record<string, ClockMapping> => Object.assign(Object.fromEntries(pastClocks), ...reports().map((r) => r.clocks)) as Record<string, ClockMapping>;

  return {
    guestPath,
    tcpAddress,
    // Who is connected is known here at once (names); their sockets as of each worker's last report.
    guests: () => {
      const reported = new Map(reports().flatMap((r) => r.guests.map((g) => [g.name, g] as const)));
      return [...names].map(([name, e]) => reported.get(name) ?? { name, transport: e.transport, connectedNs: e.at, sockets: [] });
    },
    stats,
    busyPoll() {
      const out = { ...retiredPoll, windowUs: 0 };
      for (const r of reports()) {
        for (const k of Object.keys(retiredPoll) as (keyof BusyPollStats)[]) out[k] += r.busyPoll[k];
        out.windowUs = Math.max(out.windowUs, r.busyPoll.windowUs);
      }
      return out;
    },
    clockErrors: () => Object.fromEntries(Object.entries(clocks()).map(([g, m]) => [g, m.errorNs])),
    clocks,
    disorderedRecords: () => Object.assign(Object.fromEntries(pastDisorder), ...reports().map((r) => r.disordered)) as Record<string, number>,
    workerPids: () => pool.pids(),
    async close() {
      if (closing) return;
      closing = true;
      unwatch();
      clearInterval(tracingPoll);
      const closed = servers.map((srv) => new Promise<void>((r) => srv.close(() => r())));
      for (const r of [...readers]) r.evict('daemon shutting down');
      await pool.stop();
      await Promise.all(closed);
      merge.close();
      removeSocketFile(guestPath);
      limitedLog.flush();
      if (ownFds) fds.stop();
      log.info('daemon stopped', { calls: stats().calls, workers });
    },
  };
}
