// The decoder's call record as a reused flyweight (CallView) and the visitor the parser drives. Kept apart
// from the parser so that code which only consumes records (the viewer's stores, collectors) depends on
// the record shape, not on the byte-level reader.

import { ERRNO_NAMES } from './errno';
import {
  OPS, PATHS, STAGES,
  type CallRecord, type CallResult, type DroppedRecord, type FrameRecord, type Path, type RunInfo, type Stage,
} from './trace';

// Local bindings of the enumerations (a CommonJS build reads imports through getters).
const STAGE_LIST = STAGES;
const PATH_LIST = PATHS;
const OP_LIST = OPS;
const ERRNO_LIST = ERRNO_NAMES;

/**
 * A call record as a reused view: valid only during the visitor's `call` callback (copy what you keep).
 * Enumerations are indexes into the lists of trace.ts: `path` into PATHS, `op` into OPS, stage names into
 * STAGES, `errno` into ERRNO_NAMES (-1 = ok).
 */
export class CallView {
  seq = 0;
  /** The chunk's string table; `runIndex` and `guestIndex` point into it (stable for the whole chunk). */
  strings: readonly string[] = [];
  runIndex = 0;
  guestIndex = 0;
  path = 0;
  op = 0;
  socket = 0;
  bytes = 0;
  errno = -1;
  stageCount = 0;
  readonly stageNames = new Uint8Array(STAGE_LIST.length);
  readonly stageStarts = new Float64Array(STAGE_LIST.length);
  readonly stageEnds = new Float64Array(STAGE_LIST.length);
  /** -1 when the record has no frames list; else the number of entries in `frames`. */
  frameCount = -1;
  frames = new Float64Array(16);
  /** Stage flags as masks over STAGES indexes (StageTruth, trace.ts). */
  unmeasuredMask = 0;
  sharedMask = 0;
  /** CallTruth (trace.ts); -1 (and hasShift false) when the record has none. */
  calls = -1;
  waitedNs = -1;
  hasShift = false;
  clockShiftNs = 0;
  disorderNs = -1;

  get run(): string {
    return this.strings[this.runIndex] as string;
  }
  get guest(): string {
    return this.strings[this.guestIndex] as string;
  }
  get result(): CallResult {
    return this.errno < 0 ? 'ok' : (ERRNO_LIST[this.errno] as CallResult);
  }
  get start(): number {
    return this.stageStarts[0] as number;
  }
  get end(): number {
    return this.stageEnds[this.stageCount - 1] as number;
  }

  /** The view as a CallRecord object. */
  toRecord(): CallRecord {
    const stages: Stage[] = new Array(this.stageCount);
    for (let i = 0; i < this.stageCount; i++) {
      const idx = this.stageNames[i] as number;
      const st: Stage = { name: STAGE_LIST[idx] as Stage['name'], start: this.stageStarts[i] as number, end: this.stageEnds[i] as number };
      if (this.unmeasuredMask & (1 << idx)) st.unmeasured = true;
      if (this.sharedMask & (1 << idx)) st.shared = true;
      stages[i] = st;
    }
    const c: CallRecord = {
      kind: 'call', seq: this.seq, run: this.run, guest: this.guest, path: PATH_LIST[this.path] as Path, socket: this.socket,
      op: OP_LIST[this.op] as CallRecord['op'], bytes: this.bytes, result: this.result, stages,
    };
    if (this.frameCount >= 0) c.frames = Array.from(this.frames.subarray(0, this.frameCount));
    if (this.calls >= 0) c.calls = this.calls;
    if (this.waitedNs >= 0) c.waitedNs = this.waitedNs;
    if (this.hasShift) c.clockShiftNs = this.clockShiftNs;
    if (this.disorderNs >= 0) c.disorderNs = this.disorderNs;
    return c;
  }
}

export interface ChunkVisitor {
  call?(c: CallView): void;
  frame?(f: FrameRecord): void;
  run?(r: RunInfo): void;
  dropped?(d: DroppedRecord): void;
}
