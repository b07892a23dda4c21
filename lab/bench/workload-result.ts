// What one workload run on one path reports (a row of BenchReport plus how it ran).
import type { BenchResult } from '../../protocol';
import type { PhaseBytes, TracePhases } from './trace-phases';

export interface WorkloadResult extends BenchResult {
  /** Where the workload process ran: `host`, or `netns NAME (lo only)`. */
  ranIn: string;
  /** Anything a reader should know (losses, why verification failed). */
  notes: string[];
  /** Bytes per tracing phase (stream with `--trace alternate`). */
  phases?: PhaseBytes[];
}

export interface WorkloadTarget {
  host: string;
  port: number;
  seconds: number;
  /** Address UDP sockets bind (the emulated guest's own); loopback by default. */
  local?: string;
  /** Count the bytes of each tracing phase (stream with `--trace alternate`). */
  phases?: TracePhases;
}
