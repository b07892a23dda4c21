// A worker's trace sink: the records its guests' calls produce go to the main process, whose trace hub
// numbers them and serves trace clients. Records leave in batches (at BATCH_RECORDS, or BATCH_MS after the
// first), so the IPC channel costs one message per batch, not per call, and each record is encoded here
// at once into the trace stream's own chunk format (protocol/lstrace-encode.ts): one byte array crosses
// the channel, not a graph of objects (structured clone of call records cost about 3x the encode and
// decode on this machine: 11 µs a record against 4). The channel is bounded: while more
// than MAX_IN_FLIGHT batches are unsent (the main process is not keeping up), new batches are dropped and
// their records counted; the count rides on the next batch that leaves, and the main process announces it
// to trace clients as a DroppedRecord, as its hub does for a slow reader. Nothing is lost without a count.
import { ChunkWriter, type TraceRecord } from '../../protocol';
import type { TraceSink } from '../trace/trace-sink';
import type { FromWorker } from './messages';

const BATCH_RECORDS = 512;
const BATCH_MS = 5;
const MAX_IN_FLIGHT = 64;

export type SendToMain = (m: FromWorker, done: (err: Error | null) => void) => boolean;

export class TraceForward implements TraceSink {
  enabled: boolean;
  private readonly batch = new ChunkWriter();
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private dropped = 0;
  /** Records dropped in all (what the report of this worker says). */
  droppedTotal = 0;

  constructor(private readonly send: SendToMain, enabled: boolean) {
    this.enabled = enabled;
  }

  publish(record: TraceRecord): void {
    try {
      this.batch.add(record);
    } catch {
      // A record the format cannot carry: counted with the drops (the hub refuses the same records).
      this.dropped++;
      this.droppedTotal++;
      return;
    }
    if (this.batch.count >= BATCH_RECORDS) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), BATCH_MS);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.batch.count === 0 && this.dropped === 0) return;
    const count = this.batch.count;
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.batch.finish();
      this.dropped += count;
      this.droppedTotal += count;
      // The count leaves with the next batch, or on its own once the channel drains.
      this.timer = setTimeout(() => this.flush(), BATCH_MS);
      return;
    }
    const chunk = count > 0 ? this.batch.finish() : null;
    const dropped = this.dropped;
    this.dropped = 0;
    this.inFlight++;
    this.send({ type: 'trace', chunk, dropped }, () => this.inFlight--);
  }
}
