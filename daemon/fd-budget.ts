// The process's file descriptors as a budget. At start the soft RLIMIT_NOFILE is raised to the hard one
// (native/process-limits.c); a reserve is kept for what must keep working when guests have used the rest:
// the guest listener's accepts, the trace server and its /metrics, log and /proc reads. Guest channels and
// guest host sockets take from the budget and are refused (EMFILE to that guest, a closed connection for a
// new channel) before the process itself runs out. What the budget does not count itself (connections
// waiting in a listener's queue, libuv's own) is measured: the open descriptors are recounted from
// /proc/self/fd every second and the difference is carried as a baseline.
import { readdirSync, readFileSync } from 'node:fs';
import { raiseFileLimit } from '../native/process-limits';
import type { Logger } from './log';

/** Descriptors kept back for the listener, the trace server (its 64 connections at most), logs and /proc. */
export const FD_RESERVE = 128;
const REMEASURE_MS = 1000;

/** The soft descriptor limit from /proc/self/limits, when the addon cannot tell it. */
function softLimitFromProc(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m && m[1] !== 'unlimited' ? Number(m[1]) : 1024;
  } catch {
    return 1024;
  }
}

function openDescriptors(): number | null {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return null; // out of descriptors right now, or no /proc: keep the last measure
  }
}

export class FdBudget {
  private counted = 0;
  private baseline: number;
  private timer: NodeJS.Timeout | null = null;

  /** `limit`: the process's descriptor limit; `reserve` of it is never handed out; `extra` more are kept for the trace server. */
  constructor(readonly limit: number, readonly reserve: number) {
    this.baseline = openDescriptors() ?? 0;
  }

  /** Raises the soft limit, logs the outcome, and starts remeasuring; stop() ends that. */
  static forProcess(log: Logger, reserve: number): FdBudget {
    const r = raiseFileLimit();
    let limit: number;
    if (typeof r === 'string') {
      limit = softLimitFromProc();
      log.warn('descriptor limit not raised', { reason: r, limit });
    } else {
      limit = Number.isFinite(r.soft) ? r.soft : 1 << 20;
      log.info('descriptor limit', { soft: r.soft, hard: r.hard });
    }
    const b = new FdBudget(limit, reserve);
    b.timer = setInterval(() => b.remeasure(), REMEASURE_MS);
    b.timer.unref();
    return b;
  }

  /** Descriptors that may still be taken. */
  get available(): number {
    return Math.max(0, this.limit - this.reserve - this.baseline - this.counted);
  }

  /** Descriptors the budget counts itself (guest channels and sockets). */
  get inUse(): number {
    return this.counted;
  }

  /** Takes `n` descriptors; false (nothing taken) when that would cut into the reserve. */
  take(n = 1): boolean {
    if (this.available < n) {
      // The baseline may be stale (connections gone since the last measure): look once more.
      this.remeasure();
      if (this.available < n) return false;
    }
    this.counted += n;
    return true;
  }

  give(n = 1): void {
    this.counted = Math.max(0, this.counted - n);
  }

  /** Recounts open descriptors; what the budget did not count itself is the baseline. */
  remeasure(): void {
    const open = openDescriptors();
    if (open !== null) this.baseline = Math.max(0, open - this.counted);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** A budget that never refuses, for tests of other things. */
export const UNLIMITED_FDS = (): FdBudget => new FdBudget(Number.MAX_SAFE_INTEGER, 0);
