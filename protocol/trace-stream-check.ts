// Runtime checks of the trace stream's JSON messages (trace-stream.ts) as a client receives them: a daemon is
// a peer, not a friend, so nothing it sends is used before it has the shape its type promises. One checker
// per message type, in a table; each returns why the message is wrong, or null.

import { labOfferProblem, reportExtrasProblem, vmInfoProblem } from './lab-offer';
import { WORKLOADS, type ServerMessage } from './trace-stream';

type Obj = Record<string, unknown>;
type Check = (m: Obj) => string | null;

/** Longest text accepted in a message (error and failure messages): bounded; logs shorten further. */
export const MAX_MESSAGE_TEXT = 65_536;
/** Longest daemon, guest and run names (as trace.ts's record names). */
export const MAX_NAME = 255;
const MAX_GUESTS = 4096;
const MAX_SOCKETS = 65_536;
const MAX_RESULTS = 64;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isText = (v: unknown, max = MAX_MESSAGE_TEXT): v is string => typeof v === 'string' && v.length <= max;
const isName = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= MAX_NAME;
const numOrNull = (v: unknown) => v === null || (typeof v === 'number' && !Number.isNaN(v));

/** How a wrong value looks in an error: its type and a short, safe rendering ("a string \"1\"", "an object"). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'missing';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `a string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}${v.length > 40 ? ` (${v.length} characters)` : ''}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
/** Why field `k` of `m` is wrong; `label` names it in the message (`guest name` for a guest's `name`). */
const field = (m: Obj, k: string, want: string, label = k) => `${label} is ${describeValue(m[k])}, expected ${want}`;

const withId: Check = (m) => (isNat(m.id) ? null : field(m, 'id', 'a request id'));

function checkSocket(s: unknown): string | null {
  if (!isObj(s)) return 'a socket is not an object';
  if (!isNat(s.handle) || !isNat(s.bytesIn) || !isNat(s.bytesOut)) return 'a socket handle or byte count is not a non-negative integer';
  if (s.kind !== 'tcp' && s.kind !== 'udp' && s.kind !== 'listener') return field(s, 'kind', 'tcp, udp or listener', 'socket kind');
  if (!isText(s.state, 64)) return field(s, 'state', 'a short text', 'socket state');
  for (const k of ['local', 'remote']) if (s[k] !== null && !isText(s[k], 128)) return field(s, k, 'an address or null', `socket ${k}`);
  return null;
}

function checkGuest(g: unknown): string | null {
  if (!isObj(g)) return 'a guest is not an object';
  if (!isName(g.name)) return field(g, 'name', `a name of 1..${MAX_NAME} characters`, 'guest name');
  if (g.transport !== 'unix' && g.transport !== 'tcp' && g.transport !== 'chardev') return field(g, 'transport', 'unix, tcp or chardev', 'guest transport');
  if (!isNat(g.connectedNs)) return field(g, 'connectedNs', 'a time in ns', 'guest connectedNs');
  if (!Array.isArray(g.sockets) || g.sockets.length > MAX_SOCKETS) return field(g, 'sockets', `a list of at most ${MAX_SOCKETS}`, 'guest sockets');
  for (const s of g.sockets) {
    const why = checkSocket(s);
    if (why) return why;
  }
  return g.vm === undefined ? null : vmInfoProblem(g.vm);
}

const STATUS_COUNTS = ['calls', 'callsPerSec', 'bytes', 'errors', 'drops', 'guests', 'sockets', 'ringSize', 'ringUsed', 'rssBytes'] as const;
function checkStatus(s: unknown): string | null {
  if (!isObj(s)) return 'status is not an object';
  for (const k of STATUS_COUNTS) if (!isCount(s[k])) return field(s, k, 'a non-negative number', `status.${k}`);
  if (typeof s.tracing !== 'boolean') return field(s, 'tracing', 'a boolean', 'status.tracing');
  if (!isNat(s.nextSeq)) return field(s, 'nextSeq', 'a seq number', 'status.nextSeq');
  return s.lab === undefined ? null : labOfferProblem(s.lab);
}

