// The WebSocket trace stream between linsockd (`ws://HOST:PORT/trace`) and its clients (the extension,
// `linsock record`). Requests and replies are JSON text messages; records travel as binary messages, each
// one self-contained chunk of the .lstrace record encoding (lstrace.ts), so files and streams share a codec.

import type { Path, Op } from './trace';

export const TRACE_STREAM_VERSION = 1;
export const DEFAULT_TRACE_PORT = 7717;
export const TRACE_PATH = '/trace';
/** WebSocket close codes (4000-4999 are the application's). */
export const CloseCode = { unauthorized: 4401, badVersion: 4406, tooSlow: 4408 } as const;

export interface RecordFilter {
  guest?: string;
  path?: Path;
  op?: Op;
  socket?: number;
}

export type ClientRequest =
  /** First message. `token` is accepted here when the client could not send an Authorization header. */
  | { op: 'hello'; id: number; protocol: number; client: string; token?: string }
  /** Live records matching `filter`; with `history`, the ring's matching records first, from `fromSeq` on. */
  | { op: 'subscribe'; id: number; filter: RecordFilter; history: boolean; fromSeq?: number }
  | { op: 'unsubscribe'; id: number }
  /** The ring's records (newest `limit` at most), as binary chunks followed by a snapshotDone reply. */
  | { op: 'snapshot'; id: number; limit?: number }
  | { op: 'guests'; id: number }
  | { op: 'status'; id: number }
  /**
   * Runs a workload in the lab attached to the daemon; its records stream to subscribers as usual. `guest`
   * picks namespaces (default) or a QEMU VM; `program` runs that real program (one of status.lab.programs)
   * instead of a built-in workload; on the wire `workload` may then be left out (it is the program's).
   */
  | { op: 'run'; id: number; workload: Workload; paths: Path[]; seconds: number; mode?: EmulatedMode; guest?: GuestKind; program?: string };

export type Workload = 'stream' | 'rr' | 'crr' | 'udp-rr' | 'inter-guest';
export const WORKLOADS: readonly Workload[] = ['stream', 'rr', 'crr', 'udp-rr', 'inter-guest'];
export type EmulatedMode = 'e1000' | 'virtio';

export interface SocketInfo {
  handle: number;
  kind: 'tcp' | 'udp' | 'listener';
  state: string;
  local: string | null;
  remote: string | null;
  bytesIn: number;
  bytesOut: number;
}
export interface GuestInfo {
  name: string;
  transport: 'unix' | 'tcp' | 'chardev';
  connectedNs: number;
  sockets: SocketInfo[];
  /** Present when the guest is a QEMU VM a comparison booted (listed while it runs). */
  vm?: VmInfo;
}

export interface DaemonStatus {
  calls: number;
  callsPerSec: number;
  bytes: number;
  errors: number;
  drops: number;
  guests: number;
  sockets: number;
  ringSize: number;
  ringUsed: number;
  rssBytes: number;
  tracing: boolean;
  /** The seq the next record will get; a reconnecting client subscribes from its last seq + 1. */
  nextSeq: number;
  /** What the attached lab can run (absent: a bare linsockd, which runs nothing). */
  lab?: LabOffer;
}

/** One row of `linsock bench --json` (DESIGN.md); a figure a workload does not produce is null. */
export interface BenchResult {
  path: Path | string;
  mb_per_s: number | null;
  p50_us: number | null;
  p99_us: number | null;
  ops_per_s: number | null;
  calls: number;
  bytes: number;
  verified: boolean;
  /**
   * CPU µs that all processes of the path spent per op (a round trip for rr and udp-rr, a connection for
   * crr, 64 KiB for stream and inter-guest); null when they cannot all be measured. Absent in `--guest vm`.
   */
  cpu_us_per_op?: number | null;
  /** Delegated rows: what carried the guest's frames to linsockd (`--channel`; shm falls back to the socket). */
  channel?: 'shm' | 'socket';
  /** `linsock bench --guests N`: how many guests ran the workload at once on this path (one process, a channel each). */
  guests?: number;
  /** With guests: the operations of the measured span (round trips; 64 KiB writes for stream) over all guests. */
  ops?: number;
  /** With guests: each guest's share of `ops`, in guest order (they sum to `ops`). */
  guest_ops?: number[];
  /** With guests: CPU µs of linsockd's process alone per op over the measured span (null on direct, or unmeasurable). */
  daemon_cpu_us_per_op?: number | null;
  /** With guests: fairness, the busiest guest's ops over the idlest's (≥ 1; null when a guest did none). */
  busiest_to_idlest?: number | null;
  /** Delegated, on the bench's own daemon: what its busy polling did over the path's run (BusyPollFigures). */
  busy_poll?: BusyPollFigures;
}

