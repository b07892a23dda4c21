// The trace hub: numbers every published record, encodes it at once into the open chunk (so producers'
// record objects die young, not after a batch period), keeps the recent chunks in a bounded ring and feeds
// live subscribers. Every subscriber is a cursor into the ring, so a slow one costs the daemon nothing
// beyond its socket's capped backlog: while its socket is full it falls behind; what the ring forgets
// before it catches up (or what lies beyond `maxLag` once it is live) is skipped, counted, and announced
// to it as one DroppedRecord.

import type { TraceSink } from './trace-sink';
import { TraceRing, chunksFrom } from './trace-ring';
import { ChunkWriter, decodeChunk, encodeChunk, type DroppedRecord, type RecordFilter, type TraceRecord } from '../../protocol';

export interface TraceHubOptions {
  /** Records the ring holds (default 1,048,576). */
  ringSize?: number;
  /** Encoded bytes the ring may hold (default 256 MiB), a second bound against huge records. */
  ringBytes?: number;
  /** A batch is flushed when it holds this many records... */
  batchRecords?: number;
  /** ...or this many ms after its first record. */
  batchMs?: number;
  /** A subscriber whose socket holds more than this many unsent bytes gets nothing until it drains. */
  backlogCap?: number;
  /** A live subscriber that falls further behind than this many records skips to the newest ones. */
  maxLag?: number;
  /** False for `--trace off`: producers skip building records. */
  enabled?: boolean;
  /** Host monotonic ns (for DroppedRecord.atNs). */
  now?: () => number;
}

/** Where a subscription's chunks go: a WebSocket, in the trace server. */
export interface ChunkTarget {
  /** Bytes queued toward the reader and not yet written (WebSocket.bufferedAmount). */
  backlog(): number;
  send(chunk: Uint8Array): void;
}

export interface SubscribeOptions {
  filter?: RecordFilter;
  /** Start with the ring's records from `fromSeq` on (or its oldest); otherwise only new records. */
  history?: boolean;
  fromSeq?: number;
  /** Stop after this ordinal and call onDone (snapshots). */
  until?: number;
  onDone?: () => void;
}

export interface Subscription {
  /** The ordinal (seq) of the first record this subscription will deliver. */
  readonly fromSeq: number;
  /** Records skipped and announced so far. */
  readonly dropped: number;
  /** Records handed to the target so far (before filtering, for unfiltered subscriptions exact). */
  readonly delivered: number;
  cancel(): void;
}

export interface HubStats {
  calls: number;
  frames: number;
  bytes: number;
  errors: number;
  drops: number;
  callsPerSec: number;
  ringSize: number;
  ringUsed: number;
  ringBytes: number;
  nextSeq: number;
  subscribers: number;
  tracing: boolean;
}

class Cursor implements Subscription {
  readonly fromSeq: number;
  dropped = 0;
  delivered = 0;
  /** Skipped records not yet announced. */
  pendingDrop = 0;
  live: boolean;
  cancelled = false;
  constructor(
    readonly hub: TraceHub,
    readonly target: ChunkTarget,
    readonly filter: RecordFilter | null,
    readonly key: string,
    public at: number,
    live: boolean,
    readonly until: number,
    readonly onDone: (() => void) | undefined,
  ) {
    this.fromSeq = at;
    this.live = live;
  }
  cancel(): void {
    this.hub.cancel(this);
  }
}

export function matches(r: TraceRecord, f: RecordFilter | null): boolean {
  if (!f) return true;
  if (r.kind === 'call') {
    return (f.guest === undefined || r.guest === f.guest) && (f.path === undefined || r.path === f.path) &&
      (f.op === undefined || r.op === f.op) && (f.socket === undefined || r.socket === f.socket);
  }
  if (r.kind === 'frame') {
    // Frames belong to the emulated path and to no socket or op of the guest's.
    return (f.guest === undefined || r.guest === f.guest) && (f.path === undefined || f.path === 'emulated') &&
      f.op === undefined && f.socket === undefined;
  }
  return true; // run info and drop marks are context every reader needs
}

const monoNs = (): number => Number(process.hrtime.bigint());

export class TraceHub implements TraceSink {
  readonly enabled: boolean;
  private readonly ring: TraceRing;
  private readonly batchRecords: number;
  private readonly batchMs: number;
  private readonly backlogCap: number;
  private readonly maxLag: number;
  private readonly now: () => number;
  /** The open chunk: records published since the last flush, already encoded. */
  private readonly pending = new ChunkWriter();
  private pendingFirst = 0;
  private nextOrdinal = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private pumpTimer: NodeJS.Timeout | null = null;
  private readonly cursors = new Set<Cursor>();
  private counters = { calls: 0, frames: 0, bytes: 0, errors: 0, drops: 0 };
  private rate = { windowStart: Date.now(), windowCalls: 0, perSec: 0 };
  private closed = false;

