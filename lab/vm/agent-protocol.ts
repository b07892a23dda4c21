// What the host and the guest agent say over the agent's virtio-serial port: one JSON object per line.

import type { WorkloadResult, WorkloadTarget } from '../bench/workload-result';

export const AGENT_PORT_NAME = 'linsock.agent';
export const CHANNEL_PORT_NAME = 'linsock.channel';
/**
 * The port of unmodified programs (`linsock run` in the VM, the interposer's frames over the char device):
 * a second channel to linsockd, one program at a time, because a port is one byte stream and the agent's
 * guest runtime owns linsock.channel.
 */
export const PROGRAM_PORT_NAME = 'linsock.program';
/** A line longer than this is not one of ours: the reader gives up rather than grow without bound. */
export const MAX_AGENT_LINE = 1 << 20;

/** What the agent runs in one VM. */
export type AgentWorkload = 'stream' | 'rr' | 'crr' | 'udp-rr';
/** What `bench --guest vm` runs: the agent's workloads in one VM, and inter-guest between two (inter-vm.ts). */
export type VmWorkload = AgentWorkload | 'inter-guest';
/** delegated: the guest runtime over the channel port; emulated: node:net on the VM's own NIC. */
export type VmPath = 'delegated' | 'emulated';

export type AgentRequest =
  | { id: number; op: 'run'; workload: AgentWorkload; path: VmPath; target: WorkloadTarget }
  /**
   * Open the VM's channel to linsockd now (HELLO), so that the daemon does not wait for it: `guest` is the
   * name it says in HELLO (the VM's), `trace` whether it stamps its calls' guest stages.
   */
  | { id: number; op: 'channel'; guest: string; trace: boolean }
  /**
   * Run a program in the VM and wait for it (at most timeoutMs, then SIGKILL): its stdout is hashed, not
   * returned. With `releasePort` (a port's name), the agent then says goodbye on that port, so that
   * linsockd ends the program's session there and QEMU reconnects it fresh for the next program (closing a
   * port in the guest does not close its host side).
   */
  | { id: number; op: 'exec'; argv: string[]; env?: Record<string, string>; timeoutMs: number; releasePort?: string }
  /**
   * Serve the bench sink and echo in the VM (inter-guest's guest A) until unserve: on `host` with node:net
   * (emulated: the VM's NIC address) or through linsockd on the VM's channel (delegated: the host's
   * loopback). A second serve replaces the first.
   */
  | { id: number; op: 'serve'; path: VmPath; host: string }
  | { id: number; op: 'unserve' }
  | { id: number; op: 'quit' };

/** How a program the agent ran ended, and what it wrote. */
export interface ExecResult {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  signal: string | null;
  stdoutBytes: number;
  stdoutSha256: string;
  /** The last few KiB of its stderr. */
  stderrTail: string;
  /** Wall time inside the VM, ms. */
  ms: number;
  timedOut: boolean;
}

export type AgentMessage =
  | { ready: { node: string; kernel: string; uptimeS: number } }
  | { id: number; ok: true; result?: WorkloadResult; exec?: ExecResult; served?: { sink: number; echo: number } }
  | { id: number; ok: false; error: string };
