// The shared-memory channel's region: a header and two single-producer/single-consumer byte rings, one
// per direction, that carry the same wire-protocol-v1 frames as the socket channel, back to back (the
// consumer's FrameDecoder finds the frame boundaries, as it does on a socket). Pure code over a
// Uint8Array: the mapping and the doorbells are the native addon's (native/shm-channel.c), so the logic
// here can be fuzzed with any contents. README.md documents the layout byte by byte.
//
// Trust: each side owns some header words and only reads the others. What it reads is checked before
// use: a head or tail that claims more bytes than the ring holds is a `RingCorruption`, which ends the
// session like a malformed frame. Positions are kept locally and never re-read from the side that owns
// them, and the capacity is read once, when the region is opened: a peer scribbling on its region can
// corrupt only its own calls.

/** 'LSR1' in native byte order: the first word of a region. */
export const SHM_MAGIC = 0x3152534c;
export const SHM_VERSION = 1;
/** Bytes before the first ring's data: the header page. */
export const SHM_HEADER_BYTES = 4096;
export const MIN_RING_BYTES = 64 * 1024;
export const MAX_RING_BYTES = 64 * 1024 * 1024;
export const DEFAULT_RING_BYTES = 4 * 1024 * 1024;

/** Which ring: frames the guest sends (requests), frames the host sends (replies, events). */
export type RingDirection = 'toHost' | 'toGuest';
const RING_INDEX: Record<RingDirection, number> = { toHost: 0, toGuest: 1 };

/**
 * Word offsets (u32, native byte order) in the header. Each ring's header has two cache lines: the one
 * its producer writes (head, producerWaiting) and the one its consumer writes (tail, consumerWaiting).
 */
const W = { magic: 0, version: 1, ringBytes: 2 } as const;
const RING_HEADER_WORD = (ring: number): number => 16 + ring * 32;
const PRODUCER = { head: 0, waiting: 1 } as const;
const CONSUMER = { tail: 16, waiting: 17 } as const;

export class RingCorruption extends Error {
  constructor(message: string) {
    super(`shared-memory ring corrupted: ${message}`);
    this.name = 'RingCorruption';
  }
}

export function regionBytes(ringBytes: number): number {
  return SHM_HEADER_BYTES + 2 * ringBytes;
}

function validRingBytes(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_RING_BYTES && n <= MAX_RING_BYTES && (n & (n - 1)) === 0;
}

/** Writes a fresh header (the side that creates the region does, before sharing it). */
export function initRegion(region: Uint8Array, ringBytes: number): void {
  if (!validRingBytes(ringBytes)) throw new RangeError(`ring size ${ringBytes}: expected a power of two in ${MIN_RING_BYTES}..${MAX_RING_BYTES}`);
  if (region.byteLength !== regionBytes(ringBytes)) throw new RangeError(`region of ${region.byteLength} bytes: expected ${regionBytes(ringBytes)}`);
  region.fill(0, 0, SHM_HEADER_BYTES);
  const w = words(region);
  w[W.magic] = SHM_MAGIC;
  w[W.version] = SHM_VERSION;
  w[W.ringBytes] = ringBytes;
}

/** Reads and checks a region a peer made; returns its ring size, or throws RingCorruption saying why. */
export function checkRegion(region: Uint8Array): number {
  if (region.byteLength < SHM_HEADER_BYTES) throw new RingCorruption(`region of ${region.byteLength} bytes is smaller than its header`);
  const w = words(region);
  if (w[W.magic] !== SHM_MAGIC) throw new RingCorruption(`magic 0x${(w[W.magic] ?? 0).toString(16)}: expected 0x${SHM_MAGIC.toString(16)}`);
  if (w[W.version] !== SHM_VERSION) throw new RingCorruption(`version ${w[W.version]}: expected ${SHM_VERSION}`);
  const ringBytes = w[W.ringBytes] ?? 0;
  if (!validRingBytes(ringBytes)) throw new RingCorruption(`ring size ${ringBytes}: expected a power of two in ${MIN_RING_BYTES}..${MAX_RING_BYTES}`);
  if (region.byteLength !== regionBytes(ringBytes)) throw new RingCorruption(`region of ${region.byteLength} bytes for rings of ${ringBytes}: expected ${regionBytes(ringBytes)}`);
  return ringBytes;
}

function words(region: Uint8Array): Uint32Array {
  if (region.byteOffset % 4 !== 0) throw new RangeError('a region must start on a 4-byte boundary');
  return new Uint32Array(region.buffer, region.byteOffset, SHM_HEADER_BYTES / 4);
}

/** One ring of a region, seen from one side. Positions count bytes since creation, modulo 2^32. */
abstract class RingSide {
  protected readonly words: Uint32Array;
  protected readonly data: Uint8Array;
  protected readonly base: number;
  protected readonly mask: number;

