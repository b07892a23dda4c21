// Bundled into /fixtures.js for the test page: synthetic traces encoded as .lstrace chunks, made in the
// page itself so a million calls never cross the DevTools protocol.
import { encodeChunk } from '../../../protocol/lstrace-encode';
import type { TraceRecord } from '../../../protocol/trace';
import { generateTrace, type SyntheticOptions } from '../synthetic-trace';

function chunks(opts: SyntheticOptions, batch = 4096): Uint8Array[] {
  const out: Uint8Array[] = [];
  generateTrace(opts, batch, (records) => out.push(encodeChunk(records)));
  return out;
}

(globalThis as { linsockFixtures?: unknown }).linsockFixtures = { chunks, encode: (records: TraceRecord[]) => encodeChunk(records) };
