// A pipelined send frame still open for more data: a socket's writes within one tick become one frame (up
// to maxPayload), its data parts uncopied, so the daemon decodes fewer frames and the host socket takes
// fewer, larger writes. Kept apart from channel.ts, which decides when a frame opens and when it leaves.

import { encodeFrameParts, encodeMessage } from '../protocol/wire-codec';

/** Sends up to this size are copied into their frame rather than written as separate parts. */
const SMALL_SEND_BYTES = 2048;

let zeros = new Uint8Array(0);
/** A view of `n` zero bytes, for encoding a header whose data goes out as several parts. */
function placeholder(n: number): Uint8Array {
  if (zeros.length < n) zeros = new Uint8Array(Math.max(n, 256 * 1024));
  return zeros.subarray(0, n);
}

export class OpenSend {
  private readonly parts: Uint8Array[];
  private length: number;

  constructor(readonly id: number, readonly handle: number, data: Uint8Array) {
    this.parts = [data];
    this.length = data.byteLength;
  }

  /** Adds `data` when it is for this frame's socket and the frame stays within `maxPayload`. */
  join(handle: number, data: Uint8Array, maxPayload: number): boolean {
    if (handle !== this.handle || this.length + data.byteLength > maxPayload) return false;
    this.parts.push(data);
    this.length += data.byteLength;
    return true;
  }

  /** The frame to write: its header (for the whole length), then its data parts. */
  frameParts(): Uint8Array[] {
    const { id, handle, parts, length } = this;
    if (length <= SMALL_SEND_BYTES) {
      // A small send goes out as one contiguous frame: one plain write, not a writev of tiny parts.
      const data = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
      return [encodeMessage({ type: 'send', id, handle, noReply: true, data })];
    }
    const data = parts.length === 1 ? (parts[0] as Uint8Array) : placeholder(length);
    const [head] = encodeFrameParts({ type: 'send', id, handle, noReply: true, data });
    return [head as Uint8Array, ...parts];
  }
}
