// A delegated row's `busy_poll`: what the bench's own daemon's busy polling did over one path's run, from
// its counters before and after. It shows a poll that never engages (the idle rr regression of the
// adaptive window: found near 0 with the window empty) whatever the latency did on a shared machine.

import type { BusyPollStats } from '../../daemon';
import type { BusyPollFigures } from '../../protocol';

export type BusyPollReading = BusyPollStats & { windowUs: number };

function pct(part: number, whole: number): number | null {
  return whole > 0 ? Math.round((1000 * part) / whole) / 10 : null;
}

/** The figures of the span between two readings of one daemon's counters. */
export function busyPollFigures(before: BusyPollReading, after: BusyPollReading): BusyPollFigures {
  const activity = after.activity - before.activity;
  return {
    activity,
    found_pct: pct(after.found - before.found, activity),
    crowded_pct: pct(after.crowded - before.crowded, activity),
    empty_pct: pct(after.empty - before.empty, activity),
    window_us: after.windowUs,
  };
}
