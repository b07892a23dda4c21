// The records the extension holds for the viewer and exports: encoded chunks as they arrived (compact;
// the viewer and the .lstrace export take them as they are), with a few counts per chunk. Bounded three
// ways, whatever the chunking: records (the user's limit), chunks (each costs objects) and bytes held
// (encodings plus a per-chunk overhead); the oldest chunks go first. Knows nothing of VS Code.

import type { Path, RunInfo, TraceRecord } from '../protocol';

export interface StoredChunk {
  /** Position of this chunk in the store's history: grows by one per chunk, never reused after a clear. */
  no: number;
  bytes: Uint8Array;
  records: number;
  calls: number;
  frames: number;
  callsByPath: Record<Path, number>;
}

export interface StoreTotals {
  records: number;
  calls: number;
  frames: number;
  callsByPath: Record<Path, number>;
  /** Records the daemon said it dropped before they reached us. */
  droppedByDaemon: number;
  /** Records this store let go to stay within its limit. */
  evicted: number;
  chunks: number;
  bytes: number;
  /** `bytes` plus CHUNK_OVERHEAD_BYTES per chunk: what the store costs, the figure its byte cap bounds. */
  heldBytes: number;
}

/** The store's bounds besides the record limit. Memory held <= maxHeldBytes + the newest chunk. */
export interface StoreCaps {
  maxChunks: number;
  maxHeldBytes: number;
}

/**
 * What a chunk costs besides its bytes: its StoredChunk, counts object, typed array and backing store
 * (measured in trace-store.test.ts: about 300 bytes on V8; counted high on purpose).
 */
export const CHUNK_OVERHEAD_BYTES = 512;
export const DEFAULT_CAPS: StoreCaps = { maxChunks: 65_536, maxHeldBytes: 256 * 1024 * 1024 };

/** Run descriptions kept for the tree; older ones go first. */
const MAX_RUNS = 1000;

const noCalls = (): Record<Path, number> => ({ direct: 0, delegated: 0, emulated: 0 });
const emptyTotals = (): StoreTotals => ({ records: 0, calls: 0, frames: 0, callsByPath: noCalls(), droppedByDaemon: 0, evicted: 0, chunks: 0, bytes: 0, heldBytes: 0 });

export type ChunkDescription = Omit<StoredChunk, 'no' | 'bytes'> & { runs: RunInfo[]; dropped: number };

/** Counts what one chunk holds, once, when it arrives. */
export function describeChunk(records: readonly TraceRecord[]): ChunkDescription {
  const callsByPath = noCalls();
  let calls = 0;
  let frames = 0;
  let dropped = 0;
  const runs: RunInfo[] = [];
  for (const r of records) {
    if (r.kind === 'call') {
      calls++;
      callsByPath[r.path]++;
    } else if (r.kind === 'frame') frames++;
    else if (r.kind === 'run') runs.push(r);
    else dropped += r.count;
  }
  return { records: records.length, calls, frames, callsByPath, runs, dropped };
}

export type StoreChange = { type: 'append'; chunk: StoredChunk } | { type: 'clear' };

export class TraceStore {
  private chunks: StoredChunk[] = [];
  /** Index in `chunks` of the oldest kept chunk; old entries are compacted away in bulk. */
  private head = 0;
  private nextNo = 0;
  private readonly runList: RunInfo[] = [];
  private readonly listeners = new Set<(c: StoreChange) => void>();
  private t: StoreTotals = emptyTotals();

  constructor(
    private limit: number,
    readonly caps: StoreCaps = DEFAULT_CAPS,
  ) {
    if (!(caps.maxChunks >= 1) || !(caps.maxHeldBytes >= CHUNK_OVERHEAD_BYTES)) throw new RangeError('store caps need maxChunks >= 1 and room for one chunk');
    this.setLimit(limit);
  }

  setLimit(limit: number): void {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`record limit must be a positive integer, got ${limit}`);
    this.limit = limit;
    this.evict();
  }

  get recordLimit(): number {
    return this.limit;
  }

  get totals(): Readonly<StoreTotals> {
    return this.t;
  }

  get runs(): readonly RunInfo[] {
    return this.runList;
  }

  get isEmpty(): boolean {
    return this.t.records === 0;
  }

  /** The next chunk number: a reader that has seen everything holds this as its cursor. */
  get endNo(): number {
    return this.nextNo;
  }

  onChange(listener: (c: StoreChange) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Keeps `bytes`, the encoding of `records` (already free of duplicates). */
  append(bytes: Uint8Array, records: readonly TraceRecord[]): StoredChunk | null {
    return this.appendDescribed(bytes, describeChunk(records));
  }

  /** Keeps `bytes`, whose records `d` describes (counted where they were decoded, e.g. in a worker). */
  appendDescribed(bytes: Uint8Array, d: ChunkDescription): StoredChunk | null {
    if (d.records === 0) return null;
    const chunk: StoredChunk = { no: this.nextNo++, bytes, records: d.records, calls: d.calls, frames: d.frames, callsByPath: d.callsByPath };
    this.chunks.push(chunk);
    this.add(chunk, 1);
    this.t.droppedByDaemon += d.dropped;
    for (const r of d.runs) this.runList.push(r);
    if (this.runList.length > MAX_RUNS) this.runList.splice(0, this.runList.length - MAX_RUNS);
    this.evict();
    this.emit({ type: 'append', chunk });
    return chunk;
  }

  /** Kept chunks numbered `fromNo` or later, oldest first (a reader behind the evicted ones gets what is left). */
  *since(fromNo: number): Generator<StoredChunk> {
    const first = this.chunks[this.head];
    if (!first) return;
    // Chunk numbers are contiguous among kept chunks, so the start is found by arithmetic, not a search.
    let i = this.head + Math.max(0, fromNo - first.no);
    for (; i < this.chunks.length; i++) yield this.chunks[i]!;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.runList.length = 0;
    this.t = emptyTotals();
    this.emit({ type: 'clear' });
  }

  private add(c: StoredChunk, sign: 1 | -1): void {
    this.t.records += sign * c.records;
    this.t.calls += sign * c.calls;
    this.t.frames += sign * c.frames;
    for (const p of Object.keys(c.callsByPath) as Path[]) this.t.callsByPath[p] += sign * c.callsByPath[p];
    this.t.chunks += sign;
    this.t.bytes += sign * c.bytes.byteLength;
    this.t.heldBytes += sign * (c.bytes.byteLength + CHUNK_OVERHEAD_BYTES);
  }

  private over(): boolean {
    return this.t.records > this.limit || this.t.chunks > this.caps.maxChunks || this.t.heldBytes > this.caps.maxHeldBytes;
  }

  /** Drops the oldest chunks while over a limit, always keeping the newest chunk. */
  private evict(): void {
    while (this.over() && this.chunks.length - this.head > 1) {
      const old = this.chunks[this.head]!;
      this.chunks[this.head] = undefined as unknown as StoredChunk;
      this.head++;
      this.add(old, -1);
      this.t.evicted += old.records;
    }
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  private emit(c: StoreChange): void {
    for (const l of this.listeners) l(c);
  }
}
