// The sink `linsock start` gives its daemon and its runs: every record goes on to the trace hub (the live
// stream and the ring); while a run is being recorded, the records are also kept for its trace files.

import type { TraceSink } from '../../daemon';
import type { TraceRecord } from '../../protocol';

/** Enough for a few seconds of every path at full speed; beyond it records are counted, not kept. */
export const DEFAULT_RECORD_LIMIT = 2_000_000;

export class RunRecorder implements TraceSink {
  private kept: TraceRecord[] | null = null;
  private overflow = 0;

  constructor(
    private readonly next: TraceSink,
    private readonly limit = DEFAULT_RECORD_LIMIT,
  ) {}

  get enabled(): boolean {
    return this.next.enabled;
  }

  publish(record: TraceRecord): void {
    this.next.publish(record);
    if (!this.kept) return;
    if (this.kept.length < this.limit) this.kept.push(record);
    else this.overflow++;
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
