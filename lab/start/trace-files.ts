// Writes a finished run's records as `<name>.lstrace` (all of them) and `<name>.linsock.json` (Chrome
// Trace Event JSON for Perfetto and the extension), in pieces so that a large run never becomes one huge
// string. The Chrome JSON costs 400 bytes or more per record, so by default it holds only the first calls of
// each run and path and the frames linked to them; what it left out is said in its otherData.linsock.capped.
// `linsock export` converts the complete .lstrace without a cap.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DEFAULT_RECORDS_PER_CHUNK, traceFormat, type TraceFormat, type TracePiece, type TraceRecord } from '../../protocol';

/**
 * Records per run and path that go into the Chrome JSON: an emulated call counts with the frames linked
 * to it (an e1000 stream send of 64 KiB has 45). `npm start`'s initial run (4 runs, 8 paths in all, 2 s
 * each, 480,000 records) measured 211 MB uncapped, 67 MB at 20,000 and 35 MB at this cap.
 */
export const CHROME_RECORDS_PER_PATH = 10_000;

export interface TraceFiles {
  lstrace: string;
  chrome: string;
  /** What the Chrome JSON left out (0 and 0 when it holds every record). */
  chromeLeftOut: { calls: number; frames: number };
}

export interface ChromeCap {
  /** Records of each run and path kept (calls, and the frames linked to emulated calls); Infinity for all. */
  recordsPerPath: number;
}

/** Which records go into a capped Chrome JSON, and how many calls and frames it left out. */
export interface CapSelection {
  keep(r: TraceRecord): boolean;
  calls: number;
  frames: number;
}

/**
 * Which records a capped Chrome JSON holds: every run and dropped mark; the first calls of each run and
 * path (in record order) while they and the frames linked to them fit in `perPath` records; every frame
 * linked to a kept call; frames linked to no call (handshake ACKs, window updates) too, but in a run whose
 * emulated calls were cut only those up to the end of its last kept emulated call. Two passes over
 * records already in memory.
 */
export function capSelection(records: readonly TraceRecord[], perPath: number): CapSelection {
  const counts = new Map<string, number>();
  const full = new Set<string>();
  const keptCalls = new Set<TraceRecord>();
  const linkedByKept = new Set<string>();
  const linked = new Set<string>();
  const lastKeptEmulated = new Map<string, number>();
  /** Runs whose emulated calls were cut: only there do unlinked frames past the last kept call go. */
  const cutRuns = new Set<string>();
  let leftCalls = 0;
  for (const r of records) {
    if (r.kind !== 'call') continue;
    const frames = r.frames ?? [];
    for (const f of frames) linked.add(`${r.run}|${f}`);
    const k = `${r.run}|${r.path}`;
    const n = counts.get(k) ?? 0;
    const cost = 1 + frames.length;
    // The first call of a run and path always goes in, however many frames it has.
    if (full.has(k) || (n > 0 && n + cost > perPath)) {
      full.add(k);
      leftCalls++;
      if (r.path === 'emulated') cutRuns.add(r.run);
      continue;
    }
    counts.set(k, n + cost);
    keptCalls.add(r);
    for (const f of frames) linkedByKept.add(`${r.run}|${f}`);
    if (r.path === 'emulated') {
      const end = r.stages[r.stages.length - 1]?.end ?? 0;
      lastKeptEmulated.set(r.run, Math.max(lastKeptEmulated.get(r.run) ?? 0, end));
    }
  }
  const sel: CapSelection = {
    calls: leftCalls,
    frames: 0,
    keep(r) {
      if (r.kind === 'call') return keptCalls.has(r);
      if (r.kind !== 'frame') return true;
      const k = `${r.run}|${r.seq}`;
      const keep = linkedByKept.has(k) || (!linked.has(k) && (!cutRuns.has(r.run) || r.tIn <= (lastKeptEmulated.get(r.run) ?? -1)));
      if (!keep) sel.frames++;
      return keep;
    },
  };
  return sel;
}

function writeInPieces(file: string, pieces: Iterable<TracePiece>): void {
  const fd = openSync(file, 'w');
  try {
    for (const p of pieces) if (p.length) writeSync(fd, typeof p === 'string' ? Buffer.from(p) : p);
  } finally {
    closeSync(fd);
  }
}

function* batches(records: readonly TraceRecord[]): Generator<TraceRecord[]> {
  for (let i = 0; i < records.length; i += DEFAULT_RECORDS_PER_CHUNK) yield records.slice(i, i + DEFAULT_RECORDS_PER_CHUNK);
}

/** `records` written as `format`, batch by batch; `keep` picks the records, `notes` go into the file's notes. */
function* formatted(format: TraceFormat, records: readonly TraceRecord[], keep?: (r: TraceRecord) => boolean, notes?: () => Record<string, unknown> | undefined): Generator<TracePiece> {
  const w = format.writer();
  yield w.begin();
  for (const b of batches(records)) yield w.write(keep ? b.filter(keep) : b);
  yield w.end(notes?.());
}

const format = (name: string): TraceFormat => traceFormat(name) as TraceFormat;

export function writeTraceFiles(dir: string, name: string, records: TraceRecord[], cap: ChromeCap = { recordsPerPath: CHROME_RECORDS_PER_PATH }): TraceFiles {
  mkdirSync(dir, { recursive: true });
  const lstrace = join(dir, `${name}${format('lstrace').suffixes[0]}`);
  const chromeFile = join(dir, `${name}${format('chrome').suffixes[0]}`);
  writeInPieces(lstrace, formatted(format('lstrace'), records));
  const sel = Number.isFinite(cap.recordsPerPath) ? capSelection(records, cap.recordsPerPath) : null;
  // The cap's note is known once every record went by the selection: the generator asks for it at the end.
  writeInPieces(chromeFile, formatted(format('chrome'), records, sel ? (r) => sel.keep(r) : undefined, () =>
    sel && (sel.calls || sel.frames)
      ? {
        capped: {
          recordsPerRunAndPath: cap.recordsPerPath,
          callsLeftOut: sel.calls,
          framesLeftOut: sel.frames,
          complete: basename(lstrace),
          note: `only the first ${cap.recordsPerPath} records (calls and their frames) of each run and path; ${basename(lstrace)} holds every record (linsock export ${basename(lstrace)} --format chrome converts it all)`,
        },
      }
      : undefined));
  return { lstrace, chrome: chromeFile, chromeLeftOut: { calls: sel?.calls ?? 0, frames: sel?.frames ?? 0 } };
}

/** What a person is told about a run's trace files: where they are and what the Chrome JSON left out. */
export function traceFilesMessage(files: TraceFiles, records: number, leftOut: number): string {
  const over = leftOut ? ` (${leftOut} more were left out: over the recording limit)` : '';
  const { calls, frames } = files.chromeLeftOut;
  const capped = calls || frames
    ? `  (capped at the first ${CHROME_RECORDS_PER_PATH} records per run and path so that Perfetto opens it quickly: ${calls} calls and ${frames} frames left out, the .lstrace holds them all)`
    : '';
  return `The run's ${records} records${over} are in\n  ${files.lstrace}\n  ${files.chrome}${capped}\n  (Chrome JSON: Perfetto UI, chrome://tracing, or the Linsock viewer)`;
}
