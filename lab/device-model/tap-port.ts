// One TAP device as a port of the device model: opened through the addon in a namespace, read in
// batches on the event loop, written one frame per write(2). Closing the fd removes the TAP.

import { loadTapAddon, type FramesCallback, type TapAddon, type TapReader } from '../../native/tap';
import type { NicProfile } from './nic-mode';

export interface DevicePort {
  /** The TAP's interface name. */
  readonly name: string;
  /** The emulated guest behind this port; null for the host side. */
  readonly guest: string | null;
  /** Returns how many were written; with `errnos`, may set each frame's fate (0, or the errno that dropped it). */
  writeFrames(frames: readonly Buffer[], errnos?: Int32Array): number;
}

export class TapPort implements DevicePort {
  private reader: TapReader | null = null;
  private closed = false;

  private constructor(
    private readonly addon: TapAddon,
    readonly fd: number,
    readonly name: string,
    readonly guest: string | null,
  ) {}

  /** Creates TAP `name` in the namespace at `nsPath` ('' = this process's namespace). */
  static open(opts: { name: string; nsPath: string; guest: string | null; profile: NicProfile }): TapPort {
    const addon = loadTapAddon();
    const { vnetHdr } = opts.profile;
    const { fd, name } = addon.open(opts.name, opts.nsPath, { vnetHdr, offload: opts.profile.offloads.length > 0 });
    return new TapPort(addon, fd, name, opts.guest);
  }

  start(onFrames: FramesCallback): void {
    if (this.closed || this.reader) throw new Error(`TAP ${this.name} is ${this.closed ? 'closed' : 'already being read'}`);
    this.reader = this.addon.startReading(this.fd, onFrames);
  }

  writeFrames(frames: readonly Buffer[], errnos?: Int32Array): number {
    return this.closed ? 0 : this.addon.writeFrames(this.fd, frames, errnos);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.reader) this.addon.stopReading(this.reader);
    this.reader = null;
    this.addon.close(this.fd);
  }
}
