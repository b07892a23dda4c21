// What a VM bench traces: the delegated calls of the VM's guest runtime, as linsockd records them (guest
// stages stamped on the VM's clock, mapped onto the host's through HELLO and the clock probes), and the run
// that says how: every guest's clock offset and its error bound. The emulated path has no call records in a
// VM (QEMU's NIC is not our device model): its frames are captured on the TAP's host side (tap-capture.ts)
// when dumpcap is there, and the run says which in params.

import type { TraceSink } from '../../daemon';
import type { RunInfo, TraceRecord } from '../../protocol';
import { hostFacts } from '../bench/host-facts';
import { nowNs } from '../bench/latency';
import type { VmPath } from './agent-protocol';
import type { NicMode } from './machine';

/** Records kept per take; beyond it they are counted, not kept (a few seconds of TCG delegated calls hold far fewer). */
export const VM_TRACE_LIMIT = 500_000;
export const EMULATED_UNTRACED = 'not traced in a VM: QEMU\'s NIC is not linsock\'s device model, and no capture of its TAP is recorded';
/** With a capture of the TAP (tap-capture.ts): frames, but still no call records. */
export const EMULATED_FRAMES_ONLY = 'calls not traced in a VM (QEMU\'s NIC is not linsock\'s device model); its frames are recorded on the host side of the TAP (dumpcap, tIn = tOut)';

/** A take waits for the daemon to have been quiet this long: a run's last stamps come after its reply. */
const SETTLE_MS = 250;
/** ... but no longer than this (a guest still busy). */
const SETTLE_MAX_MS = 3000;

/** The daemon's sink in a VM bench: keeps every record from one take to the next, up to a limit. */
export class VmTraceLog implements TraceSink {
  readonly enabled = true;
  private kept: TraceRecord[] = [];
  private leftOut = 0;
  private since = nowNs();
  private lastAt = Date.now();
  /** Ordinal of the next call or frame, as a trace hub numbers them (files keep them in this order). */
  private nextSeq = 0;

  constructor(private readonly limit = VM_TRACE_LIMIT) {}

  publish(record: TraceRecord): void {
    this.lastAt = Date.now();
    if (record.kind === 'call' || record.kind === 'frame') record.seq = this.nextSeq++;
    if (this.kept.length < this.limit) this.kept.push(record);
    else this.leftOut++;
  }

  /**
   * Resolves once no record came for SETTLE_MS (at most SETTLE_MAX_MS): the guest sends a run's last
   * stamps a few ms after the run, and the daemon records a call when its stamps arrive.
   */
  async settled(): Promise<void> {
    const deadline = Date.now() + SETTLE_MAX_MS;
    for (let quiet = Date.now() - this.lastAt; quiet < SETTLE_MS && Date.now() < deadline; quiet = Date.now() - this.lastAt)
      await new Promise((r) => setTimeout(r, SETTLE_MS - quiet));
  }

  /** Hands over what was kept since the last take (and when that began), and starts anew. */
  take(): { records: TraceRecord[]; leftOut: number; sinceNs: number } {
    const out = { records: this.kept, leftOut: this.leftOut, sinceNs: this.since };
    this.kept = [];
    this.leftOut = 0;
    this.since = nowNs();
    return out;
  }
}

export interface VmRunFacts {
  /** The daemon's run id (stamped into its call records). */
  id: string;
  workload: string;
  paths: VmPath[];
  mode: NicMode;
  mtu: number;
  vm: { name: string; accel: string; kernel: string };
  startedNs: number;
  /** linsockd's clocks(): every guest's offset (added to its stamps) and error bound. */
  clocks: Record<string, { offsetNs: number; errorNs: number }>;
  /** linsockd's count of the VM's records, since its channel opened, whose stamps disagreed beyond the clock error (marked disorderNs). */
  disordered: number;
  leftOut: number;
  /** Whether the emulated path's TAP was captured (frame records of the VM). */
  tapFrames?: boolean;
}

/** The run record of a VM bench's trace: where it ran, and each guest's (the VM's) clock mapping. */
export function vmRunInfo(f: VmRunFacts): RunInfo {
  const host = hostFacts(null, f.paths.filter((p) => p === 'delegated'));
  if (f.paths.includes('emulated')) {
    host.mode = f.mode;
    host.mtu = f.mtu;
    host.pathMtu = { ...host.pathMtu, emulated: f.mtu };
  }
  const params: RunInfo['params'] = { guest: 'vm', vm: f.vm.name, accel: f.vm.accel, guestKernel: f.vm.kernel, disordered: f.disordered };
  if (f.paths.includes('emulated')) params.emulated = f.tapFrames ? EMULATED_FRAMES_ONLY : EMULATED_UNTRACED;
  if (f.leftOut > 0) params.recordsLeftOut = f.leftOut;
  const clocks = Object.entries(f.clocks);
  return {
    kind: 'run',
    id: f.id,
    workload: f.workload,
    paths: [...f.paths],
    params,
    host,
    startedNs: f.startedNs,
    clockErrorNs: Object.fromEntries(clocks.map(([g, m]) => [g, m.errorNs])),
    clockOffsetNs: Object.fromEntries(clocks.map(([g, m]) => [g, m.offsetNs])),
  };
}
