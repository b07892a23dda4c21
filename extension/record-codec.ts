// The chunk codec the extension uses: the .lstrace record encoding (protocol/lstrace-*.ts), named here
// once. Stream messages and file chunks share it; everything else takes a RecordCodec, so tests and
// readers see one small interface.

import type { TraceRecord } from '../protocol';
import { decodeChunk, LstraceReader } from '../protocol/lstrace-decode';
import { encodeChunk, encodeFileHeader } from '../protocol/lstrace-encode';

export interface ChunkContent {
  /** Every whole record before any damage. */
  records: TraceRecord[];
  error: Error | null;
}

export interface RecordCodec {
  /** The records of one self-contained chunk (a binary stream message, or one chunk of a file). */
  decodeChunk(bytes: Uint8Array): ChunkContent;
  encodeChunk(records: readonly TraceRecord[]): Uint8Array;
  /** The bytes that open a .lstrace file, before its chunks. */
  encodeFileHeader(): Uint8Array;
  /** A reader for a .lstrace file that arrives in pieces of any size. */
  fileReader(): { push(bytes: Uint8Array): ChunkContent; finish(): ChunkContent };
}

export const LSTRACE: RecordCodec = {
  decodeChunk,
  encodeChunk,
  encodeFileHeader,
  fileReader: () => new LstraceReader(),
};
