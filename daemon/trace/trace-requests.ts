// Runtime validation of the trace stream's client requests (protocol/trace-stream.ts ClientRequest):
// everything that arrives on the socket is untrusted JSON until it passes here.

import { GUEST_KINDS, OPS, PATHS, PROGRAM_NAME, WORKLOADS, type ClientRequest, type RecordFilter } from '../../protocol';

export type ParsedRequest = { ok: true; request: ClientRequest } | { ok: false; id: number | null; message: string };

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= 0xffffffff;
const isNat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const MAX_NAME = 255;

function filterProblem(v: unknown): string | null {
  if (v === undefined) return null;
  if (!isObj(v)) return 'filter must be an object';
  for (const k of Object.keys(v)) if (!['guest', 'path', 'op', 'socket'].includes(k)) return `filter has an unknown field '${k}' (expected guest, path, op, socket)`;
  if (v.guest !== undefined && (typeof v.guest !== 'string' || v.guest.length > MAX_NAME)) return 'filter.guest must be a string';
  if (v.path !== undefined && !PATHS.includes(v.path as never)) return `filter.path must be one of ${PATHS.join(', ')}`;
  if (v.op !== undefined && !OPS.includes(v.op as never)) return `filter.op must be one of ${OPS.join(', ')}`;
  if (v.socket !== undefined && !isNat(v.socket)) return 'filter.socket must be a non-negative integer';
  return null;
}

/** Parses one text message; on failure says why and which request id (if any) to answer. */
export function parseClientRequest(text: string): ParsedRequest {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, id: null, message: 'request is not valid JSON; expected an object like {"op":"status","id":1}' };
  }
  if (!isObj(v)) return { ok: false, id: null, message: 'request must be a JSON object with "op" and "id"' };
  const id = isId(v.id) ? v.id : null;
  const bad = (message: string): ParsedRequest => ({ ok: false, id, message });
  if (id === null) return bad('request "id" must be an integer from 0 to 2^32-1');
  switch (v.op) {
    case 'hello':
      if (!isNat(v.protocol)) return bad('hello.protocol must be a non-negative integer');
      if (typeof v.client !== 'string' || v.client.length > MAX_NAME) return bad('hello.client must be a string of at most 255 characters');
      if (v.token !== undefined && typeof v.token !== 'string') return bad('hello.token must be a string');
      return { ok: true, request: { op: 'hello', id, protocol: v.protocol, client: v.client, ...(v.token !== undefined ? { token: v.token as string } : {}) } };
    case 'subscribe': {
      const why = filterProblem(v.filter);
      if (why) return bad(why);
      if (typeof v.history !== 'boolean') return bad('subscribe.history must be true or false');
      if (v.fromSeq !== undefined && !isNat(v.fromSeq)) return bad('subscribe.fromSeq must be a non-negative integer');
      const request: ClientRequest = { op: 'subscribe', id, filter: (v.filter ?? {}) as RecordFilter, history: v.history };
      if (v.fromSeq !== undefined) request.fromSeq = v.fromSeq as number;
      return { ok: true, request };
    }
    case 'unsubscribe':
    case 'guests':
    case 'status':
      return { ok: true, request: { op: v.op, id } };
    case 'snapshot':
      if (v.limit !== undefined && !isNat(v.limit)) return bad('snapshot.limit must be a non-negative integer');
      return { ok: true, request: v.limit === undefined ? { op: 'snapshot', id } : { op: 'snapshot', id, limit: v.limit as number } };
    case 'run': {
      if (v.program !== undefined && !(typeof v.program === 'string' && PROGRAM_NAME.test(v.program))) return bad('run.program must be a program name such as "iperf3" (see status.lab.programs)');
      // A program's traffic is its own: the workload may be left out (the lab files the report under the program's).
      if (v.program !== undefined && v.workload === undefined) v.workload = 'stream';
      if (!WORKLOADS.includes(v.workload as never)) return bad(`run.workload must be one of ${WORKLOADS.join(', ')}`);
      if (v.guest !== undefined && !GUEST_KINDS.includes(v.guest as never)) return bad(`run.guest must be one of ${GUEST_KINDS.join(', ')}`);
      if (v.program !== undefined && v.guest === 'vm') return bad('run.program runs in namespaces only (guest "ns")');
      if (!Array.isArray(v.paths) || v.paths.length === 0 || !v.paths.every((p) => PATHS.includes(p as never)))
        return bad(`run.paths must be a non-empty list of ${PATHS.join(', ')}`);
      if (typeof v.seconds !== 'number' || !(v.seconds > 0 && v.seconds <= 3600)) return bad('run.seconds must be a number in (0, 3600]');
      if (v.mode !== undefined && v.mode !== 'e1000' && v.mode !== 'virtio') return bad('run.mode must be e1000 or virtio');
      const request: ClientRequest = { op: 'run', id, workload: v.workload as never, paths: v.paths as never, seconds: v.seconds };
      if (v.mode !== undefined) request.mode = v.mode as 'e1000' | 'virtio';
      if (v.guest !== undefined) request.guest = v.guest as 'ns' | 'vm';
      if (v.program !== undefined) request.program = v.program as string;
      return { ok: true, request };
    }
    default:
      return bad(`unknown op ${JSON.stringify(v.op)}; expected hello, subscribe, unsubscribe, snapshot, guests, status or run`);
  }
}
