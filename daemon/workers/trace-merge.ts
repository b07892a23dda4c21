// The main process's merge of its workers' call records into one stream for the trace hub, in order of
// time. Each worker sends its records in the order it published them; batches of different workers cross
// in the IPC channels. Records wait here HOLD_MS after they arrive, in a heap by their start (the host's
// CLOCK_MONOTONIC, one clock for every process of the host), and leave oldest first: within that window
// the workers' records come out interleaved by time. A record that arrives after newer ones already left
// (a call that stayed open longer than the window) is published at once and counted as late: out of
// order, never lost. The heap is bounded: past MAX_HELD the oldest leave early. A worker's dropped count
// becomes one DroppedRecord in the stream (the hub counts it in its drops).
import type { TraceRecord } from '../../protocol';
import type { TraceSink } from '../trace/trace-sink';

const HOLD_MS = 10;
const MAX_HELD = 65_536;

interface Held {
  key: number;
  /** Arrival order, so that equal keys keep it. */
  n: number;
  record: TraceRecord;
}

const nowNs = (): number => Number(process.hrtime.bigint());

function keyOf(r: TraceRecord, arrival: number): number {
  if (r.kind === 'call') return r.stages[0]?.start ?? arrival;
  return arrival;
}

const before = (a: Held, b: Held): boolean => a.key < b.key || (a.key === b.key && a.n < b.n);

export class TraceMerge {
  private readonly heap: Held[] = [];
  private n = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The key of the newest record released; older arrivals are late. */
  private watermark = -Infinity;
  /** Records published after newer ones (see above). */
  late = 0;
  /** Records the workers dropped and reported. */
  dropped = 0;

  constructor(private readonly sink: TraceSink, private readonly holdMs = HOLD_MS) {}

  add(records: TraceRecord[], dropped: number): void {
    const arrival = nowNs();
    if (dropped > 0) {
      this.dropped += dropped;
      this.sink.publish({ kind: 'dropped', count: dropped, atNs: arrival });
    }
    for (const record of records) {
      const key = keyOf(record, arrival);
      if (key < this.watermark) {
        this.late++;
        this.sink.publish(record);
        continue;
      }
      this.push({ key, n: this.n++, record });
      if (this.heap.length > MAX_HELD) this.release(this.pop() as Held);
    }
    if (this.heap.length > 0) this.timer ??= setTimeout(() => this.drain(false), this.holdMs).unref();
  }

  /** Releases what has waited its window (everything when `all`). */
  drain(all: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const cutoff = all ? Infinity : nowNs() - this.holdMs * 1e6;
    while (this.heap.length > 0 && (this.heap[0] as Held).key <= cutoff) this.release(this.pop() as Held);
    if (this.heap.length > 0) this.timer = setTimeout(() => this.drain(false), this.holdMs).unref();
  }

  get held(): number {
    return this.heap.length;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.drain(true);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private release(h: Held): void {
    if (h.key > this.watermark) this.watermark = h.key;
    this.sink.publish(h.record);
  }

  private push(h: Held): void {
    const a = this.heap;
    a.push(h);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i] as Held, a[p] as Held)) break;
      [a[i], a[p]] = [a[p] as Held, a[i] as Held];
      i = p;
    }
  }

  private pop(): Held | undefined {
    const a = this.heap;
    const top = a[0];
    const last = a.pop() as Held;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l] as Held, a[m] as Held)) m = l;
        if (r < a.length && before(a[r] as Held, a[m] as Held)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as Held, a[i] as Held];
        i = m;
      }
    }
    return top;
  }
}
