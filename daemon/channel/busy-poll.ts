// Busy polling after activity, as vhost-net's busyloop_timeout and SO_BUSY_POLL do: for a short window
// after a guest's frames the event loop keeps polling (epoll with a zero timeout) instead of sleeping, so
// the host socket's answer and the guest's next request find the daemon awake. On a virtual machine a
// sleep and a cross-CPU wake-up cost tens of microseconds each, which a request/response exchange through
// the daemon pays twice more than a direct one. The window is reopened by activity only: an idle daemon
// sleeps, a busy one spends up to one CPU on polling (0 turns it off). Bulk transfers do not gain from it
// (their data is pipelined, nobody waits for an answer) and the polling CPU is taken from the guests and
// the host's peers: chunks of bulk data keep the daemon from polling for a while (bulk()).
//
// Polling must never make a busy machine worse, so by default it adapts (LINSOCK_BUSY_POLL=fixed turns
// that off, for comparisons):
// - Like KVM's halt polling, the window follows what polling finds: when the guest comes back within the
//   longest window after a window ran out, polling a little longer would have caught it, and the window
//   doubles; when it comes back later than that, the window was spent for nothing, and it halves, down to
//   nothing. A guest that thinks between its requests, or whose peers wait for a CPU, stops the polling.
// - It does not poll while more tasks are runnable than there are CPUs (/proc/loadavg's running count,
//   read at most every LOAD_SAMPLE_NS): a spinning daemon would then take a CPU from a task that has work,
//   and the scheduler would treat the daemon as a CPU hog when its next wake-up comes.

import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';

/** Microseconds the daemon keeps polling after a guest's frames (linsockd --busy-poll-us). */
export const DEFAULT_BUSY_POLL_US = 200;
/** A longer window is no longer a poll after activity but a spinning daemon. */
export const MAX_BUSY_POLL_US = 10_000;
/** A channel read or write at least this large is bulk data. */
export const BULK_BYTES = 32 * 1024;
/** After bulk data, activity starts no polling for this long. */
const BULK_QUIET_NS = 20e6;
/** The adaptive window grows from nothing to this first, then doubles. */
const GROW_FROM_NS = 10_000;
/** How long a reading of the machine's runnable count holds. */
const LOAD_SAMPLE_NS = 5e6;

export type BusyPollPolicy = 'adaptive' | 'fixed';

export interface BusyPollOptions {
  /** `adaptive` (the default, or LINSOCK_BUSY_POLL) or `fixed`: always the whole window. */
  policy?: BusyPollPolicy;
  /** Tasks runnable on the machine now, the reader included; /proc/loadavg's by default. */
  runnable?: () => number | null;
  /** The machine's CPUs. */
  cpus?: number;
}

/** The policy LINSOCK_BUSY_POLL names; adaptive when unset. */
export function policyFromEnv(env: NodeJS.ProcessEnv = process.env): BusyPollPolicy {
  const v = env.LINSOCK_BUSY_POLL;
  if (v === undefined || v === '' || v === 'adaptive') return 'adaptive';
  if (v === 'fixed') return 'fixed';
  throw new Error(`LINSOCK_BUSY_POLL must be adaptive or fixed, got '${v}'`);
}

/** The running count of /proc/loadavg ("R/T", 4th field), which includes the reader; null without it. */
export function runnableTasks(): number | null {
  try {
    const field = readFileSync('/proc/loadavg', 'latin1').split(' ')[3];
    const n = Number(field?.split('/')[0]);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

export class BusyPoll {
  private readonly maxNs: number;
  private readonly adaptive: boolean;
  private readonly runnable: () => number | null;
  private readonly cpus: number;
  /** The window activity opens now: the longest one when fixed. */
  private windowNs: number;
  private until = 0;
  private quietUntil = 0;
  private polling = false;
  /** When the last window ran out (0: none since the last activity that found the daemon polling). */
  private expiredAt = 0;
  private loadReadAt = -Infinity;
  private crowded = false;
  private readonly tick = (): void => {
    const now = Number(process.hrtime.bigint());
    if (now < this.until && !this.overloaded(now)) {
      setImmediate(this.tick);
      return;
    }
    this.polling = false;
    this.expiredAt = now;
  };

  constructor(windowUs: number, options: BusyPollOptions = {}) {
    this.maxNs = windowUs * 1000;
    this.windowNs = this.maxNs;
    this.adaptive = (options.policy ?? policyFromEnv()) === 'adaptive';
    this.runnable = options.runnable ?? runnableTasks;
    this.cpus = options.cpus ?? availableParallelism();
  }

  /** Whether the loop is being kept polling now. */
  get active(): boolean {
    return this.polling;
  }

  /** The window activity opens now, in µs (it moves only when adaptive). */
  get windowUs(): number {
    return this.windowNs / 1000;
  }

  /** Activity at `nowNs`: keep polling until the window after it has passed. */
  touch(nowNs: number): void {
    if (this.maxNs <= 0 || nowNs < this.quietUntil) return;
    if (this.polling) {
      this.until = nowNs + this.windowNs;
      return;
    }
    if (this.adaptive) {
      this.adapt(nowNs);
      if (this.windowNs <= 0 || this.overloaded(nowNs)) {
        // An empty window ends now: activity soon after it grows the window again.
        this.expiredAt = nowNs;
        return;
      }
    }
    this.until = nowNs + this.windowNs;
    this.polling = true;
    setImmediate(this.tick);
  }

  /** Bulk data moved at `nowNs`: stop polling, and let activity start it again only after a quiet while. */
  bulk(nowNs: number): void {
    this.quietUntil = nowNs + BULK_QUIET_NS;
    this.until = 0;
    this.expiredAt = 0;
  }

  /** Activity found the daemon asleep: was the last window too short, or spent for nothing? */
  private adapt(nowNs: number): void {
    if (this.expiredAt === 0) return;
    const late = nowNs - this.expiredAt;
    this.expiredAt = 0;
    if (late <= this.maxNs) this.windowNs = Math.min(this.maxNs, this.windowNs === 0 ? Math.min(GROW_FROM_NS, this.maxNs) : this.windowNs * 2);
    else this.windowNs = this.windowNs / 2 < GROW_FROM_NS ? 0 : this.windowNs / 2;
  }

  /** More tasks runnable than CPUs (the daemon included), read at most every LOAD_SAMPLE_NS. */
  private overloaded(nowNs: number): boolean {
    if (!this.adaptive) return false;
    if (nowNs - this.loadReadAt >= LOAD_SAMPLE_NS) {
      this.loadReadAt = nowNs;
      const n = this.runnable();
      this.crowded = n !== null && n > this.cpus;
    }
    return this.crowded;
  }
}
