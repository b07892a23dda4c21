// Reads Chrome Trace Event JSON that Linsock wrote (chrome-trace.ts) back into trace records, streaming:
// bytes in pieces of any size go through the event scanner (trace-event-scanner.ts), each event becomes a
// record as it arrives, and nothing but the call being completed is held. Both JSON forms are read: the
// Object Format Linsock writes and the Array Format (a bare list of events, which has no otherData).
// Events that are not Linsock's are counted as skipped, with the reason, rather than failing the file: a
// Chrome trace from another tool lacks the stage and record details to rebuild calls.

import { CHROME_TRACE_FORMAT, CHROME_TRACE_VERSION, TIME_ORIGIN_EVENT } from './chrome-trace';
import { invalidRecord, type CallRecord, type RunInfo, type TraceRecord } from './trace';
import { TraceEventScanner, type ScanHandler } from './trace-event-scanner';
import { DEFAULT_READ_LIMITS, SkippedTally, type ReadLimits, type ReadStep, type TraceReader } from './trace-format';

export class ChromeTraceError extends Error {
  override name = 'ChromeTraceError';
  /** Offset in the file of the problem, or -1 when it is about the file as a whole. */
  constructor(message: string, readonly offset = -1) {
    super(message);
  }
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * µs -> integer ns: ts has 3 decimals and dur is cut short by under half a ns (chrome-trace.ts), so rounding
 * restores the ns. `origin` (ns) is added to a ts; the time it gives must not be negative.
 */
function usToNs(v: unknown, field: string, origin = 0): number | string {
  const ns = typeof v === 'number' && Number.isFinite(v) ? origin + Math.round(v * 1000) : -1;
  if (ns < 0) return `expected '${field}' to be a non-negative number of microseconds${origin ? ` after the time origin ${origin} ns` : ''}, found ${JSON.stringify(v)}`;
  return ns;
}

/** A slice's [start, end] in ns: an X event (ts, dur) or an instant (ts only: zero length). */
function sliceNs(e: Json, origin: number): { start: number; end: number } | string {
  const start = usToNs(e.ts, 'ts', origin);
  if (typeof start === 'string') return start;
  if (e.ph === 'i') return { start, end: start };
  const dur = usToNs(e.dur, 'dur');
  return typeof dur === 'string' ? dur : { start, end: start + dur };
}

/** Slices are X events, and instants (ph i) for zero-length ones (version 2 on). */
const isSlice = (e: Json, cat: string): boolean => (e.ph === 'X' || e.ph === 'i') && e.cat === cat;

/** What readers of a Linsock file pass over without a word: layout only (metadata, flow arrows). */
const LAYOUT_PHASES = new Set(['M', 's', 'f', 't']);

export interface ChromeReadOptions {
  limits?: ReadLimits;
  /**
   * Fail on the first Linsock event that is wrong (rather than skip it), and on a file with no Linsock
   * records: for tests and tools that want an exact round trip.
   */
  strict?: boolean;
}

export class ChromeTraceReader implements TraceReader {
  readonly skipped = new SkippedTally();
  readonly notes: string[] = [];
  private readonly scanner: TraceEventScanner;
  private readonly strict: boolean;
  private out: TraceRecord[] = [];
  /** The call whose stages are being read: Linsock writes a call's stages right after it. */
  private open: { call: CallRecord; thread: string; where: string } | null = null;
  private marker = false;
  /** ns that ts 0 stands for: stated by the file's first event (version 2); 0 in version 1 files. */
  private origin = 0;
  private records = 0;
  private error: ChromeTraceError | null = null;
  private readonly handler: ScanHandler;

  constructor(opts: ChromeReadOptions = {}) {
    const limits = opts.limits ?? DEFAULT_READ_LIMITS;
    this.scanner = new TraceEventScanner(limits);
    this.strict = opts.strict ?? false;
    this.handler = {
      event: (v, i) => this.event(v, `traceEvents[${i}]`),
      oversized: (i, n) => this.skipped.add(`events larger than ${limits.maxEventBytes} bytes (one was ${n})`, `traceEvents[${i}]`),
      otherData: (v) => this.otherData(v),
    };
  }

  push(bytes: Uint8Array): ReadStep {
    if (!this.error) {
      const e = this.scanner.push(bytes, this.handler);
      if (e) this.fail(e);
    }
    return this.take();
  }

  finish(): ReadStep {
    if (!this.error) {
      const e = this.scanner.finish();
      this.close();
      if (e) this.fail(e);
      else if (!this.marker && this.records === 0) {
        const why = `no Linsock records: expected otherData.linsock.format = '${CHROME_TRACE_FORMAT}' or events with Linsock's call, stage and frame details; this Chrome trace was not exported by Linsock, so its calls and stages cannot be rebuilt`;
        if (this.strict) this.fail(new ChromeTraceError(why));
        else this.notes.push(why);
      }
    }
    return this.take();
  }

  private take(): ReadStep {
    const records = this.out;
    this.out = [];
    return { records, error: this.error };
  }

  private fail(e: Error): void {
    this.error ??= e instanceof ChromeTraceError ? e : new ChromeTraceError(e.message, (e as { offset?: number }).offset ?? -1);
  }

  private emit(r: TraceRecord): void {
    this.out.push(r);
    this.records++;
  }

  /**
   * A Linsock event that is wrong: an error in strict mode, else skipped under `reason` (what events of
   * this kind share; by default `why` without the value found).
   */
  private bad(where: string, why: string, reason = why.replace(/, found .*$/, '')): Error | null {
    if (this.strict) return new ChromeTraceError(`${where}: ${why}`);
    this.skipped.add(reason, where);
    return null;
  }

