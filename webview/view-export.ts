// Saving the current timeline view: PNG from the canvas with the stage legend and the time axis drawn
// above it (a picture of bars without them says nothing), SVG rebuilt from the same merged marks the
// canvas drew (runs of pixel columns), so the file stays small however many calls are in view.

import type { CallStore } from './call-store';
import { drawTimeline, RenderBuffers, GUTTER, type View, type Marks } from './timeline-render';
import type { Layout } from './track-layout';
import type { Palette } from './palette';
import { COLOUR_COUNT } from './palette';

/** Legend rows in the PNG: swatch, name, gap; wrapped to the image's width. */
const LEGEND_ROW = 16;
const LEGEND_PAD = 6;

interface LegendEntry {
  colour: string;
  label: string;
}

/** The legend's entries as the page shows them: each swatch's computed colour and its name. */
function legendEntries(legend: HTMLElement | null): LegendEntry[] {
  if (!legend) return [];
  return [...legend.querySelectorAll<HTMLElement>('.legend-item')].map((item) => {
    const swatch = item.querySelector<HTMLElement>('.swatch');
    return { colour: swatch ? getComputedStyle(swatch).backgroundColor : 'transparent', label: (item.textContent ?? '').trim() };
  });
}

/** Where each legend entry goes (CSS px), wrapping at `width`; and the legend's height. */
function layoutLegend(ctx: CanvasRenderingContext2D, entries: LegendEntry[], width: number): { at: { x: number; y: number }[]; height: number } {
  const at: { x: number; y: number }[] = [];
  let x = GUTTER;
  let y = LEGEND_PAD;
  for (const e of entries) {
    const w = 14 + ctx.measureText(e.label).width + 12;
    if (x + w > width && x > GUTTER) {
      x = GUTTER;
      y += LEGEND_ROW;
    }
    at.push({ x, y });
    x += w;
  }
  return { at, height: entries.length ? y + LEGEND_ROW + LEGEND_PAD / 2 : 0 };
}

/** The axis's ticks as d3 drew them: x (from the tick's translate) and label. */
function axisTicks(axis: SVGSVGElement | null): { x: number; label: string }[] {
  if (!axis) return [];
  return [...axis.querySelectorAll('g.axis-g g.tick')].flatMap((t) => {
    const m = /translate\(\s*([-\d.e]+)/.exec(t.getAttribute('transform') ?? '');
    return m ? [{ x: Number(m[1]), label: t.querySelector('text')?.textContent ?? '' }] : [];
  });
}

/**
 * A PNG of the view as the page shows it: the stage legend, the time axis with its tick labels, then the
 * tracks canvas, composed on one canvas at the tracks' device pixel ratio.
 */
export function viewAsPng(canvas: HTMLCanvasElement, axis: SVGSVGElement | null, legend: HTMLElement | null, palette: Palette): string {
  const dpr = canvas.clientWidth > 0 ? canvas.width / canvas.clientWidth : window.devicePixelRatio || 1;
  const width = canvas.width / dpr;
  const out = document.createElement('canvas');
  const ctx = out.getContext('2d')!;
  ctx.font = palette.font;
  const entries = legendEntries(legend);
  const placed = layoutLegend(ctx, entries, width);
  const axisH = axis ? Number(axis.getAttribute('height') ?? 0) : 0;
  const top = placed.height + axisH;
  out.width = canvas.width;
  out.height = canvas.height + Math.round(top * dpr);
  // Resizing reset the context: set it up again.
  ctx.scale(dpr, dpr);
  ctx.font = palette.font;
  ctx.fillStyle = palette.background;
  ctx.fillRect(0, 0, width, out.height / dpr);
  ctx.textBaseline = 'middle';
  entries.forEach((e, i) => {
    const { x, y } = placed.at[i]!;
    ctx.fillStyle = e.colour;
    ctx.fillRect(x, y + 3, 10, 10);
    ctx.fillStyle = palette.foreground;
    ctx.fillText(e.label, x + 14, y + 8);
  });
  if (axis) {
    const base = placed.height + axisH - 1;
    ctx.fillStyle = palette.foreground;
    ctx.fillRect(GUTTER, base, width - GUTTER, 1);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'alphabetic';
    for (const t of axisTicks(axis)) {
      ctx.fillRect(Math.round(t.x), base - 6, 1, 6);
      ctx.fillText(t.label, t.x, base - 9);
    }
  }
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.drawImage(canvas, 0, Math.round(top * dpr));
  return out.toDataURL('image/png');
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
