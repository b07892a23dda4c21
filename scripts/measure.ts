// The figure every benchmark script reports.

/** The value after `--name` on the command line, or `dflt`. */
export function option(argv: readonly string[], name: string, dflt: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? String(argv[i + 1]) : dflt;
}

/** The median of a few runs (the upper middle for an even count): robust to one slow run on a shared machine. */
export function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
}

/** Named figures of one run; null where the run had none. */
export type Figures = Record<string, number | null>;

export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

/** Per key and figure: the median and range over the key's runs (figures a run lacked are left out). */
export function summarize(runs: Map<string, Figures[]>): Record<string, Record<string, Spread>> {
  const summary: Record<string, Record<string, Spread>> = {};
  for (const [key, list] of runs) {
    const names = [...new Set(list.flatMap((f) => Object.keys(f)))];
    const figs: Record<string, Spread> = {};
    for (const n of names) {
      const xs = list.map((f) => f[n]).filter((x): x is number => typeof x === 'number');
      if (xs.length) figs[n] = { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs };
    }
    summary[key] = figs;
  }
  return summary;
}

/** Prints a summary: each key, then its figures' medians with their ranges. */
export function printSummary(summary: Record<string, Record<string, Spread>>): void {
  for (const [key, figs] of Object.entries(summary)) {
    console.log(key);
    for (const [n, s] of Object.entries(figs)) console.log(`  ${n.padEnd(22)} ${String(s.median).padStart(8)}  (${s.min}–${s.max})`);
  }
}
