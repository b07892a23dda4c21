// Loads the linsock_tap N-API addon (lab/native/tap.c, built by node-gyp from the root binding.gyp
// during `npm install`) and types its functions. A missing build is an error that says how to build it.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface TapFlags {
  /** IFF_VNET_HDR: every frame read or written starts with a 10-byte virtio-net header. */
  vnetHdr: boolean;
  /** TUNSETOFFLOAD with checksum, TSO4 and TSO6: frames may be up to 64 KiB with partial checksums. */
  offload: boolean;
}

/**
 * Called with the frames read in one go (until EAGAIN, at most 256), the host monotonic time in ns when
 * reading began, and 0 — or an errno when the device failed, after which reading has stopped.
 */
export type FramesCallback = (frames: Buffer[], tInNs: number, errno: number) => void;

export interface TapAddon {
  /** Largest frame a read returns: 64 KiB + virtio-net header + Ethernet header. */
  readonly MAX_FRAME: number;
  /** Opens (creating if absent) TAP `name` inside the namespace file `nsPath` ('' = this namespace). Non-blocking fd. */
  open(name: string, nsPath: string, flags: TapFlags): { fd: number; name: string };
  startReading(fd: number, onFrames: FramesCallback): TapReader;
  stopReading(reader: TapReader): void;
  /** One write(2) per frame; returns how many were written (stops at a full queue; skips frames the device refuses). */
  writeFrames(fd: number, frames: readonly Buffer[]): number;
  close(fd: number): void;
}

declare const readerBrand: unique symbol;
export type TapReader = { readonly [readerBrand]: true };

const FILE = join('build', 'Release', 'linsock_tap.node');
let loaded: TapAddon | null = null;

/** The package root holding build/Release: found upward from this file (lab/native/ in source, dist/ bundled). */
function findAddon(): string | null {
  const override = process.env.LINSOCK_TAP_ADDON;
  if (override) return existsSync(override) ? override : null;
  for (let dir = __dirname, i = 0; i < 6; i++, dir = dirname(dir)) {
    const candidate = join(dir, FILE);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

export function loadTapAddon(): TapAddon {
  if (loaded) return loaded;
  const path = findAddon();
  if (!path)
    throw new Error(
      `the emulated path needs the TAP addon ${process.env.LINSOCK_TAP_ADDON || FILE}, which is not built. Build it with \`npm install\` ` +
        '(or `npm_config_nodedir=/usr npx node-gyp rebuild`); it needs gcc, make, python3 and Node\'s headers in /usr/include/node.',
    );
  const mod = { exports: {} as TapAddon };
  try {
    process.dlopen(mod, path);
  } catch (e) {
    throw new Error(`the TAP addon at ${path} did not load (${(e as Error).message}); rebuild it with \`npm rebuild\` for Node ${process.versions.node}.`);
  }
  loaded = mod.exports;
  return loaded;
}
