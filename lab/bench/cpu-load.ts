// `linsock bench --load N`: N CPU-bound processes of the bench's own that run while a path is measured, so
// that the figures show what a user who runs the bench beside real work will see. They are bounded three
// ways: the runner stops them when a path's measurement ends (and on failure or Ctrl-C, through its
// cleanups); each one exits by itself once its parent is gone (a SIGKILLed bench leaves none behind) and
// once its deadline has passed.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { RUN_ENV } from './workload-process';

/** More burners than this is no longer "a busy machine" but a benchmark of the scheduler. */
export const MAX_LOAD = 32;
/** Every burner's command line carries this word and its run's id, so that a leftover can be found. */
export const LOAD_MARK = 'linsock-load';

// Spins in slices of about a millisecond; between slices it checks that the parent that started it is
// still its parent and that its deadline has not passed. Arguments: parent pid, deadline (ms since epoch).
const BURNER = [
  'const parent = Number(process.argv[1]);',
  'const end = Number(process.argv[2]);',
  'let x = 1;',
  'for (;;) {',
  '  for (let i = 0; i < 500000; i++) x = (x * 1103515245 + 12345) | 0;',
  '  if (process.ppid !== parent || Date.now() > end) process.exit(0);',
  '}',
].join('\n');

export class CpuLoad {
  private readonly burners: ChildProcess[] = [];

  private constructor(readonly count: number) {}

  /** Starts `count` burners that live at most `maxSeconds`; resolves once all of them run. */
  static async start(count: number, maxSeconds: number, runId: string): Promise<CpuLoad> {
    if (!(Number.isSafeInteger(count) && count >= 0 && count <= MAX_LOAD)) throw new Error(`load must be 0..${MAX_LOAD} processes, got ${count}`);
    if (!(maxSeconds > 0)) throw new Error(`a load's lifetime must be positive, got ${maxSeconds} s`);
    const load = new CpuLoad(count);
    const deadline = Date.now() + maxSeconds * 1000;
    try {
      for (let i = 0; i < count; i++) {
        const child = spawn(process.execPath, ['-e', BURNER, String(process.pid), String(deadline), LOAD_MARK, runId], { stdio: 'ignore', env: { ...process.env, [RUN_ENV]: runId } });
        load.burners.push(child);
        await new Promise<void>((resolve, reject) => {
          child.once('spawn', resolve);
          child.once('error', reject);
        });
      }
    } catch (e) {
      await load.stop();
      throw new Error(`could not start the CPU load: ${(e as Error).message}`);
    }
    return load;
  }

  /** The burners' pids (those still running). */
  get pids(): number[] {
    return this.burners.filter((c) => c.exitCode === null && c.signalCode === null && c.pid !== undefined).map((c) => c.pid as number);
  }

  /** Kills every burner and waits until each has exited. */
  async stop(): Promise<void> {
    await Promise.all(this.burners.map((c) => {
      if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return Promise.resolve();
      return new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGKILL');
      });
    }));
  }
}

/** The pids of the burners of run `runId` still running on this machine (none once a run has ended). */
export function runningBurners(runId: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv.includes(LOAD_MARK) && argv.includes(runId)) found.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
