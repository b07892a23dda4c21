// Trace records -> Chrome Trace Event Format JSON (the "JSON Object Format" that Perfetto UI and
// chrome://tracing open), written as a stream of text pieces so a million calls never sit in one string.
// Layout: one process per path; one thread per guest socket (extra "overlap" threads when calls on one
// socket overlap in time, e.g. pipelined sends, because X events on a thread must nest); each call is an
// X event with its stages as nested X events; frames are X events under the emulated process, and flow
// events (s/f sharing an id) link a call to each frame it caused. A zero-length call, stage or frame is an
// instant event (ph i, s t): a slice that begins and ends at one instant has no defined order against its
// neighbours, and viewers that turn X into begin/end pairs mis-nest it.
// Times: µs since a stated origin (timeOriginNs, whole seconds of the host's monotonic clock, in the first
// event and in otherData), so that they stay small; ts has 3 decimals = exact ns. Viewers add ts + dur in
// doubles, so each dur is cut short by a tenth of a ns per level of nesting (see durText): children end
// before their parents and a slice ends before the next one on its thread starts, whatever the rounding.
// chrome-trace-reader.ts turns such a file back into records (it rounds dur back to whole ns).

import type { CallRecord, DroppedRecord, FrameRecord, Path, RunInfo, TraceRecord } from './trace';
import { callSpan } from './trace';
import type { TraceWriter } from './trace-format';

export const CHROME_TRACE_FORMAT = 'linsock-chrome';
/** 2: times relative to timeOriginNs, zero-length slices as instants, dur cut short (1: absolute X events). */
export const CHROME_TRACE_VERSION = 2;
/** The metadata event that states the origin; it is the first event of every file that has timed events. */
export const TIME_ORIGIN_EVENT = 'linsock_time_origin';

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

