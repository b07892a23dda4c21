// Axis labels stay distinct at every zoom: the step, not the window, sets the decimals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tickFormat } from './timeline-axis';

test('ticks 1 µs apart near 5 s differ; ticks 1 ms apart near 0 read as ms', () => {
  const f = tickFormat(1000, 5e9 + 5000);
  const labels = [0, 1, 2, 3].map((i) => f(5e9 + i * 1000));
  assert.equal(new Set(labels).size, 4, labels.join(' '));
  assert.equal(labels[1], '5.000001 s');
  const g = tickFormat(1e6, 4e6);
  assert.equal(g(2e6), '2 ms');
  assert.equal(tickFormat(200, 900)(400), '400 ns');
  assert.equal(tickFormat(0.5e6, 3e6)(1.5e6), '1.5 ms');
});
