// The core's side of the host's messages, without a browser: every message type has a handler, chunks
// arrive as any of the byte shapes hosts send, and the status line and notices say what happened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ToViewer } from '../protocol/webview-messages';
import { encodeChunk } from '../protocol/lstrace-encode';
import { syntheticCalls } from '../test/fixtures/synthetic';
import { CallStore } from './call-store';
import { ingestChunk } from './chunk-ingest';
import { asBytes, DEFAULT_RECORD_LIMIT, emptySource, handleHostMessage, type MessageTarget } from './host-messages';
import { sourceNotices, sourceStatus } from './status-bar';

function target(): MessageTarget & { chunks: number } {
  const t = {
    store: new CallStore(DEFAULT_RECORD_LIMIT),
    source: emptySource(),
    chunks: 0,
    ingest(bytes: Uint8Array) {
      t.chunks++;
      ingestChunk(bytes, t.store);
    },
  };
  return t;
}

test('init, chunk, progress and connection fill the store and the source; the status line says so', () => {
  const t = target();
  assert.equal(handleHostMessage({ type: 'init', source: 'live', title: 'bench run', recordLimit: 0 }, t), true);
  assert.equal(t.source.live, true);
  assert.equal(t.store.recordLimit, DEFAULT_RECORD_LIMIT, 'a limit of 0 means the default');
  handleHostMessage({ type: 'init', source: 'file', title: 'x.lstrace', recordLimit: 5 }, t);
  assert.equal(t.store.recordLimit, 1000, 'a tiny limit is raised to the smallest useful one');
  const bytes = encodeChunk(syntheticCalls(1500, { seed: 4 }));
  handleHostMessage({ type: 'chunk', bytes }, t);
  assert.ok(t.store.count <= 1000 && t.store.count + t.store.droppedByLimit === 1500, `kept within the record limit (${t.store.count})`);
  handleHostMessage({ type: 'progress', loadedBytes: 250, totalBytes: 1000, done: false }, t);
  handleHostMessage({ type: 'connection', state: 'connected' }, t);
  const status = sourceStatus(t.store, t.source).join(' · ');
  assert.match(status, /^x\.lstrace · \d{3} calls · .*connected · loading 25%$/);
  assert.deepEqual(sourceNotices(t.store, t.source).map((n) => n.kind), ['limit']);
  handleHostMessage({ type: 'progress', loadedBytes: 1000, totalBytes: 1000, done: true }, t);
  assert.doesNotMatch(sourceStatus(t.store, t.source).join(' · '), /loading/);
});

test('damaged and reset: the notice appears, and a reset clears the store and the notice', () => {
  const t = target();
  handleHostMessage({ type: 'chunk', bytes: encodeChunk(syntheticCalls(10, { seed: 1 })) }, t);
  handleHostMessage({ type: 'damaged', message: 'truncated chunk at offset 12', recordsKept: 10 }, t);
  const [n] = sourceNotices(t.store, t.source);
  assert.equal(n?.kind, 'damaged');
  assert.match(n!.text, /truncated chunk at offset 12\. 10 records before the damage were kept/);
  handleHostMessage({ type: 'reset' }, t);
  assert.equal(t.store.count, 0);
  assert.deepEqual(sourceNotices(t.store, t.source), []);
});

test('a message type the viewer does not know is refused, even one named like an Object method', () => {
  const t = target();
  assert.equal(handleHostMessage({ type: 'nonsense' } as unknown as ToViewer, t), false);
  assert.equal(handleHostMessage({ type: 'toString' } as unknown as ToViewer, t), false);
  assert.equal(handleHostMessage({ type: 'report', report: {} } as unknown as ToViewer, t), true, 'report is known (the Compare panel shows it)');
});

test('chunk bytes arrive as a Uint8Array, an ArrayBuffer, another view, or a JSON round trip of indices', () => {
  const b = Uint8Array.of(1, 2, 3, 250);
  assert.equal(asBytes(b), b, 'a Uint8Array is used as is, not copied');
  assert.deepEqual(Array.from(asBytes(b.buffer)), [1, 2, 3, 250]);
  assert.deepEqual(Array.from(asBytes(new DataView(b.buffer, 1, 2))), [2, 3]);
  assert.deepEqual(Array.from(asBytes(JSON.parse(JSON.stringify(b)))), [1, 2, 3, 250]);
  assert.equal(asBytes(undefined).length, 0);
  const t = target();
  handleHostMessage({ type: 'chunk', bytes: JSON.parse(JSON.stringify(encodeChunk(syntheticCalls(20, { seed: 2 })))) }, t);
  assert.equal(t.store.count, 20, 'records decoded from the round-tripped bytes');
});
