// Writes the store's records as a file: .lstrace (the chunks as they are, behind a file header), Chrome
// Trace Event JSON for Perfetto, or CSV. Streams piece by piece and checks for cancellation between
// chunks, so a million records neither sit in one string nor hold the extension host.

import { ChromeTraceWriter } from '../protocol/chrome-trace';
import { csvHeader, csvRows } from '../protocol/csv';
import type { RecordCodec } from './record-codec';

export type ExportFormat = 'lstrace' | 'chrome' | 'csv';

export interface ExportFormatInfo {
  format: ExportFormat;
  /** File name ending, dot included; the Chrome JSON one marks the file as Linsock's, for the custom editor. */
  suffix: string;
  /** Save dialog filter: name -> extensions without the dot. */
  filter: Record<string, string[]>;
}

export const EXPORT_FORMATS: readonly ExportFormatInfo[] = [
  { format: 'lstrace', suffix: '.lstrace', filter: { 'Linsock trace': ['lstrace'] } },
  { format: 'chrome', suffix: '.linsock.json', filter: { 'Chrome Trace Event JSON': ['json'] } },
  { format: 'csv', suffix: '.csv', filter: { CSV: ['csv'] } },
];

export function formatInfo(format: ExportFormat): ExportFormatInfo {
  const f = EXPORT_FORMATS.find((x) => x.format === format);
  if (!f) throw new RangeError(`unknown export format '${String(format)}'`);
  return f;
}

/** A name that sorts by time and says what it holds: linsock-2026-11-27T19-40-05.lstrace */
export function defaultExportName(format: ExportFormat, at: Date): string {
  const stamp = at.toISOString().replace(/\.\d+Z$/, '').replace(/:/g, '-');
  return `linsock-${stamp}${formatInfo(format).suffix}`;
}

export interface ExportSink {
  write(piece: Uint8Array | string): Promise<void>;
}

export interface ExportProgress {
  chunksDone: number;
  chunksTotal: number;
  records: number;
}

/** Records turned into text per turn of the event loop: a chunk may hold thousands of 7-stage calls. */
const TEXT_SLICE = 512;

function* slices<T>(items: readonly T[]): Generator<readonly T[]> {
  for (let i = 0; i < items.length; i += TEXT_SLICE) yield items.slice(i, i + TEXT_SLICE);
}

const breathe = () => new Promise<void>((r) => setImmediate(r));

export class ExportCancelled extends Error {
  override name = 'ExportCancelled';
}

/**
 * Writes `chunks` in `format` to `sink`. `cancelled` is asked between chunks; a cancelled export throws
 * ExportCancelled (the caller deletes the partial file). Returns the number of records written.
 */
export async function writeExport(
  format: ExportFormat,
  chunks: readonly { bytes: Uint8Array; records: number }[],
  codec: RecordCodec,
  sink: ExportSink,
  opts: { cancelled?: () => boolean; progress?: (p: ExportProgress) => void } = {},
): Promise<number> {
  let records = 0;
  const step = async (i: number, n: number) => {
    records += n;
    opts.progress?.({ chunksDone: i + 1, chunksTotal: chunks.length, records });
    // Yield to the event loop so that the extension host keeps answering while a large file is written.
    await breathe();
    if (opts.cancelled?.()) throw new ExportCancelled('export cancelled');
  };
  if (format === 'lstrace') {
    await sink.write(codec.encodeFileHeader());
    for (let i = 0; i < chunks.length; i++) {
      await sink.write(chunks[i]!.bytes);
      await step(i, chunks[i]!.records);
    }
  } else if (format === 'chrome') {
    const w = new ChromeTraceWriter();
    await sink.write(w.begin());
    for (let i = 0; i < chunks.length; i++) {
      const recs = codec.decodeChunk(chunks[i]!.bytes).records;
      for (const part of slices(recs)) {
        await sink.write(w.write(part));
        await breathe();
      }
      await step(i, recs.length);
    }
    await sink.write(w.end());
  } else {
    await sink.write(csvHeader());
    for (let i = 0; i < chunks.length; i++) {
      const recs = codec.decodeChunk(chunks[i]!.bytes).records;
      for (const part of slices(recs)) {
        await sink.write(csvRows(part));
        await breathe();
      }
      await step(i, recs.length);
    }
  }
  return records;
}
