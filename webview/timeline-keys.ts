// The Timeline panel's keys: WASD and arrows zoom and pan, F fits, Z zooms to the brushed range, , and .
// walk the selected call's track, N steps through filter matches, L toggles following live, G aligns paths.

import type { KeyBinding } from './keymap';

export interface TimelineKeyActions {
  /** Multiplies the window's width (below 1 zooms in). */
  zoomBy(factor: number): void;
  /** Moves the window by a fraction of its width. */
  panBy(fraction: number): void;
  /** Scrolls the tracks by a fraction of the canvas height. */
  scrollPages(pages: number): void;
  fit(): void;
  zoomToBrush(): void;
  neighbour(dir: 1 | -1): void;
  stepMatch(dir: 1 | -1): void;
  toggleFollow(): void;
  /** Each path from its own start on one axis, or all on host time. */
  toggleAligned(): void;
  /** Clears the selected call and the brushed range. */
  clear(): void;
}

export function timelineKeys(a: TimelineKeyActions): KeyBinding[] {
  return [
    { keys: ['w', 'W', 'ArrowUp'], label: 'W / ↑', help: 'zoom in (Shift: faster)', run: (p) => a.zoomBy(p.shiftKey ? 0.5 : 0.8) },
    { keys: ['s', 'S', 'ArrowDown'], label: 'S / ↓', help: 'zoom out (Shift: faster)', run: (p) => a.zoomBy(p.shiftKey ? 2 : 1.25) },
    { keys: ['a', 'A', 'ArrowLeft'], label: 'A / ←', help: 'pan left (Shift: faster)', run: (p) => a.panBy(p.shiftKey ? -0.5 : -0.1) },
    { keys: ['d', 'D', 'ArrowRight'], label: 'D / →', help: 'pan right (Shift: faster)', run: (p) => a.panBy(p.shiftKey ? 0.5 : 0.1) },
    { keys: [], label: 'wheel, drag', help: 'zoom and pan; drag on the time axis selects a range', run: () => false },
    { keys: ['PageDown'], label: 'PageDown', help: 'scroll tracks down', run: () => a.scrollPages(0.8) },
    { keys: ['PageUp'], label: 'PageUp', help: 'scroll tracks up', run: () => a.scrollPages(-0.8) },
    { keys: ['f', 'F'], label: 'F', help: 'fit everything', run: () => a.fit() },
    { keys: ['z', 'Z'], label: 'Z', help: 'zoom to the selected range', run: () => a.zoomToBrush() },
    { keys: [','], label: ',', help: 'previous call on the selected track', run: () => a.neighbour(-1) },
    { keys: ['.'], label: '.', help: 'next call on the selected track', run: () => a.neighbour(1) },
    { keys: ['n'], label: 'N', help: 'next match of the filter', run: () => a.stepMatch(1) },
    { keys: ['N'], label: 'Shift+N', help: 'previous match of the filter', run: () => a.stepMatch(-1) },
    { keys: ['l', 'L'], label: 'L', help: 'follow live on or off', run: () => a.toggleFollow() },
    { keys: ['g', 'G'], label: 'G', help: 'paths aligned at their own starts, or on host time', run: () => a.toggleAligned() },
    { keys: ['Escape'], label: 'Esc', help: 'clear selection and range', run: () => a.clear() },
  ];
}