function checkReport(r: unknown): string | null {
  if (!isObj(r)) return 'report is not an object';
  if (!WORKLOADS.includes(r.workload as never)) return field(r, 'workload', WORKLOADS.join(', '), 'report.workload');
  if (r.mode !== null && r.mode !== 'e1000' && r.mode !== 'virtio') return field(r, 'mode', 'e1000, virtio or null', 'report.mode');
  if (!isCount(r.mtu)) return field(r, 'mtu', 'a number', 'report.mtu');
  if (!Array.isArray(r.results) || r.results.length > MAX_RESULTS) return field(r, 'results', `a list of at most ${MAX_RESULTS} rows`, 'report.results');
  for (const x of r.results as unknown[]) {
    if (!isObj(x) || !isText(x.path, MAX_NAME)) return 'a report row has no path';
    if (!['mb_per_s', 'p50_us', 'p99_us', 'ops_per_s'].every((k) => numOrNull(x[k]))) return `report row ${x.path}: a figure is neither a number nor null`;
    if (!isCount(x.calls) || !isCount(x.bytes) || typeof x.verified !== 'boolean') return `report row ${x.path}: calls, bytes or verified is malformed`;
  }
  if (!isObj(r.ratios) || Object.keys(r.ratios).length > MAX_RESULTS * MAX_RESULTS || !Object.values(r.ratios).every(numOrNull)) return 'report.ratios is not a table of numbers';
  return reportExtrasProblem(r);
}

const CHECKS: Record<ServerMessage['type'], Check> = {
  hello: (m) => {
    if (typeof m.protocol !== 'number' || !Number.isSafeInteger(m.protocol)) return field(m, 'protocol', 'a version number');
    if (!isName(m.daemon)) return field(m, 'daemon', `a name of 1..${MAX_NAME} characters`);
    if (!isNat(m.nextSeq)) return field(m, 'nextSeq', 'a seq number');
    return null;
  },
  error: (m) => {
    if (m.id !== null && !isNat(m.id)) return field(m, 'id', 'a request id or null');
    if (!isText(m.code, 64)) return field(m, 'code', 'an error code');
    return isText(m.message) ? null : field(m, 'message', `a text of at most ${MAX_MESSAGE_TEXT} characters`);
  },
  subscribed: (m) => withId(m) ?? (isNat(m.fromSeq) ? null : field(m, 'fromSeq', 'a seq number')),
  unsubscribed: withId,
  snapshotDone: (m) => withId(m) ?? (isNat(m.records) ? null : field(m, 'records', 'a count')),
  guests: (m) => {
    if (!Array.isArray(m.guests) || m.guests.length > MAX_GUESTS) return field(m, 'guests', `a list of at most ${MAX_GUESTS}`);
    for (const g of m.guests) {
      const why = checkGuest(g);
      if (why) return why;
    }
    return withId(m);
  },
  status: (m) => withId(m) ?? checkStatus(m.status),
  runStarted: (m) => withId(m) ?? (isName(m.runId) ? null : field(m, 'runId', 'a run id')),
  runFinished: (m) => withId(m) ?? (isName(m.runId) ? checkReport(m.report) : field(m, 'runId', 'a run id')),
  runFailed: (m) => withId(m) ?? (!isName(m.runId) ? field(m, 'runId', 'a run id') : isText(m.message) ? null : field(m, 'message', 'a text')),
};

/** Parses and checks one text message of the daemon: the message, or why it is not one. */
export function readServerMessage(text: string): { message: ServerMessage; error: null } | { message: null; error: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { message: null, error: `not JSON: ${describeValue(text)}` };
  }
  if (!isObj(v)) return { message: null, error: `a message is ${describeValue(v)}, expected an object` };
  const check = typeof v.type === 'string' && Object.hasOwn(CHECKS, v.type) ? CHECKS[v.type as ServerMessage['type']] : undefined;
  if (!check) return { message: null, error: `unknown message type: ${describeValue(v.type)}` };
  const why = check(v);
  return why ? { message: null, error: `${v.type as string}: ${why}` } : { message: v as ServerMessage, error: null };
}
