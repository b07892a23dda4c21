// What every trace file format is to the rest of Linsock: a name, file suffixes, a sniff of the first bytes,
// a streaming writer and (for formats that can be read back) a streaming reader with limits. The entries
// live in trace-formats.ts; the CLI, `linsock start` and the extension know formats only through them.

import type { TraceRecord } from './trace';

/** A piece of output: bytes, or text that is written as UTF-8. */
export type TracePiece = string | Uint8Array;

/** The record kinds a writer keeps; a frames-only format (pcapng) names just 'frame' and drops the rest. */
export type RecordKind = TraceRecord['kind'];

export interface TraceWriter {
  /** The opening bytes of the file. */
  begin(): TracePiece;
  /** The bytes for the next records, in order; records of kinds the format does not keep are left out. */
  write(records: readonly TraceRecord[]): TracePiece;
  /**
   * The bytes for one encoded .lstrace chunk as it is (stored and streamed records are such chunks); only
   * formats whose own unit is that chunk have it, the others are given decoded records.
   */
  writeLstraceChunk?(chunk: Uint8Array): TracePiece;
  /** The closing bytes; `notes` are facts about the file (what a cap left out) that a format may keep. */
  end(notes?: Record<string, unknown>): TracePiece;
}

/** What one push() or finish() of a reader produced. */
export interface ReadStep {
  /** Every whole record these bytes completed, in file order. */
  records: TraceRecord[];
  /**
   * Damage that ends the reading (the message names the offset); the records before it were returned.
   * After an error the reader returns the same error again.
   */
  error: Error | null;
}

export interface ReadLimits {
  /** Deepest nesting of a text format's values (hostile files nest millions deep). */
  maxDepth: number;
  /** Largest single event or record in a text format; larger ones are skipped and counted. */
  maxEventBytes: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = { maxDepth: 32, maxEventBytes: 1024 * 1024 };

export interface TraceReader {
  push(bytes: Uint8Array): ReadStep;
  /** The end of the file: the last records, or what is missing. */
  finish(): ReadStep;
  /** What the reader passed over, and why. */
  readonly skipped: SkippedTally;
  /** Things a person should know about the file that are not damage (e.g. "not exported by Linsock"). */
  readonly notes: readonly string[];
}

/** The answer of a format's sniff: it is this format, it is not, or it is this format but unusable (why). */
export type SniffVerdict = { match: true } | { match: false } | { match: false; problem: string };

export interface TraceFormat {
  /** The name on the command line (`--format NAME`) and in messages. */
  name: string;
  /** A short title for pickers and dialogs. */
  title: string;
  /** One line on what the format is for. */
  detail: string;
  /** File name endings, dot included; the first is the one written. */
  suffixes: readonly string[];
  /** The record kinds the format holds (a writer drops the others). */
  keeps: readonly RecordKind[];
  /** `head`: the first bytes of the file (up to SNIFF_BYTES); `size`: the whole file's length. */
  sniff(head: Uint8Array, size: number): SniffVerdict;
  writer(): TraceWriter;
  /** Null for write-only formats (CSV). */
  reader: ((limits?: ReadLimits) => TraceReader) | null;
}

/** Bytes a sniff may look at: enough for a header or a JSON opening after a BOM and some white space. */
export const SNIFF_BYTES = 512;

/** Counts what a reader skipped, by reason, with where each reason was first met. Bounded in reasons. */
export class SkippedTally {
  private readonly byReason = new Map<string, { count: number; firstAt: string }>();
  private other = 0;
  total = 0;

  add(reason: string, where: string): void {
    this.total++;
    const r = this.byReason.get(reason);
    if (r) r.count++;
    else if (this.byReason.size < 16) this.byReason.set(reason, { count: 1, firstAt: where });
    else this.other++;
  }

  get reasons(): readonly { reason: string; count: number; firstAt: string }[] {
    return [...this.byReason].map(([reason, r]) => ({ reason, ...r })).sort((a, b) => b.count - a.count);
  }

  /** "1000000 events skipped: 1000000 X event without a Linsock category (first at traceEvents[0])", or null. */
  summary(what = 'events'): string | null {
    if (this.total === 0) return null;
    const parts = this.reasons.map((r) => `${r.count} ${r.reason} (first at ${r.firstAt})`);
    if (this.other) parts.push(`${this.other} for other reasons`);
    return `${this.total} ${what} skipped: ${parts.join('; ')}`;
  }
}
