// Trace records -> CSV (RFC 4180: comma separated, CRLF line ends, fields with a comma, quote or line
// break quoted with doubled quotes), one row per call and one per frame, for spreadsheets and pandas.
// Dropped marks get a row too, so a reader sees where data is missing; run records are left out.

import { STAGES, callSpan, type TraceRecord } from './trace';

export const CSV_COLUMNS: readonly string[] = [
  'kind', 'seq', 'run', 'guest', 'path', 'socket', 'op', 'bytes', 'result', 'start_ns', 'end_ns', 'duration_ns',
  ...STAGES.flatMap((s) => [`${s}_start_ns`, `${s}_end_ns`]),
  'frames', 'direction', 'length', 'payload', 'flow', 'dropped_count',
];

const COLUMN_INDEX = new Map(CSV_COLUMNS.map((c, i) => [c, i]));

export function csvField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

/** The rows for `records`, each ending in CRLF. */
export function csvRows(records: Iterable<TraceRecord>): string {
  const out: string[] = [];
  for (const r of records) {
    const row: (string | number | null)[] = new Array(CSV_COLUMNS.length).fill(null);
    const set = (col: string, v: string | number | null): void => {
      row[COLUMN_INDEX.get(col) as number] = v;
    };
    if (r.kind === 'call') {
      const { start, end } = callSpan(r);
      set('kind', 'call');
      set('seq', r.seq);
      set('run', r.run);
      set('guest', r.guest);
      set('path', r.path);
      set('socket', r.socket);
      set('op', r.op);
      set('bytes', r.bytes);
      set('result', r.result);
      set('start_ns', start);
      set('end_ns', end);
      set('duration_ns', end - start);
      for (const s of r.stages) {
        set(`${s.name}_start_ns`, s.start);
        set(`${s.name}_end_ns`, s.end);
      }
      if (r.frames) set('frames', r.frames.join(' '));
    } else if (r.kind === 'frame') {
      set('kind', 'frame');
      set('seq', r.seq);
      set('run', r.run);
      set('guest', r.guest);
      set('path', 'emulated');
      set('bytes', r.payload);
      set('start_ns', r.tIn);
      set('end_ns', r.tOut);
      set('duration_ns', r.tOut - r.tIn);
      set('direction', r.direction);
      set('length', r.length);
      set('payload', r.payload);
      if (r.flow) set('flow', `${r.flow.protocol} ${hostPort(r.flow.src, r.flow.srcPort)} > ${hostPort(r.flow.dst, r.flow.dstPort)}`);
    } else if (r.kind === 'dropped') {
      set('kind', 'dropped');
      set('start_ns', r.atNs);
      set('dropped_count', r.count);
    } else continue;
    out.push(`${row.map(csvField).join(',')}\r\n`);
  }
  return out.join('');
}

/** IPv6 addresses in brackets so the port stays unambiguous. */
const hostPort = (a: string, p: number): string => (a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);

export function toCsv(records: Iterable<TraceRecord>): string {
  return csvHeader() + csvRows(records);
}
