// Key routing without a browser: the viewer's table first, then the shown panel's; typing and chords
// with Ctrl/Cmd/Alt go elsewhere; Esc closes the help and goes on to the panel; no key is bound twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duplicateKeys, routeKey, viewerKeys, type KeyBinding, type KeyPress } from './keymap';
import { timelineKeys, type TimelineKeyActions } from './timeline-keys';

const press = (key: string, extra: Partial<KeyPress> = {}): KeyPress => ({ key, shiftKey: false, ctrlKey: false, metaKey: false, altKey: false, ...extra });

/** Timeline actions that record what was called, as "name arg". */
function recordingTimeline(log: string[]): TimelineKeyActions {
  const rec = (name: string) => (arg?: unknown) => void log.push(arg === undefined ? name : `${name} ${String(arg)}`);
  return {
    zoomBy: rec('zoomBy'), panBy: rec('panBy'), scrollPages: rec('scrollPages'), fit: rec('fit'), zoomToBrush: rec('zoomToBrush'),
    neighbour: rec('neighbour'), stepMatch: rec('stepMatch'), toggleFollow: rec('toggleFollow'), toggleAligned: rec('toggleAligned'), clear: rec('clear'),
  };
}

const PANELS = [{ id: 'compare', title: 'Compare', key: 'c' }, { id: 'timeline', title: 'Timeline', key: 't' }, { id: 'quiet', title: 'Quiet' }];

function setup() {
  const log: string[] = [];
  let help = false;
  const viewer = viewerKeys(PANELS, {
    toggleHelp: (force) => {
      help = force === undefined ? !help : force;
      log.push(`help ${help}`);
    },
    pick: (id) => void log.push(`pick ${id}`),
  });
  const timeline = timelineKeys(recordingTimeline(log));
  return { log, viewer, timeline, route: (p: KeyPress, panel: readonly KeyBinding[] = timeline) => routeKey(p, [viewer, panel]) };
}

test('a panel letter picks its panel from any tab, in either case; a panel without a letter gets none', () => {
  const { log, viewer, route } = setup();
  assert.equal(route(press('c'), []), true);
  assert.equal(route(press('T', { shiftKey: true })), true);
  assert.deepEqual(log, ['pick compare', 'pick timeline']);
  assert.deepEqual(viewer.filter((b) => b.help.endsWith(' tab')).map((b) => b.label), ['C', 'T']);
});

test("the shown panel's keys act with their Shift variants; other panels' keys do nothing", () => {
  const { log, route } = setup();
  for (const p of [press('w'), press('W', { shiftKey: true }), press('ArrowLeft'), press('d', { shiftKey: true }), press('n'), press('N', { shiftKey: true }), press('PageDown'), press('.')]) assert.equal(route(p), true, p.key);
  assert.deepEqual(log, ['zoomBy 0.8', 'zoomBy 0.5', 'panBy -0.1', 'panBy 0.5', 'stepMatch 1', 'stepMatch -1', 'scrollPages 0.8', 'neighbour 1']);
  log.length = 0;
  assert.equal(route(press('w'), []), false, 'W is not bound when the shown panel has no keys');
  assert.deepEqual(log, []);
});

test('typing in a field, chords and unbound keys are left alone', () => {
  const { log, route } = setup();
  assert.equal(route(press('w', { target: { tagName: 'VSCODE-TEXT-FIELD' } })), false);
  assert.equal(route(press('f', { target: { tagName: 'INPUT' } })), false);
  assert.equal(route(press('f', { ctrlKey: true })), false);
  assert.equal(route(press('c', { metaKey: true })), false);
  assert.equal(route(press('q')), false);
  assert.equal(route(press('f', { target: { tagName: 'CANVAS' } })), true, 'a key on the canvas is the viewer\'s');
  assert.deepEqual(log, ['fit']);
});

test('Esc closes the help and goes on to the panel; ? toggles the help', () => {
  const { log, route } = setup();
  route(press('?'));
  assert.equal(route(press('Escape')), true);
  assert.deepEqual(log, ['help true', 'help false', 'clear']);
  assert.equal(route(press('Escape'), []), false, 'with no panel Esc only closes the help (not handled: the browser keeps it)');
});

test('no key is bound twice between the viewer and a panel; a collision is reported', () => {
  const { viewer, timeline } = setup();
  assert.deepEqual(duplicateKeys([viewer, timeline]), []);
  const clash: KeyBinding = { keys: ['c'], label: 'C', help: 'clash', run: () => undefined };
  assert.deepEqual(duplicateKeys([viewer, [clash]]), ['c']);
});

test('every binding says what it does, and the help writes keys it can show', () => {
  const { viewer, timeline } = setup();
  for (const b of [...viewer, ...timeline]) {
    assert.ok(b.label.length > 0 && b.help.length > 0, JSON.stringify(b.keys));
  }
  assert.ok(timeline.some((b) => b.keys.length === 0 && /wheel/.test(b.label)), 'a help row for the mouse gestures');
});
