// Where a frame's payload sits in its direction of a flow: byte offsets from the first byte after the SYN,
// read from the TCP sequence number. Counting payload bytes one frame after another is wrong as soon as
// TCP sends bytes again: a tail loss probe or a spurious retransmission that the device model delivered
// (seen on virtio stream runs: 560 or 1448 bytes sent twice) shifts every later frame onto a later call.
// Placed by sequence number, a retransmission lands on the bytes it repeats. Frames without a sequence
// number (UDP, whose datagrams are never sent again by the kernel) are placed one after another.

const SEQ_SPACE = 2 ** 32;
const HALF_SEQ_SPACE = 2 ** 31;
/** Ranges held beyond the contiguous bytes (frames that came ahead of a lost one); bounded. */
const AHEAD_KEPT = 256;

export class StreamPosition {
  /** The sequence number of byte 0 (the SYN's + 1); null until the SYN or the first numbered data frame. */
  private origin: number | null = null;
  /** The furthest start placed so far; 32-bit sequence numbers are unwrapped next to it. */
  furthest = 0;
  /** Every byte before this offset reached the receiver in some frame: what calls may wait for. */
  covered = 0;
  /** Ranges that reached the receiver beyond `covered`, sorted by start. */
  private ahead: Array<[number, number]> = [];

  /** The SYN's sequence number: byte 0 is the one after it. */
  syn(tcpSeq: number): void {
    this.origin ??= (tcpSeq + 1) % SEQ_SPACE;
  }

  /**
   * The offset of the first of `payload` bytes; `carried` is false when they never reached the receiver
   * (a dropped TCP frame: they come again). Without a SYN seen, the first numbered frame is taken to follow
   * the bytes covered so far.
   */
  place(payload: number, carried: boolean, tcpSeq?: number): number {
    let start = this.covered;
    if (tcpSeq !== undefined) {
      this.origin ??= (tcpSeq - this.covered + SEQ_SPACE) % SEQ_SPACE;
      const rel = (tcpSeq - this.origin + SEQ_SPACE) % SEQ_SPACE;
      let d = rel - (this.furthest % SEQ_SPACE);
      if (d >= HALF_SEQ_SPACE) d -= SEQ_SPACE;
      else if (d < -HALF_SEQ_SPACE) d += SEQ_SPACE;
      start = this.furthest + d;
    }
    this.furthest = Math.max(this.furthest, start);
    if (carried && payload > 0) this.cover(start, start + payload);
    return start;
  }

  private cover(start: number, end: number): void {
    if (start > this.covered) {
      let i = this.ahead.length;
      while (i > 0 && this.ahead[i - 1]![0] > start) i--;
      this.ahead.splice(i, 0, [start, end]);
      // Forgetting the furthest range only makes a call wait longer (to MAX_LINK_WAIT_MS at worst).
      if (this.ahead.length > AHEAD_KEPT) this.ahead.pop();
      return;
    }
    this.covered = Math.max(this.covered, end);
    while (this.ahead.length && this.ahead[0]![0] <= this.covered) this.covered = Math.max(this.covered, this.ahead.shift()![1]);
  }
}
