// `linsock run`: one unmodified program on a chosen path. Delegated: a fresh network namespace with only
// `lo`, the interposer preloaded and pointed at a daemon's guest socket (an in-process daemon unless one is
// given); emulated: a fresh namespace whose NIC is a TAP behind this process's device model (the program's
// own kernel stack; the host is the TAP's address, given in LINSOCK_HOST_ADDRESS); direct: the program on
// the host as it is. Stdio is the program's; its exit code (or 128 + signal)
// is ours; SIGINT/SIGTERM/SIGHUP are passed on; the namespace and daemon go when it ends.
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type PolicyConfig, type RunningDaemon } from '../../daemon';
import { emulatedPathSupport, startEmulatedPath, type NicMode } from '../emulated';
import { LabRun } from '../netns';
import { linkingOf, whichProgram } from './elf';
import { findPreload, PRELOAD_MISSING } from '../../native/interposer/preload';
import { startRunTrace, type RunTrace } from './run-trace';

export type RunPath = 'delegated' | 'emulated' | 'direct';
export const RUN_PATHS: readonly RunPath[] = ['delegated', 'emulated', 'direct'];

export interface RunOptions {
  path: RunPath;
  /** A running linsockd's guest socket; absent: an in-process daemon for this run. */
  daemon?: string;
  /** The emulated path's NIC model (default virtio, as bench's). */
  mode?: NicMode;
  command: string;
  args: string[];
  /** The program's stdio (default: ours); with pipes, `onSpawn` gets the child to read them. */
  stdio?: StdioOptions;
  onSpawn?: (child: ChildProcess) => void;
  /**
   * Per-call trace records to this .lstrace file: the interposer's timed kernel calls on the direct and
   * emulated paths (trace-only mode), the daemon's joined guest and host stages on the delegated path.
   */
  traceFile?: string;
  /** Delegated with `daemon`: the interposer sends its stage stamps, so that daemon's trace hub records the calls. */
  trace?: boolean;
  /**
   * Emulated: called with the host's address on the guest's TAP once it exists, and awaited before the
   * program starts (a host server for the guest listens there, not on every address).
   */
  onHostAddress?: (address: string) => Promise<void>;
}

/**
 * The in-process daemon's policy: the host's 127.0.0.1 is reachable over TCP and UDP, and the program may
 * serve on it at unprivileged ports (`iperf3 -s` in the guest, reached from the host); the defaults keep both closed.
 */
export const RUN_POLICY: PolicyConfig = {
  rules: [
    { action: 'allow', ops: ['connect', 'sendto'], cidr: '127.0.0.1' },
    { action: 'allow', ops: ['bind', 'listen'], cidr: '127.0.0.1', ports: 0 },
    { action: 'allow', ops: ['bind', 'listen'], cidr: '127.0.0.1', ports: '1024-65535' },
  ],
};

const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Why `command` cannot run delegated, or null. */
export function delegationProblem(command: string): string | null {
  const file = whichProgram(command);
  if (!file) return `${command}: command not found`;
  if (linkingOf(file) === 'static')
    return `${file} is statically linked: the interposer (LD_PRELOAD) cannot reach its socket calls, so it cannot run delegated (use --path direct)`;
  return null;
}

/** Waits for the child and forwards signals to it; resolves with the exit code to report. */
function supervise(child: ChildProcess): Promise<number> {
  const handlers = FORWARDED.map((sig) => {
    const h = (): void => {
      if (child.pid !== undefined) child.kill(sig);
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return new Promise<number>((resolve) => {
    child.once('error', (err) => {
      console.error(`linsock run: ${err.message}`);
      resolve(127);
    });
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)));
  }).finally(() => {
    for (const [sig, h] of handlers) process.off(sig, h);
  });
}

/** Hands the child to `onSpawn` (pipes are read from the start) before supervising it. */
function started(o: RunOptions, child: ChildProcess): Promise<number> {
  o.onSpawn?.(child);
  return supervise(child);
}

/** The interposer's environment for trace-only mode (direct, emulated), or null when it cannot be loaded. */
function traceOnlyEnv(trace: RunTrace): NodeJS.ProcessEnv | null {
  const preload = findPreload();
  if (!preload) {
    console.error(`linsock run: ${PRELOAD_MISSING}`);
    return null;
  }
  const preloads = [preload, process.env.LD_PRELOAD].filter(Boolean).join(':');
  const env: NodeJS.ProcessEnv = { ...process.env, LD_PRELOAD: preloads, LINSOCK_TRACE_SOCKET: trace.socketPath };
  delete env.LINSOCK_GUEST_SOCKET; // trace-only: the calls go to the kernel
  return env;
}

/** A program the interposer cannot reach is traced by nothing: one line says so, before it runs. */
function tracingProblem(o: RunOptions): string | null {
  const problem = delegationProblem(o.command);
  return problem && problem.includes('statically linked') ? problem.replace('it cannot run delegated (use --path direct)', 'its calls cannot be traced (run it without --trace-file)') : problem;
}