/** ns -> µs as exact decimal text (JS numbers would print 0.1 µs steps as 0.09999999); negative too. */
export function nsToUs(ns: number): string {
  if (ns < 0) return `-${nsToUs(-ns)}`;
  const whole = Math.floor(ns / 1000);
  const frac = ns - whole * 1000;
  return `${whole}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

/**
 * How much shorter than its true length a slice's dur is written, in tenths of a ns, by depth: calls and
 * frames 1, stages 2. A viewer that computes end = ts + dur in doubles (speedscope, DevTools) may land an
 * ulp past the next slice's ts, and past its parent's end; an ulp of a time below 2^33 µs (2.4 hours from
 * the origin) is under 2e-6 µs, so a 1e-4 µs cut keeps every end before the next start and each child's
 * end before its parent's, even after the viewer shifts all times by its own origin. Readers round dur to
 * whole ns and get the exact length back (the cut is under half a ns).
 */
const CUT_TENTHS = { slice: 1, stage: 2 } as const;

/** dur text for `ns` (>= 1) cut short by `tenths` tenths of a ns: 4 decimals of µs. */
export function durText(ns: number, tenths: number): string {
  const t = ns * 10 - tenths;
  const whole = Math.floor(t / 10_000);
  return `${whole}.${String(t - whole * 10_000).padStart(4, '0')}`;
}

/** The whole second of host monotonic time at or before `ns`: the origin of a file whose first time is `ns`. */
const originOf = (ns: number): number => Math.floor(ns / 1e9) * 1e9;

/** The earliest time in `records`, or null when none has one. */
function earliest(records: Iterable<TraceRecord>): number | null {
  let min = Infinity;
  for (const r of records) {
    const t = r.kind === 'call' ? callSpan(r).start : r.kind === 'frame' ? r.tIn : r.kind === 'dropped' ? r.atNs : r.startedNs;
    if (t < min) min = t;
  }
  return Number.isFinite(min) ? min : null;
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
  /** Host monotonic ns that ts 0 stands for; set by the first records (null until then). */
  private origin: number | null = null;
  /** Events written so far (metadata and flows included). */
  events = 0;

  /** The opening text of the file. */
  begin(): string {
    return '{"displayTimeUnit":"ns","traceEvents":[\n';
  }

  /** The text of the events for `records`, to append after begin() and earlier write()s. */
  write(records: Iterable<TraceRecord>): string {
    if (this.origin === null) {
      records = Array.isArray(records) ? records : [...records];
      const first = earliest(records);
      if (first !== null) {
        // The first event, so that a reader knows the origin before any time it must restore.
        this.origin = originOf(first);
        this.emit(`{"name":"${TIME_ORIGIN_EVENT}","ph":"M","pid":${DAEMON_PID},"tid":0,"args":{"ns":${this.origin},"clock":"host monotonic"}}`);
      }
    }
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
    const timeOrigin = { timeOriginNs: this.origin ?? 0, timeUnit: 'ts and dur are µs since timeOriginNs on the host monotonic clock' };
    const other = { linsock: { ...notes, format: CHROME_TRACE_FORMAT, version: CHROME_TRACE_VERSION, ...timeOrigin, runs: this.runs } };
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
    this.emit(`{"name":"${c.op}","cat":"call",${this.span(start, end, 'slice')},"pid":${pid},"tid":${tid},"args":${args}}`);
    for (const s of c.stages) {
      // A stage that was not measured says so (its 0 length is no length); a shared one names its split.
      const flag = s.unmeasured ? ',"args":{"unmeasured":true,"duration":"not measured"}' : s.shared ? ',"args":{"shared":true,"split":"by bytes"}' : '';
      this.emit(`{"name":"${s.name}","cat":"stage",${this.span(s.start, s.end, 'stage')},"pid":${pid},"tid":${tid}${flag}}`);
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
    this.emit(`{"name":"frame ${f.direction}","cat":"frame",${this.span(f.tIn, f.tOut, 'slice')},"pid":${pid},"tid":${tid},"args":${args}}`);
    const to = { pid, tid, ts: f.tIn + Math.min(1, f.tOut - f.tIn) };
    const from = this.callEnds.get(f.seq);
    if (from) {
      this.callEnds.delete(f.seq);
      this.flow(f.seq, from, to);
    } else remember(this.frameEnds, f.seq, to);
  }

  /** Relative µs text of host monotonic `ns`. */
  private us(ns: number): string {
    return nsToUs(ns - (this.origin ?? 0));
  }

  /** The phase and times of a slice over [start, end]: an X event cut short, or an instant when it has no length. */
  private span(start: number, end: number, depth: keyof typeof CUT_TENTHS): string {
    if (end <= start) return `"ph":"i","s":"t","ts":${this.us(start)}`;
    return `"ph":"X","ts":${this.us(start)},"dur":${durText(end - start, CUT_TENTHS[depth])}`;
  }

  /**
   * A flow arrow from the call to the frame; the frame's seq is unique, so it serves as the flow id. Both
   * ends sit 1 ns inside their slice: viewers bind s/f events to the slice open at that instant, and at the
   * slice's very first ns the order of equal timestamps would decide.
   */
  private flow(id: number, from: FlowEnd, to: FlowEnd): void {
    this.emit(`{"name":"causes frame","cat":"flow","ph":"s","id":${id},"pid":${from.pid},"tid":${from.tid},"ts":${this.us(from.ts)}}`);
    this.emit(`{"name":"causes frame","cat":"flow","ph":"f","bp":"e","id":${id},"pid":${to.pid},"tid":${to.tid},"ts":${this.us(to.ts)}}`);
  }

  private dropped(d: DroppedRecord): void {
    this.processName(DAEMON_PID, 'linsockd');
    this.emit(`{"name":"dropped","cat":"linsock","ph":"i","s":"g","pid":${DAEMON_PID},"tid":0,"ts":${this.us(d.atNs)},"args":{"count":${d.count}}}`);
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
