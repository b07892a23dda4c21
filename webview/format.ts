// Human units for nanosecond durations and times, precise enough for the span being looked at.

/** `ns` as a duration: 850 ns, 12.3 µs, 4.56 ms, 1.2 s. `span` picks the precision for axis ticks. */
export function formatDuration(ns: number, span = Math.abs(ns)): string {
  const a = Math.max(Math.abs(span), Math.abs(ns));
  if (a < 1e3) return `${trim(ns, 0)} ns`;
  if (a < 1e6) return `${trim(ns / 1e3, span < 1e4 ? 2 : 1)} µs`;
  if (a < 1e9) return `${trim(ns / 1e6, span < 1e7 ? 3 : 2)} ms`;
  return `${trim(ns / 1e9, span < 1e10 ? 3 : 2)} s`;
}

function trim(v: number, digits: number): string {
  return Number(v.toFixed(digits)).toString();
}

/** One formatter for every count (1,234,567): toLocaleString builds a new one per call, several per frame. */
const COUNT = new Intl.NumberFormat('en');

/** `v` with thousands separators, as toLocaleString('en') writes it. */
export function formatCount(v: number): string {
  return COUNT.format(v);
}
