// Which run (or recording) each call of the store belongs to, and what is known of each run: its RunInfo
// record and the bench report the host sent for it. The store keeps no run per call, so this index keeps
// one u16 per slot beside it, fed by the ingest and following the store's drops past its record limit.

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
  readonly runs: RunEntry[] = [];
  private readonly byId = new Map<string, RunEntry>();
  /** Run index per store slot, for slots [0, length). */
  runOf = new Uint16Array(1024);
  length = 0;
  /** The store's droppedByLimit this index has followed. */
  private dropped = 0;
  private readonly pendingReports = new Map<string, BenchReport>();
  /** The last call's run: consecutive calls mostly share one. */
  private lastId = '';
  private lastIndex = -1;
  /** Bumps when a run, its info or its report is added. */
  version = 0;

  constructor(private readonly store: CallStore) {}

  /** The entry of run `id`, made when first seen. */
  entry(id: string): RunEntry {
    let e = this.byId.get(id);
    if (!e) {
      if (this.runs.length >= MAX_RUNS) return this.runs[this.runs.length - 1]!;
      e = { id, info: null, report: this.pendingReports.get(id) ?? null, index: this.runs.length };
      this.pendingReports.delete(id);
      this.runs.push(e);
      this.byId.set(id, e);
      this.version++;
    }
    return e;
  }

  get(id: string): RunEntry | undefined {
    return this.byId.get(id);
  }

  /** The call just appended at `slot` (the slot after any drop it caused) belongs to run `id`. */
  noteCall(slot: number, id: string): void {
    if (slot < 0) return;
    const st = this.store;
    if (st.count === 1 && this.length > 0) {
      // a first call while the index holds calls: the store started over (cleared); runs' facts stay
      this.length = 0;
      this.dropped = 0;
    }
    const d = st.droppedByLimit - this.dropped;
    if (d > 0) {
      this.runOf.copyWithin(0, Math.min(d, this.length), this.length);
      this.length = Math.max(0, this.length - d);
    }
    this.dropped = st.droppedByLimit;
    this.runOf = ensureCapacity(this.runOf, slot + 1);
    if (id !== this.lastId || this.lastIndex < 0) {
      this.lastId = id;
      const e = this.entry(id);
      this.lastIndex = e.index;
      if (!this.cached?.includes(e)) this.version++; // a run's first call: the list of runs with calls grows
    }
    this.runOf[slot] = this.lastIndex;
    this.length = slot + 1;
  }

  noteRun(info: RunInfo): void {
    this.entry(info.id).info = info;
    this.version++;
  }

  /** A bench report for run `id`: kept until the run's calls arrive when they have not yet. */
  noteReport(id: string, report: BenchReport): void {
    // A run that made no call records (report.untraced) has its figures only: it is a run all the same.
    const e = report.untraced !== undefined ? this.entry(id) : this.byId.get(id);
    if (e) e.report = report;
    else {
      this.pendingReports.set(id, report);
      if (this.pendingReports.size > MAX_PENDING_REPORTS) this.pendingReports.delete(this.pendingReports.keys().next().value as string);
    }
    this.version++;
  }

  /** Runs that have calls in the store (a RunInfo alone, without calls, has nothing to compare), and runs whose report says they could not have any. */
  withCalls(): RunEntry[] {
    const key = `${this.version}/${this.dropped}/${this.length === 0}`;
    if (this.cached && key === this.cachedFor) return this.cached;
    const seen = new Uint8Array(this.runs.length);
    for (let s = 0; s < this.length; s++) seen[this.runOf[s]!] = 1;
    this.cachedFor = key;
    return (this.cached = this.runs.filter((r) => seen[r.index] === 1 || r.report?.untraced !== undefined));
  }
  private cached: RunEntry[] | null = null;
  private cachedFor = '';

  reset(): void {
    this.runs.length = 0;
    this.byId.clear();
    this.pendingReports.clear();
    this.lastIndex = -1;
    this.length = 0;
    this.dropped = 0;
    this.version++;
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
