// Loads a trace file into a TraceStore for the custom editor. The file is untrusted: a worker thread
// (trace-file-worker.ts) sniffs, parses and re-chunks it through the format registry, streaming and under
// the reader's limits, so that no file can hold the extension host; this thread only takes finished
// chunks, one per turn of the event loop and a few in flight at most, and reports progress. Every whole
// record before damage is kept, and what the reader skipped is said with its reasons.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DEFAULT_READ_LIMITS, type ReadLimits } from '../protocol';
import type { LoaderMessage, LoadJob, WorkerMessage } from './trace-file-messages';
import type { TraceStore } from './trace-store';

export interface LoadOptions {
  progress?: (loadedBytes: number, totalBytes: number) => void;
  cancelled?: () => boolean;
  /** Bytes read per step. */
  pieceBytes?: number;
  /** Records per chunk handed to the store (and so to the viewer). */
  recordsPerChunk?: number;
  limits?: ReadLimits;
}

export interface LoadResult {
  /** The registry name of the file's format. */
  format: string;
  records: number;
  bytes: number;
  /** What was wrong with the file, when something was; the records before it were kept. */
  damage: string | null;
  /** What the reader passed over and why ("1000000 events skipped: ..."), or null. */
  skipped: string | null;
  /** What a person should know about the file that is not damage (e.g. it was not exported by Linsock). */
  notes: string[];
  cancelled: boolean;
}

/**
 * The TypeScript loader a worker needs when the extension runs from its sources (unit tests under tsx: a
 * worker does not inherit the parent's loader). Never loaded by the bundled extension.
 */
const SOURCE_LOADER = 'tsx/cjs/api';

/** The worker's script: dist/trace-file-worker.js beside the bundled extension, or the .ts beside this file. */
function startWorker(job: LoadJob): Worker {
  const js = join(__dirname, 'trace-file-worker.js');
  if (existsSync(js)) return new Worker(js, { workerData: job });
  const ts = join(__dirname, 'trace-file-worker.ts');
  return new Worker(`require(${JSON.stringify(SOURCE_LOADER)}).register(); require(${JSON.stringify(ts)});`, { eval: true, workerData: job });
}

export function loadTraceFile(path: string, store: TraceStore, opts: LoadOptions = {}): Promise<LoadResult> {
  const job: LoadJob = {
    path,
    // 256 KiB holds about 10,000 calls.
    pieceBytes: opts.pieceBytes ?? 256 * 1024,
    recordsPerChunk: opts.recordsPerChunk ?? 4096,
    chunksInFlight: 4,
    limits: opts.limits ?? DEFAULT_READ_LIMITS,
  };
  const result: LoadResult = { format: '', records: 0, bytes: 0, damage: null, skipped: null, notes: [], cancelled: false };
  const worker = startWorker(job);
  return new Promise<LoadResult>((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      f();
    };
    const ack: LoaderMessage = { type: 'ack' };
    worker.on('message', (m: WorkerMessage) => {
      if (settled) return;
      if (opts.cancelled?.()) return settle(() => resolve({ ...result, cancelled: true }));
      switch (m.type) {
        case 'format':
          result.format = m.format;
          result.bytes = m.size;
          break;
        case 'progress':
          opts.progress?.(m.loaded, result.bytes);
          break;
        case 'chunk': {
          store.appendDescribed(new Uint8Array(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength), m.described);
          result.records += m.described.records;
          worker.postMessage(ack);
          break;
        }
        case 'done':
          // Damage before the first record leaves nothing to show: the file cannot be opened.
          if (m.damage && result.records === 0) return settle(() => reject(new Error(m.damage as string)));
          result.damage = m.damage;
          result.skipped = m.skipped;
          result.notes = m.notes;
          return settle(() => resolve(result));
        case 'failed':
          return settle(() => reject(new Error(m.message)));
      }
    });
    worker.on('error', (err) => settle(() => reject(new Error(`the file reader failed: ${err.message}`))));
    worker.on('exit', (code) => settle(() => reject(new Error(`the file reader stopped (exit code ${code}) before the end of the file`))));
  });
}
