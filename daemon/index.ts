// linsockd's entry point for the rest of the project: start a delegation daemon in this process.
// The lab embeds it for `linsock bench`; cli.ts wraps it with the trace server for `npx linsockd`.
import { existsSync, unlinkSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import type { DaemonStatus, ErrnoName, GuestInfo } from '../protocol';
import { GuestSession, type GuestRegistry } from './guests/guest-session';
import { BusyPoll, DEFAULT_BUSY_POLL_US } from './channel/busy-poll';
import { deepenSendBuffer, sendBufferProblem } from './channel/send-buffer';
import { defaultGuestSocketPath, listenTcp, listenUnix, parseHostPort, type HostPort } from './channel/guest-listener';
import type { Counters } from './sockets/session-context';
import { resolveLimits, type Limits } from './limits';
import { SILENT, type Logger } from './log';
import { LogLimit } from './log-limit';
import { Policy, type PolicyConfig } from './policy/policy';
import { NO_TRACE, type TraceSink } from './trace/trace-sink';
import { SameHostTable } from './sockets/same-host-table';

export { DEFAULT_BUSY_POLL_US, MAX_BUSY_POLL_US } from './channel/busy-poll';
export { DEFAULT_LIMITS, resolveLimits, type Limits } from './limits';
export { Policy, type PolicyConfig, type PolicyRuleConfig } from './policy/policy';
export { jsonLogger, SILENT, type Logger, type LogLevel } from './log';
export { NO_TRACE, type TraceSink } from './trace/trace-sink';
export { defaultGuestSocketPath, parseHostPort, type HostPort } from './channel/guest-listener';
export { loadConfig, type DaemonConfig } from './config';
export { TraceHub, type TraceHubOptions } from './trace/trace-hub';
export { startTraceServer, type TraceServer, type TraceServerOptions } from './trace/trace-server';
export { defaultTokenFile } from './trace/token';
export { instanceName } from './instance';

/**
 * How long a stopping daemon lets each guest channel flush its goodbye. A guest that does not read (full
 * window) is cut after it: stopping must not wait on guests.
 */
const SHUTDOWN_GRACE_MS = 300;
/** Guests that left whose last clock error is still reported. */
const PAST_CLOCK_ERRORS = 256;
/** Connections beyond maxGuests that may wait for their HELLO at once. */
const PENDING_HELLO_SLACK = 16;

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
  const pastClockErrors = new Map<string, number>();
  let closing = false;
  const sameHost = options.sameHostShortcut === false ? null : new SameHostTable();
  const limitedLog = new LogLimit(log);

  const registry: GuestRegistry = {
    claim(name, s): ErrnoName | null {
      if (names.has(name)) return 'EADDRINUSE';
      if (names.size >= limits.maxGuests) return 'ENFILE';
      names.set(name, s);
      return null;
    },
    release(s) {
      if (names.get(s.guest) === s) names.delete(s.guest);
      const e = s.clockErrorNs;
      if (e !== null) {
        pastClockErrors.delete(s.guest);
        pastClockErrors.set(s.guest, e);
        if (pastClockErrors.size > PAST_CLOCK_ERRORS) pastClockErrors.delete(pastClockErrors.keys().next().value as string);
      }
    },
  };

  const busyPoll = new BusyPoll(options.busyPollUs ?? DEFAULT_BUSY_POLL_US);
  const accept = (transport: GuestInfo['transport']) => (socket: Socket): void => {
    // Connections that have not said hello count too, so that idle connects cannot pile up without bound.
    if (closing || sessions.size >= limits.maxGuests + PENDING_HELLO_SLACK) {
      if (!closing) limitedLog.warn('guest connection refused', { reason: 'too many connections', limit: limits.maxGuests });
      return void socket.destroy();
    }
    deepenSendBuffer(socket);
    const s = new GuestSession(socket, {
      transport, limits, policy, log, limitedLog, sink, run: options.run ?? '', counters, registry, sameHost, busyPoll,
      onClosed: (x) => sessions.delete(x),
    });
    sessions.add(s);
  };

  const servers: Server[] = [];
  let guestPath: string | null = null;
  let tcpAddress: HostPort | undefined;
  try {
    if (options.guestSocket !== null) {
      guestPath = options.guestSocket ?? defaultGuestSocketPath();
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

  return {
    guestPath,
    tcpAddress,
    guests: () => [...sessions].filter((s) => s.guest !== '' && !s.isClosed()).map((s) => s.info()),
    stats,
    clockErrors() {
      const out: Record<string, number> = Object.fromEntries(pastClockErrors);
      for (const [name, s] of names) {
        const e = s.clockErrorNs;
        if (e !== null) out[name] = e;
      }
      return out;
    },
    async close() {
      if (closing) return;
      closing = true;
      const closed = servers.map((srv) => new Promise<void>((r) => srv.close(() => r())));
      for (const s of [...sessions]) s.shut('daemon shutting down', null, true, 0, SHUTDOWN_GRACE_MS);
      await Promise.all(closed);
      if (guestPath && existsSync(guestPath)) {
        try {
          unlinkSync(guestPath);
        } catch {
          // removed by someone else
        }
      }
      limitedLog.flush();
      log.info('daemon stopped', { calls: counters.calls });
    },
  };
}
