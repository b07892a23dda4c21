// A chart legend's entries laid out left to right by their real widths, wrapping to a new row when the
// next entry would pass the chart's edge. Stage names are long and uneven ("execute (host socket)" beside
// "kernel"), so fixed columns either waste room or run one label into the next.

/** Where one entry goes: its left edge (px from the flow's start) and its row (0 first). */
export interface FlowPlace {
  readonly x: number;
  readonly row: number;
}

/**
 * Places entries of `widths` (px) within `width`, `gap` px apart. An entry wider than `width` gets a row of
 * its own (nothing narrower would fit beside it anyway). `rows` is how many rows were used.
 */
export function flowLegend(widths: readonly number[], width: number, gap: number): { at: FlowPlace[]; rows: number } {
  if (!(width > 0) || !(gap >= 0)) throw new RangeError(`legend flow needs a positive width and a gap >= 0 (got ${width}, ${gap})`);
  const at: FlowPlace[] = [];
  let x = 0;
  let row = 0;
  for (const w of widths) {
    if (x > 0 && x + w > width) {
      x = 0;
      row++;
    }
    at.push({ x, row });
    x += w + gap;
  }
  return { at, rows: widths.length ? row + 1 : 0 };
}

let measureCtx: CanvasRenderingContext2D | null | undefined;

/**
 * How wide `text` draws at `fontPx` in `fontFamily`, measured on a scratch canvas (the chart may not be in
 * the document yet, where SVG text has no length); an estimate from its length if there is no canvas.
 */
export function textWidth(text: string, fontPx: number, fontFamily: string): number {
  if (measureCtx === undefined) measureCtx = document.createElement('canvas').getContext('2d');
  if (!measureCtx) return text.length * fontPx * 0.6;
  measureCtx.font = `${fontPx}px ${fontFamily || 'sans-serif'}`;
  return measureCtx.measureText(text).width;
}
