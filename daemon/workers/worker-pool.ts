// linsockd's worker processes, seen from the main process: forks them (child_process, not worker_threads:
// a guest's channel must move to the loop that serves it, and Node passes an accepted socket to a child
// process as a handle, `child.send(msg, socket)`, while a worker thread cannot take a net.Socket; a process
// also isolates: a worker that crashes takes only its own guests with it). Hands each a guest connection
// (to the worker with fewest guests), routes what workers send back, and replaces a worker that dies: its
// guests' channels die with it (the kernel closes them, so each guest sees its channel close at once),
// their names are released, the death is logged, and every other guest keeps being served.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { Logger } from '../log';
import type { FromWorker, GuestHandoff, ToWorker, WorkerInit, WorkerReport } from './messages';

/** A worker that dies this soon after starting is not replaced at once (a crash loop would spin). */
const EARLY_DEATH_MS = 2000;
const RESPAWN_DELAY_MS = 200;
const RESPAWN_BACKOFF_MS = 2000;
/** How long stop() waits for workers to say goodbye to their guests before it kills them. */
const STOP_WAIT_MS = 1000;

/** The worker's script: the bundle beside this one (dist/), or the source run through tsx (tests, dev). */
function workerEntry(): { script: string; execArgv: string[] } {
  const bundled = join(__dirname, 'linsockd-worker.js');
  if (existsSync(bundled)) return { script: bundled, execArgv: [] };
  const source = join(__dirname, 'worker-main.ts');
  if (existsSync(source)) {
    // Keep the loader (tsx) flags of this process, not its test-runner ones.
    const execArgv = process.execArgv.filter((a, i, all) => !a.startsWith('--test') && !(all[i - 1] ?? '').startsWith('--test-'));
    return { script: source, execArgv };
  }
  throw new Error(`linsockd workers: no worker script beside ${__dirname} (run npm run build)`);
}

export interface WorkerSlot {
  readonly id: number;
  child: ChildProcess;
  startedAt: number;
  ready: boolean;
  /** Guest names this worker holds (granted by the main process). */
  readonly names: Set<string>;
  /** Connections handed over and not yet reported back as named or gone. */
  handing: number;
  /** Guests it was ever handed (for the log and tests: both workers served). */
  served: number;
  report: WorkerReport | null;
  /** Settles when the worker says it is ready, or exits before. */
  whenReady: Promise<void>;
}

export interface PoolEvents {
  /** A guest name the worker held is free again. */
  released(name: string): void;
  trace(from: WorkerSlot, m: Extract<FromWorker, { type: 'trace' }>): void;
  /** A worker's figures after one of its guests left (its last records came just before). */
  guestLeft(): void;
  /** The final report of a worker that died or stopped, so that its counters stay in the totals. */
  retired(last: WorkerReport | null): void;
}

export class WorkerPool {
  readonly slots: WorkerSlot[] = [];
  private stopping = false;
  private readonly entry = workerEntry();

  constructor(
    count: number,
    private readonly init: (id: number) => WorkerInit,
    private readonly log: Logger,
    private readonly events: PoolEvents,
  ) {
    for (let id = 0; id < count; id++) this.slots.push(this.spawn(id));
  }

  /** Resolves once every worker said it is ready; rejects if one dies first. */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.whenReady));
  }

  private spawn(id: number): WorkerSlot {
    const child = fork(this.entry.script, [], {
      execArgv: this.entry.execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    let readyNow = (): void => undefined;
    const whenReady = new Promise<void>((resolve, reject) => {
      readyNow = resolve;
      child.once('exit', (code, signal) => reject(new Error(`linsockd worker ${id} exited (${signal ?? code}) before it was ready`)));
    });
    whenReady.catch(() => undefined); // a replacement nobody awaits
    const slot: WorkerSlot = { id, child, startedAt: Date.now(), ready: false, names: new Set(), handing: 0, served: 0, report: null, whenReady };
    child.on('message', (m: FromWorker) => {
      if (m.type === 'ready') readyNow();
    });
    child.on('message', (m: FromWorker) => this.onMessage(slot, m));
    child.on('error', (e) => this.log.error('linsockd worker error', { worker: id, pid: child.pid, error: e.message }));
    child.once('exit', (code, signal) => this.onExit(slot, code, signal));
    child.send(this.init(id));
    this.log.info('worker started', { worker: id, pid: child.pid });
    return slot;
  }

  private onMessage(slot: WorkerSlot, m: FromWorker): void {
    switch (m.type) {
      case 'ready':
        slot.ready = true;
        return;
      case 'released':
        if (slot.names.delete(m.name)) this.events.released(m.name);
        return;
      case 'report':
        if (m.guestLeft) this.events.guestLeft();
        slot.report = m;
        return;
      case 'trace':
        return this.events.trace(slot, m);
      case 'log':
        return this.log[m.level](m.msg, { ...m.fields, worker: slot.id });
    }
  }

  private onExit(slot: WorkerSlot, code: number | null, signal: NodeJS.Signals | null): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    for (const name of slot.names) this.events.released(name);
    this.events.retired(slot.report);
    if (this.stopping) return;
    this.log.error('worker died: its guests lost their channel', { worker: slot.id, pid: slot.child.pid, code, signal, guests: [...slot.names] });
    slot.names.clear();
    const early = Date.now() - slot.startedAt < EARLY_DEATH_MS;
    setTimeout(() => {
      if (this.stopping) return;
      this.slots.push(this.spawn(slot.id));
      this.slots.sort((a, b) => a.id - b.id);
    }, early ? RESPAWN_BACKOFF_MS : RESPAWN_DELAY_MS).unref();
  }

  /** The worker that takes the next guest: the ready one with fewest guests (lowest number on a tie). */
  pick(): WorkerSlot | null {
    let best: WorkerSlot | null = null;
    for (const s of this.slots) {
      if (!s.ready || !s.child.connected) continue;
      if (!best || s.names.size + s.handing < best.names.size + best.handing) best = s;
    }
    return best;
  }

  /** Hands `socket` to `slot`; the main process's copy of the descriptor is closed once it is sent. */
  hand(slot: WorkerSlot, m: GuestHandoff, socket: Socket, done: (err: Error | null) => void): void {
    if (m.verdict === null && m.name !== undefined) slot.names.add(m.name);
    slot.handing++;
    slot.served++;
    slot.child.send(m, socket, {}, (err) => {
      slot.handing--;
      if (err && m.verdict === null && m.name !== undefined && slot.names.delete(m.name)) this.events.released(m.name);
      done(err ?? null);
    });
  }

  broadcast(m: ToWorker): void {
    for (const s of this.slots) if (s.child.connected) s.child.send(m);
  }

  pids(): number[] {
    return this.slots.map((s) => s.child.pid).filter((p): p is number => p !== undefined);
  }

  /** Asks every worker to say goodbye to its guests and exit; kills those that have not after STOP_WAIT_MS. */
  async stop(): Promise<void> {
    this.stopping = true;
    const alive = this.slots.filter((s) => s.child.exitCode === null && s.child.signalCode === null);
    await Promise.all(alive.map((s) => new Promise<void>((resolve) => {
      s.child.once('exit', () => resolve());
      if (s.child.connected) s.child.send({ type: 'stop' });
      const kill = setTimeout(() => s.child.kill('SIGKILL'), STOP_WAIT_MS);
      s.child.once('exit', () => clearTimeout(kill));
    })));
  }
}
