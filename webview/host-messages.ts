// What the viewer core does with each message from the extension host: one handler per message type
// (the table must name every type, so a new message cannot be forgotten here). Panels see each message
// after the core (panel.ts, onMessage).

import type { ToViewer } from '../protocol/webview-messages';
import type { CallStore } from './call-store';

export const DEFAULT_RECORD_LIMIT = 2_000_000;
/** The smallest record limit a host can set: below it the viewer would drop calls on every chunk. */
const MIN_RECORD_LIMIT = 1000;

/** What the host said about the records' source: the status line and the notices show it. */
export interface SourceStatus {
  title: string;
  live: boolean;
  connection: string;
  damaged: { message: string; recordsKept: number } | null;
  loading: { loaded: number; total: number } | null;
}

export function emptySource(): SourceStatus {
  return { title: '', live: false, connection: '', damaged: null, loading: null };
}

export interface MessageTarget {
  readonly store: CallStore;
  readonly source: SourceStatus;
  /** Decodes one chunk of .lstrace records into the store. */
  ingest(bytes: Uint8Array): void;
}

type Handlers = { [K in ToViewer['type']]: (m: Extract<ToViewer, { type: K }>, t: MessageTarget) => void };

const HANDLERS: Handlers = {
  init: (m, t) => {
    t.source.title = m.title;
    t.source.live = m.source === 'live';
    t.store.recordLimit = Math.max(MIN_RECORD_LIMIT, m.recordLimit || DEFAULT_RECORD_LIMIT);
  },
  chunk: (m, t) => t.ingest(asBytes(m.bytes)),
  reset: (_, t) => {
    t.store.clear();
    t.source.damaged = null;
  },
  progress: (m, t) => {
    t.source.loading = m.done ? null : { loaded: m.loadedBytes, total: m.totalBytes };
    if (!m.done && !t.source.live) t.store.expectedBytes = m.totalBytes;
    // a finished file grows no more: give back the typed arrays' spare room, once the viewer has drawn
    if (m.done && !t.source.live) t.store.compactPending = true;
  },
  damaged: (m, t) => {
    t.source.damaged = { message: m.message, recordsKept: m.recordsKept };
  },
  report: () => undefined, // the Compare panel shows it
  selectRun: () => undefined, // the Compare panel shows that run
  connection: (m, t) => {
    t.source.connection = m.state;
  },
};

/** Applies message `m`; false when its type is not one the viewer knows (then nothing else should see it). */
export function handleHostMessage(m: ToViewer, t: MessageTarget): boolean {
  const h = Object.hasOwn(HANDLERS, m.type) ? (HANDLERS[m.type] as (m: ToViewer, t: MessageTarget) => void) : undefined;
  if (!h) return false;
  h(m, t);
  return true;
}

/**
 * VS Code delivers a Uint8Array posted by the extension as a Uint8Array; older hosts (or a JSON round trip)
 * can hand over an ArrayBuffer or a plain object of indexed bytes. Accept all three.
 */
export function asBytes(b: unknown): Uint8Array {
  if (b instanceof Uint8Array) return b;
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  if (typeof b === 'object' && b !== null) return Uint8Array.from(Object.values(b as Record<string, number>));
  return new Uint8Array(0);
}
