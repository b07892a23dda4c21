// The figures a bench report gives: throughput from bytes and time, and the rounding every figure gets.

export function mbPerS(bytes: number, ns: number): number {
  return ns > 0 ? bytes / (ns / 1e9) / 1e6 : 0;
}

/** Rounds a figure for the report: 3 significant decimals is more than the noise allows. */
export function round(x: number | null): number | null {
  return x === null ? null : Math.round(x * 1000) / 1000;
}
