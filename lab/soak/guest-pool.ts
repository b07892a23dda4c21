// The soak's guests: child processes running guest-worker.ts, killed at random (SIGKILL: no goodbye, the
// daemon must clean up after them) and replaced, up to a bound on how many are ever started. Counters of
// every guest, dead or alive, add up (a killed guest keeps the counts of its last report).

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { zeroCounters, type WorkerCounters } from './counters';

export interface PoolOptions {
  guests: number;
  /** The most guests started over the whole run (the first ones included). */
  maxStarts: number;
  env: Record<string, string>;
}

interface Guest {
  proc: ChildProcess;
  last: WorkerCounters;
  alive: boolean;
}

export class GuestPool {
  started = 0;
  killed = 0;
  /** Guests that exited on their own (a crash of the workload, not a kill). */
  crashed = 0;
  private readonly all: Guest[] = [];
  private stopping = false;

  constructor(private readonly o: PoolOptions) {}

  start(): void {
    for (let i = 0; i < this.o.guests; i++) this.spawnOne();
  }

  /** Kills one live guest at random and starts another in its place (while starts remain). */
  killOne(): void {
    const live = this.all.filter((g) => g.alive);
    const g = live[Math.floor(Math.random() * live.length)];
    if (!g) return;
    g.proc.kill('SIGKILL');
    this.killed++;
    if (this.started < this.o.maxStarts) this.spawnOne();
  }

  get live(): number {
    return this.all.filter((g) => g.alive).length;
  }

  totals(): WorkerCounters {
    const t = zeroCounters();
    for (const g of this.all) {
      t.calls += g.last.calls;
      t.verified += g.last.verified;
      t.verifiedBytes += g.last.verifiedBytes;
      t.corrupt += g.last.corrupt;
      t.failures += g.last.failures;
      t.udpLost += g.last.udpLost;
      t.lastError = g.last.lastError ?? t.lastError;
      t.lastCorrupt = g.last.lastCorrupt ?? t.lastCorrupt;
    }
    return t;
  }

  /** Asks every guest to stop (it prints its final counters), SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    const live = this.all.filter((g) => g.alive);
    await Promise.all(live.map((g) => new Promise<void>((resolve) => {
      const t = setTimeout(() => g.proc.kill('SIGKILL'), graceMs);
      g.proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      g.proc.kill('SIGTERM');
    })));
  }

  private spawnOne(): void {
    this.started++;
    const proc = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'guest-worker.ts')], {
      env: { ...process.env, ...this.o.env },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const g: Guest = { proc, last: zeroCounters(), alive: true };
    this.all.push(g);
    let buf = '';
    proc.stdout?.on('data', (d: Buffer) => {
      buf += String(d);
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      const line = lines.pop();
      if (line) g.last = JSON.parse(line) as WorkerCounters;
      if (buf.length > 1 << 16) buf = '';
    });
    proc.once('exit', (code, signal) => {
      g.alive = false;
      if (signal !== 'SIGKILL' && !this.stopping && code !== 0) this.crashed++;
    });
  }
}
