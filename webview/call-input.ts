// What the call store accepts: the record shapes it reads (a CallRecord, the decoder's flyweight view, a
// frame) and the tables that turn their enumeration names into the small indexes the columns hold. Kept
// apart from the store so the ingest shapes can be read without the column machinery.

import { PATHS, OPS, STAGES, FRAME_DIRECTIONS, type Path, type Op, type StageName, type FrameDirection } from '../protocol/trace';

/** What the store reads of a call: a CallRecord, or a decoder's reused flyweight view of one. */
export interface CallInput {
  readonly seq: number;
  readonly run?: string;
  readonly guest: string;
  readonly path: Path;
  readonly socket: number;
  readonly op: Op;
  readonly bytes: number;
  readonly result: string;
  readonly stages: ArrayLike<{ readonly name: StageName; readonly start: number; readonly end: number }>;
  readonly frames?: ArrayLike<number> | undefined;
}

/** The decoder's flyweight call (protocol/lstrace-decode.ts CallView): enumerations as indexes. */
export interface CallViewInput {
  readonly seq: number;
  readonly strings: readonly string[];
  readonly runIndex: number;
  readonly run: string;
  readonly guestIndex: number;
  readonly guest: string;
  readonly path: number;
  readonly op: number;
  readonly socket: number;
  readonly bytes: number;
  readonly errno: number;
  readonly result: string;
  readonly stageCount: number;
  readonly stageNames: Uint8Array;
  readonly stageStarts: Float64Array;
  readonly stageEnds: Float64Array;
  readonly frameCount: number;
  readonly frames: Float64Array;
}

export interface FrameInput {
  readonly seq: number;
  readonly run?: string;
  readonly guest: string;
  readonly direction: FrameDirection;
  readonly length: number;
  readonly payload: number;
  readonly tIn: number;
  readonly tOut: number;
}

export const PATH_INDEX: Record<Path, number> = Object.fromEntries(PATHS.map((p, i) => [p, i])) as Record<Path, number>;
export const OP_INDEX = new Map<string, number>(OPS.map((o, i) => [o, i]));
export const STAGE_INDEX = new Map<string, number>(STAGES.map((s, i) => [s, i]));
export const DIRECTION_INDEX = new Map<string, number>(FRAME_DIRECTIONS.map((d, i) => [d, i]));
export const EMULATED = PATHS.indexOf('emulated');
export const HOST_TO_GUEST = FRAME_DIRECTIONS.indexOf('host-to-guest');