  constructor(opts: TraceHubOptions = {}) {
    this.ring = new TraceRing(opts.ringSize ?? 1_048_576, opts.ringBytes ?? 256 * 1024 * 1024);
    this.batchRecords = opts.batchRecords ?? 4096;
    this.batchMs = opts.batchMs ?? 25;
    this.backlogCap = opts.backlogCap ?? 4 * 1024 * 1024;
    this.maxLag = opts.maxLag ?? 262_144;
    this.enabled = opts.enabled ?? true;
    this.now = opts.now ?? monoNs;
  }

  /** Numbers and encodes `record`; one that cannot be encoded throws a RangeError and is not counted. */
  publish(record: TraceRecord): void {
    if (this.closed) return;
    if (record.kind === 'call' || record.kind === 'frame') record.seq = this.nextOrdinal;
    this.pending.add(record);
    if (record.kind === 'call') {
      this.counters.calls++;
      this.counters.bytes += record.bytes;
      if (record.result !== 'ok') this.counters.errors++;
      this.rate.windowCalls++;
    } else if (record.kind === 'frame') this.counters.frames++;
    // Records lost before they reached the hub (a worker process's channel full: workers/trace-forward.ts).
    else if (record.kind === 'dropped') this.counters.drops += record.count;
    if (this.pending.count === 1) {
      this.pendingFirst = this.nextOrdinal;
      this.flushTimer ??= setTimeout(() => this.flush(), this.batchMs).unref();
    }
    this.nextOrdinal++;
    if (this.pending.count >= this.batchRecords) this.flush();
  }

  /** Closes the open chunk into the ring and hands it to subscribers that keep up. */
  flush(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    const count = this.pending.count;
    if (count === 0) return;
    const chunk = this.pending.finish();
    const first = this.pendingFirst;
    const end = first + count;
    this.ring.append(first, count, chunk);
    // Only subscribers with a filter, or that want part of the chunk, need its records back as objects.
    let batch: TraceRecord[] | null = null;
    // Subscribers with the same filter get the same bytes: encode once per filter.
    const byFilter = new Map<string, Uint8Array | null>();
    for (const c of this.cursors) {
      if (c.cancelled || c.at >= end || c.at < first || c.pendingDrop > 0) continue;
      if (!c.live || c.target.backlog() > this.backlogCap) continue; // falls behind; pump() serves it from the ring
      const stop = Math.min(end, c.until);
      let bytes: Uint8Array | null;
      if (c.at === first && stop === end && !c.filter) bytes = chunk;
      else if (c.at === first && stop === end && byFilter.has(c.key)) bytes = byFilter.get(c.key) as Uint8Array | null;
      else {
        batch ??= decodeChunk(chunk).records;
        const picked = batch.slice(c.at - first, stop - first).filter((r) => matches(r, c.filter));
        bytes = picked.length ? encodeChunk(picked) : null;
        if (c.at === first && stop === end) byFilter.set(c.key, bytes);
      }
      if (bytes) c.target.send(bytes);
      c.delivered += stop - c.at;
      c.at = stop;
      this.finishIfDone(c);
    }
    this.schedulePump();
  }

  subscribe(target: ChunkTarget, opts: SubscribeOptions = {}): Subscription {
    const filter = opts.filter && Object.keys(opts.filter).length ? opts.filter : null;
    let at = this.nextOrdinal;
    let missed = 0;
    if (opts.history) {
      const oldest = this.ring.start;
      const want = opts.fromSeq ?? oldest;
      at = Math.min(Math.max(want, oldest), this.nextOrdinal);
      // A reconnecting client asking for records the ring no longer has is told how many it missed.
      if (opts.fromSeq !== undefined && opts.fromSeq < oldest) missed = oldest - opts.fromSeq;
    }
    const c = new Cursor(this, target, filter, JSON.stringify(filter), at, !opts.history, opts.until ?? Infinity, opts.onDone);
    c.pendingDrop = missed;
    c.dropped = missed;
    this.counters.drops += missed;
    this.cursors.add(c);
    // Deliver on a later turn so the caller can answer the request before the first chunk.
    setImmediate(() => {
      this.pump(c);
      this.schedulePump();
    });
    return c;
  }

