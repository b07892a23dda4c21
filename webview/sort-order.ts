// A stable sort order for a typed array of keys, without a comparator call per comparison: a track of
// a few hundred thousand items that arrived out of order (a guest's frames from several sockets) sorts in
// milliseconds rather than the tens that Array.prototype.sort with a comparator over boxed indexes costs.
// Whole-number keys within 2^48 of each other (times in ns, the usual case) take up to three counting
// passes of 16 bits each; any others a merge sort that skips merging two runs already in order.

/** Items sorted by insertion before merging. */
const BLOCK = 16;

/**
 * The positions 0..n-1 ordered by keys[position] ascending, ties in position order. The result is one of
 * two scratch arrays handed in (each at least n long), so repeated sorts allocate nothing.
 */
export function sortOrder(keys: Float64Array, n: number, a: Uint32Array, b: Uint32Array): Uint32Array {
  let min = Infinity;
  let max = -Infinity;
  let whole = true;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    if (k < min) min = k;
    if (k > max) max = k;
    if (whole && k !== Math.floor(k)) whole = false;
  }
  if (n > 0 && whole && max - min < 2 ** 48) return radixOrder(keys, n, min, max - min, a, b);
  return mergeOrder(keys, n, a, b);
}

/** Counts per 16-bit digit, reused. */
const counts = new Uint32Array(1 << 16);

/** Digit `d` (16 bits each, 0 lowest) of a whole number below 2^48. */
function digit(x: number, d: number): number {
  return d === 0 ? x & 0xffff : d === 1 ? (x >>> 16) & 0xffff : Math.floor(x / 2 ** 32) & 0xffff;
}

/**
 * Stable counting passes over the keys' offsets from `min` (whole numbers below 2^48: 78 hours in ns),
 * 16 bits a pass from the lowest, as many as the largest offset needs.
 */
function radixOrder(keys: Float64Array, n: number, min: number, range: number, a: Uint32Array, b: Uint32Array): Uint32Array {
  const passes = range < 2 ** 16 ? 1 : range < 2 ** 32 ? 2 : 3;
  let src: Uint32Array | null = null;
  let dst = b;
  for (let d = 0; d < passes; d++) {
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = digit(keys[i]! - min, d);
      counts[c] = counts[c]! + 1;
    }
    prefixSums();
    for (let j = 0; j < n; j++) {
      const i = src === null ? j : src[j]!;
      const c = digit(keys[i]! - min, d);
      const p = counts[c]!;
      counts[c] = p + 1;
      dst[p] = i;
    }
    src = dst;
    dst = dst === b ? a : b;
  }
  return src!;
}

/** Turns counts into the first position of each digit. */
function prefixSums(): void {
  let sum = 0;
  for (let d = 0; d < counts.length; d++) {
    const c = counts[d]!;
    counts[d] = sum;
    sum += c;
  }
}

function mergeOrder(keys: Float64Array, n: number, a: Uint32Array, b: Uint32Array): Uint32Array {
  for (let i = 0; i < n; i++) a[i] = i;
  for (let lo = 0; lo < n; lo += BLOCK) insertionSort(keys, a, lo, Math.min(n, lo + BLOCK));
  let src = a;
  let dst = b;
  for (let width = BLOCK; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(n, lo + width);
      const hi = Math.min(n, lo + 2 * width);
      if (mid >= hi || keys[src[mid - 1]!]! <= keys[src[mid]!]!) dst.set(src.subarray(lo, hi), lo);
      else merge(keys, src, dst, lo, mid, hi);
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

function insertionSort(keys: Float64Array, o: Uint32Array, lo: number, hi: number): void {
  for (let i = lo + 1; i < hi; i++) {
    const v = o[i]!;
    const k = keys[v]!;
    let j = i - 1;
    while (j >= lo && keys[o[j]!]! > k) {
      o[j + 1] = o[j]!;
      j--;
    }
    o[j + 1] = v;
  }
}

function merge(keys: Float64Array, src: Uint32Array, dst: Uint32Array, lo: number, mid: number, hi: number): void {
  let i = lo;
  let j = mid;
  let w = lo;
  while (i < mid && j < hi) {
    const x = src[i]!;
    const y = src[j]!;
    if (keys[y]! < keys[x]!) {
      dst[w++] = y;
      j++;
    } else {
      dst[w++] = x;
      i++;
    }
  }
  if (i < mid) dst.set(src.subarray(i, mid), w);
  else if (j < hi) dst.set(src.subarray(j, hi), w);
}
