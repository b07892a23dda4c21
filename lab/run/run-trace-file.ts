// `linsock run --trace-file F.lstrace`: the run's trace sink. Takes call records (from the interposer's
// trace stream on the direct and emulated paths, from the in-process daemon on the delegated path), numbers
// them as a trace hub does, and writes them to an .lstrace file in chunks: the file header, the run record,
// then a chunk every RECORDS_PER_CHUNK records. Records are encoded as they come (a chunk's worth at most
// is held); when the disk is slower than the program, records are counted as dropped rather than queued
// without bound, and the file says so with a `dropped` record.

import type { TraceSink } from '../../daemon';
import { ChunkWriter, encodeFileHeader, type RunInfo, type TraceRecord } from '../../protocol';
import { TraceOutput } from '../commands/trace-output';

const RECORDS_PER_CHUNK = 4096;

export class RunTraceFile implements TraceSink {
  readonly enabled = true;
  private readonly writer = new ChunkWriter();
  private nextSeq = 0;
  /** Call and frame records written to chunks (the run record excluded). */
  written = 0;
  /** Records the file could not take (a slow disk): counted and stated in the file. */
  dropped = 0;
  private waiting = false;

  private constructor(private readonly out: TraceOutput) {}

  /** Opens `path` and writes the header and `run`; throws one clear line when it cannot. */
  static open(path: string, run: RunInfo): RunTraceFile {
    const f = new RunTraceFile(TraceOutput.open(path));
    f.out.write(encodeFileHeader());
    f.writer.add(run);
    f.cut();
    return f;
  }

  publish(record: TraceRecord): void {
    if (record.kind === 'call' || record.kind === 'frame') record.seq = this.nextSeq++;
    if (this.waiting) {
      this.dropped++;
      return;
    }
    try {
      this.writer.add(record);
    } catch (e) {
      console.error(`linsock run: a trace record could not be written: ${(e as Error).message}`);
      return;
    }
    if (record.kind === 'call' || record.kind === 'frame') this.written++;
    if (this.writer.count >= RECORDS_PER_CHUNK) this.cut();
  }

  /** Writes what the chunk holds; when the file is behind, records are dropped until it drained. */
  private cut(): void {
    if (this.writer.count === 0) return;
    const n = this.writer.count;
    if (!this.out.write(this.writer.finish(), n) && !this.out.failure) {
      this.waiting = true;
      this.out.whenDrained(() => {
        this.waiting = false;
      });
    }
  }

  /** The last chunk (with a `dropped` record when records were lost) and the file's end. */
  async close(): Promise<string> {
    this.waiting = false;
    if (this.dropped > 0) this.writer.add({ kind: 'dropped', count: this.dropped, atNs: Number(process.hrtime.bigint()) });
    this.cut();
    const how = await this.out.close(true);
    if (this.out.failure) return `${this.out.failure.message}; the file was ${how}`;
    return `${this.written} records${this.dropped ? `, ${this.dropped} dropped (the disk was behind)` : ''} in ${this.out.path}`;
  }
}
