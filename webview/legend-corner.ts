// Where a chart's legend goes so that no curve runs through it: the first plot corner, in order of
// preference, whose box no drawn segment crosses; right of the plot when every corner is crossed. A CDF
// rises left to right and flattens near 100%, so its top right (where the histogram's legend sits) is
// where all curves meet, and its bottom right is empty unless a path's slowest calls stretch the axis
// while its curve is still low; so the corners are tested on the points actually drawn, not assumed.

/** A rectangle in the chart's px coordinates (y grows downwards, as in SVG). */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export type Corner = 'bottom-right' | 'top-left' | 'bottom-left' | 'top-right';
/** Tried in this order: a CDF's empty corner first, then the one its curves leave before they rise. */
export const CORNERS: readonly Corner[] = ['bottom-right', 'top-left', 'bottom-left', 'top-right'];

/** A drawn curve: its points in px, joined by straight segments (as d3's default `line` draws them). */
export type Polyline = readonly (readonly [number, number])[];

/**
 * Places a `size` legend `pad` px inside a corner of `plot`, in the first corner of CORNERS whose box, grown
 * by `pad` (room for the stroke), no segment of `curves` enters. `corner` is null when every corner is
 * crossed (or the legend does not fit): the box is then `pad` px right of the plot, top-aligned, and the
 * chart must grow to hold it.
 */
export function placeLegend(plot: Box, size: { w: number; h: number }, curves: readonly Polyline[], pad: number): { box: Box; corner: Corner | null } {
  if (!(plot.w > 0 && plot.h > 0 && size.w >= 0 && size.h >= 0 && pad >= 0))
    throw new RangeError(`legend placement needs a plot of positive size, a legend size >= 0 and a pad >= 0 (got plot ${plot.w}x${plot.h}, legend ${size.w}x${size.h}, pad ${pad})`);
  const fits = size.w + 2 * pad <= plot.w && size.h + 2 * pad <= plot.h;
  for (const corner of fits ? CORNERS : []) {
    const box: Box = {
      x: corner.endsWith('right') ? plot.x + plot.w - pad - size.w : plot.x + pad,
      y: corner.startsWith('bottom') ? plot.y + plot.h - pad - size.h : plot.y + pad,
      w: size.w,
      h: size.h,
    };
    const keepOut = { x: box.x - pad, y: box.y - pad, w: box.w + 2 * pad, h: box.h + 2 * pad };
    if (!curves.some((c) => crosses(c, keepOut))) return { box, corner };
  }
  return { box: { x: plot.x + plot.w + pad, y: plot.y, w: size.w, h: size.h }, corner: null };
}

/** Whether any segment of `c` (a lone point counts as a segment of length 0) enters `r`. */
function crosses(c: Polyline, r: Box): boolean {
  for (let i = 0; i < c.length; i++) if (segmentEnters(c[i]!, c[Math.min(i + 1, c.length - 1)]!, r)) return true;
  return false;
}

/** Liang–Barsky: clip the segment a→b to `r`'s four edges; something is left iff it enters `r`. */
function segmentEnters(a: readonly [number, number], b: readonly [number, number], r: Box): boolean {
  const dx = b[0] - a[0], dy = b[1] - a[1];
  let t0 = 0, t1 = 1;
  const edges: [number, number][] = [[-dx, a[0] - r.x], [dx, r.x + r.w - a[0]], [-dy, a[1] - r.y], [dy, r.y + r.h - a[1]]];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return false; // parallel to this edge and outside it
      continue;
    }
    const t = q / p;
    if (p < 0) t0 = Math.max(t0, t);
    else t1 = Math.min(t1, t);
    if (t0 > t1) return false;
  }
  return true;
}
