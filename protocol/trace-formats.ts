// The registry of trace file formats: one entry each (trace-format.ts says what an entry is). The CLI
// (`linsock export`), `linsock start`'s run files and the extension (export, custom editor) take formats,
// suffixes, sniffing, writers and readers from here only; a new format is one entry in TRACE_FORMATS.

import { concatBytes } from './bytes';
import { ChromeTraceReader } from './chrome-trace-reader';
import { ChromeTraceWriter } from './chrome-trace';
import { csvHeader, csvRows } from './csv';
import { isLstrace, LstraceReader } from './lstrace-decode';
import { encodeChunk, encodeFileHeader } from './lstrace-encode';
import { PcapngTraceWriter } from './pcapng';
import { DEFAULT_RECORDS_PER_CHUNK, FILE_HEADER_BYTES, LSTRACE_MAGIC } from './lstrace-format';
import { SkippedTally, type ReadStep, type SniffVerdict, type TraceFormat, type TraceReader, type TraceWriter } from './trace-format';

const ALL_KINDS = ['call', 'frame', 'run', 'dropped'] as const;

// ---- lstrace: the native binary format; its chunks are what the daemon streams and the extension stores.

function sniffLstrace(head: Uint8Array, size: number): SniffVerdict {
  const n = Math.min(head.length, LSTRACE_MAGIC.length);
  for (let i = 0; i < n; i++) if (head[i] !== LSTRACE_MAGIC[i]) return { match: false };
  if (size < FILE_HEADER_BYTES)
    return { match: false, problem: `truncated .lstrace file: it ends at offset ${size}, inside the ${FILE_HEADER_BYTES}-byte file header` };
  return isLstrace(head) ? { match: true } : { match: false };
}

function lstraceWriter(): TraceWriter {
  return {
    begin: encodeFileHeader,
    write(records) {
      if (records.length <= DEFAULT_RECORDS_PER_CHUNK) return records.length ? encodeChunk(records) : new Uint8Array(0);
      const parts: Uint8Array[] = [];
      for (let i = 0; i < records.length; i += DEFAULT_RECORDS_PER_CHUNK) parts.push(encodeChunk(records.slice(i, i + DEFAULT_RECORDS_PER_CHUNK)));
      return concatBytes(parts);
    },
    writeLstraceChunk: (chunk) => chunk,
    end: () => new Uint8Array(0),
  };
}

/** LstraceReader as a TraceReader: it skips nothing (a damaged chunk ends the reading, with its offset). */
function lstraceReader(): TraceReader {
  const r = new LstraceReader();
  return {
    push: (bytes): ReadStep => r.push(bytes),
    finish: (): ReadStep => r.finish(),
    skipped: new SkippedTally(),
    notes: [],
  };
}

// ---- Chrome Trace Event JSON: what Perfetto UI and chrome://tracing open.

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** The first byte that is not white space (after a UTF-8 byte order mark), or -1. */
function firstSignificant(head: Uint8Array): number {
  let i = head[0] === UTF8_BOM[0] && head[1] === UTF8_BOM[1] && head[2] === UTF8_BOM[2] ? 3 : 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d)) i++;
  return i < head.length ? (head[i] as number) : -1;
}

function sniffChrome(head: Uint8Array): SniffVerdict {
  const b = firstSignificant(head);
  // '{': the JSON Object Format Linsock writes; '[': the JSON Array Format, a bare list of events.
  return b === 0x7b || b === 0x5b ? { match: true } : { match: false };
}

// ---- CSV: one row per call and frame, for spreadsheets; not read back.

function csvWriter(): TraceWriter {
  return { begin: csvHeader, write: csvRows, end: () => '' };
}

