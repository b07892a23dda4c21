// Finds the events of a Chrome Trace Event JSON document streamed in pieces of bytes, without ever holding
// the document: the elements of a top-level array (JSON Array Format) or of the "traceEvents" array of a
// top-level object (JSON Object Format), and the object's "otherData"; every other member is passed over.
// A state machine over bytes (JSON's structure is ASCII, and UTF-8 never hides ASCII inside a character),
// that checks nesting depth and event size before it allocates: each event is parsed alone with JSON.parse.

import { DEFAULT_READ_LIMITS, type ReadLimits } from './trace-format';

export class JsonScanError extends Error {
  override readonly name = 'JsonScanError';
  constructor(readonly offset: number, message: string) {
    super(message);
  }
}

export interface ScanHandler {
  /** An element of the events array, parsed. Returning an error stops the scan with it. */
  event(value: unknown, index: number): Error | null;
  /** An element larger than ReadLimits.maxEventBytes, passed over unparsed. */
  oversized(index: number, bytes: number): void;
  /** The value of the top-level object's "otherData". */
  otherData(value: unknown): Error | null;
}

/** Where the scanner is in the document. */
const At = {
  top: 0, // before the document's value
  keyOrEnd: 1, // after '{': a member name or '}'
  key: 2, // after ',' in the object: a member name
  keyText: 3, // inside a member name
  colon: 4,
  afterMember: 5, // ',' or '}'
  eventsOpen: 6, // after "traceEvents": '['
  elementOrEnd: 7, // after '[': an event or ']'
  element: 8, // after ',' in the events array
  afterElement: 9, // ',' or ']'
  value: 10, // inside a value
  done: 11,
  memberValue: 12, // after a member's ':'
} as const;
type State = (typeof At)[keyof typeof At];

const WS = new Uint8Array(256);
for (const c of [0x20, 0x09, 0x0a, 0x0d]) WS[c] = 1;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;
/** The otherData object holds the runs of a trace; it may be larger than an event, never this large. */
const MAX_OTHER_DATA_BYTES = 16 * 1024 * 1024;
const MAX_KEY_BYTES = 64;

