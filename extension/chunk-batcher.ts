// Joins small chunks into larger ones before they are stored. The store's cost is per chunk as much as per
// byte (an object, a typed array, counts), so a peer that sends a million one-record chunks must not make a
// million chunks: small chunks are held and sent on as one when enough records gathered or on flush().
// No timers here: the owner decides when a held batch must go (a short timer, a connection's end).

import type { TraceRecord } from '../protocol';
import type { RecordCodec } from './record-codec';

export interface BatchLimits {
  /** A chunk of at least this many records passes as it is (after whatever is held). */
  smallRecords: number;
  /** A held batch goes once it holds this many records or encoded bytes. */
  maxRecords: number;
  maxBytes: number;
}

export const DEFAULT_BATCH: BatchLimits = { smallRecords: 512, maxRecords: 4096, maxBytes: 256 * 1024 };

export type ChunkSink = (bytes: Uint8Array, records: TraceRecord[]) => void;

export class ChunkBatcher {
  private held: TraceRecord[] = [];
  private heldBytes = 0;

  constructor(
    private readonly codec: Pick<RecordCodec, 'encodeChunk'>,
    private readonly sink: ChunkSink,
    private readonly limits: BatchLimits = DEFAULT_BATCH,
  ) {}

  /** Records waiting to be sent on. */
  get pending(): number {
    return this.held.length;
  }

  /** `records`, with `bytes` their encoding when it is at hand (null: encoded here when needed). */
  add(bytes: Uint8Array | null, records: TraceRecord[]): void {
    if (records.length === 0) return;
    if (records.length >= this.limits.smallRecords) {
      this.flush();
      this.sink(bytes ?? this.codec.encodeChunk(records), records);
      return;
    }
    for (const r of records) this.held.push(r);
    // Without the bytes, a record is counted at a typical call's size: the limit is a batch size, not a bound.
    this.heldBytes += bytes ? bytes.byteLength : records.length * 32;
    if (this.held.length >= this.limits.maxRecords || this.heldBytes >= this.limits.maxBytes) this.flush();
  }

  flush(): void {
    if (this.held.length === 0) return;
    const records = this.held;
    this.held = [];
    this.heldBytes = 0;
    this.sink(this.codec.encodeChunk(records), records);
  }
}
