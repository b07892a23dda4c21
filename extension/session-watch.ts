// The daemon connection's watch over one session: the hello deadline, the heartbeat that notices a silent
// daemon, and the health timer after which the backoff starts over. Its own file because these timers and
// when they fire are one policy, apart from sending requests and reading messages (daemon-connection.ts).

import type { ConnectionOptions } from './connection-types';
import type { Timers } from './frame-pacer';

export type WatchOptions = Pick<ConnectionOptions, 'helloTimeoutMs' | 'heartbeatMs' | 'heartbeatTimeoutMs' | 'healthyAfterMs'>;

export class SessionWatch {
  /** When the current session last heard from the daemon (any message or pong), and when it said hello. */
  heardAt = 0;
  private helloAt = 0;
  private helloTimer: unknown = null;
  private heartbeatTimer: unknown = null;
  private healthTimer: unknown = null;

  constructor(
    private readonly timers: Timers,
    private readonly o: WatchOptions,
  ) {}

  /** The socket opened: hears from it now, and calls `missing` unless its hello arrives in time. */
  expectHello(missing: () => void): void {
    this.heardAt = this.timers.now();
    this.helloTimer = this.timers.setTimeout(missing, this.o.helloTimeoutMs ?? 5000);
  }

  /** A hello arrived: its deadline is over. */
  helloArrived(): void {
    if (this.helloTimer !== null) this.timers.clearTimeout(this.helloTimer);
    this.helloTimer = null;
  }

  /** The hello was accepted: the session counts as heard from now on. */
  greeted(): void {
    this.helloAt = this.heardAt = this.timers.now();
  }

  /**
   * Pings while the session is up (`live`); a session that heard nothing for the timeout ends through
   * `silent` (given how long it was silent, ms).
   */
  heartbeat(live: () => boolean, ping: () => void, silent: (ms: number) => void): void {
    const every = this.o.heartbeatMs ?? 5000;
    const timeout = this.o.heartbeatTimeoutMs ?? 15_000;
    this.heartbeatTimer = this.timers.setTimeout(() => {
      this.heartbeatTimer = null;
      if (!live()) return;
      const quiet = this.timers.now() - this.heardAt;
      if (quiet > timeout) return silent(quiet);
      ping();
      this.heartbeat(live, ping, silent);
    }, every);
  }

  /** Once the session stayed up long enough and the daemon was heard after hello, calls `healthy`. */
  watchHealth(live: () => boolean, healthy: () => void): void {
    this.healthTimer = this.timers.setTimeout(() => {
      this.healthTimer = null;
      if (!live()) return;
      if (this.heardAt > this.helloAt) healthy();
      else this.watchHealth(live, healthy);
    }, this.o.healthyAfterMs ?? 10_000);
  }

  stop(): void {
    for (const t of [this.helloTimer, this.heartbeatTimer, this.healthTimer]) if (t !== null) this.timers.clearTimeout(t);
    this.helloTimer = this.heartbeatTimer = this.healthTimer = null;
  }
}
