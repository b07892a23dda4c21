// Log lines that peers can cause (malformed frames, refused connections, policy denials, frames the wire
// cannot carry) go through a LogLimit: at most `perSecond` lines of one kind a second; the rest are counted,
// and the count is logged when the next line of that kind is (or at the latest when the window turns
// while more come), so that 200,000 bad connections cost a few lines, not megabytes, and nothing is hidden.
import type { LogFields, Logger } from './log';

interface Window {
  start: number;
  logged: number;
  suppressed: number;
}

/** Kinds a limiter keeps windows for; beyond, the oldest kind is forgotten (its count logged first). */
const MAX_KINDS = 1024;

export class LogLimit {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly log: Logger,
    private readonly perSecond = 10,
    private readonly now: () => number = Date.now,
  ) {}

  warn(msg: string, fields?: LogFields, kind = msg): void {
    this.emit('warn', msg, fields, kind);
  }

  error(msg: string, fields?: LogFields, kind = msg): void {
    this.emit('error', msg, fields, kind);
  }

  private emit(level: 'warn' | 'error', msg: string, fields: LogFields | undefined, kind: string): void {
    const t = this.now();
    let w = this.windows.get(kind);
    if (!w || t - w.start >= 1000) {
      if (w && w.suppressed > 0) this.log.warn('log lines suppressed', { kind, suppressed: w.suppressed, seconds: Math.round((t - w.start) / 100) / 10 });
      if (!w && this.windows.size >= MAX_KINDS) this.forgetOldest();
      w = { start: t, logged: 0, suppressed: 0 };
      this.windows.delete(kind);
      this.windows.set(kind, w);
    }
    if (w.logged < this.perSecond) {
      w.logged++;
      this.log[level](msg, fields);
    } else w.suppressed++;
  }

  /** Logs what every kind suppressed and forgets the windows (at shutdown). */
  flush(): void {
    for (const [kind, w] of this.windows) if (w.suppressed > 0) this.log.warn('log lines suppressed', { kind, suppressed: w.suppressed });
    this.windows.clear();
  }

  private forgetOldest(): void {
    const [kind, w] = this.windows.entries().next().value as [string, Window];
    if (w.suppressed > 0) this.log.warn('log lines suppressed', { kind, suppressed: w.suppressed });
    this.windows.delete(kind);
  }
}
