// Reads .lstrace bytes: one chunk at a time (visitChunk, decodeChunk), a whole file in memory
// (visitLstrace) or a file streamed in pieces (LstraceReader). One parser serves all (lstrace-chunk-read.ts):
// it drives a visitor, and call records reach it as a reused flyweight (CallView, lstrace-call-view.ts) so
// that the viewer can load a million calls into its typed arrays without building a million objects.
// This file holds the file framing (header, chunk after chunk, truncation) and is the reader's entry.

import { CallView, type ChunkVisitor } from './lstrace-call-view';
import { chunkBodyLength, parseChunk, visitChunk } from './lstrace-chunk-read';
import { CHUNK_HEADER_BYTES, FILE_HEADER_BYTES, LSTRACE_MAGIC, LSTRACE_VERSIONS_READ, MAX_CHUNK_BODY, TraceFileError } from './lstrace-format';
import type { TraceRecord } from './trace';

export { CallView, visitChunk, type ChunkVisitor };

export interface TraceReadResult {
  records: TraceRecord[];
  error: TraceFileError | null;
}

/** A visitor that collects records as objects. */
function collector(records: TraceRecord[]): ChunkVisitor {
  return {
    call: (c) => records.push(c.toRecord()),
    frame: (f) => records.push(f),
    run: (r) => records.push(r),
    dropped: (d) => records.push(d),
  };
}

export function decodeChunk(bytes: Uint8Array): TraceReadResult {
  const records: TraceRecord[] = [];
  const error = visitChunk(bytes, collector(records));
  return { records, error };
}

/** True when `bytes` start like a .lstrace file (its magic). */
export function isLstrace(bytes: Uint8Array): boolean {
  if (bytes.length < LSTRACE_MAGIC.length) return false;
  for (let i = 0; i < LSTRACE_MAGIC.length; i++) if (bytes[i] !== LSTRACE_MAGIC[i]) return false;
  return true;
}

function notLstrace(): TraceFileError {
  return new TraceFileError(0, 'not an .lstrace file', 'expected the magic 89 4C 53 54 0D 0A 1A 0A');
}

/** Checks the file header at bytes[0..12); null when it is good. */
function checkFileHeader(bytes: Uint8Array): TraceFileError | null {
  if (!isLstrace(bytes)) return notLstrace();
  const version = ((bytes[8] as number) << 8) | (bytes[9] as number);
  if (!LSTRACE_VERSIONS_READ.includes(version)) return new TraceFileError(8, 'unsupported .lstrace version', `expected one of ${LSTRACE_VERSIONS_READ.join(', ')}, got ${version}`);
  if (bytes[10] !== 0 || bytes[11] !== 0) return new TraceFileError(10, 'bad file header', `flags must be 0 in version ${version}`);
  return null;
}

function truncatedHeader(got: number): TraceFileError {
  return got === 0
    ? new TraceFileError(0, 'empty file', `expected the ${FILE_HEADER_BYTES}-byte .lstrace header`)
    : new TraceFileError(0, 'truncated file header', `expected ${FILE_HEADER_BYTES} bytes, file ended after ${got}`);
}

/**
 * Visits every record of a whole .lstrace file held in memory (header + chunks). On damage or truncation,
 * visits every whole record before it and returns the error.
 */
export function visitLstrace(bytes: Uint8Array, visitor: ChunkVisitor): TraceFileError | null {
  if (bytes.length < FILE_HEADER_BYTES) return isLstrace(bytes) || bytes.length < LSTRACE_MAGIC.length ? truncatedHeader(bytes.length) : checkFileHeader(bytes);
  const headerError = checkFileHeader(bytes);
  if (headerError) return headerError;
  const view = new CallView();
  let pos = FILE_HEADER_BYTES;
  while (pos < bytes.length) {
    let end = bytes.length;
    if (bytes.length - pos >= CHUNK_HEADER_BYTES) {
      try {
        end = Math.min(bytes.length, pos + CHUNK_HEADER_BYTES + chunkBodyLength(bytes, pos, 0));
      } catch (e) {
        return e as TraceFileError;
      }
    }
    const error = parseChunk(bytes, pos, end, 0, visitor, view);
    if (error) return fileEnded(error, bytes.length);
    pos = end;
  }
  return null;
}

