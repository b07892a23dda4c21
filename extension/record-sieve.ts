// Keeps records that arrive twice out of the store: after a reconnect the client resubscribes from the
// last seq it holds + 1, and this sieve drops whatever the daemon still sends again (history overlap, a
// run record repeated). A daemon that restarted numbers from 0 again: the sieve notices and starts over.

import type { TraceRecord } from '../protocol';

/** Run ids remembered to drop repeated run records; runs are few, this only bounds a pathological stream. */
const MAX_RUN_IDS = 4096;

export class RecordSieve {
  /** Highest call or frame seq kept from the current daemon, -1 before any. */
  private last = -1;
  private daemon: string | null = null;
  private readonly runIds = new Set<string>();

  /** Where a resubscription starts so that nothing is missed or repeated. */
  get resumeSeq(): number {
    return this.last + 1;
  }

  get lastSeq(): number {
    return this.last;
  }

  /**
   * Called on each hello. Returns true when the daemon is not the one the sieve followed: it restarted (its
   * next seq is behind what we hold) or it names itself differently; seqs then start over.
   */
  meet(daemon: string, nextSeq: number): boolean {
    const restarted = this.daemon !== null && (daemon !== this.daemon || nextSeq < this.last + 1);
    this.daemon = daemon;
    if (restarted) this.last = -1;
    return restarted;
  }

  /** The records not seen before, in their order. Call and frame seqs only grow within one daemon. */
  keep(records: readonly TraceRecord[]): TraceRecord[] {
    const kept: TraceRecord[] = [];
    for (const r of records) {
      if (r.kind === 'call' || r.kind === 'frame') {
        if (r.seq <= this.last) continue;
        this.last = r.seq;
      } else if (r.kind === 'run') {
        if (this.runIds.has(r.id)) continue;
        this.runIds.add(r.id);
        if (this.runIds.size > MAX_RUN_IDS) this.runIds.delete(this.runIds.values().next().value as string);
      }
      kept.push(r);
    }
    return kept;
  }
}
