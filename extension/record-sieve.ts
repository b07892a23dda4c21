// Keeps records that arrive twice out of the store: after a reconnect the client resubscribes from the
// seq after the last one it kept, and this sieve drops whatever the daemon still sends again (history
// overlap, a run record repeated). A daemon that restarted numbers from 0 again: the sieve notices and
// starts over. A daemon whose numbering is broken (a leap forward, a step back, a repeat) is followed, not
// obeyed: records are kept unless they were kept before, and each oddity is counted in `anomalies`.

import type { TraceRecord } from '../protocol';

/** Run ids remembered to drop repeated run records; runs are few, this only bounds a pathological stream. */
const MAX_RUN_IDS = 4096;
/** Ranges of kept seqs remembered for duplicate checks; a sane stream needs one, a broken one gets this many. */
const MAX_RANGES = 64;

/** What the sieve saw that a well-behaved daemon does not send. */
export interface SeqAnomalies {
  /** Jumps forward that no run or dropped record explains, and the seqs they skipped. */
  gaps: number;
  missing: number;
  /** Steps back to seqs never kept before (kept: the daemon's numbering is broken, not the data). */
  regressions: number;
  /** Records whose seq (or run id) was kept before: dropped. */
  duplicates: number;
}

const none = (): SeqAnomalies => ({ gaps: 0, missing: 0, regressions: 0, duplicates: 0 });

export class RecordSieve {
  /** Seq of the last call or frame kept from the current daemon (the stream's position), -1 before any. */
  private position = -1;
  /** Highest seq kept: anything above it is new without a search. */
  private highest = -1;
  /** Kept seqs as [lo, hi] ranges, oldest first. */
  private ranges: [number, number][] = [];
  /** Seqs the daemon may skip before the next call or frame: one per run record (the daemon numbers those too). */
  private allowance = 0;
  private daemon: string | null = null;
  private readonly runIds = new Set<string>();
  private seen: SeqAnomalies = none();

  /** Where a resubscription starts so that nothing is missed or repeated. */
  get resumeSeq(): number {
    return this.position + 1;
  }

  get lastSeq(): number {
    return this.position;
  }

  /** Counts since this sieve was made (a restarted daemon does not reset them: they describe the session). */
  get anomalies(): Readonly<SeqAnomalies> {
    return this.seen;
  }

  /**
   * Called on each hello. Returns true when the daemon is not the one the sieve followed: it restarted (its
   * next seq is behind what we hold) or it names itself differently; seqs then start over.
   */
  meet(daemon: string, nextSeq: number): boolean {
    const restarted = this.daemon !== null && (daemon !== this.daemon || nextSeq < this.position + 1);
    this.daemon = daemon;
    if (restarted) {
      this.position = -1;
      this.highest = -1;
      this.ranges = [];
      this.allowance = 0;
    }
    return restarted;
  }

  /** The records not seen before, in their order. */
  keep(records: readonly TraceRecord[]): TraceRecord[] {
    const kept: TraceRecord[] = [];
    for (const r of records) {
      if (r.kind === 'call' || r.kind === 'frame') {
        if (!this.take(r.seq)) continue;
      } else if (r.kind === 'run') {
        this.allowance++;
        if (this.runIds.has(r.id)) {
          this.seen.duplicates++;
          continue;
        }
        this.runIds.add(r.id);
        if (this.runIds.size > MAX_RUN_IDS) this.runIds.delete(this.runIds.values().next().value as string);
      } else {
        // The daemon lost records for us and says so: the seqs it skips are explained.
        this.allowance = Number.POSITIVE_INFINITY;
      }
      kept.push(r);
    }
    return kept;
  }

  /** Whether to keep seq `s`; counts what is odd about it. */
  private take(s: number): boolean {
    if (s <= this.highest && this.has(s)) {
      this.seen.duplicates++;
      return false;
    }
    if (this.position >= 0) {
      const skipped = s - this.position - 1;
      if (skipped > this.allowance) {
        this.seen.gaps++;
        this.seen.missing += skipped - this.allowance;
      } else if (s < this.position) this.seen.regressions++;
    }
    this.allowance = 0;
    this.remember(s);
    this.position = s;
    if (s > this.highest) this.highest = s;
    return true;
  }

  private has(s: number): boolean {
    for (let i = this.ranges.length - 1; i >= 0; i--) {
      const [lo, hi] = this.ranges[i]!;
      if (s >= lo && s <= hi) return true;
    }
    return false;
  }

  private remember(s: number): void {
    const last = this.ranges[this.ranges.length - 1];
    if (last && s === last[1] + 1) last[1] = s;
    else {
      this.ranges.push([s, s]);
      if (this.ranges.length > MAX_RANGES) this.ranges.shift();
    }
  }
}
