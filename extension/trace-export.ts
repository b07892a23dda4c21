// Writes the store's records as a file in any format of the registry (protocol/trace-formats.ts): .lstrace
// takes the stored chunks as they are, behind a file header; the others are given the decoded records.
// Streams piece by piece and checks for cancellation between chunks, so a million records neither sit in
// one string nor hold the extension host.

import { TRACE_FORMATS, traceFormat, type TraceFormat } from '../protocol';
import type { RecordCodec } from './record-codec';

/** A format's name in the registry. */
export type ExportFormat = string;

export interface ExportFormatInfo {
  format: ExportFormat;
  /** Title and one line for the picker (English; the command translates them). */
  title: string;
  detail: string;
  /** File name ending, dot included; the Chrome JSON one marks the file as Linsock's, for the custom editor. */
  suffix: string;
  /** Save dialog filter: name -> extensions without the dot. */
  filter: Record<string, string[]>;
}

function exportInfo(f: TraceFormat): ExportFormatInfo {
  const extensions = [...new Set(f.suffixes.map((s) => s.slice(s.lastIndexOf('.') + 1)))];
  return { format: f.name, title: f.title, detail: f.detail, suffix: f.suffixes[0] as string, filter: { [f.title]: extensions } };
}

export const EXPORT_FORMATS: readonly ExportFormatInfo[] = TRACE_FORMATS.map(exportInfo);

export function formatInfo(format: ExportFormat): ExportFormatInfo {
  const f = EXPORT_FORMATS.find((x) => x.format === format);
  if (!f) throw new RangeError(`unknown export format '${String(format)}': expected one of ${EXPORT_FORMATS.map((x) => x.format).join(', ')}`);
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
  const f = traceFormat(format);
  if (!f) throw new RangeError(`unknown export format '${format}'`);
  const w = f.writer();
  let records = 0;
  const step = async (i: number, n: number) => {
    records += n;
    opts.progress?.({ chunksDone: i + 1, chunksTotal: chunks.length, records });
    // Yield to the event loop so that the extension host keeps answering while a large file is written.
    await breathe();
    if (opts.cancelled?.()) throw new ExportCancelled('export cancelled');
  };
  await sink.write(w.begin());
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i] as { bytes: Uint8Array; records: number };
    if (w.writeLstraceChunk) {
      await sink.write(w.writeLstraceChunk(chunk.bytes));
      await step(i, chunk.records);
      continue;
    }
    const recs = codec.decodeChunk(chunk.bytes).records;
    for (const part of slices(recs)) {
      const piece = w.write(part);
      if (piece.length) await sink.write(piece);
      await breathe();
    }
    await step(i, recs.length);
  }
  const last = w.end();
  if (last.length) await sink.write(last);
  return records;
}
