// Typed-array columns that grow by doubling, so appending a million calls costs amortized O(1) and
// keeps the records outside the JS heap (one small object per column, never one per call).

export type TypedArray = Float64Array | Float32Array | Uint32Array | Uint16Array | Uint8Array;

/** Returns `a` when it already holds `needed` elements, else a copy of the same kind at least twice as long. */
export function ensureCapacity<T extends TypedArray>(a: T, needed: number): T {
  if (needed <= a.length) return a;
  let size = Math.max(a.length, 16);
  while (size < needed) size *= 2;
  const b = new (a.constructor as new (length: number) => T)(size);
  b.set(a as never);
  return b;
}

/** A growable list of u32, used for per-track call lists and frame links. */
export class U32List {
  data: Uint32Array;
  length = 0;
  constructor(initial = 16) {
    this.data = new Uint32Array(initial);
  }
  push(v: number): void {
    if (this.length === this.data.length) this.data = ensureCapacity(this.data, this.length + 1);
    this.data[this.length++] = v;
  }
  get bytes(): number {
    return this.data.byteLength;
  }
}

/** First index in [lo, hi) whose key is >= `value`; `key(i)` must be non-decreasing. */
export function lowerBound(lo: number, hi: number, value: number, key: (i: number) => number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(mid) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Returns `a` when it holds `needed` elements, else a copy of the same kind exactly that long (sizing from a hint). */
export function reserveCapacity<T extends TypedArray>(a: T, needed: number): T {
  if (needed <= a.length) return a;
  const b = new (a.constructor as new (length: number) => T)(needed);
  b.set(a as never);
  return b;
}
