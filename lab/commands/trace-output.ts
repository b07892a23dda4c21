// The file `linsock record` and `linsock export` write: opened before any work starts (a missing or
// unwritable directory is one clear line, not a stream 'error' later), written in whole pieces (a chunk,
// a batch of rows), and on a write failure (a full disk, /dev/full) cut back to the last whole piece, so
// that what is left reads back — or removed when its format cannot end there (JSON needs its closing bytes).

import { closeSync, fstatSync, openSync, rmSync, truncateSync, createWriteStream, type WriteStream } from 'node:fs';
import type { TracePiece } from '../../protocol';

/** Bytes handed to the file and not yet written beyond which the producer should wait (see whenDrained). */
const HIGH_WATER = 8 * 1024 * 1024;

export function describeIoError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    ENOENT: 'no such directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    EISDIR: 'it is a directory',
    EROFS: 'read-only file system',
    ENOTDIR: 'a part of the path is not a directory',
    EFBIG: 'file too large',
  };
  return e.code ? `${e.code}: ${why[e.code] ?? e.message}` : e.message;
}

export class TraceOutput {
  /** Bytes known written, up to the end of the last whole piece. */
  committed = 0;
  /** Records in the whole pieces written (as their writer counted them). */
  committedRecords = 0;
  /** Why writing stopped, once it did. */
  failure: Error | null = null;
  private readonly stream: WriteStream;
  private readonly regular: boolean;
  private readonly failed: (() => void)[] = [];

  private constructor(readonly path: string, fd: number) {
    this.regular = fstatSync(fd).isFile();
    this.stream = createWriteStream('', { fd, highWaterMark: HIGH_WATER });
    this.stream.on('error', (err) => this.fail(err));
  }

  /** Opens (creates or truncates) `path`; throws an Error whose message says in one line why it cannot. */
  static open(path: string): TraceOutput {
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (err) {
      throw new Error(`cannot write ${path} (${describeIoError(err)})`);
    }
    try {
      return new TraceOutput(path, fd);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /**
   * Writes one whole piece holding `records` records; false when the producer should wait for whenDrained
   * (or writing failed).
   */
  write(piece: TracePiece, records = 0): boolean {
    if (this.failure) return false;
    if (piece.length === 0) return true;
    const n = typeof piece === 'string' ? Buffer.byteLength(piece) : piece.length;
    return this.stream.write(piece, (err) => {
      if (err || this.failure) return;
      this.committed += n;
      this.committedRecords += records;
    });
  }

  /** Calls `fn` once the file took what it was given, or writing failed. */
  whenDrained(fn: () => void): void {
    if (this.failure) return fn();
    const done = (): void => {
      this.stream.off('drain', done);
      const i = this.failed.indexOf(done);
      if (i >= 0) this.failed.splice(i, 1);
      fn();
    };
    this.stream.once('drain', done);
    this.failed.push(done);
  }

  /** Calls `fn` when a write fails. */
  onFailure(fn: () => void): void {
    this.failed.push(fn);
  }

  /**
   * Ends the file. After a failure, with `endsAtPiece` (the format reads back from any whole piece), cuts it
   * to the last whole piece; otherwise removes it. `discard` removes it in any case (nothing worth keeping).
   * Resolves with what happened to the file, for the message.
   */
  async close(endsAtPiece: boolean, discard = false): Promise<'complete' | 'cut' | 'removed' | 'left'> {
    if (discard) this.fail(new Error('discarded'));
    if (!this.failure) {
      // The end callback is given a write's failure before the stream emits it as 'error'.
      const err = await new Promise<Error | null | undefined>((resolve) => this.stream.end((e?: Error | null) => resolve(e)));
      if (err) this.fail(err);
      if (!this.failure) return 'complete';
    }
    if (!this.stream.closed) await new Promise<void>((resolve) => this.stream.once('close', () => resolve()).destroy());
    if (!this.regular) return 'left'; // /dev/full and the like: there is no file to mend
    try {
      if (endsAtPiece && !discard) {
        truncateSync(this.path, this.committed);
        return 'cut';
      }
      rmSync(this.path, { force: true });
      return 'removed';
    } catch {
      return 'left';
    }
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = new Error(`cannot write ${this.path} (${describeIoError(err)})`);
    const fns = this.failed.splice(0);
    for (const f of fns) f();
  }
}
