// Coalesces "there is more to send" into at most one flush per frame interval: records may arrive a
// thousand times a second, the viewer wants them at most at its frame rate, in few large messages.

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const REAL_TIMERS: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** 16-33 ms: one browser frame or two. */
export const FRAME_MS = 25;

export class FramePacer {
  private timer: unknown = null;
  private lastFlush = -Infinity;
  private disposed = false;

  constructor(
    private readonly flush: () => void,
    private readonly intervalMs: number = FRAME_MS,
    private readonly timers: Timers = REAL_TIMERS,
  ) {}

  /** Asks for a flush: soon, but never sooner than one interval after the last one. */
  poke(): void {
    if (this.disposed || this.timer !== null) return;
    const wait = Math.max(0, this.lastFlush + this.intervalMs - this.timers.now());
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.lastFlush = this.timers.now();
      this.flush();
    }, wait);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * Splits what a reader has not seen into one message's worth: whole chunks up to `maxBytes` (at least one
 * chunk, however large), so a catching-up panel gets big messages without one holding the whole store.
 */
export function takeBatch<C extends { bytes: Uint8Array; no: number }>(pending: Iterable<C>, maxBytes: number): C[] {
  const out: C[] = [];
  let bytes = 0;
  for (const c of pending) {
    if (out.length > 0 && bytes + c.bytes.byteLength > maxBytes) break;
    out.push(c);
    bytes += c.bytes.byteLength;
  }
  return out;
}

