// Trace records -> Chrome Trace Event Format JSON (the "JSON Object Format" that Perfetto UI and
// chrome://tracing open), written as a stream of text pieces so a million calls never sit in one string.
// Layout: one process per path; one thread per guest socket (extra "overlap" threads when calls on one
// socket overlap in time, e.g. pipelined sends, because X events on a thread must nest); each call is an
// X event with its stages as nested X events; frames are X events under the emulated process, and flow
// events (s/f sharing an id) link a call to each frame it caused. Times: µs with 3 decimals = exact ns.
// chrome-trace-reader.ts turns such a file back into records.

import type { CallRecord, DroppedRecord, FrameRecord, Path, RunInfo, TraceRecord } from './trace';
import { callSpan } from './trace';
import type { TraceWriter } from './trace-format';

export const CHROME_TRACE_FORMAT = 'linsock-chrome';
export const CHROME_TRACE_VERSION = 1;

/** Fixed pids so that files from different runs line up in the viewer. */
export const PATH_PIDS: Record<Path, number> = { direct: 1, delegated: 2, emulated: 3 };
/** Where daemon-wide marks (dropped records) go. */
export const DAEMON_PID = 9;
/**
 * Overlap threads per socket. Pipelined sends keep up to a socket's credit in flight (1 MiB of 1 KiB sends
 * is a thousand calls at once), and each needs its own lane to nest; beyond this many, the extra ones
 * share the least busy lane (and may then overlap).
 */
const MAX_LANES = 4096;
/** How many recent frames/calls are remembered to pair flow ends (calls reference nearby frames). */
const FLOW_MEMORY = 65_536;

