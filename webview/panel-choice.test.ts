// Which tab shows and what survives a reload, without a browser: the user's pick beats the viewer's
// suggestions, a saved tab that no panel has falls back, and saves are debounced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PanelChoice } from './panel-choice';
import { restoreState, StateSaver } from './viewer-state';
import { EMPTY_FILTER } from './call-filter';

const IDS = ['compare', 'timeline'];

test('with nothing saved the first panel shows and the viewer may switch (a comparison run opens Compare)', () => {
  const state = restoreState(undefined, 'timeline');
  const c = new PanelChoice(state, IDS, 'timeline', false);
  assert.equal(c.current, 'timeline');
  assert.equal(c.suggest('compare'), true);
  assert.equal(state.tab, 'compare', 'the choice writes the saved state');
  assert.equal(c.suggest('compare'), false, 'already shown: nothing changes');
});

test("once the user picked a tab, suggestions are ignored but the program's own switches still happen", () => {
  const state = restoreState(undefined, 'timeline');
  const c = new PanelChoice(state, IDS, 'timeline', false);
  assert.equal(c.pick('timeline'), false, 'picking the shown tab changes nothing on screen...');
  assert.equal(c.userPicked, true, '...but counts as a pick');
  assert.equal(c.suggest('compare'), false);
  assert.equal(c.current, 'timeline');
  c.pick('compare');
  assert.equal(c.show('timeline'), true, 'saving an image shows the timeline whatever was picked');
  assert.equal(c.current, 'timeline');
});

test('a restored tab counts as the user\'s pick; one no panel has any more falls back to the first and does not', () => {
  const kept = new PanelChoice(restoreState({ tab: 'compare' }, 'timeline'), IDS, 'timeline', true);
  assert.equal(kept.current, 'compare');
  assert.equal(kept.suggest('timeline'), false);
  const state = restoreState({ tab: 'flamegraph' }, 'timeline');
  const gone = new PanelChoice(state, IDS, 'timeline', true);
  assert.equal(gone.current, 'timeline');
  assert.equal(state.tab, 'timeline');
  assert.equal(gone.userPicked, false);
  assert.equal(gone.suggest('compare'), true);
});

test('an unknown or doubled panel id is an error that names the panels', () => {
  const c = new PanelChoice(restoreState(undefined, 'timeline'), IDS, 'timeline', false);
  assert.throws(() => c.pick('nope'), /no viewer panel "nope" \(panels: compare, timeline\)/);
  assert.throws(() => new PanelChoice(restoreState(undefined, 'gone'), IDS, 'gone', false), /no viewer panel "gone"/);
  assert.throws(() => new PanelChoice(restoreState(undefined, 'timeline'), [...IDS, 'compare'], 'timeline', false), /share an id: compare/);
});

test('restoring fills what an older saved state lacks and keeps what it has', () => {
  const s = restoreState({ follow: false, filter: { text: 'recv', op: 'recv' } as never, selectedSeq: 42, compare: { run: 'r2', against: 7 as never } }, 'timeline');
  assert.deepEqual(s, { tab: 'timeline', window: null, follow: false, filter: { ...EMPTY_FILTER, text: 'recv', op: 'recv' }, selectedSeq: 42, compare: { run: 'r2', against: null } });
  assert.deepEqual(restoreState(undefined, 'compare'), { tab: 'compare', window: null, follow: true, filter: EMPTY_FILTER, selectedSeq: null, compare: { run: null, against: null } });
  assert.notEqual(restoreState(undefined, 'compare').filter, EMPTY_FILTER, 'a copy: editing the state never edits the default');
});

test('saves are debounced: many requests within the delay make one write, a later request another', async () => {
  let writes = 0;
  const saver = new StateSaver(() => writes++, 20);
  for (let i = 0; i < 50; i++) saver.soon();
  assert.equal(writes, 0, 'not written at once');
  await new Promise((ok) => setTimeout(ok, 60));
  assert.equal(writes, 1);
  saver.soon();
  await new Promise((ok) => setTimeout(ok, 60));
  assert.equal(writes, 2);
});
