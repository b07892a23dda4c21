// The legend flow: entries keep their order, never overlap, stay within the width, and wrap only when
// the next entry would not fit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flowLegend } from './legend-flow';

test('entries flow left to right and wrap when the next would pass the edge', () => {
  // 50, 60 and 41 would end at 171: 41 wraps; 41 and 100 end at 151; 30 after its gap would end at 191: wraps
  const { at, rows } = flowLegend([50, 60, 41, 100, 30], 170, 10);
  assert.deepEqual(at, [{ x: 0, row: 0 }, { x: 60, row: 0 }, { x: 0, row: 1 }, { x: 51, row: 1 }, { x: 0, row: 2 }]);
  assert.equal(rows, 3);
});

test('an entry that exactly fits stays on the row; a wider-than-width entry gets a row of its own', () => {
  assert.deepEqual(flowLegend([50, 50], 110, 10).at, [{ x: 0, row: 0 }, { x: 60, row: 0 }]);
  assert.deepEqual(flowLegend([20, 300, 20], 100, 5), { at: [{ x: 0, row: 0 }, { x: 0, row: 1 }, { x: 0, row: 2 }], rows: 3 });
});

test('no entries, no rows; a bad width is a clear error', () => {
  assert.deepEqual(flowLegend([], 100, 4), { at: [], rows: 0 });
  assert.throws(() => flowLegend([10], 0, 4), /positive width/);
  assert.throws(() => flowLegend([10], Number.NaN, 4), /positive width/);
});

test('random widths: in order, within the width, never overlapping', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let k = 0; k < 200; k++) {
    const widths = Array.from({ length: 1 + Math.floor(rand() * 12) }, () => 5 + rand() * 120);
    const width = 130 + rand() * 300;
    const { at, rows } = flowLegend(widths, width, 8);
    at.forEach((p, i) => {
      assert.ok(p.x + widths[i]! <= width, 'within the width');
      if (i > 0) {
        const q = at[i - 1]!;
        assert.ok(p.row > q.row || p.x >= q.x + widths[i - 1]! + 8, 'after the previous entry and its gap');
        assert.ok(p.row === q.row || q.x + widths[i - 1]! + 8 + widths[i]! > width, 'wraps only when it must');
      }
    });
    assert.equal(rows, at[at.length - 1]!.row + 1);
  }
});
