import assert from 'node:assert/strict';
import { it } from 'node:test';
import { busyPollFigures } from './poll-figures';

it('busy_poll gives the span\'s shares of activity, and the window at its end', () => {
  const before = { activity: 10, found: 5, crowded: 2, empty: 1, windowUs: 200 };
  const after = { activity: 1010, found: 905, crowded: 52, empty: 1, windowUs: 100 };
  assert.deepEqual(busyPollFigures(before, after), { activity: 1000, found_pct: 90, crowded_pct: 5, empty_pct: 0, window_us: 100 });
  assert.deepEqual(busyPollFigures(after, after), { activity: 0, found_pct: null, crowded_pct: null, empty_pct: null, window_us: 100 });
});
