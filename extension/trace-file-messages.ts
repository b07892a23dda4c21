// The messages between the trace file loader (extension host thread) and its worker (trace-file-worker.ts),
// one file so that both sides type-check every message.

import type { ReadLimits } from '../protocol';
import type { ChunkDescription } from './trace-store';

/** What the worker is started with (workerData). */
export interface LoadJob {
  path: string;
  /** Bytes read per step. */
  pieceBytes: number;
  /** Records per chunk handed back (and so to the store and the viewer). */
  recordsPerChunk: number;
  /** Chunks the worker may send before the loader has taken them: the loader's memory bound. */
  chunksInFlight: number;
  limits: ReadLimits;
}

export type WorkerMessage =
  /** The file's format, told by its first bytes. */
  | { type: 'format'; format: string; size: number }
  /** Bytes of the file read so far (sent per piece, also when a piece completed no record). */
  | { type: 'progress'; loaded: number }
  /**
   * One .lstrace chunk of records (its buffer is transferred) and what it holds, counted here so that the
   * extension host neither decodes it nor collects the garbage of decoding; to be acknowledged.
   */
  | { type: 'chunk'; bytes: Uint8Array; described: ChunkDescription }
  /** The end: damage (the records before it were sent), what was skipped and why, notes. */
  | { type: 'done'; damage: string | null; skipped: string | null; notes: string[] }
  /** The file cannot be read at all (empty, UTF-16, unknown format, I/O error). */
  | { type: 'failed'; message: string };

/** The loader took a chunk: the worker may send one more. */
export type LoaderMessage = { type: 'ack' };
