// Feeds decoded records into the store: calls (through the decoder's reused view, no object per call)
// and frames into the typed arrays, the runs' facts into the run index, lost-record notices into the
// drop counter.

import type { RunInfo, TraceRecord } from '../protocol/trace';
import { isLstrace, visitChunk, visitLstrace, type ChunkVisitor } from '../protocol/lstrace-decode';
import type { CallStore } from './call-store';
import { runIndexOf } from './run-index';

export function ingestRecords(records: Iterable<TraceRecord>, store: CallStore): void {
  const runs = runIndexOf(store);
  for (const r of records) {
    if (r.kind === 'call') store.addCall(r);
    else if (r.kind === 'frame') store.addFrame(r);
    else if (r.kind === 'run') noteRun(r, store, runs);
    else if (r.kind === 'dropped') store.droppedBySource += r.count;
  }
}

/** A run's facts go to the store (the timeline's lanes and separators) and to the run index (Compare's picks). */
function noteRun(r: RunInfo, store: CallStore, runs: ReturnType<typeof runIndexOf>): void {
  store.addRun(r);
  runs.noteRun(r);
}

/** One visitor per store, reused for every chunk. */
const visitors = new WeakMap<CallStore, ChunkVisitor>();

/**
 * Decodes one .lstrace chunk into the store (or a whole .lstrace file, header included, when a host sends
 * one). Records before a problem are kept; the problem is thrown so the viewer can say the data was damaged.
 */
export function ingestChunk(bytes: Uint8Array, store: CallStore): void {
  let v = visitors.get(store);
  if (!v) {
    const runs = runIndexOf(store); // it numbers the calls' runs from the store's run column when read
    v = {
      call: (c) => store.addCallView(c),
      run: (r) => noteRun(r, store, runs),
      frame: (f) => store.addFrame(f),
      dropped: (d) => (store.droppedBySource += d.count),
    };
    visitors.set(store, v);
  }
  const err = isLstrace(bytes) ? visitLstrace(bytes, v) : visitChunk(bytes, v);
  store.noteIngested(bytes.length);
  if (err) throw err;
}
