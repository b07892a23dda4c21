// Which calls match the search and filter: a mask per slot (1 = match), kept up to date incrementally
// as calls are appended, so dimming costs nothing per frame.

import type { ViewerState } from '../protocol/webview-messages';
import { OPS, PATHS } from '../protocol/trace';
import type { CallStore } from './call-store';

export type CallFilter = ViewerState['filter'];

export const EMPTY_FILTER: CallFilter = { text: '', op: '', guest: '', path: '', result: '', minDurationUs: 0, socket: '' };

export function isActive(f: CallFilter): boolean {
  return !!(f.text.trim() || f.op || f.guest || f.path || f.result || f.minDurationUs > 0 || f.socket);
}

/** Compiles a filter into a predicate over slots of `store`. */
function compile(f: CallFilter, store: CallStore): (slot: number) => boolean {
  const op = f.op ? OPS.indexOf(f.op as (typeof OPS)[number]) : -1;
  const path = f.path ? PATHS.indexOf(f.path as (typeof PATHS)[number]) : -1;
  const socket = f.socket ? Number(f.socket) : -1;
  const minNs = f.minDurationUs > 0 ? f.minDurationUs * 1000 : 0;
  const tokens = f.text.toLowerCase().split(/\s+/).filter(Boolean);
  return (s) => {
    if (op >= 0 && store.op[s] !== op) return false;
    if (path >= 0 && store.path[s] !== path) return false;
    if (f.guest && store.guests.values[store.guest[s]!] !== f.guest) return false;
    if (f.result && store.results.values[store.result[s]!] !== f.result) return false;
    if (socket >= 0 && store.socket[s] !== socket) return false;
    if (minNs > 0 && store.end[s]! - store.start[s]! < minNs) return false;
    if (tokens.length) {
      const hay = `${OPS[store.op[s]!]} ${PATHS[store.path[s]!]} ${store.guests.values[store.guest[s]!]} #${store.socket[s]} ${store.results.values[store.result[s]!]} seq:${store.seq[s]}`.toLowerCase();
      for (const t of tokens) if (!hay.includes(t)) return false;
    }
    return true;
  };
}

/** The match mask, grown as calls arrive; null when no filter is active (all calls draw normally). */
export class MatchMask {
  mask: Uint8Array | null = null;
  matches = 0;
  private upTo = 0;
  /** The store's droppedByLimit when the mask was last built: slots were renumbered since if it moved. */
  private seenDropped = 0;
  private predicate: ((slot: number) => boolean) | null = null;

  constructor(private readonly store: CallStore) {}

  set(f: CallFilter): void {
    this.predicate = isActive(f) ? compile(f, this.store) : null;
    this.upTo = 0;
    this.matches = 0;
    this.mask = null;
    this.update();
  }

  /** Evaluates calls appended since the last update; re-evaluates all after the store dropped old ones. */
  update(): void {
    const st = this.store;
    if (!this.predicate) return;
    const dropped = st.droppedByLimit !== this.seenDropped;
    if (dropped || !this.mask || this.upTo > st.count) {
      this.seenDropped = st.droppedByLimit;
      this.upTo = 0;
      this.matches = 0;
    }
    if (!this.mask || this.mask.length < st.count) {
      const m = new Uint8Array(Math.max(st.count, 1024) * 2);
      if (this.mask && this.upTo > 0) m.set(this.mask.subarray(0, this.upTo));
      this.mask = m;
    }
    for (let s = this.upTo; s < st.count; s++) {
      const ok = this.predicate(s) ? 1 : 0;
      this.mask[s] = ok;
      this.matches += ok;
    }
    this.upTo = st.count;
  }

  matchesSlot(s: number): boolean {
    return !this.mask || this.mask[s] === 1;
  }

  /** The next (dir 1) or previous (dir -1) matching call by start time after slot `from` (or from time 0). */
  step(from: number, dir: 1 | -1): number {
    const st = this.store;
    const t = from >= 0 ? st.start[from]! : dir > 0 ? -Infinity : Infinity;
    let best = -1;
    let bestT = dir > 0 ? Infinity : -Infinity;
    for (let s = 0; s < st.count; s++) {
      if (!this.matchesSlot(s) || s === from) continue;
      const v = st.start[s]!;
      const after = dir > 0 ? v > t || (v === t && s > from) : v < t || (v === t && s < from);
      if (after && (dir > 0 ? v < bestT : v > bestT)) {
        best = s;
        bestT = v;
      }
    }
    return best;
  }
}
