import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ToViewer } from '../protocol';
import { ViewerFeed, parseFromViewer } from './viewer-feed';
import { TraceStore } from './trace-store';
import { call } from '../test/fixtures/test-records';

/** A webview stand-in that records what it was sent; the pacer runs on a hand-moved clock. */
function setup(limit = 1000, maxBatch = 1000) {
  let now = 0;
  const due: { at: number; fn: () => void }[] = [];
  const timers = { now: () => now, setTimeout: (fn: () => void, ms: number) => due.push({ at: now + ms, fn }), clearTimeout: () => undefined };
  const tick = (ms = 25) => {
    now += ms;
    for (let d = due.sort((a, b) => a.at - b.at)[0]; d && d.at <= now; d = due[0]) {
      due.shift();
      d.fn();
    }
  };
  const sent: ToViewer[] = [];
  let visible = true;
  const store = new TraceStore(limit);
  const feed = new ViewerFeed(store, { post: async (m) => (sent.push(m), true), visible: () => visible }, { source: 'live', title: 't' }, timers, maxBatch);
  return { store, feed, sent, tick, setVisible: (v: boolean) => { visible = v; feed.visibilityChanged(v); } };
}
const chunkSizes = (sent: ToViewer[]) => sent.filter((m) => m.type === 'chunk').map((m) => (m as { bytes: Uint8Array }).bytes.byteLength);

test('nothing is posted before the page is ready; then init and a replay of the store', () => {
  const s = setup();
  s.store.append(new Uint8Array(10), [call(0)]);
  s.tick();
  assert.equal(s.sent.length, 0);
  s.feed.connection('connected');
  s.feed.receive({ type: 'ready' });
  s.tick();
  assert.deepEqual(s.sent.map((m) => m.type), ['init', 'connection', 'chunk']);
  assert.equal((s.sent[0] as { recordLimit: number }).recordLimit, 1000);
});

test('live chunks arriving within one frame go out together, once', () => {
  const s = setup();
  s.feed.receive({ type: 'ready' });
  for (let i = 0; i < 50; i++) s.store.append(new Uint8Array(5), [call(i)]);
  s.tick();
  assert.equal(chunkSizes(s.sent).length, 50);
  s.tick();
  assert.equal(chunkSizes(s.sent).length, 50, 'no chunk posted twice');
});

test('a batch is bounded in bytes; the rest follows on the next frames', () => {
  const s = setup(1000, 300);
  s.feed.receive({ type: 'ready' });
  for (let i = 0; i < 10; i++) s.store.append(new Uint8Array(100), [call(i)]);
  s.tick();
  assert.equal(chunkSizes(s.sent).length, 3);
  s.tick();
  s.tick();
  s.tick();
  assert.equal(chunkSizes(s.sent).length, 10);
});

test('a hidden panel is not posted to; shown again, its new page gets everything kept', () => {
  const s = setup();
  s.feed.receive({ type: 'ready' });
  s.store.append(new Uint8Array(1), [call(0)]);
  s.tick();
  s.setVisible(false);
  for (let i = 1; i < 5; i++) s.store.append(new Uint8Array(1), [call(i)]);
  s.tick();
  assert.equal(chunkSizes(s.sent).length, 1);
  s.setVisible(true);
  s.sent.length = 0;
  s.feed.receive({ type: 'ready' });
  s.tick();
  assert.equal(chunkSizes(s.sent).length, 5);
  assert.equal(s.sent[0]!.type, 'init');
});

test('clear tells the page to reset and later chunks continue from there', () => {
  const s = setup();
  s.feed.receive({ type: 'ready' });
  s.store.append(new Uint8Array(1), [call(0)]);
  s.tick();
  s.store.clear();
  s.store.append(new Uint8Array(2), [call(1)]);
  s.tick();
  assert.deepEqual(s.sent.slice(-2).map((m) => m.type), ['reset', 'chunk']);
});

test('messages from the page are checked before use', () => {
  assert.equal(parseFromViewer({ type: 'ready' })?.type, 'ready');
  assert.equal(parseFromViewer({ type: 'runShell' }), null);
  assert.equal(parseFromViewer('ready'), null);
  assert.equal(parseFromViewer(null), null);
});

test('every run\'s report is replayed to a reloaded page with its run id; a run clicked in the tree is shown once', () => {
  const s = setup();
  const report = (w: 'stream' | 'rr') => ({ workload: w, mode: null, mtu: 1500, results: [], ratios: {} });
  s.feed.report(report('stream'), 'run-a');
  s.feed.report(report('rr'), 'run-b');
  s.feed.selectRun('run-a');
  s.feed.receive({ type: 'ready' });
  const first = s.sent.filter((m) => m.type === 'report' || m.type === 'selectRun');
  assert.deepEqual(first.map((m) => [m.type, (m as { runId?: string }).runId]), [['report', 'run-a'], ['report', 'run-b'], ['selectRun', 'run-a']]);
  s.setVisible(false);
  s.sent.length = 0;
  s.setVisible(true);
  s.feed.receive({ type: 'ready' });
  assert.deepEqual(s.sent.filter((m) => m.type === 'report').length, 2, 'reports again after the page reloads');
  assert.equal(s.sent.filter((m) => m.type === 'selectRun').length, 0, 'the click is not replayed over what the user picked since');
  s.feed.selectRun('run-b');
  assert.deepEqual(s.sent[s.sent.length - 1], { type: 'selectRun', runId: 'run-b' });
});
