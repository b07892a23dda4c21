// Where the daemon's parts hand their trace records: the guest channel (delegated calls) and the lab's
// device model (frames) publish; the trace hub (trace-hub.ts) implements it, keeps the ring and feeds
// subscribers. Kept apart so that producers depend on this small interface, not on the hub.

import type { TraceRecord } from '../../protocol';

export interface TraceSink {
  /** False when tracing is off (`--trace off`): producers skip building records at all. */
  readonly enabled: boolean;
  /** Takes ownership of `record`; the sink assigns `record.seq` (for call and frame records). */
  publish(record: TraceRecord): void;
}

/** The sink used when tracing is off. */
export const NO_TRACE: TraceSink = { enabled: false, publish: () => undefined };
