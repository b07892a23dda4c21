// Writes records in every trace format and reads back what each format says about trace truth: the clock
// of each guest, stages not measured, and the facts of a call (trace.ts, StageTruth / CallTruth / ClockTruth).
// Used by the format test (synthetic records) and the invariants of real delegated runs.
import { concatBytes, traceFormat, type CallRecord, type RunInfo, type TraceFormat, type TracePiece, type TraceRecord } from '../../protocol';
import { CSV_COLUMNS } from '../../protocol/csv';

/** The pieces a writer gave, as one file's bytes (strings encoded as UTF-8). */
export function bytesOf(pieces: readonly TracePiece[]): Uint8Array {
  const enc = new TextEncoder();
  return concatBytes(pieces.map((p) => (typeof p === 'string' ? enc.encode(p) : p)));
}

function written(f: TraceFormat, recs: readonly TraceRecord[]): Uint8Array {
  const w = f.writer();
  return bytesOf([w.begin(), w.write(recs), w.end()]);
}

/** The records as the format's reader gives them back (lstrace, chrome). */
export function roundTrip(name: 'lstrace' | 'chrome', recs: readonly TraceRecord[]): TraceRecord[] {
  const f = traceFormat(name) as TraceFormat;
  const r = (f.reader as NonNullable<TraceFormat['reader']>)();
  const bytes = written(f, recs);
  const a = r.push(bytes);
  const b = r.finish();
  const err = a.error ?? b.error;
  if (err) throw err;
  return [...a.records, ...b.records];
}

export interface CsvView {
  header: string[];
  rows: Record<string, string>[];
}

/** The CSV export as rows keyed by column (fields with commas are not expected in these tests). */
export function csvOf(recs: readonly TraceRecord[]): CsvView {
  const text = new TextDecoder().decode(written(traceFormat('csv') as TraceFormat, recs));
  const lines = text.split('\r\n').filter((l) => l.length > 0);
  const header = (lines[0] as string).split(',');
  const rows = lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i] as string, v])));
  return { header, rows };
}

/** Every guest's clock (offset ± error) as a CSV run row spells it. */
export function csvClocks(run: Record<string, string>): Map<string, { offsetNs: number; errorNs: number }> {
  const out = new Map<string, { offsetNs: number; errorNs: number }>();
  for (const pair of (run.clocks ?? '').split(' ').filter(Boolean)) {
    const m = /^(.*)=(-?[\d.e+]+)±([\d.e+]+)$/.exec(pair);
    if (m) out.set(m[1] as string, { offsetNs: Number(m[2]), errorNs: Number(m[3]) });
  }
  return out;
}

export const runOf = (recs: readonly TraceRecord[]): RunInfo | undefined => recs.find((r): r is RunInfo => r.kind === 'run');
export const callsOf = (recs: readonly TraceRecord[]): CallRecord[] => recs.filter((r): r is CallRecord => r.kind === 'call');
export { CSV_COLUMNS };