/** Adds "file ended after N" to truncation errors: N = the bytes of the chunk that were present. */
function fileEnded(e: TraceFileError, fileLength: number): TraceFileError {
  if (!e.reason.startsWith('truncated')) return e;
  const [what, expected] = e.reason.split(': ') as [string, string];
  return new TraceFileError(e.offset, what, `${expected.replace(/, got \d+$/, '')}, file ended after ${fileLength - e.offset}`);
}

/**
 * Reads a .lstrace file streamed in pieces of any size. push() returns the records of every chunk completed
 * (and verified) by those bytes; end() says whether the file ended cleanly. After an error the reader is
 * poisoned: push() returns the same error again.
 */
export class LstraceReader {
  /** Bytes not yet parsed: part of the header or of one chunk (never more than one chunk, <= 16 MiB). */
  private pending = new Uint8Array(0);
  private pendingLength = 0;
  /** File offset of pending[0]. */
  private offset = 0;
  private headerDone = false;
  private error: TraceFileError | null = null;
  private readonly view = new CallView();

  push(bytes: Uint8Array): TraceReadResult {
    const records: TraceRecord[] = [];
    if (this.error) return { records, error: this.error };
    let data = bytes;
    let length = bytes.length;
    if (this.pendingLength > 0) {
      this.append(bytes);
      data = this.pending;
      length = this.pendingLength;
    }
    const visitor = collector(records);
    let pos = 0;
    if (!this.headerDone) {
      if (length < FILE_HEADER_BYTES) {
        // Refuse a wrong magic as soon as its first byte is here, not at end().
        for (let i = 0; i < Math.min(length, LSTRACE_MAGIC.length); i++)
          if (data[i] !== LSTRACE_MAGIC[i]) return this.fail(notLstrace(), records);
        return this.keep(data, 0, length, records);
      }
      const e = checkFileHeader(data);
      if (e) return this.fail(e, records);
      this.headerDone = true;
      pos = FILE_HEADER_BYTES;
    }
    while (length - pos >= CHUNK_HEADER_BYTES) {
      let body: number;
      try {
        body = chunkBodyLength(data, pos, this.offset);
      } catch (e) {
        return this.fail(e as TraceFileError, records);
      }
      if (length - pos < CHUNK_HEADER_BYTES + body) break;
      const error = parseChunk(data, pos, pos + CHUNK_HEADER_BYTES + body, this.offset, visitor, this.view);
      if (error) return this.fail(error, records);
      pos += CHUNK_HEADER_BYTES + body;
    }
    return this.keep(data, pos, length, records);
  }

  /** The end of the file: null when it ended after a whole chunk, else what is missing. */
  end(): TraceFileError | null {
    return this.finish().error;
  }

  /** Like end(), and also returns the whole records of a truncated last chunk (unverified: no checksum). */
  finish(): TraceReadResult {
    const records: TraceRecord[] = [];
    if (this.error) return { records, error: this.error };
    if (!this.headerDone) return this.fail(truncatedHeader(this.pendingLength), records);
    if (this.pendingLength === 0) return { records, error: null };
    const e = parseChunk(this.pending, 0, this.pendingLength, this.offset, collector(records), this.view);
    return this.fail(fileEnded(e ?? new TraceFileError(this.offset, 'truncated chunk', 'expected more bytes'), this.offset + this.pendingLength), records);
  }

  private fail(error: TraceFileError, records: TraceRecord[]): TraceReadResult {
    this.error = error;
    this.pending = new Uint8Array(0);
    this.pendingLength = 0;
    return { records, error };
  }

  /** Keeps data[pos, length) for the next push. */
  private keep(data: Uint8Array, pos: number, length: number, records: TraceRecord[]): TraceReadResult {
    const left = length - pos;
    this.offset += pos;
    if (data === this.pending) {
      this.pending.copyWithin(0, pos, length);
      this.pendingLength = left;
    } else {
      this.pendingLength = 0;
      this.append(data.subarray(pos, length));
    }
    return { records, error: null };
  }

  private append(bytes: Uint8Array): void {
    const need = this.pendingLength + bytes.length;
    if (need > this.pending.length) {
      const bigger = new Uint8Array(Math.max(need, Math.min(this.pending.length * 2, MAX_CHUNK_BODY + CHUNK_HEADER_BYTES)));
      bigger.set(this.pending.subarray(0, this.pendingLength));
      this.pending = bigger;
    }
    this.pending.set(bytes, this.pendingLength);
    this.pendingLength = need;
  }
}
