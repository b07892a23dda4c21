// The legend's corner: the first corner no curve crosses, in order of preference, found from the drawn
// segments (also those that pass a corner without a point in it); right of the plot when all are crossed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CORNERS, placeLegend, type Box, type Polyline } from './legend-corner';

const plot: Box = { x: 40, y: 10, w: 300, h: 160 }; // right edge 340, bottom 170
const size = { w: 60, h: 40 };

test('rising CDF curves that flatten at the top right leave the bottom right to the legend', () => {
  const cdfs: Polyline[] = [
    [[40, 168], [80, 40], [120, 14], [340, 12]],
    [[100, 168], [160, 60], [200, 14], [300, 12]],
  ];
  assert.deepEqual(placeLegend(plot, size, cdfs, 3), { corner: 'bottom-right', box: { x: 277, y: 127, w: 60, h: 40 } });
});

test('a segment that crosses a corner without a point in it counts; one just outside the keep-out does not', () => {
  // bottom right's keep-out is x 274..340, y 124..170: from (200, 169) to (340, 100) passes through it
  assert.equal(placeLegend(plot, size, [[[200, 169], [340, 100]]], 3).corner, 'top-left');
  // a horizontal line at y 123 runs the whole width just above it
  assert.equal(placeLegend(plot, size, [[[40, 123], [340, 123]]], 3).corner, 'bottom-right');
  // a lone point is a curve too
  assert.equal(placeLegend(plot, size, [[[300, 150]]], 3).corner, 'top-left');
});

test('the corners are tried in order: bottom right, top left, bottom left, top right', () => {
  const across = (y: number): Polyline => [[40, y], [340, y]];
  const right = (x: number): Polyline => [[x, 10], [x, 170]];
  assert.equal(placeLegend(plot, size, [across(150)], 3).corner, 'top-left');
  assert.equal(placeLegend(plot, size, [across(150), right(60)], 3).corner, 'top-right');
  assert.equal(placeLegend(plot, size, [[[40, 160], [340, 20]], [[200, 150], [340, 150]]], 3).corner, 'top-left');
  assert.equal(placeLegend(plot, size, [[[40, 20], [340, 20]], [[200, 150], [340, 150]]], 3).corner, 'bottom-left');
});

test('every corner crossed, or a legend too big for the plot: right of the plot, top-aligned', () => {
  const x: Polyline[] = [[[40, 10], [340, 170]], [[40, 170], [340, 10]]];
  assert.deepEqual(placeLegend(plot, size, x, 3), { corner: null, box: { x: 343, y: 10, w: 60, h: 40 } });
  assert.deepEqual(placeLegend(plot, { w: 295, h: 20 }, [], 3), { corner: null, box: { x: 343, y: 10, w: 295, h: 20 } });
  assert.equal(placeLegend(plot, { w: 294, h: 154 }, [], 3).corner, 'bottom-right', 'exactly fits');
});

test('bad sizes are a clear error', () => {
  assert.throws(() => placeLegend({ ...plot, w: 0 }, size, [], 3), /plot of positive size/);
  assert.throws(() => placeLegend(plot, { w: Number.NaN, h: 1 }, [], 3), /legend size >= 0/);
  assert.throws(() => placeLegend(plot, size, [], -1), /pad >= 0/);
});

test('random curves: the chosen corner is clear of every curve, and each corner tried before it is crossed', () => {
  let seed = 11;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const steps = 400;
  // the least distance (px, max-norm) from `r` to any of the curves' segments, sampled `steps` times per segment
  const gap = (curves: Polyline[], r: Box) => {
    let least = Infinity;
    for (const c of curves)
      for (let i = 0; i + 1 < c.length; i++)
        for (let s = 0; s <= steps; s++) {
          const [ax, ay] = c[i]!, [bx, by] = c[i + 1]!;
          const px = ax + ((bx - ax) * s) / steps, py = ay + ((by - ay) * s) / steps;
          least = Math.min(least, Math.max(r.x - px, px - r.x - r.w, r.y - py, py - r.y - r.h, 0));
        }
    return least;
  };
  const keepOut = (b: Box, pad: number): Box => ({ x: b.x - pad, y: b.y - pad, w: b.w + 2 * pad, h: b.h + 2 * pad });
  const cornerBox = (i: number, pad: number): Box => {
    const c = CORNERS[i]!;
    return { x: c.endsWith('right') ? plot.x + plot.w - pad - size.w : plot.x + pad, y: c.startsWith('bottom') ? plot.y + plot.h - pad - size.h : plot.y + pad, ...size };
  };
  const seen = new Set<string>();
  for (let k = 0; k < 300; k++) {
    const curves: Polyline[] = Array.from({ length: 1 + Math.floor(rand() * 3) }, () =>
      Array.from({ length: 2 + Math.floor(rand() * 4) }, () => [plot.x + rand() * plot.w, plot.y + rand() * plot.h] as const));
    const { box, corner } = placeLegend(plot, size, curves, 3);
    seen.add(String(corner));
    const chosen = corner === null ? CORNERS.length : CORNERS.indexOf(corner);
    if (corner !== null) assert.ok(gap(curves, keepOut(box, 3)) > 0, `${corner} is clear`);
    else assert.equal(box.x, plot.x + plot.w + 3);
    // a segment that enters a box has a sample within a step's length of it
    for (let i = 0; i < chosen; i++) assert.ok(gap(curves, keepOut(cornerBox(i, 3), 3)) <= 300 / steps, `${CORNERS[i]} before ${corner} is crossed`);
  }
  assert.equal(seen.size, CORNERS.length + 1, `every corner and the outside were chosen at least once: ${[...seen].join(', ')}`);
});