/** ns -> µs as exact decimal text (JS numbers would print 0.1 µs steps as 0.09999999). */
export function nsToUs(ns: number): string {
  const whole = Math.floor(ns / 1000);
  const frac = ns - whole * 1000;
  return `${whole}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

interface Lanes {
  ends: number[];
  tids: number[];
}

interface FlowEnd {
  pid: number;
  tid: number;
  ts: number;
}

export class ChromeTraceWriter implements TraceWriter {
  private first = true;
  private nextTid = 1;
  private readonly lanes = new Map<string, Lanes>();
  private readonly namedPids = new Set<number>();
  private readonly runs: RunInfo[] = [];
  private readonly frameEnds = new Map<number, FlowEnd>();
  private readonly callEnds = new Map<number, FlowEnd>();
  private out: string[] = [];
  /** Events written so far (metadata and flows included). */
  events = 0;

  /** The opening text of the file. */
  begin(): string {
    return '{"displayTimeUnit":"ns","traceEvents":[\n';
  }

  /** The text of the events for `records`, to append after begin() and earlier write()s. */
  write(records: Iterable<TraceRecord>): string {
    for (const r of records) {
      switch (r.kind) {
        case 'call':
          this.call(r);
          break;
        case 'frame':
          this.frame(r);
          break;
        case 'dropped':
          this.dropped(r);
          break;
        case 'run':
          this.runs.push(r);
          break;
      }
    }
    const text = this.out.join('');
    this.out = [];
    return text;
  }

  /**
   * The closing text: runs and the format marker go in otherData, which the reader checks; `notes` (what a
   * cap left out) join them there, where Perfetto ignores them and a person reading the JSON finds them.
   */
  end(notes: Record<string, unknown> = {}): string {
    const other = { linsock: { ...notes, format: CHROME_TRACE_FORMAT, version: CHROME_TRACE_VERSION, runs: this.runs } };
    return `\n],"otherData":${JSON.stringify(other)}}\n`;
  }

  private readonly quoted = new Map<string, string>();
  /** JSON text of a name that repeats (run ids, guests, addresses), escaped once. */
  private quote(v: string): string {
    let q = this.quoted.get(v);
    if (q === undefined) {
      q = JSON.stringify(v);
      if (this.quoted.size < 10_000) this.quoted.set(v, q);
    }
    return q;
  }

  private emit(json: string): void {
    this.out.push(this.first ? json : `,\n${json}`);
    this.first = false;
    this.events++;
  }

  private processName(pid: number, name: string): void {
    if (this.namedPids.has(pid)) return;
    this.namedPids.add(pid);
    this.emit(`{"name":"process_name","ph":"M","pid":${pid},"tid":0,"args":{"name":${JSON.stringify(name)}}}`);
    this.emit(`{"name":"process_sort_index","ph":"M","pid":${pid},"tid":0,"args":{"sort_index":${pid}}}`);
  }

  /** The thread for an event spanning [start, end] on `key`, naming new threads as they appear. */
  private lane(pid: number, key: string, label: string, start: number, end: number): number {
    let l = this.lanes.get(`${pid}|${key}`);
    if (!l) {
      l = { ends: [], tids: [] };
      this.lanes.set(`${pid}|${key}`, l);
    }
    let i = l.ends.findIndex((e) => e <= start);
    if (i < 0 && l.ends.length < MAX_LANES) {
      i = l.ends.length;
      const tid = this.nextTid++;
      l.ends.push(0);
      l.tids.push(tid);
      const name = i === 0 ? label : `${label} (overlap ${i})`;
      this.emit(`{"name":"thread_name","ph":"M","pid":${pid},"tid":${tid},"args":{"name":${JSON.stringify(name)}}}`);
      this.emit(`{"name":"thread_sort_index","ph":"M","pid":${pid},"tid":${tid},"args":{"sort_index":${tid}}}`);
    }
    if (i < 0) i = l.ends.reduce((best, e, k) => (e < (l.ends[best] as number) ? k : best), 0);
    l.ends[i] = Math.max(l.ends[i] as number, end);
    return l.tids[i] as number;
  }

  private call(c: CallRecord): void {
    const pid = PATH_PIDS[c.path];
    this.processName(pid, c.path);
    const { start, end } = callSpan(c);
    const tid = this.lane(pid, `${c.guest}|${c.socket}`, `${c.guest} socket ${c.socket}`, start, end);
    // Args written by hand (run and guest quoted once per distinct value): JSON.stringify per call doubled the export time.
    const frames = c.frames ? `,"frames":[${c.frames.join(',')}]` : '';
    const args = `{"seq":${c.seq},"run":${this.quote(c.run)},"guest":${this.quote(c.guest)},"path":"${c.path}","socket":${c.socket},"op":"${c.op}","bytes":${c.bytes},"result":"${c.result}"${frames}${callTruth(c)}}`;
    this.emit(`{"name":"${c.op}","cat":"call","ph":"X","pid":${pid},"tid":${tid},"ts":${nsToUs(start)},"dur":${nsToUs(end - start)},"args":${args}}`);
    for (const s of c.stages) {
      // A stage that was not measured says so (its 0 dur is no length); a shared one names its split.
      const flag = s.unmeasured ? ',"args":{"unmeasured":true,"duration":"not measured"}' : s.shared ? ',"args":{"shared":true,"split":"by bytes"}' : '';
      this.emit(`{"name":"${s.name}","cat":"stage","ph":"X","pid":${pid},"tid":${tid},"ts":${nsToUs(s.start)},"dur":${nsToUs(s.end - s.start)}${flag}}`);
    }
    for (const f of c.frames ?? []) {
      const from = { pid, tid, ts: start + Math.min(1, end - start) };
      const to = this.frameEnds.get(f);
      if (to) {
        this.frameEnds.delete(f);
        this.flow(f, from, to);
      } else remember(this.callEnds, f, from);
    }
  }

  private frame(f: FrameRecord): void {
    const pid = PATH_PIDS.emulated;
    this.processName(pid, 'emulated');
    const tid = this.lane(pid, `frames|${f.guest}|${f.direction}`, `${f.guest} frames ${f.direction}`, f.tIn, f.tOut);
    const flow = f.flow
      ? `{"protocol":"${f.flow.protocol}","src":${this.quote(f.flow.src)},"srcPort":${f.flow.srcPort},"dst":${this.quote(f.flow.dst)},"dstPort":${f.flow.dstPort}}`
      : 'null';
    const args = `{"seq":${f.seq},"run":${this.quote(f.run)},"guest":${this.quote(f.guest)},"direction":"${f.direction}","length":${f.length},"payload":${f.payload},"flow":${flow}}`;
    this.emit(`{"name":"frame ${f.direction}","cat":"frame","ph":"X","pid":${pid},"tid":${tid},"ts":${nsToUs(f.tIn)},"dur":${nsToUs(f.tOut - f.tIn)},"args":${args}}`);
    const to = { pid, tid, ts: f.tIn + Math.min(1, f.tOut - f.tIn) };
    const from = this.callEnds.get(f.seq);
    if (from) {
      this.callEnds.delete(f.seq);
      this.flow(f.seq, from, to);
    } else remember(this.frameEnds, f.seq, to);
  }

  /**
   * A flow arrow from the call to the frame; the frame's seq is unique, so it serves as the flow id. Both
   * ends sit 1 ns inside their slice: viewers bind s/f events to the slice open at that instant, and at the
   * slice's very first ns the order of equal timestamps would decide.
   */
  private flow(id: number, from: FlowEnd, to: FlowEnd): void {
    this.emit(`{"name":"causes frame","cat":"flow","ph":"s","id":${id},"pid":${from.pid},"tid":${from.tid},"ts":${nsToUs(from.ts)}}`);
    this.emit(`{"name":"causes frame","cat":"flow","ph":"f","bp":"e","id":${id},"pid":${to.pid},"tid":${to.tid},"ts":${nsToUs(to.ts)}}`);
  }

  private dropped(d: DroppedRecord): void {
    this.processName(DAEMON_PID, 'linsockd');
    this.emit(`{"name":"dropped","cat":"linsock","ph":"i","s":"g","pid":${DAEMON_PID},"tid":0,"ts":${nsToUs(d.atNs)},"args":{"count":${d.count}}}`);
  }
}

/** The call's truth fields (trace.ts, CallTruth) as extra args text, and a word when no stage was measured. */
function callTruth(c: CallRecord): string {
  let t = '';
  if (c.calls !== undefined) t += `,"calls":${c.calls}`;
  if (c.waitedNs !== undefined) t += `,"waitedNs":${c.waitedNs}`;
  if (c.clockShiftNs !== undefined) t += `,"clockShiftNs":${c.clockShiftNs}`;
  if (c.disorderNs !== undefined) t += `,"disorderNs":${c.disorderNs}`;
  if (c.stages.every((s) => s.unmeasured)) t += ',"duration":"not measured"';
  return t;
}

function remember(map: Map<number, FlowEnd>, key: number, end: FlowEnd): void {
  map.set(key, end);
  if (map.size > FLOW_MEMORY) map.delete(map.keys().next().value as number);
}

/** The whole file for `records` at once (small traces, tests). */
export function toChromeTrace(records: Iterable<TraceRecord>): string {
  const w = new ChromeTraceWriter();
  return w.begin() + w.write(records) + w.end();
}
