// The daemon's clock for trace stamps: CLOCK_MONOTONIC in ns, the clock the guest runtime stamps with too.

/** Monotonic nanoseconds as a JS number (exact for about 104 days of uptime). */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}