  /** Sends the newest `limit` records held (ring and pending batch) to `target`, then calls onDone. */
  snapshot(target: ChunkTarget, limit: number, onDone: () => void): Subscription {
    this.flush();
    const fromSeq = Math.max(this.ring.start, this.nextOrdinal - Math.max(0, limit));
    return this.subscribe(target, { history: true, fromSeq, until: this.nextOrdinal, onDone });
  }

  cancel(c: Subscription): void {
    const cur = c as Cursor;
    cur.cancelled = true;
    this.cursors.delete(cur);
  }

  /**
   * Moves a cursor past what it can no longer get (forgotten by the ring, or beyond maxLag behind) and
   * counts it as dropped now, whether or not its reader has room for the announcement: a stalled reader's
   * drops show in dropped_total as they happen, not in one jump when it reads again.
   */
  private skip(c: Cursor): void {
    let skipped = 0;
    if (c.at < this.ring.start) {
      skipped += this.ring.start - c.at;
      c.at = this.ring.start;
    }
    const head = this.ring.end;
    if (c.live && head - c.at > this.maxLag) {
      const to = head - Math.floor(this.maxLag / 2);
      skipped += to - c.at;
      c.at = to;
    }
    if (skipped === 0) return;
    c.pendingDrop += skipped;
    c.dropped += skipped;
    this.counters.drops += skipped;
  }

  /** Serves a cursor from the ring while its socket has room. */
  private pump(c: Cursor): void {
    // Missed history a subscriber asked for was counted when it subscribed (see subscribe).
    this.skip(c);
    while (!c.cancelled && c.target.backlog() <= this.backlogCap) {
      this.skip(c);
      const head = this.ring.end;
      if (c.pendingDrop > 0) {
        const d: DroppedRecord = { kind: 'dropped', count: c.pendingDrop, atNs: this.now() };
        c.pendingDrop = 0;
        c.target.send(encodeChunk([d]));
        continue;
      }
      const stop = Math.min(head, c.until);
      if (c.at >= stop) {
        c.live = true;
        break;
      }
      const seg = this.ring.locate(c.at);
      if (!seg) break;
      for (const [bytes, first] of chunksFrom(seg, c.at)) {
        if (c.at >= stop) break;
        const next = first + this.chunkCount(seg, first);
        const whole = c.at === first && next <= stop && !c.filter;
        if (whole) c.target.send(bytes);
        else {
          const { records } = decodeChunk(bytes);
          const picked = records.slice(c.at - first, Math.min(next, stop) - first).filter((r) => matches(r, c.filter));
          if (picked.length) c.target.send(encodeChunk(picked));
        }
        c.delivered += Math.min(next, stop) - c.at;
        c.at = Math.min(next, stop);
        if (c.target.backlog() > this.backlogCap) break;
      }
    }
    this.finishIfDone(c);
  }

  private chunkCount(seg: { chunkFirsts: number[]; first: number; count: number }, first: number): number {
    const i = seg.chunkFirsts.indexOf(first);
    const next = i + 1 < seg.chunkFirsts.length ? (seg.chunkFirsts[i + 1] as number) : seg.first + seg.count;
    return next - first;
  }

  private finishIfDone(c: Cursor): void {
    if (c.at >= c.until && !c.cancelled) {
      this.cancel(c);
      c.onDone?.();
    }
  }

  /** Cursors that lag (full socket, history) are retried every batch period until they catch up. */
  private schedulePump(): void {
    if (this.pumpTimer || this.closed) return;
    let lagging = false;
    for (const c of this.cursors) if (!c.live || c.at < this.ring.end || c.pendingDrop > 0) lagging = true;
    if (!lagging) return;
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = null;
      for (const c of [...this.cursors]) if (!c.live || c.at < this.ring.end || c.pendingDrop > 0) this.pump(c);
      this.schedulePump();
    }, this.batchMs).unref();
  }

  stats(): HubStats {
    const now = Date.now();
    const elapsed = now - this.rate.windowStart;
    if (elapsed >= 1000) {
      this.rate.perSec = (this.rate.windowCalls * 1000) / elapsed;
      this.rate.windowCalls = 0;
      this.rate.windowStart = now;
    }
    return {
      ...this.counters,
      callsPerSec: Math.round(this.rate.perSec),
      ringSize: this.ring.maxRecords,
      ringUsed: this.ring.records,
      ringBytes: this.ring.bytes,
      nextSeq: this.nextOrdinal,
      subscribers: this.cursors.size,
      tracing: this.enabled,
    };
  }

  close(): void {
    this.flush();
    this.closed = true;
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.pumpTimer = null;
    this.cursors.clear();
  }
}
