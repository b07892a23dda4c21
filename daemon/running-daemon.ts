// What startDaemon takes and gives back, for both forms of the daemon: one process (index.ts) and a main
// process with workers (workers/worker-daemon.ts).
import type { DaemonStatus, GuestInfo } from '../protocol';
import type { ClockMapping } from './guests/guest-clock';
import type { BusyPollStats } from './channel/busy-poll';
import type { HostPort } from './channel/guest-listener';
import type { Limits } from './limits';
import type { Logger } from './log';
import type { Policy, PolicyConfig } from './policy/policy';
import type { TraceSink } from './trace/trace-sink';
import type { FdBudget } from './fd-budget';

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
  /**
   * Offer guests on the Unix socket the shared-memory channel (default true; it needs the linsock_shm addon).
   * A single-process daemon only: with workers, guests stay on the socket channel.
   */
  sharedMemory?: boolean;
  /**
   * The process's descriptor budget, shared when one process hosts more (the trace server keeps its own
   * connections within the budget's reserve); made here (raising the soft limit) when absent.
   */
  fds?: FdBudget;
  /**
   * Worker processes that serve the guests (`linsockd --workers W`, workers/): 1 (the default here) serves
   * every guest in this process's event loop, as linsockd always did; W > 1 keeps the listeners, HELLO limits
   * and the trace hub here and spreads guest sessions over W child processes. The policy must then be given
   * as a config or a Policy made by Policy.fromConfig (its rules are sent to the workers).
   */
  workers?: number;
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
  /** The worker processes serving guests now (empty with one worker: this process serves them). */
  workerPids(): number[];
  /** Stops accepting, says goodbye to every guest, closes every host socket. */
  close(): Promise<void>;
}