export const TRACE_FORMATS: readonly TraceFormat[] = [
  {
    name: 'lstrace',
    title: 'Linsock trace (.lstrace)',
    detail: 'Compact binary with every record; opens again in the viewer and in `linsock export`.',
    suffixes: ['.lstrace'],
    keeps: ALL_KINDS,
    sniff: sniffLstrace,
    writer: lstraceWriter,
    reader: lstraceReader,
  },
  {
    name: 'chrome',
    title: 'Chrome Trace Event JSON (Perfetto)',
    detail: 'Opens in ui.perfetto.dev and chrome://tracing; one process per path.',
    // The first marks a file as Linsock's for the extension's custom editor.
    suffixes: ['.linsock.json', '.json'],
    keeps: ALL_KINDS,
    sniff: sniffChrome,
    writer: () => new ChromeTraceWriter(),
    reader: (limits) => new ChromeTraceReader({ limits }),
  },
  {
    name: 'csv',
    title: 'CSV',
    detail: 'One row per call and frame, for spreadsheets and pandas; a run row carries the guests\' clocks.',
    suffixes: ['.csv'],
    keeps: ['call', 'frame', 'dropped', 'run'],
    sniff: () => ({ match: false }),
    writer: csvWriter,
    reader: null,
  },
  {
    name: 'pcapng',
    title: 'Wireshark capture (.pcapng)',
    detail: "The emulated path's frames, one interface per TAP and direction, each packet naming the call it served.",
    suffixes: ['.pcapng'],
    // Calls are read too, for the packet comments, but only frames are written.
    keeps: ['frame'],
    sniff: () => ({ match: false }),
    writer: () => new PcapngTraceWriter(),
    reader: null,
  },
];

export const TRACE_FORMAT_NAMES: readonly string[] = TRACE_FORMATS.map((f) => f.name);

/** The format called `name`, or undefined. */
export function traceFormat(name: string): TraceFormat | undefined {
  return TRACE_FORMATS.find((f) => f.name === name);
}

/** The format whose suffix `fileName` ends with (the longest suffix wins: .linsock.json before .json). */
export function traceFormatOfName(fileName: string): TraceFormat | undefined {
  const lower = fileName.toLowerCase();
  let best: { f: TraceFormat; n: number } | undefined;
  for (const f of TRACE_FORMATS) for (const s of f.suffixes) if (lower.endsWith(s) && s.length > (best?.n ?? 0)) best = { f, n: s.length };
  return best?.f;
}

export type SniffResult = { format: TraceFormat; problem: null } | { format: null; problem: string };

const hex = (bytes: Uint8Array): string => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');

/** True when `head` looks like UTF-16 text: a byte order mark, or ASCII interleaved with zero bytes. */
function isUtf16(head: Uint8Array): boolean {
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) return true;
  return head.length >= 4 && ((head[1] === 0 && head[3] === 0 && head[0] !== 0) || (head[0] === 0 && head[2] === 0 && head[1] !== 0));
}

/**
 * Which readable format a file is, from its first bytes (up to SNIFF_BYTES) and its size; otherwise why it
 * cannot be read, specific to what it is: empty, a truncated .lstrace, UTF-16 text, or unknown.
 */
export function sniffTraceFile(head: Uint8Array, size: number): SniffResult {
  const readable = TRACE_FORMATS.filter((f) => f.reader);
  const expected = `expected ${readable.map((f) => f.title).join(' or ')}`;
  if (size === 0) return { format: null, problem: `empty file (0 bytes): ${expected}` };
  // Before the formats: UTF-16 JSON starts with '{' too, then a zero byte.
  if (isUtf16(head)) return { format: null, problem: 'UTF-16 text: trace JSON is read as UTF-8; save or convert the file as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)' };
  for (const f of readable) {
    const v = f.sniff(head, size);
    if (v.match) return { format: f, problem: null };
    if ('problem' in v) return { format: null, problem: v.problem };
  }
  if (firstSignificant(head) < 0 && size <= head.length) return { format: null, problem: `only white space (${size} bytes): ${expected}` };
  return { format: null, problem: `unknown format: the file starts with bytes ${hex(head.subarray(0, 8))}; ${expected} (which starts with '{' or '[')` };
}
