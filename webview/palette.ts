// Canvas colours, read from the CSS variables of the VS Code theme (media/viewer.css maps them) and
// re-read when VS Code switches the body's theme class. Colour indices are what the renderer stores
// per pixel column: 0 = empty, then the stages, the frame directions, and the dimmed stages.

import { color, interpolateRgb } from 'd3';
import { FRAME_DIRECTIONS } from '../protocol/trace';
import { VIEW_STAGES } from './view-stages';

export const STAGE_COLOURS = 1;
export const FRAME_COLOURS = STAGE_COLOURS + VIEW_STAGES.length;
export const DIMMED_COLOURS = FRAME_COLOURS + FRAME_DIRECTIONS.length;
export const COLOUR_COUNT = DIMMED_COLOURS + VIEW_STAGES.length;

/** A column keeps the colour of highest rank: a matching call outranks a dimmed one. */
export const RANK = new Uint8Array(COLOUR_COUNT).map((_, c) => (c === 0 ? 0 : c < DIMMED_COLOURS ? 2 : 1));

export interface Palette {
  /** Fill per colour index (index 0 unused). */
  fills: string[];
  background: string;
  foreground: string;
  muted: string;
  laneBackground: string;
  selection: string;
  brush: string;
  link: string;
  font: string;
}

/** Reads the palette from computed styles of `el` (the variables are defined in media/viewer.css). */
export function readPalette(el: Element): Palette {
  const cs = getComputedStyle(el);
  const v = (name: string, fallback: string): string => cs.getPropertyValue(name).trim() || fallback;
  const background = v('--ls-canvas-background', '#1e1e1e');
  const fills: string[] = new Array<string>(COLOUR_COUNT).fill('');
  VIEW_STAGES.forEach((s, i) => {
    const c = v(`--ls-stage-${s.name}`, s.fallback);
    fills[STAGE_COLOURS + i] = c;
    fills[DIMMED_COLOURS + i] = dim(c, background);
  });
  FRAME_DIRECTIONS.forEach((d, i) => (fills[FRAME_COLOURS + i] = v(`--ls-frame-${d}`, '#999')));
  return {
    fills,
    background,
    foreground: v('--ls-foreground', '#ccc'),
    muted: v('--ls-muted', '#888'),
    laneBackground: v('--ls-lane-background', 'rgba(128,128,128,0.12)'),
    selection: v('--ls-selection', '#ffcc00'),
    brush: v('--ls-brush', 'rgba(0,120,212,0.2)'),
    link: v('--ls-link', '#ff00ff'),
    font: `${v('--vscode-editor-font-size', '12px')} ${v('--vscode-font-family', 'sans-serif')}`.replace(/^(\d+)(?!px)/, '$1px'),
  };
}

/** A dimmed colour is the stage colour mostly faded into the background, so non-matches recede. */
function dim(c: string, background: string): string {
  const a = color(c);
  const b = color(background);
  if (!a || !b) return c;
  return interpolateRgb(b, a)(0.22);
}

/** Calls `onChange` whenever VS Code swaps the theme class on body (vscode-light/dark/high-contrast). */
export function watchTheme(onChange: () => void): MutationObserver {
  const mo = new MutationObserver(() => onChange());
  mo.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind'] });
  return mo;
}
