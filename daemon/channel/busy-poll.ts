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
// - Like KVM's halt polling, the window follows what polling finds: when activity comes back within the
//   longest window after a window ran out, polling a little longer would have caught it, and the window
//   doubles; when it comes back later than that, the window was spent for nothing, and it halves, down to
//   nothing. A guest that thinks between its requests, or whose peers wait for a CPU, stops the polling.
// - Activity is both directions of the channel: a guest's frames (read) and the daemon's answers (wrote).
//   Counting only the guest's frames judged the window by a whole round trip, which includes the daemon's
//   own sleep on the host's answer: on an idle machine a round trip without polling (about 220 µs) is
//   longer than the window (200 µs), so once the spaced frames of a guest's start had halved the window to
//   nothing it never grew back, and the delegated rr round trip doubled. Each half (request to answer,
//   answer to next request) is short whether or not the daemon polled, so the window can always grow back.
// - It does not poll while more tasks are runnable than there are CPUs (/proc/loadavg's running count,
//   read at most every LOAD_SAMPLE_NS): a spinning daemon would then take a CPU from a task that has work,
//   and the scheduler would treat the daemon as a CPU hog when its next wake-up comes. That count is one
//   instant's: on a busy machine it now and then reads low, and a poll that then starts spins against the
//   machine's work. So the polling loop also watches itself: a turn that comes PREEMPTED_NS or more after
//   the last one means the daemon lost its CPU to another task, and it does not poll for CROWDED_HOLD_NS.

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
/**
 * A polling turn this long after the last one was not the daemon's own work: it lost its CPU. Shorter gaps
 * are not evidence: on an idle 2-core machine a spinning daemon, its guest and the host's peer share the
 * CPUs for moments, and at 500 µs the check stopped most polls there (rr found the daemon awake 28–35% of
 * the time, 212–225 µs against 126–136 fixed; at 2 ms: 53–73%, 146–184 µs). A scheduler slice on a busy
 * machine is milliseconds long, so real preemption still shows.
 */
const PREEMPTED_NS = 2_000_000;
/** After losing its CPU while polling, the daemon does not poll for this long. */
const CROWDED_HOLD_NS = 50e6;

function hostNowNs(): number {
  return Number(process.hrtime.bigint());
}

export type BusyPollPolicy = 'adaptive' | 'fixed';

export interface BusyPollOptions {
  /** `adaptive` (the default, or LINSOCK_BUSY_POLL) or `fixed`: always the whole window. */
  policy?: BusyPollPolicy;
  /** Tasks runnable on the machine now, the reader included; /proc/loadavg's by default. */
  runnable?: () => number | null;
  /** The machine's CPUs. */
  cpus?: number;
  /** Monotonic ns the polling loop checks its window against; the host's clock by default (tests step it). */
  now?: () => number;
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

/** What the poll did with activity since it was made; a benchmark reports it (a poll that never engages shows). */
export interface BusyPollStats {
  /** Reads and writes of small frames outside a bulk quiet while. */
  activity: number;
  /** Activity that found the daemon polling already: the wake-up polling exists to save. */
  found: number;
  /** Activity that started no polling because the machine was crowded (more runnable tasks than CPUs, or the daemon lost its CPU while polling). */
  crowded: number;
  /** Activity that started no polling because the adaptive window had shrunk to nothing. */
  empty: number;
}

export class BusyPoll {
  private readonly counts: BusyPollStats = { activity: 0, found: 0, crowded: 0, empty: 0 };
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
  /** When the polling loop last ran (preemption shows as a long gap). */
  private lastTurn = 0;
  /** Until when the daemon does not poll because it lost its CPU while polling. */
  private preemptedUntil = 0;
  private readonly now: () => number;
  private readonly tick = (): void => {
    const now = this.now();
    if (this.adaptive && now - this.lastTurn >= PREEMPTED_NS) this.preemptedUntil = now + CROWDED_HOLD_NS;
    this.lastTurn = now;
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
    this.now = options.now ?? hostNowNs;
  }

  /** Whether the loop is being kept polling now. */
  get active(): boolean {
    return this.polling;
  }

  /** The window activity opens now, in µs (it moves only when adaptive). */
  get windowUs(): number {
    return this.windowNs / 1000;
  }

  /** Counts so far (a copy). */
  stats(): BusyPollStats {
    return { ...this.counts };
  }

  /** A read of `bytes` from a guest's channel at `nowNs`: activity, or bulk data when large. */
  read(bytes: number, nowNs: number): void {
    if (bytes >= BULK_BYTES) this.bulk(nowNs);
    else this.touch(nowNs);
  }

  /** A write of `bytes` to a guest's channel at `nowNs`: its next request may follow; bulk data when large. */
  wrote(bytes: number, nowNs: number): void {
    this.read(bytes, nowNs);
  }

  /** Activity at `nowNs`: keep polling until the window after it has passed. */
  touch(nowNs: number): void {
    if (this.maxNs <= 0 || nowNs < this.quietUntil) return;
    this.counts.activity++;
    if (this.polling) {
      this.counts.found++;
      this.until = nowNs + this.windowNs;
      return;
    }
    if (this.adaptive) {
      this.adapt(nowNs);
      const empty = this.windowNs <= 0;
      if (empty || this.overloaded(nowNs)) {
        if (empty) this.counts.empty++;
        else this.counts.crowded++;
        // An empty window ends now: activity soon after it grows the window again.
        this.expiredAt = nowNs;
        return;
      }
    }
    this.until = nowNs + this.windowNs;
    this.polling = true;
    this.lastTurn = nowNs;
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

  /** Lost its CPU lately, or more tasks runnable than CPUs (the daemon included, read at most every LOAD_SAMPLE_NS). */
  private overloaded(nowNs: number): boolean {
    if (!this.adaptive) return false;
    if (nowNs < this.preemptedUntil) return true;
    if (nowNs - this.loadReadAt >= LOAD_SAMPLE_NS) {
      this.loadReadAt = nowNs;
      const n = this.runnable();
      this.crowded = n !== null && n > this.cpus;
    }
    return this.crowded;
  }
}
