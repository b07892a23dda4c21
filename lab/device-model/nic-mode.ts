// The two emulated NICs: what each mode means for the TAPs and the relay. Every result states these.

export type NicMode = 'e1000' | 'virtio';
export const NIC_MODES: readonly NicMode[] = ['e1000', 'virtio'];

export interface NicProfile {
  mode: NicMode;
  mtu: number;
  /** Frames carry the 10-byte virtio-net header. */
  vnetHdr: boolean;
  /** Offloads the TAPs advertise to the kernels on both sides. */
  offloads: string[];
  /** Largest Ethernet frame a port accepts (header included); longer ones are garbage. */
  maxFrame: number;
  /** virtio moves frames in batches, one addon call per port per batch; e1000 one call per frame. */
  batching: boolean;
}

/** TAP MTU limit (notes/netns-tap.md). */
export const MAX_TAP_MTU = 65521;

export function nicProfile(mode: NicMode, mtu?: number): NicProfile {
  const m = mtu ?? 1500;
  if (!Number.isInteger(m) || m < 576 || m > MAX_TAP_MTU) throw new RangeError(`MTU ${String(mtu)} is outside 576..${MAX_TAP_MTU}`);
  if (mode === 'e1000') return { mode, mtu: m, vnetHdr: false, offloads: [], maxFrame: m + 14 + 4, batching: false };
  // With TSO the guest hands over segments up to 64 KiB regardless of the MTU.
  return { mode, mtu: m, vnetHdr: true, offloads: ['csum', 'tso4', 'tso6'], maxFrame: Math.max(m, 65535) + 14 + 4, batching: true };
}
