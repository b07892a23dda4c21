// The sink `linsock start` gives its daemon and its runs: every record goes on to the trace hub (the live
// stream and the ring); while a run is being recorded, the records are also kept for its trace files.
// The daemon stamps one run id (its own) into every delegated call; a comparison's delegated guests are
// named `<runId>-<role>`, so their calls are given the comparison's run id here, before anyone sees them.

import type { TraceSink } from '../../daemon';
import type { TraceRecord } from '../../protocol';

/** Enough for a few seconds of every path at full speed; beyond it records are counted, not kept. */
export const DEFAULT_RECORD_LIMIT = 2_000_000;
/** Run ids remembered for mapping delegated calls that arrive late (a guest's last calls). */
const RUNS_KEPT = 16;

export class RunRecorder implements TraceSink {
  private kept: TraceRecord[] | null = null;
  private overflow = 0;
  private readonly runs = new Set<string>();
  /** The last guest mapped and its run: consecutive calls mostly come from one guest. */
  private lastGuest = '';
  private lastRun: string | null = null;

  constructor(
    private readonly next: TraceSink,
    private readonly limit = DEFAULT_RECORD_LIMIT,
    /** The run id the daemon stamps into its calls; only those are mapped. */
    private readonly daemonRun = '',
  ) {}

  get enabled(): boolean {
    return this.next.enabled;
  }

  get recording(): boolean {
    return this.kept !== null;
  }

  /** Calls of guests named `<runId>-<role>` get `runId` as their run from now on. */
  addRun(runId: string): void {
    this.runs.delete(runId);
    this.runs.add(runId);
    if (this.runs.size > RUNS_KEPT) this.runs.delete(this.runs.values().next().value as string);
    this.lastGuest = '';
  }

  publish(record: TraceRecord): void {
    if (record.kind === 'call' && record.run === this.daemonRun && this.runs.size > 0) {
      const run = this.runOf(record.guest);
      // The record is the daemon's own, made for this sink: changed in place before it goes on.
      if (run !== null) record.run = run;
    }
    this.next.publish(record);
    if (!this.kept) return;
    if (this.kept.length < this.limit) this.kept.push(record);
    else this.overflow++;
  }

  private runOf(guest: string): string | null {
    if (guest !== this.lastGuest) {
      const cut = guest.lastIndexOf('-');
      const run = cut > 0 ? guest.slice(0, cut) : '';
      this.lastGuest = guest;
      this.lastRun = this.runs.has(run) ? run : null;
    }
    return this.lastRun;
  }

  /** Starts keeping records; what an earlier recording kept is discarded. */
  start(): void {
    this.kept = [];
    this.overflow = 0;
  }

  /** Stops keeping records and hands over what was kept, with how many were left out over the limit. */
  stop(): { records: TraceRecord[]; leftOut: number } {
    const out = { records: this.kept ?? [], leftOut: this.overflow };
    this.kept = null;
    this.overflow = 0;
    return out;
  }
}