  constructor(region: Uint8Array, direction: RingDirection, readonly capacity: number) {
    const i = RING_INDEX[direction];
    this.words = words(region);
    this.base = RING_HEADER_WORD(i);
    this.data = region.subarray(SHM_HEADER_BYTES + i * capacity, SHM_HEADER_BYTES + (i + 1) * capacity);
    this.mask = capacity - 1;
  }

  protected load(word: number): number {
    return Atomics.load(this.words, this.base + word) >>> 0;
  }

  protected store(word: number, v: number): void {
    Atomics.store(this.words, this.base + word, v >>> 0);
  }

  /** Bytes between a position we own and one the peer published; throws when no honest peer could say it. */
  protected span(from: number, to: number, what: string): number {
    const n = (to - from) >>> 0;
    if (n > this.capacity) throw new RingCorruption(`${what} is ${n} bytes from the ${what === 'head' ? 'tail' : 'head'} in a ring of ${this.capacity}`);
    return n;
  }
}

/** The producing side: copies bytes in as space allows and says when the consumer needs its doorbell. */
export class RingProducer extends RingSide {
  private head = 0;

  /** Free bytes now; throws RingCorruption when the consumer's tail is out of range. */
  free(): number {
    return this.capacity - this.span(this.load(CONSUMER.tail), this.head, 'tail');
  }

  /**
   * Copies bytes of `parts` (from byte `skip` of their concatenation) until the ring is full; publishes the
   * new head. Returns how many bytes went in.
   */
  write(parts: readonly Uint8Array[], skip = 0): number {
    let room = this.free();
    let wrote = 0;
    for (const p of parts) {
      if (room === 0) break;
      if (skip >= p.byteLength) {
        skip -= p.byteLength;
        continue;
      }
      let src = skip > 0 ? p.subarray(skip) : p;
      skip = 0;
      if (src.byteLength > room) src = src.subarray(0, room);
      const at = (this.head + wrote) & this.mask;
      const first = Math.min(src.byteLength, this.capacity - at);
      this.data.set(first === src.byteLength ? src : src.subarray(0, first), at);
      if (first < src.byteLength) this.data.set(src.subarray(first), 0);
      wrote += src.byteLength;
      room -= src.byteLength;
    }
    if (wrote > 0) {
      this.head = (this.head + wrote) >>> 0;
      this.store(PRODUCER.head, this.head);
    }
    return wrote;
  }

  /**
   * Called after writing: true when the consumer said it sleeps (its flag is taken back, so one doorbell
   * serves however many writes came before it woke).
   */
  consumerAsleep(): boolean {
    return Atomics.exchange(this.words, this.base + CONSUMER.waiting, 0) !== 0;
  }

  /**
   * The ring was full: asks the consumer to ring once it frees space. Returns true when space appeared
   * meanwhile (the flag was set after the check, so either we see the space or the consumer sees the flag).
   */
  waitForSpace(): boolean {
    this.store(PRODUCER.waiting, 1);
    if (this.free() > 0) {
      this.store(PRODUCER.waiting, 0);
      return true;
    }
    return false;
  }
}

/** The consuming side: sees what was written, frees it once handled, and says when to ring the producer. */
export class RingConsumer extends RingSide {
  private tail = 0;

  /** Bytes waiting; throws RingCorruption when the producer's head is out of range. */
  available(): number {
    return this.span(this.tail, this.load(PRODUCER.head), 'head');
  }

  /** Up to `max` waiting bytes as views of the ring (two when they wrap); nothing is freed yet. */
  peek(max = this.capacity): Uint8Array[] {
    const n = Math.min(max, this.available());
    if (n === 0) return [];
    const at = this.tail & this.mask;
    const first = Math.min(n, this.capacity - at);
    const out = [this.data.subarray(at, at + first)];
    if (first < n) out.push(this.data.subarray(0, n - first));
    return out;
  }

  /** Frees `n` bytes the caller has handled (copied out); true when the producer waits for space. */
  release(n: number): boolean {
    if (!Number.isInteger(n) || n < 0 || n > this.available()) throw new RangeError(`release(${n}): more than is waiting`);
    this.tail = (this.tail + n) >>> 0;
    this.store(CONSUMER.tail, this.tail);
    return n > 0 && Atomics.exchange(this.words, this.base + PRODUCER.waiting, 0) !== 0;
  }

  /**
   * About to sleep: tells the producer to ring, then looks once more. Returns true when bytes arrived
   * meanwhile (handle them instead of sleeping; the flag may stay set, costing at most one extra doorbell).
   */
  sleep(): boolean {
    this.store(CONSUMER.waiting, 1);
    return this.available() > 0;
  }
}
