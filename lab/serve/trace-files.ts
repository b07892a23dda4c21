// Writes a finished run's records as `<name>.lstrace` (all of them) and `<name>.linsock.json` (Chrome
// Trace Event JSON for Perfetto and the extension), in pieces so that a large run never becomes one huge
// string. The Chrome JSON costs about 400 bytes per record, so by default it holds only the first calls of
// each run and path, and the frames linked to them; what it left out is said in its otherData.linsock.capped.
// `linsock export` converts the complete .lstrace without a cap.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DEFAULT_RECORDS_PER_CHUNK, encodeChunk, encodeFileHeader, type TraceRecord } from '../../protocol';
import { ChromeTraceWriter } from '../../protocol/chrome-trace';

/** Calls per run and path that go into the Chrome JSON: about 10 MB per path of a run. */
export const CHROME_CALLS_PER_PATH = 20_000;

export interface TraceFiles {
  lstrace: string;
  chrome: string;
  /** What the Chrome JSON left out (0 and 0 when it holds every record). */
  chromeLeftOut: { calls: number; frames: number };
}

export interface ChromeCap {
  /** Calls of each run and path kept; Infinity for all. */
  callsPerPath: number;
}

/** Why a record stays out of the Chrome JSON: the calls past the cap of their run and path, and the frames only they link. */
export interface CapSelection {
  keep(r: TraceRecord): boolean;
  calls: number;
  frames: number;
}

/**
 * Which records a capped Chrome JSON holds: every run, dropped mark and call up to `perPath` per run and
 * path; every frame linked to a kept call, and frames linked to no call (handshake ACKs, window updates)
 * up to the last kept emulated call of their run. Two passes over records already in memory.
 */
export function capSelection(records: readonly TraceRecord[], perPath: number): CapSelection {
  const counts = new Map<string, number>();
  const keptCalls = new Set<TraceRecord>();
  const linkedByKept = new Set<string>();
  const linked = new Set<string>();
  const lastKeptEmulated = new Map<string, number>();
  let leftCalls = 0;
  for (const r of records) {
    if (r.kind !== 'call') continue;
    for (const f of r.frames ?? []) linked.add(`${r.run}|${f}`);
    const k = `${r.run}|${r.path}`;
    const n = counts.get(k) ?? 0;
    if (n >= perPath) {
      leftCalls++;
      continue;
    }
    counts.set(k, n + 1);
    keptCalls.add(r);
    for (const f of r.frames ?? []) linkedByKept.add(`${r.run}|${f}`);
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
      const keep = linkedByKept.has(k) || (!linked.has(k) && r.tIn <= (lastKeptEmulated.get(r.run) ?? -1));
      if (!keep) sel.frames++;
      return keep;
    },
  };
  return sel;
}

function writeInPieces(file: string, pieces: Iterable<string | Uint8Array>): void {
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

/**
 * The writer's closing text with `capped` added to otherData.linsock: Perfetto ignores it, the Linsock
 * reader keeps reading the file, and a person reading the JSON learns that it is not the whole run.
 */
function endWithCap(w: ChromeTraceWriter, capped: object): string {
  const text = w.end();
  const at = text.indexOf('"otherData":');
  const other = JSON.parse(text.slice(at + '"otherData":'.length, text.lastIndexOf('}'))) as { linsock: Record<string, unknown> };
  other.linsock.capped = capped;
  return `${text.slice(0, at)}"otherData":${JSON.stringify(other)}}\n`;
}

export function writeTraceFiles(dir: string, name: string, records: TraceRecord[], cap: ChromeCap = { callsPerPath: CHROME_CALLS_PER_PATH }): TraceFiles {
  mkdirSync(dir, { recursive: true });
  const lstrace = join(dir, `${name}.lstrace`);
  const chromeFile = join(dir, `${name}.linsock.json`);
  writeInPieces(lstrace, (function* () {
    yield encodeFileHeader();
    for (const b of batches(records)) yield encodeChunk(b);
  })());
  const sel = Number.isFinite(cap.callsPerPath) ? capSelection(records, cap.callsPerPath) : null;
  const chrome = new ChromeTraceWriter();
  writeInPieces(chromeFile, (function* () {
    yield chrome.begin();
    for (const b of batches(records)) yield chrome.write(sel ? b.filter((r) => sel.keep(r)) : b);
    yield sel && (sel.calls || sel.frames)
      ? endWithCap(chrome, {
        callsPerRunAndPath: cap.callsPerPath,
        callsLeftOut: sel.calls,
        framesLeftOut: sel.frames,
        complete: basename(lstrace),
        note: `only the first ${cap.callsPerPath} calls of each run and path and their frames; ${basename(lstrace)} holds every record (linsock export ${basename(lstrace)} --format chrome converts it all)`,
      })
      : chrome.end();
  })());
  return { lstrace, chrome: chromeFile, chromeLeftOut: { calls: sel?.calls ?? 0, frames: sel?.frames ?? 0 } };
}
