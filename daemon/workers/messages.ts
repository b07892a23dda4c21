// What linsockd's main process and its worker processes say to each other over the IPC channel Node opens
// with fork() (structured clone: `serialization: 'advanced'`). A guest's connection travels as the handle
// of a `guest` message; everything else is plain data.
import type { ErrnoName, GuestInfo } from '../../protocol';
import type { BusyPollStats } from '../channel/busy-poll';
import type { ClockMapping } from '../guests/guest-clock';
import type { Limits } from '../limits';
import type { LogLevel } from '../log';
import type { PolicyConfig, PolicyRuleConfig } from '../policy/policy';
import type { Counters } from '../sockets/session-context';

export interface WorkerInit {
  type: 'init';
  /** The worker's number (0..W-1; a replacement takes the number of the one it replaces). */
  worker: number;
  limits: Limits;
  policy: PolicyConfig;
  runtimeRules: PolicyRuleConfig[];
  run: string;
  tracing: boolean;
  busyPollUs?: number;
  sameHostShortcut?: boolean;
}

/**
 * A guest connection, its handle attached. `head`: every byte the main process read from it (the HELLO,
 * whole). `verdict`: the main process's answer to the name in that HELLO: null granted, an errno refused,
 * absent when the first frame was no valid HELLO (the worker's session answers that itself).
 */
export interface GuestHandoff {
  type: 'guest';
  transport: GuestInfo['transport'];
  peer: string;
  head: Uint8Array;
  name?: string;
  verdict?: ErrnoName | null;
}

export type ToWorker =
  | WorkerInit
  | GuestHandoff
  | { type: 'policy'; runtimeRules: PolicyRuleConfig[] }
  | { type: 'tracing'; on: boolean }
  | { type: 'stop' };

/** A worker's figures, sent every REPORT_MS: the main process's stats(), guests() and clocks() read them. */
export interface WorkerReport {
  type: 'report';
  counters: Counters;
  guests: GuestInfo[];
  sockets: number;
  clocks: Record<string, ClockMapping>;
  disordered: Record<string, number>;
  busyPoll: BusyPollStats & { windowUs: number };
  /**
   * Sent because a guest left, right after that guest's last records: the main process publishes every
   * record it holds before it takes these figures, so that its counters and its trace hub agree.
   */
  guestLeft: boolean;
}

export type FromWorker =
  | { type: 'ready' }
  /** A guest that held its name (granted by the main process) left, or was refused here after all. */
  | { type: 'released'; name: string }
  | WorkerReport
  /** Call records in the order the worker published them, as one encoded chunk; `dropped`: records it could not send since the last batch. */
  | { type: 'trace'; chunk: Uint8Array | null; dropped: number }
  | { type: 'log'; level: LogLevel; msg: string; fields?: Record<string, unknown> };

export const REPORT_MS = 200;
