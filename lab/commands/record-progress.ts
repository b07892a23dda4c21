// What `linsock record` shows while it records: every second the calls, bytes and drops of that second
// (on a terminal one line rewritten in place, otherwise a plain line each time), and the totals at the end.

import { formatBytes } from '../../protocol';

export interface Tally {
  records: number;
  calls: number;
  frames: number;
  dropped: number;
  /** Bytes the recorded calls moved (their `bytes`). */
  callBytes: number;
  /** Bytes of the trace stream written to the file. */
  bytes: number;
}

export function emptyTally(): Tally {
  return { records: 0, calls: 0, frames: 0, dropped: 0, callBytes: 0, bytes: 0 };
}

export class RecordProgress {
  private timer: NodeJS.Timeout | null = null;
  private last: Tally = emptyTally();
  private lastAt = 0;
  private drawn = false;

  constructor(private readonly tally: Tally, private readonly out: NodeJS.WriteStream = process.stdout) {}

  get tty(): boolean {
    return this.out.isTTY === true;
  }

  start(): void {
    this.lastAt = performance.now();
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  /** Stops the updates; on a terminal ends the rewritten line so that the summary starts on its own. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.drawn && this.tty) this.out.write('\n');
    this.drawn = false;
  }

  private tick(): void {
    const now = performance.now();
    const s = Math.max((now - this.lastAt) / 1000, 0.001);
    const t = this.tally;
    const line = `recording: ${Math.round((t.calls - this.last.calls) / s)} calls/s, ${formatBytes(Math.round((t.callBytes - this.last.callBytes) / s))}/s, `
      + `${Math.round((t.dropped - this.last.dropped) / s)} drops/s; total ${t.calls} calls, ${t.dropped} dropped`;
    this.last = { ...t };
    this.lastAt = now;
    if (this.tty) {
      this.out.write(`\r\x1b[K${line}`);
      this.drawn = true;
    } else this.out.write(`${line}\n`);
  }
}
