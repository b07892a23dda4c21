// What the host and the guest agent say over the agent's virtio-serial port: one JSON object per line.

import type { WorkloadResult, WorkloadTarget } from '../bench/workload-result';

export const AGENT_PORT_NAME = 'linsock.agent';
export const CHANNEL_PORT_NAME = 'linsock.channel';
/** A line longer than this is not one of ours: the reader gives up rather than grow without bound. */
export const MAX_AGENT_LINE = 1 << 20;

export type VmWorkload = 'stream' | 'rr' | 'crr' | 'udp-rr';
/** delegated: the guest runtime over the channel port; emulated: node:net on the VM's own NIC. */
export type VmPath = 'delegated' | 'emulated';

export type AgentRequest =
  | { id: number; op: 'run'; workload: VmWorkload; path: VmPath; target: WorkloadTarget }
  /**
   * Open the VM's channel to linsockd now (HELLO), so that the daemon does not wait for it: `guest` is the
   * name it says in HELLO (the VM's), `trace` whether it stamps its calls' guest stages.
   */
  | { id: number; op: 'channel'; guest: string; trace: boolean }
  | { id: number; op: 'quit' };

export type AgentMessage =
  | { ready: { node: string; kernel: string; uptimeS: number } }
  | { id: number; ok: true; result?: WorkloadResult }
  | { id: number; ok: false; error: string };
