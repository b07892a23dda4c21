// A log that a peer cannot flood: every line is shortened to a readable length with control characters made
// visible, and each kind of line is rate-limited; what is held back is counted and said ("suppressed N").
// A daemon's name or message goes into lines verbatim otherwise, so this is where its size stops mattering.

export type LogLevel = 'trace' | 'info' | 'warn' | 'error';
export type LogSink = (level: LogLevel, message: string) => void;

export interface CappedLogOptions {
  /** Longest line written, in characters (longer ones end with "… (N characters)"). */
  maxLineChars: number;
  /** Lines of one kind written per window; the rest are counted. */
  perWindow: number;
  windowMs: number;
  now: () => number;
}

export const DEFAULT_LOG_CAPS: CappedLogOptions = { maxLineChars: 400, perWindow: 10, windowMs: 5000, now: () => performance.now() };

/** Kinds tracked at once; kinds are names chosen in code, so this only bounds a misuse. */
const MAX_KINDS = 64;

interface Window {
  start: number;
  written: number;
  suppressed: number;
  level: LogLevel;
}

/** `text` as one bounded line: control characters escaped (no forged lines), long text cut with its length said. */
export function oneLine(text: string, max: number): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  // eslint-disable-next-line no-control-regex
  const safe = cut.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return text.length > max ? `${safe}… (${text.length} characters)` : safe;
}

export class CappedLog {
  private readonly windows = new Map<string, Window>();
  private readonly o: CappedLogOptions;

  constructor(
    private readonly sink: LogSink,
    options: Partial<CappedLogOptions> = {},
  ) {
    this.o = { ...DEFAULT_LOG_CAPS, ...options };
  }

  /** Writes `message` unless lines of `kind` (default: the message's level) exceeded their rate. */
  write(level: LogLevel, message: string, kind: string = level): void {
    const now = this.o.now();
    let w = this.windows.get(kind);
    if (w && now - w.start >= this.o.windowMs) {
      this.report(kind, w);
      w = undefined;
    }
    if (!w) {
      if (this.windows.size >= MAX_KINDS) this.flush();
      w = { start: now, written: 0, suppressed: 0, level };
      this.windows.set(kind, w);
    }
    if (w.written >= this.o.perWindow) {
      w.suppressed++;
      return;
    }
    w.written++;
    this.sink(level, oneLine(message, this.o.maxLineChars));
  }

  /** Says what was held back so far and starts every kind afresh (on a connection's end, say). */
  flush(): void {
    for (const [kind, w] of this.windows) this.report(kind, w);
    this.windows.clear();
  }

  private report(kind: string, w: Window): void {
    this.windows.delete(kind);
    if (w.suppressed > 0) this.sink(w.level, `suppressed ${w.suppressed} more '${kind}' messages`);
  }
}
