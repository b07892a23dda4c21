// Saving the current timeline view: PNG from the canvas, SVG rebuilt from the same merged marks the
// canvas drew (runs of pixel columns), so the file stays small however many calls are in view.

import type { CallStore } from './call-store';
import { drawTimeline, RenderBuffers, GUTTER, type View, type Marks } from './timeline-render';
import type { Layout } from './track-layout';
import type { Palette } from './palette';
import { COLOUR_COUNT } from './palette';

export function viewAsPng(canvas: HTMLCanvasElement): string {
  return canvas.toDataURL('image/png');
}

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** An SVG of the view: a rect per colour run, lane headers and track labels as text. */
export function viewAsSvg(store: CallStore, layout: Layout, view: View, palette: Palette, marks: Marks, axisSvg: SVGSVGElement | null): string {
  // Draw into an off-screen canvas to collect the same runs the screen shows.
  const buf = new RenderBuffers();
  const off = document.createElement('canvas');
  off.width = 1;
  off.height = 1;
  const ctx = off.getContext('2d')!;
  drawTimeline(ctx, store, layout, { ...view, dpr: 1 }, palette, marks, buf);
  const axisH = axisSvg ? Number(axisSvg.getAttribute('height') ?? 0) : 0;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${view.width}" height="${view.height + axisH}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="${esc(palette.background)}"/>`);
  if (axisSvg) out.push(`<g class="axis" fill="${esc(palette.foreground)}" color="${esc(palette.foreground)}">${axisSvg.querySelector('g.axis-g')?.outerHTML ?? ''}</g>`);
  out.push(`<g transform="translate(0,${axisH})">`);
  for (const row of layout.rows) {
    const y = row.y - view.scrollY;
    if (y + row.h < 0 || y > view.height) continue;
    if (row.kind === 'run') {
      out.push(`<rect y="${y + 1}" width="${view.width}" height="1" fill="${esc(palette.foreground)}"/>`);
      out.push(`<text x="4" y="${y + row.h / 2 + 5}" fill="${esc(palette.foreground)}">${esc(row.label)}</text>`);
    } else if (row.kind === 'lane') {
      out.push(`<rect y="${y}" width="${view.width}" height="${row.h}" fill="${esc(palette.laneBackground)}"/>`);
      out.push(`<text x="4" y="${y + row.h / 2 + 4}" fill="${esc(palette.foreground)}">${esc(row.label)}</text>`);
    } else out.push(`<text x="10" y="${y + row.h / 2 + 4}" fill="${esc(palette.muted)}">${esc(row.label)}</text>`);
  }
  for (let c = 1; c < COLOUR_COUNT; c++) {
    const n = buf.runLen[c]!;
    if (n === 0) continue;
    const a = buf.runs[c]!;
    out.push(`<g fill="${esc(palette.fills[c]!)}">`);
    for (let i = 0; i < n; i += 4) out.push(`<rect x="${GUTTER + a[i]!}" y="${a[i + 1]!}" width="${a[i + 2]!}" height="${a[i + 3]!}"/>`);
    out.push('</g>');
  }
  out.push('</g></svg>');
  return out.join('\n');
}
