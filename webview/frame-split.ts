// Derived stages of an emulated call: its one kernel stage split where its linked frames crossed the
// device model. A rule of its own (which side the data leaves from, what counts as empty), kept apart from
// the store's ingest; the scratch arrays are reused so a call costs no allocation.

import { DERIVED } from './view-stages';
import { HOST_TO_GUEST } from './call-input';
import type { CallColumns } from './call-columns';

export class FrameSplitter {
  readonly names = new Uint8Array(3);
  readonly starts = new Float64Array(3);
  readonly ends = new Float64Array(3);

  /**
   * An emulated call's one kernel stage split at its linked frames (those already received: the lab
   * publishes frames before the calls that link them): the side the data leaves from until the first frame
   * enters the device model, the device model until the last frame leaves it, the receiving side after.
   * Returns how many stages it wrote to the scratch arrays (0: no linked frame is known).
   */
  derive(c: CallColumns, start: number, end: number, frames: ArrayLike<number>, fn: number): number {
    let firstIn = Infinity;
    let lastOut = -Infinity;
    let dir = 0;
    const base = c.base ?? 0;
    for (let i = 0; i < fn; i++) {
      const f = c.recentFrameOfSeq(frames[i]!);
      if (f < 0) continue;
      const tIn = c.frameIn[f]! + base;
      if (tIn < firstIn) {
        firstIn = tIn;
        dir = c.frameDirection[f]!;
      }
      lastOut = Math.max(lastOut, c.frameOut[f]! + base);
    }
    if (firstIn === Infinity) return 0;
    const b = Math.min(end, Math.max(start, firstIn));
    const z = Math.min(end, Math.max(b, lastOut));
    // received data (host-to-guest) crosses the other way: the host side first
    const inbound = dir === HOST_TO_GUEST;
    let n = 0;
    n = this.push(n, inbound ? DERIVED.hostSide : DERIVED.guestTap, start, b, end);
    n = this.push(n, DERIVED.deviceModel, b, z, end);
    n = this.push(n, inbound ? DERIVED.guestTap : DERIVED.hostSide, z, end, end);
    return n;
  }

  /** Writes derived stage `n` unless it is empty (a call's last stage is kept so it ends at its end). */
  private push(n: number, name: number, a: number, z: number, end: number): number {
    if (z <= a && !(n === 0 && z === end)) return n;
    this.names[n] = name;
    this.starts[n] = a;
    this.ends[n] = z;
    return n + 1;
  }
}