/** The program on the host; with a trace file, under the interposer in trace-only mode. */
async function runDirect(o: RunOptions): Promise<number> {
  const stdio = o.stdio ?? 'inherit';
  if (!o.traceFile) return started(o, spawn(o.command, o.args, { stdio }));
  const problem = tracingProblem(o);
  if (problem) {
    console.error(`linsock run: ${problem}`);
    return 1;
  }
  const trace = await startRunTrace(o, null);
  if (!trace) return 1;
  try {
    const env = traceOnlyEnv(trace);
    if (!env) return 1;
    return await started(o, spawn(o.command, o.args, { stdio, env }));
  } finally {
    await trace.close();
  }
}

/** The program in a namespace of its own behind the device model; with a trace file, its calls timed and the device model's frames recorded. */
async function runEmulated(o: RunOptions): Promise<number> {
  const support = await emulatedPathSupport();
  if (!support.ok) {
    console.error(`linsock run: ${support.reason}`);
    return 1;
  }
  if (!whichProgram(o.command)) {
    console.error(`linsock run: ${o.command}: command not found`);
    return 127;
  }
  const problem = o.traceFile ? tracingProblem(o) : null;
  if (problem) {
    console.error(`linsock run: ${problem}`);
    return 1;
  }
  const mode = o.mode ?? 'virtio';
  const trace = o.traceFile ? await startRunTrace(o, mode) : null;
  if (o.traceFile && !trace) return 1;
  const lab = await LabRun.create({ prefix: 'run', handleSignals: false });
  try {
    const path = await startEmulatedPath(lab, { mode, role: 'app', sink: trace?.sink ?? null, runId: trace?.runId });
    console.error(`linsock run: emulated guest ${path.guestAddress} (${mode}); the host is ${path.hostAddress} (LINSOCK_HOST_ADDRESS)`);
    await o.onHostAddress?.(path.hostAddress);
    const base = trace ? traceOnlyEnv(trace) : { ...process.env };
    if (!base) return 1;
    const env = { ...base, LINSOCK_HOST_ADDRESS: path.hostAddress, LINSOCK_GUEST_ADDRESS: path.guestAddress };
    return await started(o, lab.spawn(path.guest, o.command, o.args, { stdio: o.stdio ?? 'inherit', env }));
  } finally {
    await lab.teardown().catch((e: Error) => console.error(`linsock run: ${e.message}`));
    await trace?.close();
  }
}

export async function runProgram(o: RunOptions): Promise<number> {
  const stdio = o.stdio ?? 'inherit';
  if (o.path === 'direct') return runDirect(o);
  if (o.path === 'emulated') return runEmulated(o);
  const problem = delegationProblem(o.command);
  if (problem) {
    console.error(`linsock run: ${problem}`);
    return 1;
  }
  const preload = findPreload();
  if (!preload) {
    console.error(`linsock run: ${PRELOAD_MISSING}`);
    return 1;
  }
  let daemon: RunningDaemon | null = null;
  let dir: string | null = null;
  const trace = o.traceFile ? await startRunTrace(o, null) : null;
  if (o.traceFile && !trace) return 1;
  const lab = await LabRun.create({ prefix: 'run', handleSignals: false });
  try {
    let guestSocket = o.daemon;
    if (!guestSocket) {
      dir = mkdtempSync(join(tmpdir(), 'linsock-run-'));
      daemon = await startDaemon({ guestSocket: join(dir, 'guest.sock'), policy: RUN_POLICY, trace: trace?.sink, run: trace?.runId });
      guestSocket = daemon.guestPath ?? '';
    }
    const guest = await lab.addGuest('app', 'delegated');
    const preloads = [preload, process.env.LD_PRELOAD].filter(Boolean).join(':');
    const env: NodeJS.ProcessEnv = { ...process.env, LD_PRELOAD: preloads, LINSOCK_GUEST_SOCKET: guestSocket };
    // The interposer's guest stamps, joined by the daemon with its host stages (its trace hub, or our file).
    if (o.trace || trace) env.LINSOCK_TRACE_STAMPS = '1';
    else delete env.LINSOCK_TRACE_STAMPS;
    // The passed sockets' calls (protocol/README.md, passFd) reach no daemon: the interposer times them itself.
    if (trace?.socketPath) env.LINSOCK_TRACE_SOCKET = trace.socketPath;
    else delete env.LINSOCK_TRACE_SOCKET;
    return await started(o, lab.spawn(guest, o.command, o.args, { stdio, env }));
  } finally {
    await lab.teardown().catch((e: Error) => console.error(`linsock run: ${e.message}`));
    // The daemon publishes what still waits for guest stamps as its guests leave (close), into the file.
    if (trace && daemon) trace.noteClocks(daemon.clocks(), daemon.disorderedRecords());
    await daemon?.close();
    await trace?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
