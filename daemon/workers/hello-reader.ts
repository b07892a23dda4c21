// The main process's part of a new guest connection when workers serve the guests: read its first frame
// (the HELLO) without answering, then stop reading so that not a byte more is taken from the socket, and
// hand the socket and every byte read to a worker. Waiting connections are bounded as in one process:
// PendingHellos caps them per peer and in all, and one that sends no whole frame in HELLO_TIMEOUT_MS is
// closed. The worker's session answers everything, so the main process never writes to a guest.
import type { Socket } from 'node:net';
import { FrameDecoder } from '../../protocol/wire-codec';
import type { WireMessage } from '../../protocol';
import { HELLO_TIMEOUT_MS } from '../guests/guest-session';

export interface FirstFrame {
  /** Every byte read (the first frame, and whatever else the guest sent with it). */
  head: Uint8Array;
  /** The first frame, or null when the bytes are no valid frame (the worker's session refuses them). */
  first: WireMessage | null;
}

/** The libuv handle under a net.Socket: Node's own pauseOnConnect stops reads through it the same way. */
interface ReadHandle {
  reading?: boolean;
  readStop?(): number;
}

export class HelloReader {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  private readonly decoder: FrameDecoder;
  private readonly timer: NodeJS.Timeout;
  private done = false;

  constructor(
    readonly socket: Socket,
    readonly peer: string,
    maxFrame: number,
    private readonly onFirst: (r: HelloReader, f: FirstFrame) => void,
    private readonly onGone: (r: HelloReader, why: string) => void,
  ) {
    this.decoder = new FrameDecoder({ maxPayload: maxFrame });
    this.timer = setTimeout(() => this.evict(`no hello within ${HELLO_TIMEOUT_MS} ms`), HELLO_TIMEOUT_MS);
    this.timer.unref();
    socket.on('data', this.onData);
    socket.once('close', () => this.finish('closed before hello'));
    socket.on('error', () => undefined);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.done) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    const { messages, error } = this.decoder.push(chunk);
    if (messages.length === 0 && !error) return;
    this.stopReading();
    const head = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.bytes);
    this.done = true;
    clearTimeout(this.timer);
    this.onFirst(this, { head, first: error ? null : (messages[0] ?? null) });
  };

  /** Takes no more bytes from the socket: what is not read yet stays in the kernel for the worker. */
  private stopReading(): void {
    this.socket.off('data', this.onData);
    this.socket.pause();
    // Anything Node read and holds is still ours to forward (read() may restart the handle's reads: the
    // stop below comes after it).
    while (this.socket.readableLength > 0) {
      const c = this.socket.read() as Buffer | null;
      if (c === null) break;
      this.chunks.push(c);
      this.bytes += c.length;
    }
    const handle = (this.socket as unknown as { _handle?: ReadHandle | null })._handle;
    if (handle?.reading && handle.readStop) {
      handle.reading = false;
      handle.readStop();
    }
  }

  /** Pushed out by PendingHellos, or timed out: the connection is cut (no goodbye: it never said hello). */
  evict(why: string): void {
    if (this.done) return;
    this.finish(why);
    this.socket.destroy();
  }

  private finish(why: string): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.onGone(this, why);
  }
}