export class TraceEventScanner {
  private state: State = At.top;
  /** Offset in the document of the current piece's first byte. */
  private base = 0;
  private line = 1;
  private lineStart = 0;
  private topArray = false;
  private key: number[] = [];
  private keyLong = false;
  private eventIndex = 0;
  private error: JsonScanError | null = null;
  // The value being scanned.
  private depth = 0;
  private inString = false;
  private escape = false;
  private primitive = false;
  private target: 'event' | 'other' | 'skip' = 'skip';
  private after: State = At.afterMember;
  /** What the value of the member being read is for. */
  private memberTarget: 'other' | 'skip' = 'skip';
  private parts: Uint8Array[] = [];
  private partsBytes = 0;
  private tooBig = false;
  private valueStart = 0;
  private valueLine = 1;
  private valueColumn = 1;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly limits: ReadLimits = DEFAULT_READ_LIMITS) {}

  /** Events found so far. */
  get events(): number {
    return this.eventIndex;
  }

  push(bytes: Uint8Array, handler: ScanHandler): JsonScanError | null {
    if (this.error) return this.error;
    let i = 0;
    // A UTF-8 byte order mark may open the document.
    if (this.base === 0 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
    let capStart = this.state === At.value ? 0 : -1;
    const n = bytes.length;
    for (; i < n; i++) {
      const b = bytes[i] as number;
      if (b === 0x0a) {
        this.line++;
        this.lineStart = this.base + i + 1;
      }
      if (this.state === At.value) {
        let endAt = -1; // exclusive end of the value in this piece
        if (this.inString) {
          if (this.escape) this.escape = false;
          else if (b === BACKSLASH) this.escape = true;
          else if (b === QUOTE) {
            this.inString = false;
            if (this.depth === 0) endAt = i + 1;
          }
        } else if (this.primitive) {
          if (b === COMMA || b === CLOSE_ARR || b === CLOSE_OBJ || WS[b]) endAt = i;
        } else if (b === QUOTE) this.inString = true;
        else if (b === OPEN_OBJ || b === OPEN_ARR) {
          if (++this.depth > this.limits.maxDepth) return this.fail(this.base + i, `JSON nested deeper than ${this.limits.maxDepth} levels`, 'a trace event is a flat object; this file is not a trace');
        } else if (b === CLOSE_OBJ || b === CLOSE_ARR) {
          if (--this.depth === 0) endAt = i + 1;
        }
        if (endAt < 0) continue;
        const e = this.endValue(bytes.subarray(capStart, endAt), handler);
        if (e) return this.stop(e);
        capStart = -1;
        this.state = this.after;
        // A primitive ends at the byte after it, which belongs to what follows: go on to read it below.
        if (endAt > i) continue;
      }
      if (WS[b]) continue;
      switch (this.state) {
        case At.top:
          if (b === OPEN_OBJ) this.state = At.keyOrEnd;
          else if (b === OPEN_ARR) {
            this.topArray = true;
            this.state = At.elementOrEnd;
          } else return this.fail(this.base + i, 'not a JSON object or array', "expected '{' (JSON Object Format) or '[' (JSON Array Format)");
          break;
        case At.keyOrEnd:
        case At.key:
          if (b === QUOTE) {
            this.key = [];
            this.keyLong = false;
            this.state = At.keyText;
          } else if (b === CLOSE_OBJ && this.state === At.keyOrEnd) this.state = At.done;
          else return this.fail(this.base + i, 'bad JSON object', 'expected a member name in double quotes');
          break;
        case At.keyText:
          // Names that matter are plain ASCII; an escape in a name just makes it one that does not matter.
          if (this.escape) this.escape = false;
          else if (b === BACKSLASH) {
            this.escape = true;
            this.keyLong = true;
          } else if (b === QUOTE) this.state = At.colon;
          else if (this.key.length < MAX_KEY_BYTES) this.key.push(b);
          else this.keyLong = true;
          break;
        case At.colon: {
          if (b !== COLON) return this.fail(this.base + i, 'bad JSON object', "expected ':' after a member name");
          const name = this.keyLong ? '' : String.fromCharCode(...this.key);
          if (name === 'traceEvents') this.state = At.eventsOpen;
          else {
            this.memberTarget = name === 'otherData' ? 'other' : 'skip';
            this.state = At.memberValue;
          }
          break;
        }
        case At.memberValue: {
          const e = this.beginValue(bytes, i, this.memberTarget, At.afterMember);
          if (e) return this.stop(e);
          capStart = i;
          break;
        }
        case At.afterMember:
          if (b === COMMA) this.state = At.key;
          else if (b === CLOSE_OBJ) this.state = At.done;
          else return this.fail(this.base + i, 'bad JSON object', "expected ',' or '}' after a member");
          break;
        case At.eventsOpen:
          if (b !== OPEN_ARR) return this.fail(this.base + i, '"traceEvents" is not an array', "expected '[' after \"traceEvents\":");
          this.state = At.elementOrEnd;
          break;
        case At.elementOrEnd:
        case At.element: {
          if (b === CLOSE_ARR && this.state === At.elementOrEnd) {
            this.state = this.topArray ? At.done : At.afterMember;
            break;
          }
          const e = this.beginValue(bytes, i, 'event', At.afterElement);
          if (e) return this.stop(e);
          capStart = i;
          break;
        }
        case At.afterElement:
          if (b === COMMA) this.state = At.element;
          else if (b === CLOSE_ARR) this.state = this.topArray ? At.done : At.afterMember;
          else return this.fail(this.base + i, 'bad events array', `expected ',' or ']' after traceEvents[${this.eventIndex - 1}]`);
          break;
        case At.done:
          return this.fail(this.base + i, 'text after the end of the JSON document', 'expected nothing but white space');
      }
    }
    if (this.state === At.value && capStart >= 0 && this.target !== 'skip') this.keep(bytes.subarray(capStart));
    this.base += n;
    return null;
  }

  /** The end of the document: null when it ended where a document may end. */
  finish(): JsonScanError | null {
    if (this.error) return this.error;
    if (this.state === At.done) return null;
    // The JSON Array Format may lack its closing ']' (a tracer killed mid-write still leaves a usable file).
    if (this.topArray && (this.state === At.afterElement || this.state === At.elementOrEnd)) return null;
    if (this.state === At.top) return this.fail(this.base, 'no JSON value', 'the file holds only white space');
    const inside = this.state === At.value && this.target === 'event' ? ` inside traceEvents[${this.eventIndex}]` : '';
    return this.fail(this.base, `truncated JSON${inside}`, this.topArray ? "expected more events or the closing ']'" : "expected the document's closing '}'");
  }

  /** Starts a value at bytes[i]; returns an error when no value can start there. */
  private beginValue(bytes: Uint8Array, i: number, target: 'event' | 'other' | 'skip', after: State): JsonScanError | null {
    const b = bytes[i] as number;
    if (b === COMMA || b === CLOSE_ARR || b === CLOSE_OBJ || b === COLON)
      return this.failOnly(this.base + i, 'bad JSON', `expected a value, found '${String.fromCharCode(b)}'`);
    this.state = At.value;
    this.target = target;
    this.after = after;
    this.parts = [];
    this.partsBytes = 0;
    this.tooBig = false;
    this.valueStart = this.base + i;
    this.valueLine = this.line;
    this.valueColumn = this.base + i - this.lineStart + 1;
    this.inString = b === QUOTE;
    this.escape = false;
    this.primitive = !this.inString && b !== OPEN_OBJ && b !== OPEN_ARR;
    this.depth = this.inString || this.primitive ? 0 : 1;
    return null;
  }

  private keep(piece: Uint8Array): void {
    if (this.tooBig) {
      this.partsBytes += piece.length;
      return;
    }
    const max = this.target === 'other' ? MAX_OTHER_DATA_BYTES : this.limits.maxEventBytes;
    this.partsBytes += piece.length;
    if (this.partsBytes > max) {
      this.tooBig = true;
      this.parts = [];
      return;
    }
    this.parts.push(piece.slice());
  }

  private endValue(last: Uint8Array, handler: ScanHandler): Error | null {
    if (this.target === 'skip') return null;
    this.keep(last);
    const index = this.target === 'event' ? this.eventIndex++ : -1;
    if (this.tooBig) {
      if (this.target === 'other') return this.failOnly(this.valueStart, '"otherData" too large', `expected at most ${MAX_OTHER_DATA_BYTES} bytes`);
      handler.oversized(index, this.partsBytes);
      return null;
    }
    const bytes = this.parts.length === 1 ? (this.parts[0] as Uint8Array) : joinParts(this.parts, this.partsBytes);
    this.parts = [];
    let text: string;
    try {
      text = this.decoder.decode(bytes);
    } catch {
      return this.failOnly(this.valueStart, 'not valid UTF-8', 'expected UTF-8 text (save the file as UTF-8)');
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      const msg = (err as Error).message;
      const pos = /position (\d+)/.exec(msg);
      const p = pos ? Number(pos[1]) : 0;
      const before = text.slice(0, p);
      const nl = before.lastIndexOf('\n');
      const line = this.valueLine + (before.match(/\n/g)?.length ?? 0);
      const column = nl < 0 ? this.valueColumn + p : p - nl;
      const what = index >= 0 ? `traceEvents[${index}]` : '"otherData"';
      return new JsonScanError(this.valueStart + p, `not valid JSON at line ${line} column ${column} (offset ${this.valueStart + p}) in ${what}: ${msg}`);
    }
    return index >= 0 ? handler.event(value, index) : handler.otherData(value);
  }

  private failOnly(offset: number, what: string, expected: string): JsonScanError {
    const line = this.line;
    const column = offset - this.lineStart + 1;
    return new JsonScanError(offset, `${what} at line ${line} column ${column} (offset ${offset}): ${expected}`);
  }

  private fail(offset: number, what: string, expected: string): JsonScanError {
    return this.stop(this.failOnly(offset, what, expected));
  }

  private stop(e: Error): JsonScanError {
    this.error = e instanceof JsonScanError ? e : new JsonScanError(this.base, e.message);
    return this.error;
  }
}

function joinParts(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