/**
 * A delegated row's busy polling: of the guest activity (small channel reads and writes), the share that
 * found the daemon polling already, that found the machine crowded (more runnable tasks than CPUs), and
 * that found the adaptive window empty; and the window at the end. An idle rr run should mostly find it
 * polling: a poll that never engages doubles the round trip.
 */
export interface BusyPollFigures {
  activity: number;
  found_pct: number | null;
  crowded_pct: number | null;
  empty_pct: number | null;
  window_us: number;
}
/** What `linsock bench --trace alternate` measures: delegated stream with tracing off and on in phases. */
export interface TraceOverhead {
  phase_ms: number;
  /** Whole phases measured, half of them traced. */
  phases: number;
  off_mb_per_s: number | null;
  on_mb_per_s: number | null;
  /** 1 - on/off over all phases, in percent. */
  overhead_pct: number | null;
  /** The median over neighbouring off/on phase pairs, robust to a phase that a burst of load hit. */
  pair_overhead_pct_median: number | null;
}
export interface BenchReport {
  workload: Workload;
  mode: EmulatedMode | null;
  mtu: number;
  results: BenchResult[];
  ratios: Record<string, number | null>;
  /** The emulated NIC's offloads (when the run has the emulated path; null when it could not run). */
  offloads?: string[] | null;
  /** Paths that could not run here, with the reason (their rows hold nulls and verified false). */
  unavailable?: Record<string, string>;
  /** With `--trace alternate`. */
  trace_overhead?: TraceOverhead;
  /** `linsock bench --load N`: the CPU-bound processes that ran during each path's measurement (0: none). */
  load?: number;
  /** `linsock bench --guests N`: the guests per path that ran at once (absent: one, the classic run). */
  guests?: number;
  /** Where the guests ran (`--guest`); absent: namespaces. */
  guest?: GuestKind;
  /** A VM run's accelerator. */
  accel?: Accel;
  /** A program run (`--program`): the program, whose traffic `workload` names. */
  program?: string;
  /** Facts a person should read beside the figures (a VM's accel and clock error, an NIC's profile). */
  notes?: string[];
  /** Present when the run made no call records: why (the figures are still measured). */
  untraced?: string;
}

export type ServerMessage =
  | { type: 'hello'; protocol: number; daemon: string; nextSeq: number }
  | { type: 'error'; id: number | null; code: 'unauthorized' | 'bad-request' | 'bad-version' | 'unavailable' | 'busy' | 'internal'; message: string }
  | { type: 'subscribed'; id: number; fromSeq: number }
  | { type: 'unsubscribed'; id: number }
  | { type: 'snapshotDone'; id: number; records: number }
  | { type: 'guests'; id: number; guests: GuestInfo[] }
  | { type: 'status'; id: number; status: DaemonStatus }
  | { type: 'runStarted'; id: number; runId: string }
  | { type: 'runFinished'; id: number; runId: string; report: BenchReport }
  | { type: 'runFailed'; id: number; runId: string; message: string };

// ---- the lab attached to a daemon: what it runs (status.lab), the VMs it runs (guests[].vm) ----
// A client offers only what is offered, and says why the rest is not (a VM without QEMU, a program not installed).

/** Where a comparison's guests run: network namespaces (the default) or QEMU VMs (lab/vm). */
export type GuestKind = 'ns' | 'vm';
export const GUEST_KINDS: readonly GuestKind[] = ['ns', 'vm'];

/** How a VM's CPU runs: hardware virtualization, or QEMU's translator. */
export type Accel = 'kvm' | 'tcg';

/** One guest kind the lab can run comparisons in. */
export interface GuestKindOffer {
  kind: GuestKind;
  /** null when it runs here; else why not, in one line a person can act on (what to install). */
  unavailable: string | null;
  workloads: Workload[];
  paths: Path[];
  modes: EmulatedMode[];
}

/** A real program the lab benchmarks on the paths (`linsock bench --program NAME`). */
export interface ProgramOffer {
  name: string;
  /** The traffic it makes: the workload its report is filed under (iperf3: stream). */
  workload: Workload;
  paths: Path[];
  /** Whether its socket calls become call records: false while the interposer does not trace. */
  traced: boolean;
  unavailable: string | null;
}

export interface LabOffer {
  guests: GuestKindOffer[];
  programs: ProgramOffer[];
}

/** A guest that is a QEMU VM of a comparison in progress (GuestInfo.vm), listed from its boot to its teardown. */
export interface VmInfo {
  /** Booting (its name is provisional, its accel not chosen yet), running the workload, or stopping. */
  state: 'booting' | 'running' | 'stopping';
  /** null while it boots (chosen at boot: KVM when usable, else TCG). */
  accel: Accel | null;
  /** QEMU's emulated NIC, when the run has the emulated path. */
  nic: EmulatedMode | null;
  /** Whether its calls are delegated over the virtio-serial channel (the run has the delegated path). */
  delegated: boolean;
  /** The run that booted it. */
  runId: string;
}
