// Reads a Chrome Trace Event JSON file that Linsock wrote (chrome-trace.ts) back into trace records, for
// the extension's custom editor. Anything else fails with a ChromeTraceError that names where and what
// was expected: a Chrome trace from another tool lacks the stage and record details to rebuild calls.

import { CHROME_TRACE_FORMAT, CHROME_TRACE_VERSION } from './chrome-trace';
import { invalidRecord, type CallRecord, type RunInfo, type TraceRecord } from './trace';

export class ChromeTraceError extends Error {
  override name = 'ChromeTraceError';
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** µs with up to 3 decimals -> integer ns (the writer keeps exactly 3, so rounding restores the ns). */
function usToNs(v: unknown, where: string, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new ChromeTraceError(`${where}: expected '${field}' to be a non-negative number of microseconds, found ${JSON.stringify(v)}`);
  return Math.round(v * 1000);
}

/** Line and column of a character offset, for JSON syntax errors. */
function lineCol(text: string, offset: number): string {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return `line ${line} column ${offset - last}`;
}

export function readChromeTrace(text: string): TraceRecord[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const where = pos ? ` at ${lineCol(text, Number(pos[1]))} (offset ${pos[1]})` : '';
    throw new ChromeTraceError(`not valid JSON${where}: ${msg}; expected a Chrome Trace Event file exported by Linsock`);
  }
  if (!isObj(doc) || !Array.isArray(doc.traceEvents))
    throw new ChromeTraceError('expected a JSON object with a "traceEvents" array (Chrome Trace Event Format, JSON Object Format)');
  const marker = isObj(doc.otherData) && isObj(doc.otherData.linsock) ? doc.otherData.linsock : null;
  if (!marker || marker.format !== CHROME_TRACE_FORMAT)
    throw new ChromeTraceError(
      `expected otherData.linsock.format = '${CHROME_TRACE_FORMAT}': this Chrome trace was not exported by Linsock, so its calls and stages cannot be rebuilt`,
    );
  if (marker.version !== CHROME_TRACE_VERSION)
    throw new ChromeTraceError(`otherData.linsock.version is ${JSON.stringify(marker.version)}; this reader understands version ${CHROME_TRACE_VERSION}`);

  const records: TraceRecord[] = [];
  const runs = Array.isArray(marker.runs) ? marker.runs : [];
  runs.forEach((r, i) => {
    const why = invalidRecord(r);
    if (why) throw new ChromeTraceError(`otherData.linsock.runs[${i}]: ${why}`);
    records.push(r as RunInfo);
  });

  // Stages follow their call on the same thread; remember the open call per thread.
  const openCall = new Map<string, CallRecord>();
  const finish = (c: CallRecord, where: string): void => {
    const why = invalidRecord(c);
    if (why) throw new ChromeTraceError(`${where} (call seq ${c.seq}): ${why}`);
  };
  const events = doc.traceEvents as unknown[];
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const where = `traceEvents[${i}]`;
    if (!isObj(e) || typeof e.ph !== 'string') throw new ChromeTraceError(`${where}: expected an event object with a string 'ph'`);
    const thread = `${String(e.pid)}|${String(e.tid)}`;
    if (e.ph === 'X' && e.cat === 'call') {
      if (!isObj(e.args)) throw new ChromeTraceError(`${where}: expected 'args' with the call's fields`);
      const a = e.args;
      const c = {
        kind: 'call', seq: a.seq, run: a.run, guest: a.guest, path: a.path, socket: a.socket, op: a.op, bytes: a.bytes,
        result: a.result, stages: [],
      } as unknown as CallRecord;
      if (a.frames !== undefined) c.frames = a.frames as number[];
      usToNs(e.ts, where, 'ts');
      const prev = openCall.get(thread);
      if (prev) finish(prev, where);
      openCall.set(thread, c);
      records.push(c);
    } else if (e.ph === 'X' && e.cat === 'stage') {
      const c = openCall.get(thread);
      if (!c) throw new ChromeTraceError(`${where}: stage '${String(e.name)}' on pid ${String(e.pid)} tid ${String(e.tid)} has no call event before it on that thread`);
      const start = usToNs(e.ts, where, 'ts');
      c.stages.push({ name: e.name as CallRecord['stages'][number]['name'], start, end: start + usToNs(e.dur, where, 'dur') });
    } else if (e.ph === 'X' && e.cat === 'frame') {
      if (!isObj(e.args)) throw new ChromeTraceError(`${where}: expected 'args' with the frame's fields`);
      const a = e.args;
      const tIn = usToNs(e.ts, where, 'ts');
      const f = {
        kind: 'frame', seq: a.seq, run: a.run, guest: a.guest, direction: a.direction, length: a.length, payload: a.payload,
        flow: a.flow ?? null, tIn, tOut: tIn + usToNs(e.dur, where, 'dur'),
      };
      const why = invalidRecord(f);
      if (why) throw new ChromeTraceError(`${where}: ${why}`);
      records.push(f as TraceRecord);
    } else if (e.ph === 'i' && e.cat === 'linsock' && e.name === 'dropped') {
      const d = { kind: 'dropped', count: isObj(e.args) ? e.args.count : undefined, atNs: usToNs(e.ts, where, 'ts') };
      const why = invalidRecord(d);
      if (why) throw new ChromeTraceError(`${where}: ${why}`);
      records.push(d as TraceRecord);
    }
    // Metadata (M) and flow (s/f) events carry nothing the records lack.
  }
  for (const c of openCall.values()) finish(c, 'end of traceEvents');
  return records;
}
