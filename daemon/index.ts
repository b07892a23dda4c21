// linsockd's entry point for the rest of the project: start a delegation daemon in this process.
// The lab embeds it for `linsock bench`; cli.ts wraps it with the trace server for `npx linsockd`.
import { existsSync, unlinkSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import type { DaemonStatus, ErrnoName, GuestInfo } from '../protocol';
import { GuestSession, type GuestRegistry } from './guests/guest-session';
import type { ClockMapping } from './guests/guest-clock';
import { BusyPoll, DEFAULT_BUSY_POLL_US, type BusyPollStats } from './channel/busy-poll';
import { deepenSendBuffer, sendBufferProblem } from './channel/send-buffer';
import { defaultGuestSocketPath, listenTcp, listenUnix, parseHostPort, type HostPort } from './channel/guest-listener';
import type { Counters } from './sockets/session-context';
import { resolveLimits, type Limits } from './limits';
import { SILENT, type Logger } from './log';
import { LogLimit } from './log-limit';
import { Policy, type PolicyConfig } from './policy/policy';
import { NO_TRACE, type TraceSink } from './trace/trace-sink';
import { SameHostTable } from './sockets/same-host-table';
import { FD_RESERVE, FdBudget } from './fd-budget';
import { PendingHellos } from './channel/pending-hellos';
import { peerCredentials } from '../native/process-limits';
import { sideSocketPath } from '../protocol';
import { listenShmSide } from './channel/shm-side';

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

/** Guest connections past the descriptor budget that are still answered (ENFILE) rather than cut off. */
const MAX_OVERDRAFT = 8;
/**
 * How long a stopping daemon lets each guest channel flush its goodbye. A guest that does not read (full
 * window) is cut after it: stopping must not wait on guests.
 */
const SHUTDOWN_GRACE_MS = 300;
/** Guests that left whose last clock error is still reported. */
const PAST_CLOCK_ERRORS = 256;

export interface DaemonOptions {
  /** Unix socket for guests; defaults to defaultGuestSocketPath(); null for none. */
  guestSocket?: string | null;
  /** Also listen for guests on TCP: `HOST:PORT` or {host, port}; port 0 picks a free one. */
  guestTcp?: string | HostPort;
  /** Policy rules (or a compiled Policy); the defaults apply without. */
  policy?: PolicyConfig | Policy;
  limits?: Partial<Limits>;
  /** Where call records go; NO_TRACE (tracing off) when absent. */
  trace?: TraceSink;
  logger?: Logger;
  /** Microseconds to keep polling after guest activity (see busy-poll.ts); 0 turns it off. */
  busyPollUs?: number;
  /** The run id stamped into call records. */
  run?: string;
  /**
   * Join a guest's connect to another guest's listener of this daemon in-process, without host kernel
   * sockets (default true). Off, such connections go through the host's loopback like any other.
   */
  sameHostShortcut?: boolean;
  /** Offer guests on the Unix socket the shared-memory channel (default true; it needs the linsock_shm addon). */
  sharedMemory?: boolean;
  /**
   * The process's descriptor budget, shared when one process hosts more (the trace server keeps its own
   * connections within the budget's reserve); made here (raising the soft limit) when absent.
   */
  fds?: FdBudget;
}

export type DaemonStats = Pick<DaemonStatus, 'calls' | 'callsPerSec' | 'bytes' | 'errors' | 'drops' | 'guests' | 'sockets' | 'tracing'>;

export interface RunningDaemon {
  /** The Unix socket guests connect to, or null when there is none. */
  guestPath: string | null;
  tcpAddress?: HostPort;
  guests(): GuestInfo[];
  stats(): DaemonStats;
  /**
   * Estimated error (ns) of each guest's clock mapped onto the host's, for RunInfo.clockErrorNs: 0 for
   * guests on this host's clock. Connected guests, and the last value of guests that left (bounded).
   */
  clockErrors(): Record<string, number>;
  /**
   * Each guest's clock mapping (offset added to its stamps, and its error bound), for RunInfo.clockOffsetNs
   * and clockErrorNs: connected guests, and the last value of guests that left (bounded). Every guest is
   * mapped through its probes; none is assumed to share the host's clock.
   */
  clocks(): Record<string, ClockMapping>;
  /** Trace records published with stamps that disagree beyond their guest's clock error, per guest. */
  disorderedRecords(): Record<string, number>;
  /** What busy polling did with guest activity so far, and the window it opens now (µs). */
  busyPoll(): BusyPollStats & { windowUs: number };
  /** Stops accepting, says goodbye to every guest, closes every host socket. */
  close(): Promise<void>;
}

export async function startDaemon(options: DaemonOptions = {}): Promise<RunningDaemon> {
  const log = options.logger ?? SILENT;
  const limits = resolveLimits(options.limits);
  const policy = options.policy instanceof Policy ? options.policy : Policy.fromConfig(options.policy);
  const sink = options.trace ?? NO_TRACE;
  const counters: Counters = { calls: 0, bytes: 0, errors: 0, drops: 0 };
  const sessions = new Set<GuestSession>();
  const names = new Map<string, GuestSession>();
  const pastClocks = new Map<string, ClockMapping>();
  const pastDisorder = new Map<string, number>();
  let closing = false;
  const sameHost = options.sameHostShortcut === false ? null : new SameHostTable();
  const limitedLog = new LogLimit(log);
  const ownFds = !options.fds;
  const fds = options.fds ?? FdBudget.forProcess(log, FD_RESERVE);
  // A single guest cannot hold more than the process can give; several guests meet the budget first.
  if (limits.maxSockets > fds.available) {
    log.warn('maxSockets lowered to the descriptor budget', { maxSockets: limits.maxSockets, available: fds.available, limit: fds.limit, reserve: fds.reserve });
    limits.maxSockets = Math.max(1, fds.available);
  }
  /** Guest connections accepted beyond the budget only to be told ENFILE (see accept). */
  let overdraft = 0;
  const overdrawnSessions = new WeakSet<GuestSession>();
  const pending = new PendingHellos<GuestSession>(limits.maxPendingHellosPerPeer, limits.maxPendingHellos);
  const perPeer = new Map<string, number>();

  const registry: GuestRegistry = {
    claim(name, s): ErrnoName | null {
      pending.remove(s);
      if (overdrawnSessions.has(s)) return 'ENFILE';
      if (names.has(name)) return 'EADDRINUSE';
      if (names.size >= limits.maxGuests || (perPeer.get(s.peer) ?? 0) >= limits.maxGuestsPerPeer) return 'ENFILE';
      names.set(name, s);
      perPeer.set(s.peer, (perPeer.get(s.peer) ?? 0) + 1);
      return null;
    },
    release(s) {
      if (names.get(s.guest) === s) {
        names.delete(s.guest);
        const n = (perPeer.get(s.peer) ?? 1) - 1;
        if (n > 0) perPeer.set(s.peer, n);
        else perPeer.delete(s.peer);
      }
      const m = s.clockMapping;
      if (m !== null) {
        pastClocks.delete(s.guest);
        pastClocks.set(s.guest, m);
        if (pastClocks.size > PAST_CLOCK_ERRORS) pastClocks.delete(pastClocks.keys().next().value as string);
      }
      pastDisorder.delete(s.guest);
      pastDisorder.set(s.guest, s.disorderedRecords);
      if (pastDisorder.size > PAST_CLOCK_ERRORS) pastDisorder.delete(pastDisorder.keys().next().value as string);
    },
  };

  const busyPoll = new BusyPoll(options.busyPollUs ?? DEFAULT_BUSY_POLL_US);
  const accept = (transport: GuestInfo['transport']) => (socket: Socket): void => {
    if (closing) return void socket.destroy();
    // The channel's own descriptor comes out of the budget; at the reserve a new guest is turned away
    // (its connection closed) while the listener, the trace server and /metrics keep theirs.
    let overdrawn = false;
    if (!fds.take()) {
      limitedLog.warn('guest connection refused', { reason: 'the daemon is at its descriptor limit', limit: fds.limit, reserve: fds.reserve });
      // A few such guests are still answered (ENFILE to their HELLO) out of the reserve; beyond, cut off.
      if (overdraft >= MAX_OVERDRAFT) return void socket.destroy();
      overdraft++;
      overdrawn = true;
    }
    socket.once('close', () => (overdrawn ? overdraft-- : fds.give()));
    socket.on('error', () => undefined);
    let peer: string;
    let shmPeerPid = 0;
    if (transport === 'unix') {
      const cred = peerCredentials(socket);
      peer = cred ? `uid:${cred.uid}` : 'uid:?';
      if (shmSide && cred) shmPeerPid = cred.pid;
    } else peer = `ip:${socket.remoteAddress ?? '?'}`;
    deepenSendBuffer(socket);
    const s = new GuestSession(socket, {
      transport, peer, limits, policy, log, limitedLog, sink, run: options.run ?? '', counters, registry, sameHost, busyPoll, fds, shmPeerPid,
      onClosed: (x) => {
        sessions.delete(x);
        pending.remove(x);
      },
    });
    sessions.add(s);
    if (overdrawn) overdrawnSessions.add(s);
    if (!s.isClosed()) pending.add(s, peer);
  };

  const servers: Server[] = [];
  let guestPath: string | null = null;
  let tcpAddress: HostPort | undefined;
  let shmSide: Server | null = null;
  try {
    if (options.guestSocket !== null) {
      guestPath = options.guestSocket ?? defaultGuestSocketPath();
      // The side socket first: a guest is offered shared memory only while it listens.
      if (options.sharedMemory !== false) {
        shmSide = await listenShmSide(sideSocketPath(guestPath), (guest, pid, region, bell) => {
          const s = names.get(guest);
          return s ? s.attachShm(pid, region, bell) : `no guest named '${guest}' is connected`;
        }, log);
        if (shmSide) servers.push(shmSide);
      }
      servers.push(await listenUnix(guestPath, accept('unix')));
    }
    if (options.guestTcp !== undefined) {
      const at = typeof options.guestTcp === 'string' ? parseHostPort(options.guestTcp) : options.guestTcp;
      const t = await listenTcp(at, accept('tcp'));
      servers.push(t.server);
      tcpAddress = t.address;
    }
  } catch (e) {
    for (const s of servers) s.close();
    throw e;
  }
  // Accept errors (EMFILE when the host runs out of descriptors) must not bring the daemon down.
  for (const srv of servers) srv.on('error', (err) => log.error('guest channel accept failed', { error: err.message }));
  log.info('guest channel listening', { unix: guestPath, tcp: tcpAddress ? `${tcpAddress.host}:${tcpAddress.port}` : null });
  const bufferProblem = sendBufferProblem();
  if (bufferProblem) log.warn('guest channels keep the kernel\'s default send buffer; pushed bulk data runs slower', { reason: bufferProblem });

  let lastCalls = 0;
  let lastAt = Date.now();
  let rate = 0;
  const stats = (): DaemonStats => {
    const now = Date.now();
    if (now - lastAt >= 1000) {
      rate = ((counters.calls - lastCalls) * 1000) / (now - lastAt);
      lastCalls = counters.calls;
      lastAt = now;
    }
    let sockets = 0;
    for (const s of sessions) sockets += s.socketCount;
    return { ...counters, callsPerSec: Math.round(rate), guests: names.size, sockets, tracing: sink.enabled };
  };

  const clocks = (): Record<string, ClockMapping> => {
    const out: Record<string, ClockMapping> = Object.fromEntries(pastClocks);
    for (const [name, s] of names) {
      const m = s.clockMapping;
      if (m !== null) out[name] = m;
    }
    return out;
  };

  return {
    guestPath,
    tcpAddress,
    guests: () => [...sessions].filter((s) => s.guest !== '' && !s.isClosed()).map((s) => s.info()),
    stats,
    busyPoll: () => ({ ...busyPoll.stats(), windowUs: busyPoll.windowUs }),
    clockErrors() {
      return Object.fromEntries(Object.entries(clocks()).map(([g, m]) => [g, m.errorNs]));
    },
    clocks,
    disorderedRecords() {
      const out: Record<string, number> = Object.fromEntries(pastDisorder);
      for (const [name, s] of names) out[name] = s.disorderedRecords;
      return out;
    },
    async close() {
      if (closing) return;
      closing = true;
      const closed = servers.map((srv) => new Promise<void>((r) => srv.close(() => r())));
      for (const s of [...sessions]) s.shut('daemon shutting down', null, true, 0, SHUTDOWN_GRACE_MS);
      await Promise.all(closed);
      for (const path of guestPath ? [guestPath, ...(shmSide ? [sideSocketPath(guestPath)] : [])] : []) {
        if (!existsSync(path)) continue;
        try {
          unlinkSync(path);
        } catch {
          // removed by someone else
        }
      }
      limitedLog.flush();
      if (ownFds) fds.stop();
      log.info('daemon stopped', { calls: counters.calls });
    },
  };
}
