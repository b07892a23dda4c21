// A guest's host writes of one turn of the event loop. Every host socket written to in the turn is corked
// until its end (setImmediate), so the sends of every chunk read from the channel in one wake-up (up to 32
// reads of 64 KiB) leave as one writev per socket instead of a write per piece; an answer waits for it no
// longer than the loop turn. When tracing, the writev's time is shared among the traced calls it carried.
// Apart from the session: it is the one place that knows when a guest's data reaches the host kernel.
import type { Writable } from 'node:stream';
import { nowNs } from '../clock';
import type { CallStamps } from '../trace/call-stamps';

export class TurnWrites {
  private readonly corked: Writable[] = [];
  private scheduled = false;
  /** Per corked socket, the traced calls its writev will serve and their bytes. */
  private readonly shares = new Map<Writable, CallStamps[]>();

  /** `written`: a traced call whose every write and its execute have ended, ready for its record. */
  constructor(private readonly written: (c: CallStamps) => void) {}

  /** Uncorks every socket corked in this turn (at the turn's end, or at once when the session ends). */
  readonly flush = (): void => {
    this.scheduled = false;
    for (const s of this.corked) {
      const calls = this.shares.get(s);
      if (!calls) {
        s.uncork();
        continue;
      }
      // The real system call: uncork writes everything corked in this turn as one writev, at once.
      this.shares.delete(s);
      const t0 = nowNs();
      s.uncork();
      this.share(calls, t0, nowNs());
    }
    this.corked.length = 0;
  };

  /** Corks `socket` for the rest of this turn; `call` (when traced) adds `bytes` to its writev. */
  add(socket: Writable, bytes: number, call: CallStamps | null): void {
    if (call) {
      // The call's record waits for the writev that carries its bytes (flush).
      let calls = this.shares.get(socket);
      if (!calls) this.shares.set(socket, (calls = []));
      if (call.writeBytes === 0) {
        calls.push(call);
        call.pendingWrites++;
      }
      call.writeBytes += bytes;
    }
    if (socket.writableCorked > 0) return;
    socket.cork();
    this.corked.push(socket);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Splits the writev [t0, t1] among the calls it served, by bytes; each call's execute runs to its share's end. */
  private share(calls: CallStamps[], t0: number, t1: number): void {
    let total = 0;
    for (const c of calls) total += c.writeBytes;
    let before = 0;
    for (const c of calls) {
      before += c.writeBytes;
      c.writeEnd = Math.round(t0 + ((t1 - t0) * before) / Math.max(1, total));
      c.sharedWrite = calls.length > 1;
      c.writeBytes = 0;
      if (--c.pendingWrites === 0 && c.execEnd !== 0) this.written(c);
    }
  }
}
