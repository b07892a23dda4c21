// The linsock_tap N-API addon (native/tap.c) typed: TAP devices opened in a namespace, read in batches
// on the event loop (each frame stamped at its own read), written a frame per write(2). A missing build is an error that says how to build it.

import { loadAddon, type AddonSpec } from './addon';

export interface TapFlags {
  /** IFF_VNET_HDR: every frame read or written starts with a 10-byte virtio-net header. */
  vnetHdr: boolean;
  /** TUNSETOFFLOAD with checksum, TSO4 and TSO6: frames may be up to 64 KiB with partial checksums. */
  offload: boolean;
}

/**
 * Called with the frames read in one go (until EAGAIN, at most 256), for each the host monotonic time in ns
 * right after its read(2) returned (tInNs[i] for frames[i]), and 0 — or an errno when the device failed,
 * after which reading has stopped.
 */
export type FramesCallback = (frames: Buffer[], tInNs: Float64Array, errno: number) => void;

export interface TapAddon {
  /** Largest frame a read returns: 64 KiB + virtio-net header + Ethernet header. */
  readonly MAX_FRAME: number;
  /** Opens (creating if absent) TAP `name` inside the namespace file `nsPath` ('' = this namespace). Non-blocking fd. */
  open(name: string, nsPath: string, flags: TapFlags): { fd: number; name: string };
  startReading(fd: number, onFrames: FramesCallback): TapReader;
  stopReading(reader: TapReader): void;
  /**
   * One write(2) per frame; returns how many were written (stops at a full queue; skips frames the device
   * refuses). With `errnos` (at least frames.length long) each frame's fate: 0 written, else the errno
   * that dropped it (EAGAIN: the queue was full; EINVAL, EIO, EMSGSIZE: refused).
   */
  writeFrames(fd: number, frames: readonly Buffer[], errnos?: Int32Array): number;
  close(fd: number): void;
}

declare const readerBrand: unique symbol;
export type TapReader = { readonly [readerBrand]: true };

const TAP: AddonSpec = { target: 'linsock_tap', pathVariable: 'LINSOCK_TAP_ADDON' };

/** The TAP addon, or an error saying why the emulated path cannot have it and how to build it. */
export function loadTapAddon(): TapAddon {
  const load = loadAddon<TapAddon>(TAP);
  if (!load.ok) throw new Error(`the emulated path needs the TAP addon: ${load.reason}`);
  return load.addon;
}
