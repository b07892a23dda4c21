// Writes a finished run's records as `<name>.lstrace` and `<name>.linsock.json` (Chrome Trace Event
// JSON for Perfetto and the extension), in pieces so that a large run never becomes one huge string.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_RECORDS_PER_CHUNK, encodeChunk, encodeFileHeader, type TraceRecord } from '../../protocol';
import { ChromeTraceWriter } from '../../protocol/chrome-trace';

export interface TraceFiles {
  lstrace: string;
  chrome: string;
}

function writeInPieces(file: string, pieces: Iterable<string | Uint8Array>): void {
  const fd = openSync(file, 'w');
  try {
    for (const p of pieces) if (p.length) writeSync(fd, typeof p === 'string' ? Buffer.from(p) : p);
  } finally {
    closeSync(fd);
  }
}

function* batches(records: TraceRecord[]): Generator<TraceRecord[]> {
  for (let i = 0; i < records.length; i += DEFAULT_RECORDS_PER_CHUNK) yield records.slice(i, i + DEFAULT_RECORDS_PER_CHUNK);
}

export function writeTraceFiles(dir: string, name: string, records: TraceRecord[]): TraceFiles {
  mkdirSync(dir, { recursive: true });
  const files = { lstrace: join(dir, `${name}.lstrace`), chrome: join(dir, `${name}.linsock.json`) };
  writeInPieces(files.lstrace, (function* () {
    yield encodeFileHeader();
    for (const b of batches(records)) yield encodeChunk(b);
  })());
  const chrome = new ChromeTraceWriter();
  writeInPieces(files.chrome, (function* () {
    yield chrome.begin();
    for (const b of batches(records)) yield chrome.write(b);
    yield chrome.end();
  })());
  return files;
}
