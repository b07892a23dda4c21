// The trace hub's memory of recent records, kept as encoded .lstrace chunks (tens of bytes per call)
// rather than objects (hundreds), bounded by record count and bytes. Records are addressed by ordinal:
// the hub gives every published record the next ordinal, and call/frame records carry it as their seq.
// Small chunks (quiet periods flush a few records every few ms) are joined into segments by byte
// concatenation, so a million records never become a million tiny buffers.

export interface RingSegment {
  /** Ordinal of the first record. */
  first: number;
  count: number;
  /** One or more whole chunks, back to back. */
  bytes: Uint8Array;
  /** End offset of each chunk in `bytes`, so each can be sent or decoded on its own. */
  chunkEnds: number[];
  /** Ordinal of the first record of each chunk. */
  chunkFirsts: number[];
}

/** Segments grow to at most this (and 1/16 of the ring), so eviction frees memory in small steps. */
const JOIN_RECORDS = 4096;
const EVICTED: RingSegment = { first: 0, count: 0, bytes: new Uint8Array(0), chunkEnds: [], chunkFirsts: [] };
const JOIN_BYTES = 512 * 1024;

export class TraceRing {
  private segments: RingSegment[] = [];
  private head = 0;
  private recordCount = 0;
  private byteCount = 0;

  constructor(
    readonly maxRecords: number,
    readonly maxBytes: number,
  ) {
    if (!Number.isSafeInteger(maxRecords) || maxRecords < 1) throw new RangeError(`ring size must be a positive integer, got ${maxRecords}`);
    this.joinRecords = Math.max(1, Math.min(JOIN_RECORDS, Math.floor(maxRecords / 16)));
  }

  get records(): number {
    return this.recordCount;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /** Ordinal of the oldest record still held (equals `end` when empty). */
  get start(): number {
    const s = this.segments[this.head];
    return s ? s.first : this.endOrdinal;
  }

  private endOrdinal = 0;
  private readonly joinRecords: number;
  /** Ordinal after the newest record held. */
  get end(): number {
    return this.endOrdinal;
  }

  append(first: number, count: number, chunk: Uint8Array): void {
    if (count === 0) return;
    this.endOrdinal = first + count;
    const last = this.segments.length > this.head ? this.segments[this.segments.length - 1] : undefined;
    if (last && last.first + last.count === first && last.count + count <= this.joinRecords && last.bytes.length + chunk.length <= JOIN_BYTES) {
      const joined = new Uint8Array(last.bytes.length + chunk.length);
      joined.set(last.bytes, 0);
      joined.set(chunk, last.bytes.length);
      last.bytes = joined;
      last.count += count;
      last.chunkEnds.push(joined.length);
      last.chunkFirsts.push(first);
    } else {
      // Copy so the ring never pins a larger buffer that the chunk may be a view into.
      const own = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : chunk.slice();
      this.segments.push({ first, count, bytes: own, chunkEnds: [own.length], chunkFirsts: [first] });
    }
    this.recordCount += count;
    this.byteCount += chunk.length;
    this.evict();
  }

  private evict(): void {
    while ((this.recordCount > this.maxRecords || this.byteCount > this.maxBytes) && this.head < this.segments.length - 1) {
      const s = this.segments[this.head] as RingSegment;
      this.recordCount -= s.count;
      this.byteCount -= s.bytes.length;
      this.segments[this.head] = EVICTED; // release the bytes now, not at the next compaction
      this.head++;
    }
    // Compact the array now and then instead of shifting on every eviction.
    if (this.head > 64 && this.head * 2 > this.segments.length) {
      this.segments = this.segments.slice(this.head);
      this.head = 0;
    }
  }

  /** The segment holding `ordinal`, or undefined when it was evicted or is not written yet. */
  locate(ordinal: number): RingSegment | undefined {
    let lo = this.head;
    let hi = this.segments.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.segments[mid] as RingSegment;
      if (ordinal < s.first) hi = mid - 1;
      else if (ordinal >= s.first + s.count) lo = mid + 1;
      else return s;
    }
    return undefined;
  }
}

/** The chunks of `seg` that hold records at or after `ordinal`: [chunk bytes, ordinal of its first record]. */
export function* chunksFrom(seg: RingSegment, ordinal: number): Generator<[Uint8Array, number]> {
  let startByte = 0;
  for (let i = 0; i < seg.chunkEnds.length; i++) {
    const endByte = seg.chunkEnds[i] as number;
    const first = seg.chunkFirsts[i] as number;
    const next = i + 1 < seg.chunkFirsts.length ? (seg.chunkFirsts[i + 1] as number) : seg.first + seg.count;
    if (next > ordinal) yield [seg.bytes.subarray(startByte, endByte), first];
    startByte = endByte;
  }
}
