// The guest's half of tracing on its channel: stage stamps of requests (channel out at the flush that
// wrote them, reply in), of pipelined sends (the application calls each frame carried) and of pushed data
// delivered to the application, batched to ride along with the channel's own frames, or sent on their own
// after STAMP_FLUSH_MS. Apart from the channel so that its frame path reads without the trace bookkeeping.

import type { StampEntry } from '../protocol';
import { encodeFrameParts } from '../protocol/wire-codec';
import { StampBatch, STAMP_FLUSH_MS, nowNs } from './stamp-batch';

export class ChannelStamps {
  private readonly batch = new StampBatch();
  /** Requests written in the current batch: their channelOut is the flush time. */
  private outCalls: { channelOut: number }[] = [];
  /** Pipelined sends written in the current batch, one entry per application call. */
  private outSends: StampEntry[] = [];
  private timer: NodeJS.Timeout | null = null;

  /** `due`: stamps have waited long enough with no frame to ride along with; the channel sends them. */
  constructor(private readonly due: () => void) {}

  get size(): number {
    return this.batch.size;
  }

  /** A request queued in this batch; its channelOut is set at the flush. */
  request(p: { channelOut: number }): void {
    this.outCalls.push(p);
  }

  /** A pipelined send frame `id` opened now; the application calls that end in it fill in its entry. */
  sendFrame(id: number): void {
    this.outSends.push({ id, enter: nowNs(), channelOut: 0, replyIn: 0, return: 0 });
  }

  /** A frame that is one application call, entered at `enter`, returning now. */
  oneCallFrame(id: number, enter: number): void {
    this.outSends.push({ id, enter, channelOut: 0, replyIn: 0, return: nowNs() });
  }

  /** See Channel.stampCall. */
  call(id: number, enter: number, ret: number): void {
    const last = this.outSends[this.outSends.length - 1];
    if (last && last.id === id && last.return === 0) {
      last.enter = Math.min(last.enter, enter);
      last.return = ret;
      return;
    }
    // Entries of one frame stay together; a frame already flushed takes no more calls.
    if (last && last.id === id) this.outSends.push({ id, enter, channelOut: 0, replyIn: 0, return: ret });
  }

  /** A request `id` answered: its four stages. */
  reply(id: number, enter: number, channelOut: number, replyIn: number): void {
    this.batch.add(id, enter, channelOut, replyIn, nowNs());
  }

  /** Pushed data (event id) reached the application. */
  delivery(eventId: number, decodedNs: number): void {
    this.batch.add(eventId, 0, 0, decodedNs, nowNs());
  }

  /** The channel writes its batch `out` now: stamps ride along when they are due. `tracing`: stamp it. */
  flushing(out: Uint8Array[], tracing: boolean): void {
    if (tracing) {
      const t = nowNs();
      for (const c of this.outCalls) c.channelOut = t;
      // Stamps ride along before this batch's sends are stamped: the stamps of a send never arrive in
      // the same read as the send itself, before the host has finished it.
      if (this.batch.due(t) || (out.length > 0 && this.batch.size >= 64)) this.pushTo(out);
      // A pipelined send's frame leaves now; its entries keep the application calls' own enter and return.
      for (const e of this.outSends) {
        e.channelOut = t;
        this.batch.push(e);
      }
      this.outSends = [];
      this.arm();
    }
    this.outCalls = [];
  }

  /** Appends every stamp taken so far to `out`, as stamps frames. */
  pushTo(out: Uint8Array[]): void {
    while (this.batch.size > 0) {
      for (const p of encodeFrameParts({ type: 'stamps', id: 0, handle: 0, entries: this.batch.take() })) out.push(p);
    }
  }

  /** The channel closed: no more stamps leave. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  private arm(): void {
    if (this.timer || this.batch.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.batch.size > 0) this.due();
    }, STAMP_FLUSH_MS);
    this.timer.unref();
  }
}
