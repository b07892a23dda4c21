// The trace model: the contract between the daemon, the lab, trace files and the viewer.
// Times are nanoseconds on the host's monotonic clock (see wire.ts on precision).

import { isErrnoName, type ErrnoName } from './errno';

export const PATHS = ['direct', 'delegated', 'emulated'] as const;
export type Path = (typeof PATHS)[number];

/** Operations, append-only: files store the index. */
export const OPS = [
  'socket', 'connect', 'bind', 'listen', 'accept', 'send', 'recv', 'shutdown', 'close',
  'sendto', 'recvfrom', 'lookup', 'setsockopt', 'getsockopt', 'getsockname', 'getpeername', 'sendmsg',
] as const;
export type Op = (typeof OPS)[number];

/**
 * Stage names, append-only. A delegated call runs, in order:
 *   guest        enter -> channel out      (guest library: marshal and queue)
 *   channel-out  channel out -> host receive
 *   host-queue   host receive -> execute start (decode, policy)
 *   execute      the host socket operation
 *   reply-out    execute end -> reply out
 *   channel-in   reply out -> reply in
 *   guest-return reply in -> return
 * A pipelined send (send/sendto with noReply) returns to the application when the guest queues it, so its
 * `guest` stage runs enter -> return (= channel out), and it has no reply: its stages are guest, channel-out,
 * host-queue, execute (handing the bytes to the host socket, or to the peer guest on the same-host shortcut).
 * Pushed data (op recv on the delegated path) has execute (host read), reply-out, channel-in, guest-return.
 * Direct and emulated calls have one stage, `kernel`: enter -> return in the caller's own kernel.
 */
export const STAGES = ['guest', 'channel-out', 'host-queue', 'execute', 'reply-out', 'channel-in', 'guest-return', 'kernel'] as const;
export type StageName = (typeof STAGES)[number];

export interface Stage {
  name: StageName;
  start: number;
  end: number;
  /** See StageTruth (trace truth, below): absent on a stage measured by itself. */
  unmeasured?: true;
  shared?: true;
}

export type CallResult = 'ok' | ErrnoName;

export interface CallRecord {
  kind: 'call';
  /** Unique within a run; also the order in which the daemon accepted the record. */
  seq: number;
  run: string;
  guest: string;
  path: Path;
  socket: number;
  op: Op;
  bytes: number;
  result: CallResult;
  /** Ordered by start; contiguous for delegated calls. The call spans the first start to the last end. */
  stages: Stage[];
  /** seq of the frame records this call caused (emulated path). */
  frames?: number[];
  /** See CallTruth (trace truth, below). */
  calls?: number;
  waitedNs?: number;
  clockShiftNs?: number;
  disorderNs?: number;
}

export type FrameDirection = 'guest-to-host' | 'host-to-guest' | 'guest-to-guest';
export const FRAME_DIRECTIONS: readonly FrameDirection[] = ['guest-to-host', 'host-to-guest', 'guest-to-guest'];

export interface Flow {
  protocol: 'tcp' | 'udp';
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
}

/**
 * What a frame carried, append-only (files store the index):
 *   data       transport payload (TCP or UDP)
 *   ack        a TCP segment without payload, SYN, FIN or RST: an acknowledgement or window update
 *   handshake  a TCP SYN without payload
 *   teardown   a TCP FIN or RST without payload
 *   other      no checked TCP/UDP header (ARP, ICMP, IPv6 extension headers, garbage)
 */
export const FRAME_CONTENTS = ['data', 'ack', 'handshake', 'teardown', 'other'] as const;
export type FrameContent = (typeof FRAME_CONTENTS)[number];

/**
 * Why the device model did not deliver a frame, append-only (files store the index):
 *   queue-full  the destination TAP's queue was full (EAGAIN), as a NIC's full ring drops
 *   refused     the destination TAP refused the frame (EINVAL, EIO, EMSGSIZE: too long, bad vnet header)
 *   hairpin     addressed back to the port it came from
 *   garbage     its headers contradict its size (see lab/device-model/frame.ts)
 *   no-port     flooded with no other port attached
 */
export const FRAME_DROP_CAUSES = ['queue-full', 'refused', 'hairpin', 'garbage', 'no-port'] as const;
export type FrameDropCause = (typeof FRAME_DROP_CAUSES)[number];

export interface FrameRecord {
  kind: 'frame';
  seq: number;
  run: string;
  /** The emulated guest whose NIC the frame crossed. */
  guest: string;
  direction: FrameDirection;
  /** Bytes on the wire, Ethernet header included (virtio-net header excluded). */
  length: number;
  /** Transport payload bytes carried, 0 when not TCP/UDP. */
  payload: number;
  flow: Flow | null;
  /**
   * Into and out of the device model: tIn is taken right after the read(2) that took this frame off its
   * TAP (one clock reading per frame); tOut after the write(2) to the destination TAP, or when dropped.
   */
  tIn: number;
  tOut: number;
  /** What the frame carried; absent in files written before it was recorded. */
  content?: FrameContent;
  /** Set when the device model did not deliver the frame (it never reached `direction`'s receiver). */
  dropped?: FrameDropCause;
}

