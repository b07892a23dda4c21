// How the daemon connection takes in one binary chunk: its claimed record count checked before decoding,
// its bytes copied out of ws's buffer, damage counted and logged, seqs sieved, small chunks held briefly to
// be joined. Its own file so that handling records is apart from the session and its requests.

import type { TraceRecord } from '../protocol';
import { ChunkBatcher } from './chunk-batcher';
import type { CappedLog } from './capped-log';
import { MAX_CHUNK_RECORDS } from './connection-types';
import type { Timers } from './frame-pacer';
import type { RecordCodec } from './record-codec';
import type { RecordSieve } from './record-sieve';

export interface IntakeParts {
  codec: RecordCodec;
  sieve: RecordSieve;
  log: CappedLog;
  timers: Timers;
  /** How long small chunks are held to be joined (chunk-batcher.ts). */
  batchMs: number | undefined;
  /** The connection's counters: damaged chunks are counted here. */
  counts: { damagedChunks: number };
  /** Receives the records kept, as a chunk. */
  sink: (bytes: Uint8Array, records: TraceRecord[]) => void;
}

export class ChunkIntake {
  private readonly batcher: ChunkBatcher;
  private batchTimer: unknown = null;

  constructor(private readonly p: IntakeParts) {
    this.batcher = new ChunkBatcher(p.codec, p.sink);
  }

  receive(data: Buffer): void {
    const { log, counts, sieve } = this.p;
    // The header's record count, checked before decoding: a chunk may not make us build millions of objects.
    const claimed = data.byteLength >= 12 ? data.readUInt32BE(8) : 0;
    if (claimed > MAX_CHUNK_RECORDS) {
      counts.damagedChunks++;
      log.write('error', `refused a chunk of ${data.byteLength} bytes from the daemon claiming ${claimed} records (at most ${MAX_CHUNK_RECORDS})`, 'damaged-chunk');
      return;
    }
    // A plain Uint8Array that owns its memory: ws may hand out views of a larger buffer, chunks live long in
    // the store, and a Buffer would cross postMessage as Buffer.toJSON()'s {type, data}, not as bytes.
    const bytes = new Uint8Array(data.byteLength);
    bytes.set(data);
    const { records, error } = this.p.codec.decodeChunk(bytes);
    if (error) {
      // Keep the whole records before the damage; the rest of this chunk is lost and said so.
      counts.damagedChunks++;
      log.write('error', `a damaged chunk of ${bytes.byteLength} bytes from the daemon (${records.length} records kept): ${error.message}`, 'damaged-chunk');
    }
    const before = { ...sieve.anomalies };
    const kept = sieve.keep(records);
    const after = sieve.anomalies;
    if (after.gaps !== before.gaps || after.regressions !== before.regressions || after.duplicates !== before.duplicates)
      log.write('warn', `odd record numbering from the daemon: ${after.gaps} gaps (${after.missing} seqs missing), ${after.regressions} steps back, ${after.duplicates} repeats so far`, 'seq');
    if (kept.length === 0) return;
    this.batcher.add(kept.length === records.length && !error ? bytes : null, kept);
    if (this.batcher.pending > 0 && this.batchTimer === null)
      this.batchTimer = this.p.timers.setTimeout(() => {
        this.batchTimer = null;
        this.batcher.flush();
      }, this.p.batchMs ?? 50);
  }

  /** Hands on the records held for joining (chunk-batcher.ts). */
  flush(): void {
    if (this.batchTimer !== null) this.p.timers.clearTimeout(this.batchTimer);
    this.batchTimer = null;
    this.batcher.flush();
  }
}