  /** The open call is complete: checked, then emitted. */
  private close(): Error | null {
    const o = this.open;
    if (!o) return null;
    this.open = null;
    const why = invalidRecord(o.call);
    if (why) return this.bad(`${o.where} (call seq ${String(o.call.seq)})`, `invalid call: ${why}`);
    this.emit(o.call);
    return null;
  }

  private event(e: unknown, where: string): Error | null {
    if (!isObj(e) || typeof e.ph !== 'string') {
      this.skipped.add('elements that are not event objects with a string "ph"', where);
      return null;
    }
    const thread = `${String(e.pid)}|${String(e.tid)}`;
    if (isSlice(e, 'stage')) {
      const c = this.open;
      if (!c || c.thread !== thread) return this.bad(where, `stage '${String(e.name)}' on pid ${String(e.pid)} tid ${String(e.tid)} has no call event right before it on that thread`, 'stage events with no call right before them on their thread');
      const span = sliceNs(e, this.origin);
      if (typeof span === 'string') return this.bad(where, span);
      const stage: CallRecord['stages'][number] = { name: e.name as CallRecord['stages'][number]['name'], ...span };
      if (isObj(e.args) && e.args.unmeasured === true) stage.unmeasured = true;
      if (isObj(e.args) && e.args.shared === true) stage.shared = true;
      c.call.stages.push(stage);
      return null;
    }
    const closed = this.close();
    if (closed) return closed;
    if (e.ph === 'M' && e.name === TIME_ORIGIN_EVENT) {
      const ns = isObj(e.args) ? e.args.ns : undefined;
      if (typeof ns !== 'number' || !Number.isSafeInteger(ns) || ns < 0) return new ChromeTraceError(`${where}: the time origin's args.ns must be a non-negative integer, found ${JSON.stringify(ns)}`);
      this.origin = ns;
    } else if (isSlice(e, 'call')) {
      if (!isObj(e.args)) return this.bad(where, "expected 'args' with the call's fields");
      const a = e.args;
      const c = {
        kind: 'call', seq: a.seq, run: a.run, guest: a.guest, path: a.path, socket: a.socket, op: a.op, bytes: a.bytes,
        result: a.result, stages: [],
      } as unknown as CallRecord;
      if (a.frames !== undefined) c.frames = a.frames as number[];
      for (const k of ['calls', 'waitedNs', 'clockShiftNs', 'disorderNs'] as const) if (a[k] !== undefined) c[k] = a[k] as number;
      const ts = usToNs(e.ts, 'ts', this.origin);
      if (typeof ts === 'string') return this.bad(where, ts);
      this.open = { call: c, thread, where };
    } else if (isSlice(e, 'frame')) {
      if (!isObj(e.args)) return this.bad(where, "expected 'args' with the frame's fields");
      const a = e.args;
      const span = sliceNs(e, this.origin);
      if (typeof span === 'string') return this.bad(where, span);
      const f = {
        kind: 'frame', seq: a.seq, run: a.run, guest: a.guest, direction: a.direction, length: a.length, payload: a.payload,
        flow: a.flow ?? null, tIn: span.start, tOut: span.end,
      };
      const why = invalidRecord(f);
      if (why) return this.bad(where, `invalid frame: ${why}`);
      this.emit(f as TraceRecord);
    } else if (e.ph === 'i' && e.cat === 'linsock' && e.name === 'dropped') {
      const at = usToNs(e.ts, 'ts', this.origin);
      if (typeof at === 'string') return this.bad(where, at);
      const d = { kind: 'dropped', count: isObj(e.args) ? e.args.count : undefined, atNs: at };
      const why = invalidRecord(d);
      if (why) return this.bad(where, `invalid drop mark: ${why}`);
      this.emit(d as TraceRecord);
    } else if (!LAYOUT_PHASES.has(e.ph)) {
      this.skipped.add(`'${e.ph.slice(0, 8)}' events without Linsock's details (category call, stage or frame)`, where);
    }
    return null;
  }

  private otherData(v: unknown): Error | null {
    const marker = isObj(v) && isObj(v.linsock) ? v.linsock : null;
    if (!marker) return null;
    if (marker.format !== CHROME_TRACE_FORMAT)
      return new ChromeTraceError(`otherData.linsock.format is ${JSON.stringify(marker.format)}: expected '${CHROME_TRACE_FORMAT}'`);
    if (marker.version !== 1 && marker.version !== CHROME_TRACE_VERSION)
      return new ChromeTraceError(`otherData.linsock.version is ${JSON.stringify(marker.version)}; this reader understands versions 1 to ${CHROME_TRACE_VERSION}`);
    if (marker.version !== 1 && this.records > 0 && marker.timeOriginNs !== this.origin)
      return new ChromeTraceError(`otherData.linsock.timeOriginNs is ${JSON.stringify(marker.timeOriginNs)} but the file's first event stated ${this.origin}: the times cannot be trusted`);
    this.marker = true;
    const runs = Array.isArray(marker.runs) ? marker.runs : [];
    for (let i = 0; i < runs.length; i++) {
      const why = invalidRecord(runs[i]);
      if (why) {
        const e = this.bad(`otherData.linsock.runs[${i}]`, `invalid run: ${why}`);
        if (e) return e;
      } else this.emit(runs[i] as RunInfo);
    }
    return null;
  }
}

/** The records of a whole Linsock Chrome JSON text (strict: the first problem throws a ChromeTraceError). */
export function readChromeTrace(text: string): TraceRecord[] {
  const reader = new ChromeTraceReader({ strict: true });
  const a = reader.push(new TextEncoder().encode(text));
  if (a.error) throw a.error;
  const b = reader.finish();
  if (b.error) throw b.error;
  return a.records.concat(b.records);
}