export interface HostFacts {
  kernel: string;
  cpu: string;
  cpus: number;
  mtu: number;
  /** e1000 or virtio for the emulated path; null when the run has none. */
  mode: 'e1000' | 'virtio' | null;
  offloads: string[];
  /**
   * The MTU each path of the run actually crossed: loopback's for direct and delegated (host sockets on
   * 127.0.0.1), the TAPs' for emulated. `mtu` above is the emulated path's when it ran, else loopback's.
   * Absent in files written before it was recorded.
   */
  pathMtu?: Partial<Record<Path, number>>;
}

export interface RunInfo {
  kind: 'run';
  id: string;
  workload: string;
  paths: Path[];
  params: Record<string, string | number | boolean>;
  host: HostFacts;
  /** Host monotonic ns when the run began. */
  startedNs: number;
  /** Estimated error of guest clocks mapped onto the host's, per guest, in ns: half the round trip of the best probe. */
  clockErrorNs: Record<string, number>;
  /** See ClockTruth (trace truth, below). */
  clockOffsetNs?: Record<string, number>;
}

/** Says that `count` records were lost between the daemon and this reader (slow subscriber, full ring). */
export interface DroppedRecord {
  kind: 'dropped';
  count: number;
  /** Host monotonic ns when the loss was noticed. */
  atNs: number;
}

export type TraceRecord = CallRecord | FrameRecord | RunInfo | DroppedRecord;

// ---- trace truth: what was measured, how exactly, and what a record stands for ----

/**
 * Flags of one stage; each is absent when false.
 * - `unmeasured`: its length is not known (start = end = when the call was seen), never a length of 0:
 *   a direct receive in Node (the runtime reports data only after its read, and not when the kernel had
 *   the bytes), and the host's read for pushed data (Node does not expose when that read began).
 * - `shared`: its host system call served several calls (the writev of a loop turn's corked sends); the
 *   stage holds this call's share of it, split by bytes.
 */
export type StageTruth = Pick<Stage, 'unmeasured' | 'shared'>;

/**
 * Facts of a call record beyond its stages; each is absent when it does not apply.
 * - `calls`: application calls the record stands for (absent: 1). A pipelined send frame carries every
 *   write of one socket in one tick: its record counts them; 0 when the frame holds only part of a write
 *   (the write is counted where its last byte went).
 * - `waitedNs`: how long the program was inside those calls (enter -> return, summed). A pipelined send's
 *   stages run on to when the host completed the work; this is what the program waited for.
 * - `clockShiftNs`: the guest's stamps of this record were moved by this much (signed, ns) beyond the
 *   mapped offset to put guest and host stamps in order. Within the run's clock error for that guest it
 *   is the clock's uncertainty at work; beyond it, `disorderNs` says by how much.
 * - `disorderNs`: by how much (ns) the record's stamps disagree beyond the stated clock error; such
 *   records are marked, counted, and their cross-clock stages are held at 0 length.
 */
export type CallTruth = Pick<CallRecord, 'calls' | 'waitedNs' | 'clockShiftNs' | 'disorderNs'>;

/**
 * Clock metadata of a run: `clockOffsetNs[guest]` is added to that guest's stamps to put them on the
 * host's clock, from the guest's clock probe with the smallest round trip; `clockErrorNs[guest]` bounds
 * how far off that offset may be. Every guest is mapped (no guest is assumed to share the host's clock).
 */
export type ClockTruth = Pick<RunInfo, 'clockOffsetNs' | 'clockErrorNs'>;

/** Whether a stage's length was measured (an unmeasured stage must never be read as 0 long). */
export const isMeasured = (s: Stage): boolean => s.unmeasured !== true;

/** Application calls a record stands for. */
export const applicationCalls = (c: CallRecord): number => c.calls ?? 1;

/** Where a call starts and ends: its first stage's start and last stage's end. */
export function callSpan(c: CallRecord): { start: number; end: number } {
  const first = c.stages[0];
  const last = c.stages[c.stages.length - 1];
  return { start: first ? first.start : 0, end: last ? last.end : 0 };
}

// ---- runtime validation: for records that arrive from files, sockets and the webview boundary ----

const isNat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isStr = (v: unknown, max = 255): v is string => typeof v === 'string' && v.length <= max;
const OP_SET = new Set<string>(OPS);
const STAGE_SET = new Set<string>(STAGES);
const PATH_SET = new Set<string>(PATHS);
const CONTENT_SET = new Set<string>(FRAME_CONTENTS);
const DROP_SET = new Set<string>(FRAME_DROP_CAUSES);

