// Tick labels for the timeline's time axis. A label has as many decimals as the tick step needs, in the
// unit of the largest value shown: at deep zoom far from 0, "5.000012 s" and "5.000013 s" stay apart
// where a label sized by the window alone would print "5 s" twice.

const UNITS: [number, string][] = [[1e9, 's'], [1e6, 'ms'], [1e3, 'µs'], [1, 'ns']];

/** A formatter for ticks `step` ns apart whose values reach `maxAbs` ns. */
export function tickFormat(step: number, maxAbs: number): (ns: number) => string {
  const [scale, unit] = UNITS.find(([u]) => maxAbs >= u) ?? UNITS[UNITS.length - 1]!;
  const digits = Math.max(0, Math.min(9, Math.ceil(-Math.log10(Math.max(step, 1e-3) / scale) - 1e-9)));
  return (ns) => `${(ns / scale).toFixed(digits)} ${unit}`;
}
