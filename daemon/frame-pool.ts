// Buffers for guest frames split across channel reads. A stream's send frames (up to maxPayload, 256 KiB)
// are larger than one read of the channel (64 KiB), so nearly every one is assembled in a buffer of its
// own; allocating those fresh costs the daemon a garbage collection every few tens of milliseconds while
// streaming (external memory pressure). A buffer whose send data the host socket has written (write
// callback) comes back here and serves the next split frame instead.

/** Frames smaller than this are allocated fresh: recycling pays off for the large ones only. */
const POOLED_MIN_BYTES = 32 * 1024;
/** Free buffers kept at most (their bytes stay allocated while the daemon runs). */
const MAX_FREE = 32;

export class FramePool {
  private readonly free: ArrayBuffer[] = [];
  /** The buffers this pool handed out: only those may come back. */
  private readonly ours = new WeakSet<ArrayBuffer>();

  /** `frameBytes`: the largest frame (header and maxPayload) the decoders using this pool accept. */
  constructor(private readonly frameBytes: number) {}

  /** Room for a split frame of `n` bytes (see FrameDecoderOptions.allocFrame). */
  readonly alloc = (n: number): Uint8Array => {
    if (n < POOLED_MIN_BYTES || n > this.frameBytes) return new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);
    const ab = this.free.pop() ?? (Buffer.allocUnsafeSlow(this.frameBytes).buffer as ArrayBuffer);
    this.ours.add(ab);
    return new Uint8Array(ab, 0, n);
  };

  /**
   * Takes back the buffer under `data` once nothing uses it any more (its socket write completed). Data
   * that did not come from this pool is ignored; each pooled buffer must be given back at most once.
   */
  recycle(data: Uint8Array): void {
    const ab = data.buffer as ArrayBuffer;
    if (!this.ours.has(ab) || this.free.length >= MAX_FREE) return;
    this.ours.delete(ab); // added again when handed out: a second recycle of the same data is ignored
    this.free.push(ab);
  }
}