/** Returns why `v` is not a valid trace record, or null when it is. */
export function invalidRecord(v: unknown): string | null {
  if (typeof v !== 'object' || v === null) return 'not an object';
  const r = v as Record<string, unknown>;
  switch (r.kind) {
    case 'call': {
      if (!isNat(r.seq)) return 'call.seq is not a non-negative integer';
      if (!isStr(r.run) || !isStr(r.guest)) return 'call.run or call.guest is not a string';
      if (!PATH_SET.has(r.path as string)) return `call.path '${String(r.path)}' is not one of ${PATHS.join(', ')}`;
      if (!isNat(r.socket) || !isNat(r.bytes)) return 'call.socket or call.bytes is not a non-negative integer';
      if (!OP_SET.has(r.op as string)) return `call.op '${String(r.op)}' is unknown`;
      if (r.result !== 'ok' && !isErrnoName(r.result)) return `call.result '${String(r.result)}' is neither ok nor an errno name`;
      if (!Array.isArray(r.stages) || r.stages.length === 0 || r.stages.length > STAGES.length) return 'call.stages must hold 1 to 8 stages';
      let prev = -1;
      for (const s of r.stages as unknown[]) {
        const st = s as Record<string, unknown>;
        if (typeof s !== 'object' || s === null || !STAGE_SET.has(st.name as string)) return 'call.stages has an unknown stage';
        if (!isNat(st.start) || !isNat(st.end) || st.end < st.start) return `stage ${String(st.name)} has end before start`;
        if (st.start < prev) return 'call.stages are not ordered by start';
        if ((st.unmeasured !== undefined && st.unmeasured !== true) || (st.shared !== undefined && st.shared !== true)) return `stage ${String(st.name)} has a malformed flag`;
        if (st.unmeasured && st.end !== st.start) return `stage ${String(st.name)} is unmeasured but not 0 long`;
        prev = st.start;
      }
      for (const k of ['calls', 'waitedNs', 'disorderNs'] as const) if (r[k] !== undefined && !isNat(r[k])) return `call.${k} is not a non-negative integer`;
      if (r.clockShiftNs !== undefined && !Number.isSafeInteger(r.clockShiftNs)) return 'call.clockShiftNs is not an integer';
      if (r.frames !== undefined && (!Array.isArray(r.frames) || !r.frames.every(isNat))) return 'call.frames is not a list of seq numbers';
      return null;
    }
    case 'frame': {
      if (!isNat(r.seq) || !isNat(r.length) || !isNat(r.payload)) return 'frame.seq, length or payload is not a non-negative integer';
      if (!isStr(r.run) || !isStr(r.guest)) return 'frame.run or frame.guest is not a string';
      if (!FRAME_DIRECTIONS.includes(r.direction as FrameDirection)) return `frame.direction '${String(r.direction)}' is unknown`;
      if (!isNat(r.tIn) || !isNat(r.tOut) || r.tOut < r.tIn) return 'frame.tOut is before frame.tIn';
      if (r.content !== undefined && !CONTENT_SET.has(r.content as string)) return `frame.content '${String(r.content)}' is unknown`;
      if (r.dropped !== undefined && !DROP_SET.has(r.dropped as string)) return `frame.dropped '${String(r.dropped)}' is not a drop cause`;
      if (r.flow !== null) {
        const f = r.flow as Record<string, unknown>;
        if (typeof f !== 'object' || (f.protocol !== 'tcp' && f.protocol !== 'udp') || !isStr(f.src, 64) || !isStr(f.dst, 64) || !isNat(f.srcPort) || !isNat(f.dstPort))
          return 'frame.flow is malformed';
      }
      return null;
    }
    case 'run': {
      if (!isStr(r.id) || !isStr(r.workload)) return 'run.id or run.workload is not a string';
      if (!Array.isArray(r.paths) || !r.paths.every((p) => PATH_SET.has(p as string))) return 'run.paths is not a list of paths';
      if (typeof r.params !== 'object' || r.params === null) return 'run.params is not an object';
      if (typeof r.host !== 'object' || r.host === null) return 'run.host is not an object';
      const pathMtu = (r.host as Record<string, unknown>).pathMtu;
      if (pathMtu !== undefined) {
        if (typeof pathMtu !== 'object' || pathMtu === null) return 'run.host.pathMtu is not an object';
        for (const [p, m] of Object.entries(pathMtu)) if (!PATH_SET.has(p) || !isNat(m)) return `run.host.pathMtu.${p} is not a path's MTU`;
      }
      if (!isNat(r.startedNs)) return 'run.startedNs is not a non-negative integer';
      if (typeof r.clockErrorNs !== 'object' || r.clockErrorNs === null) return 'run.clockErrorNs is not an object';
      if (r.clockOffsetNs !== undefined) {
        if (typeof r.clockOffsetNs !== 'object' || r.clockOffsetNs === null) return 'run.clockOffsetNs is not an object';
        for (const [k, v] of Object.entries(r.clockOffsetNs)) {
          if (typeof v !== 'number') return `run.clockOffsetNs.${k} is not a number`;
          if (!Object.hasOwn(r.clockErrorNs, k)) return `run.clockOffsetNs.${k} has no error bound in run.clockErrorNs`;
        }
      }
      return null;
    }
    case 'dropped':
      return isNat(r.count) && isNat(r.atNs) ? null : 'dropped.count or atNs is not a non-negative integer';
    default:
      return `unknown record kind '${String(r.kind)}'`;
  }
}
