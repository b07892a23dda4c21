// The figure every benchmark script reports.

/** The median of a few runs (the upper middle for an even count): robust to one slow run on a shared machine. */
export function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
}
