// Trace records -> CSV (RFC 4180: comma separated, CRLF line ends, fields with a comma, quote or line
// break quoted with doubled quotes), one row per call and one per frame, for spreadsheets and pandas.
// Dropped marks get a row too, so a reader sees where data is missing; a run gets one row with its clocks.

import { STAGES, callSpan, type TraceRecord } from './trace';

export const CSV_COLUMNS: readonly string[] = [
  'kind', 'seq', 'run', 'guest', 'path', 'socket', 'op', 'bytes', 'result', 'start_ns', 'end_ns', 'duration_ns',
  ...STAGES.flatMap((s) => [`${s}_start_ns`, `${s}_end_ns`]),
  'frames', 'direction', 'length', 'payload', 'flow', 'dropped_count',
  // Trace truth (trace.ts): stages not measured or shared (names, space separated), and the call's facts.
  'unmeasured_stages', 'shared_stages', 'calls', 'waited_ns', 'clock_shift_ns', 'disorder_ns',
  // Run rows: the clock of each guest, as "guest=offset±error" pairs (space separated), in ns.
  'clocks',
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
      // A length that was not measured is an empty field, never 0.
      const measured = r.stages.some((s) => !s.unmeasured);
      set('duration_ns', measured ? end - start : null);
      for (const s of r.stages) {
        set(`${s.name}_start_ns`, s.start);
        set(`${s.name}_end_ns`, s.unmeasured ? null : s.end);
      }
      if (r.frames) set('frames', r.frames.join(' '));
      const unmeasured = r.stages.filter((s) => s.unmeasured).map((s) => s.name);
      const shared = r.stages.filter((s) => s.shared).map((s) => s.name);
      if (unmeasured.length) set('unmeasured_stages', unmeasured.join(' '));
      if (shared.length) set('shared_stages', shared.join(' '));
      if (r.calls !== undefined) set('calls', r.calls);
      if (r.waitedNs !== undefined) set('waited_ns', r.waitedNs);
      if (r.clockShiftNs !== undefined) set('clock_shift_ns', r.clockShiftNs);
      if (r.disorderNs !== undefined) set('disorder_ns', r.disorderNs);
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
    } else if (r.kind === 'run') {
      // The run's row carries what every call row's times depend on: each guest's clock offset and error.
      set('kind', 'run');
      set('run', r.id);
      set('start_ns', r.startedNs);
      const offsets = r.clockOffsetNs ?? {};
      set('clocks', Object.entries(r.clockErrorNs).map(([g, e]) => `${g}=${offsets[g] ?? 0}±${e}`).join(' '));
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
