// Which run (or recording) each call of the store belongs to, and what is known of each run: its RunInfo
// record and the bench report the host sent for it. The store keeps each call's run as its interned
// name; this index numbers runs in order of first appearance and keeps one u16 per slot of that number,
// brought up to date from the store's run column when read (not per call: the ingest of a million calls
// pays nothing for it), following the store's drops past its record limit.

import type { RunInfo } from '../protocol/trace';
import type { BenchReport } from '../protocol/trace-stream';
import type { CallStore } from './call-store';
import { ensureCapacity } from './growable';

/** Distinct run ids held at most; calls of later ones share the last entry. */
const MAX_RUNS = 4096;
/** Reports kept that name a run not (yet) in the records. */
const MAX_PENDING_REPORTS = 64;

export interface RunEntry {
  /** The calls' run id ('' for calls recorded outside any run). */
  readonly id: string;
  info: RunInfo | null;
  report: BenchReport | null;
  /** Order of first appearance: later runs have higher numbers. */
  readonly index: number;
}

export class RunIndex {
  private readonly entries: RunEntry[] = [];
  private readonly byId = new Map<string, RunEntry>();
  /** Run entry index per store slot, for slots [0, length). */
  private runOfSlot = new Uint16Array(1024);
  /** Slots numbered so far. */
  private synced = 0;
  /** The store's droppedByLimit this index has followed. */
  private dropped = 0;
  private readonly pendingReports = new Map<string, BenchReport>();
  /** Entry index by the store's interned run index (-1: not looked up yet). */
  private entryOfRun = new Int32Array(16).fill(-1);
  /** The store's interned runs these indexes belong to: a cleared store has new ones. */
  private runsOf: CallStore['runs'] | null = null;
  /** Bumps when a run, its info or its report is added. */
  private changes = 0;

  constructor(private readonly store: CallStore) {}

  /** Every run known, in order of first appearance. */
  get runs(): readonly RunEntry[] {
    this.sync();
    return this.entries;
  }

  /** Run index (RunEntry.index) per store slot. */
  get runOf(): Uint16Array {
    this.sync();
    return this.runOfSlot;
  }

  /** Slots numbered (the store's count). */
  get length(): number {
    this.sync();
    return this.synced;
  }

  get version(): number {
    this.sync();
    return this.changes;
  }

  /** The entry of run `id`, made when first seen. */
  entry(id: string): RunEntry {
    this.sync();
    return this.entryFor(id);
  }

  private entryFor(id: string): RunEntry {
    let e = this.byId.get(id);
    if (!e) {
      if (this.entries.length >= MAX_RUNS) return this.entries[this.entries.length - 1]!;
      e = { id, info: null, report: this.pendingReports.get(id) ?? null, index: this.entries.length };
      this.pendingReports.delete(id);
      this.entries.push(e);
      this.byId.set(id, e);
      this.changes++;
    }
    return e;
  }

  get(id: string): RunEntry | undefined {
    this.sync();
    return this.byId.get(id);
  }

  /**
   * Numbers the calls appended since the last look (in slot order, so runs are numbered as their first
   * calls arrived), after shifting out those the store dropped.
   */
  private sync(): void {
    const st = this.store;
    if (st.runs !== this.runsOf) {
      // a new or cleared store: its calls start over (the runs' facts stay)
      this.runsOf = st.runs;
      this.entryOfRun.fill(-1);
      this.synced = 0;
      this.dropped = 0;
    }
    const d = st.droppedByLimit - this.dropped;
    if (d > 0) {
      this.runOfSlot.copyWithin(0, Math.min(d, this.synced), this.synced);
      this.synced = Math.max(0, this.synced - d);
    }
    this.dropped = st.droppedByLimit;
    const n = st.count;
    if (n <= this.synced) return;
    if (n > this.runOfSlot.length) this.runOfSlot = ensureCapacity(this.runOfSlot, n);
    const runOf = this.runOfSlot;
    const runs = st.run;
    let lastRun = -1;
    let lastEntry = 0;
    for (let s = this.synced; s < n; s++) {
      const r = runs[s]!;
      if (r !== lastRun) {
        lastRun = r;
        lastEntry = this.entryOfStoreRun(r);
      }
      runOf[s] = lastEntry;
    }
    this.synced = n;
  }

  /** The entry index of the store's interned run `r`; a run's first call may grow the list of runs with calls. */
  private entryOfStoreRun(r: number): number {
    if (r >= this.entryOfRun.length) {
      const grown = new Int32Array(Math.max(r + 1, this.entryOfRun.length * 2)).fill(-1);
      grown.set(this.entryOfRun);
      this.entryOfRun = grown;
    }
    let i = this.entryOfRun[r]!;
    if (i < 0) {
      const e = this.entryFor(this.store.runs.values[r] ?? '');
      i = this.entryOfRun[r] = e.index;
      if (!this.cached?.includes(e)) this.changes++;
    }
    return i;
  }

  noteRun(info: RunInfo): void {
    this.entry(info.id).info = info;
    this.changes++;
  }

  /** A bench report for run `id`: kept until the run's calls arrive when they have not yet. */
  noteReport(id: string, report: BenchReport): void {
    this.sync();
    // A run that made no call records (report.untraced) has its figures only: it is a run all the same.
    const e = report.untraced !== undefined ? this.entryFor(id) : this.byId.get(id);
    if (e) e.report = report;
    else {
      this.pendingReports.set(id, report);
      if (this.pendingReports.size > MAX_PENDING_REPORTS) this.pendingReports.delete(this.pendingReports.keys().next().value as string);
    }
    this.changes++;
  }

  /** Runs that have calls in the store (a RunInfo alone, without calls, has nothing to compare), and runs whose report says they could not have any. */
  withCalls(): RunEntry[] {
    this.sync();
    const key = `${this.changes}/${this.dropped}/${this.synced === 0}`;
    if (this.cached && key === this.cachedFor) return this.cached;
    const seen = new Uint8Array(this.entries.length);
    for (let s = 0; s < this.synced; s++) seen[this.runOfSlot[s]!] = 1;
    this.cachedFor = key;
    return (this.cached = this.entries.filter((r) => seen[r.index] === 1 || r.report?.untraced !== undefined));
  }
  private cached: RunEntry[] | null = null;
  private cachedFor = '';

  reset(): void {
    this.entries.length = 0;
    this.byId.clear();
    this.pendingReports.clear();
    this.entryOfRun.fill(-1);
    this.synced = 0;
    this.dropped = this.store.droppedByLimit;
    this.runsOf = this.store.runs;
    this.changes++;
  }
}

/** A human name for a run: its workload and paths, or what its calls are when there is no RunInfo. */
export function runLabel(r: RunEntry): string {
  const i = r.info;
  if (i) return `${i.workload} · ${i.paths.join(' vs ')}${i.host.mode ? ` (${i.host.mode})` : ''} · ${shortId(i.id)}`;
  if (r.report) return [r.report.workload, r.report.results.map((x) => x.path).join(' vs '), shortId(r.id)].filter(Boolean).join(' · ');
  return r.id === '' ? 'calls outside any run' : `recording ${shortId(r.id)}`;
}

function shortId(id: string): string {
  return id.length > 12 ? id.slice(0, 8) : id;
}

const indexes = new WeakMap<CallStore, RunIndex>();

/** The one run index of a store. */
export function runIndexOf(store: CallStore): RunIndex {
  let i = indexes.get(store);
  if (!i) indexes.set(store, (i = new RunIndex(store)));
  return i;
}
