// A stable sort order for a typed array of keys, without a comparator call per comparison: a track of
// a few hundred thousand items that arrived out of order (a guest's frames from several sockets) sorts in
// milliseconds rather than the tens that Array.prototype.sort with a comparator over boxed indexes costs.
// Tuned for nearly sorted input: merges of two runs already in order are skipped.

/** Items sorted by insertion before merging. */
const BLOCK = 16;

/**
 * The positions 0..n-1 ordered by keys[position] ascending, ties in position order. The result is one of
 * two scratch arrays handed in (each at least n long), so repeated sorts allocate nothing.
 */
export function sortOrder(keys: Float64Array, n: number, a: Uint32Array, b: Uint32Array): Uint32Array {
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
