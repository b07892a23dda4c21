// Bundled into /fixtures.js for the test page: synthetic traces encoded as .lstrace chunks, made in the
// page itself so a million calls never cross the DevTools protocol.
import { encodeChunk } from '../../../protocol/lstrace-encode';
import type { TraceRecord } from '../../../protocol/trace';
import { syntheticComparison, syntheticStream, type ComparisonOptions, type SyntheticOptions } from '../../fixtures/synthetic';

export type PageTraceOptions = SyntheticOptions & { calls: number };

function chunks(opts: PageTraceOptions, batch = 4096): Uint8Array[] {
  return encodeAll(syntheticStream(opts.calls, opts), batch);
}

function encodeAll(stream: Iterable<TraceRecord>, batch: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let records: TraceRecord[] = [];
  for (const r of stream) {
    records.push(r);
    if (records.length >= batch) {
      out.push(encodeChunk(records));
      records = [];
    }
  }
  if (records.length) out.push(encodeChunk(records));
  return out;
}

(globalThis as { linsockFixtures?: unknown }).linsockFixtures = {
  chunks,
  comparison: (o: ComparisonOptions, batch = 4096) => encodeAll(syntheticComparison(o), batch),
  encode: (records: TraceRecord[]) => encodeChunk(records),
};
