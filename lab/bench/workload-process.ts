// The runner's helper processes: a workload (`linsock _workload`) or a bench server (`linsock _server`),
// on the host or inside a guest namespace of the run, with the workload's call log on fd 3 when it
// records its calls. Every child is stopped when its step ends or the run is cancelled.

import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Guest, LabRun } from '../netns';
import type { BenchServerPorts } from './server';
import type { CallIntake } from './recording';
import { firstJsonLine, linsockArgv } from './linsock-process';
import type { WorkerSpec } from './worker';
import type { WorkloadResult } from './workload-result';

export interface Where {
  run: LabRun;
  guest: Guest;
}

/** Every helper process carries its run's id in this variable, so that a leftover can be found and named. */
export const RUN_ENV = 'LINSOCK_BENCH_RUN';

function launch(args: string[], where: Where | null, stdio: StdioOptions, runId: string): ChildProcess {
  const [cmd, ...rest] = linsockArgv();
  const env = { ...process.env, [RUN_ENV]: runId };
  if (where) return where.run.spawn(where.guest, cmd as string, [...rest, ...args], { stdio, env });
  return spawn(cmd as string, [...rest, ...args], { stdio, env });
}

export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.stdin?.end();
    child.kill('SIGTERM');
  });
}

/** Kills `child` when `signal` aborts; returns the function that stops watching. */
function onAbort(signal: AbortSignal | undefined, child: ChildProcess): () => void {
  if (!signal) return () => undefined;
  const kill = (): void => void child.kill('SIGKILL');
  if (signal.aborted) kill();
  signal.addEventListener('abort', kill, { once: true });
  return () => signal.removeEventListener('abort', kill);
}

export async function runWorkloadProcess(runId: string, spec: WorkerSpec, where: Where | null, intake: CallIntake | null, signal?: AbortSignal): Promise<WorkloadResult> {
  const child = launch(['_workload', JSON.stringify(spec)], where, intake ? ['ignore', 'pipe', 'inherit', 'pipe'] : ['ignore', 'pipe', 'inherit'], runId);
  const unwatch = onAbort(signal, child);
  const label = spec.label ?? spec.path;
  const log = intake ? intake.read(child.stdio[3] as Readable) : Promise.resolve();
  log.catch(() => undefined);
  try {
    const out = await firstJsonLine<WorkloadResult | { error: string }>(child, `the ${label} workload process`, (spec.target.seconds + 60) * 1000);
    if ('error' in out) {
      const hint = /EACCES/.test(out.error) ? ` (the daemon's policy must allow ${spec.target.host}:${spec.target.port}; with --daemon, allow the bench server's address in its --config)` : '';
      throw new Error(`${spec.workload} on ${label} failed: ${out.error}${hint}`);
    }
    try {
      await log;
    } catch (e) {
      out.notes.push(`its call records were cut short: ${(e as Error).message}`);
    }
    return out;
  } finally {
    unwatch();
    await stop(child);
  }
}

export interface ServerProcess {
  child: ChildProcess;
  ports: BenchServerPorts & { hosts: BenchServerPorts[] };
}

/** A bench server serving on `hosts` (through linsockd when `channel` is given); stopped at `stop(child)`. */
export async function startServerProcess(runId: string, hosts: string[], where: Where | null, channel?: { path: string; guest: string }): Promise<ServerProcess> {
  const args = ['_server', ...(channel ? ['--channel', channel.path, '--guest', channel.guest] : []), ...hosts];
  const child = launch(args, where, ['pipe', 'pipe', 'inherit'], runId);
  try {
    const ports = await firstJsonLine<ServerProcess['ports']>(child, `the bench server on ${hosts.join(', ')}`, 10_000);
    return { child, ports };
  } catch (e) {
    await stop(child);
    throw e;
  }
}
