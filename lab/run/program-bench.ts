// `linsock bench --program iperf3|curl`: a real program instead of a built-in workload. iperf3: per path, a host
// `iperf3 -s` (a real process on 127.0.0.1) and `iperf3 -c` run by `linsock run` on that path (direct on
// the host; delegated in a fresh namespace through the interposer and an in-process daemon). The figures
// are iperf3's own: mb_per_s is what the server received over its seconds; `verified` means iperf3's
// counts agree (something arrived, the server's own report matches what the client reports of it, and no
// more is missing than may still be in flight) -- iperf3 sends no checksummable content. curl (curl.ts):
// per path a download of 64 MiB from a host nginx, verified by sha256, at curl's own speed. sockperf
// (sockperf.ts): per path a TCP ping-pong against a host `sockperf server`, its own round-trip percentiles.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ratioField, type BenchReport, type BenchResult, type Workload } from '../../protocol';
import { loopbackMtu } from '../bench/host-facts';
import { CURL_FILE_BYTES, curlDownload, makeServedFile } from './curl';
import { countsAgree, parseIperf3, type Iperf3Result } from './iperf3';
import { startHostNginx } from './nginx';
import { nicProfile, type NicMode } from '../emulated';
import { parseSockperf, sockperfClientArgs, startSockperfServer } from './sockperf';
import { runProgram, type RunPath } from './run-program';
import { callRecordsIn } from './run-trace';

export const BENCH_PROGRAMS = ['iperf3', 'curl', 'sockperf'] as const;
export type BenchProgram = (typeof BENCH_PROGRAMS)[number];
/** The paths every program runs on. */
export const PROGRAM_PATHS: readonly RunPath[] = ['direct', 'delegated'];
/** Per program: the paths it runs on (sockperf reaches the host's address from the emulated guest too). */
export const PROGRAM_PATHS_OF: Record<BenchProgram, readonly RunPath[]> = {
  iperf3: ['direct', 'delegated', 'emulated'],
  curl: PROGRAM_PATHS,
  sockperf: ['direct', 'delegated', 'emulated'],
};
/** Per program: the built-in workload whose figures its report carries. */
export const PROGRAM_WORKLOAD: Record<BenchProgram, Workload> = { iperf3: 'stream', curl: 'stream', sockperf: 'rr' };

/** What may still be in flight (socket buffers, socketpairs, the channel) when iperf3 stops counting. */
const IN_FLIGHT_SLACK = 32 * 1024 * 1024;
/** How long a guest's iperf3 server may take to end after its client's report (its own report, the trace). */
const SERVER_END_MS = 5000;
/** The client retries while the server is not listening yet, this many times. */
const CONNECT_TRIES = 20;

export interface ProgramBenchReport extends BenchReport {
  program: BenchProgram;
  /** iperf3 `--reverse`: its server ran in the guest (a delegated listen), its client on the host. */
  reverse?: true;
  guest: 'ns';
  results: (BenchResult & { cpu_us_per_op: number | null })[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Runs a host `iperf3 -s -1` on `port`; resolves with its JSON report once its one test is over. */
function hostServer(port: number, address = '127.0.0.1'): { done: Promise<string>; stop: () => void } {
  const child = spawn('iperf3', ['-s', '-1', '-B', address, '-p', String(port), '-J'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<string>((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`iperf3 -s: ${e.message} (install it: apt-get install -y iperf3)`)));
    child.once('exit', () => resolve(out));
  });
  return { done, stop: () => child.exitCode === null && child.kill() };
}

/** One `iperf3 -c` on `path`, retried while the server refuses; its stdout (the JSON report). */
async function client(path: RunPath, port: number, seconds: number, traceFile: string | undefined): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    let out = '';
    await runProgram({
      path,
      command: 'iperf3',
      args: ['-c', '127.0.0.1', '-p', String(port), '-t', String(seconds), '-J'],
      traceFile,
      stdio: ['ignore', 'pipe', 'inherit'],
      onSpawn: (c) => c.stdout?.on('data', (d: Buffer) => (out += d.toString())),
    });
    // iperf3 3.12 exits 0 even when it could not connect (the error is in its JSON), so the report decides.
    if (!/Connection refused/.test(out) || attempt >= CONNECT_TRIES) return out;
    await new Promise((r) => setTimeout(r, 150));
  }
}

type Measured = { row: ProgramBenchReport['results'][number]; problem: string | null };

/** One program's runs: `measure` once per path, between the set-up and `close`. */
interface ProgramSession {
  /** With `traceFile`, the program runs traced (linsock run --trace-file) and its call records go there. */
  measure: (path: RunPath, traceFile: string | undefined, mode: NicMode) => Promise<Measured>;
  close: () => Promise<void>;
}

async function iperf3Session(seconds: number, reverse: boolean): Promise<ProgramSession> {
  const measure = reverse ? measureIperf3Reverse : measureIperf3;
  return { measure: (path, traceFile, mode) => measure(path, seconds, traceFile, mode), close: async () => undefined };
}

/** A host `iperf3 -c` against a server that may not listen yet; its JSON report. */
async function hostClient(port: number, seconds: number): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('iperf3', ['-c', '127.0.0.1', '-p', String(port), '-t', String(seconds), '-J'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.once('error', (e) => reject(new Error(`iperf3 -c: ${e.message} (install it: apt-get install -y iperf3)`)));
      child.once('exit', () => resolve(text));
    });
    if (!/Connection refused/.test(out) || attempt >= CONNECT_TRIES) return out;
    await new Promise((r) => setTimeout(r, 150));
  }
}

/**
 * `--reverse`: `iperf3 -s -1` through `linsock run` on `path` (delegated: its listen is the daemon's, on the
 * host's 127.0.0.1) and the client on the host; the figures are the client's report of what the guest's
 * server received, checked against the server's own.
 */
async function measureIperf3Reverse(path: RunPath, seconds: number, traceFile: string | undefined, _mode: NicMode): Promise<Measured> {
  const port = await freePort();
  let serverOut = '';
  let child: ChildProcess | null = null;
  const server = runProgram({
    path, command: 'iperf3', args: ['-s', '-1', '-B', '127.0.0.1', '-p', String(port), '-J'], traceFile,
    stdio: ['ignore', 'pipe', 'inherit'],
    onSpawn: (c) => {
      child = c;
      c.stdout?.on('data', (d: Buffer) => (serverOut += d.toString()));
    },
  });
  let c: Iperf3Result;
  try {
    c = parseIperf3(await hostClient(port, seconds));
  } finally {
    // The server ends after its one test; one that never got its client is stopped (SIGTERM, passed on).
    const ended = await Promise.race([server.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), SERVER_END_MS))]);
    if (!ended) (child as ChildProcess | null)?.kill('SIGTERM');
    await server;
  }
  const s = parseIperf3(serverOut);
  const agree = countsAgree(c, IN_FLIGHT_SLACK) && s.receivedBytes === c.receivedBytes;
  const row = { path, mb_per_s: c.mbPerS, p50_us: null, p99_us: null, ops_per_s: null, calls: 0, bytes: c.receivedBytes, verified: agree, cpu_us_per_op: null };
  return { row, problem: agree ? null : `iperf3's counts disagree: host client sent ${c.sentBytes}, guest server received ${s.receivedBytes}, client reports ${c.receivedBytes}` };
}

/** One host nginx serving one 64 MiB file for every path's curl. */
async function curlSession(): Promise<ProgramSession> {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-bench-curl-'));
  const port = await freePort();
  const { root, sha256 } = makeServedFile(dir);
  const nginx = startHostNginx({ prefix: join(dir, 'nginx'), root, host: '127.0.0.1', port, workers: 1 });
  const close = async (): Promise<void> => {
    await nginx.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await nginx.ready;
  } catch (e) {
    await close();
    throw e;
  }
  const measure = async (path: RunPath, traceFile: string | undefined): Promise<Measured> => {
    const r = await curlDownload(path, port, join(dir, `out-${path}`), sha256, traceFile);
    if (r.exitCode !== 0) throw new Error(`curl exited with ${r.exitCode}: ${r.stderr}`);
    const row = { path, mb_per_s: r.mbPerS, p50_us: null, p99_us: null, ops_per_s: null, calls: 0, bytes: r.bytes, verified: r.verified, cpu_us_per_op: null };
    return { row, problem: r.verified ? null : `curl's file (${r.bytes} of ${CURL_FILE_BYTES} bytes) differs from the served one (sha256)` };
  };
  return { measure, close };
}

/** One host sockperf server for every path's ping-pong. */
async function sockperfSession(seconds: number): Promise<ProgramSession> {
  const port = await freePort();
  const server = await startSockperfServer(port);
  const measure = async (path: RunPath, traceFile: string | undefined, mode: NicMode): Promise<Measured> => {
    let out = '';
    // The emulated guest reaches the host on its TAP: a server of its own listens there for this run.
    let tapServer: { stop: () => void } | null = null;
    const code = await runProgram({
      path, mode, command: 'sh', args: sockperfClientArgs(port, seconds), traceFile,
      stdio: ['ignore', 'pipe', 'inherit'],
      onSpawn: (c) => c.stdout?.on('data', (d: Buffer) => (out += d.toString())),
      onHostAddress: async (address) => {
        tapServer = await startSockperfServer(port, address);
      },
    }).finally(() => (tapServer as { stop: () => void } | null)?.stop());
    const r = parseSockperf(out);
    if (code !== 0) throw new Error(`sockperf exited with ${code}`);
    const verified = r.received > 0 && r.lost === 0 && r.sent - r.received <= 1;
    const row = {
      path, mb_per_s: null, p50_us: r.p50Us, p99_us: r.p99Us, ops_per_s: r.seconds > 0 ? r.received / r.seconds : null,
      calls: 0, bytes: r.received * 64, verified, cpu_us_per_op: null,
    };
    return { row, problem: verified ? null : `sockperf counted ${r.sent} sent, ${r.received} received, ${r.lost} dropped, duplicated or out of order` };
  };
  return { measure, close: async () => server.stop() };
}

const SESSIONS: Record<BenchProgram, (seconds: number, reverse: boolean) => Promise<ProgramSession>> = {
  iperf3: iperf3Session,
  curl: () => curlSession(),
  sockperf: sockperfSession,
};

/**
 * The emulated guest's `iperf3 -c`: its server listens on the host's TAP address, which exists only once the
 * run made it, so the guest retries (in one guest: each run is a new TAP) while it is refused.
 */
async function emulatedClient(port: number, seconds: number, traceFile: string | undefined, mode: NicMode, onHost: (address: string) => void): Promise<string> {
  let out = '';
  const run = `iperf3 -c "$LINSOCK_HOST_ADDRESS" -p ${port} -t ${seconds} -J`;
  const script = `for i in $(seq 1 ${CONNECT_TRIES * 5}); do out=$(${run}); case "$out" in *"Connection refused"*) sleep 0.1;; *) printf '%s' "$out"; exit 0;; esac; done; printf '%s' "$out"`;
  await runProgram({
    path: 'emulated', mode, command: 'sh', args: ['-c', script], traceFile,
    stdio: ['ignore', 'pipe', 'inherit'],
    onSpawn: (c) => c.stdout?.on('data', (d: Buffer) => (out += d.toString())),
    onHostAddress: async (address) => onHost(address),
  });
  return out;
}

async function measureIperf3(path: RunPath, seconds: number, traceFile: string | undefined, mode: NicMode): Promise<Measured> {
  const port = await freePort();
  let server = path === 'emulated' ? { done: Promise.resolve(''), stop: () => undefined } : hostServer(port);
  try {
    let c: Iperf3Result;
    try {
      const text = path === 'emulated'
        ? await emulatedClient(port, seconds, traceFile, mode, (address) => (server = hostServer(port, address)))
        : await client(path, port, seconds, traceFile);
      c = parseIperf3(text);
    } catch (e) {
      server.stop();
      throw e;
    }
    const s = parseIperf3(await server.done);
    const agree = countsAgree(c, IN_FLIGHT_SLACK) && s.receivedBytes === c.receivedBytes;
    const row = { path, mb_per_s: c.mbPerS, p50_us: null, p99_us: null, ops_per_s: null, calls: 0, bytes: c.receivedBytes, verified: agree, cpu_us_per_op: null };
    return { row, problem: agree ? null : `iperf3's counts disagree: client sent ${c.sentBytes}, server received ${s.receivedBytes}, client reports ${c.receivedBytes}` };
  } finally {
    server.stop();
  }
}

/** Runs the program on each path in turn; `progress` gets one line per path; `notes`: per path, why it is not verified. */
export async function runProgramBench(
  program: BenchProgram,
  paths: readonly RunPath[],
  seconds: number,
  progress: (line: string) => void,
  trace = false,
  reverse = false,
  mode: NicMode = 'virtio',
): Promise<{ report: ProgramBenchReport; notes: Record<string, string[]> }> {
  const results: ProgramBenchReport['results'] = [];
  // Traced runs write each path's records to a file of their own here; the row counts them (`calls`).
  const traceDir = trace ? mkdtempSync(join(tmpdir(), 'linsock-bench-trace-')) : null;
  const unavailable: Record<string, string> = {};
  const notes: Record<string, string[]> = {};
  const session = await SESSIONS[program](seconds, reverse);
  try {
    for (const path of paths) {
      progress(program === 'iperf3' ? `${program} on ${path} for ${seconds} s` : `${program} on ${path}`);
      try {
        const traceFile = traceDir ? join(traceDir, `${path}.lstrace`) : undefined;
        const { row, problem } = await session.measure(path, traceFile, mode);
        if (traceFile) row.calls = callRecordsIn(traceFile);
        if (problem) {
          progress(`${path}: ${problem}`);
          notes[path] = [problem];
        }
        results.push(row);
      } catch (e) {
        const why = (e as Error).message;
        progress(`${path}: ${why}`);
        unavailable[path] = why;
        results.push({ path, mb_per_s: null, p50_us: null, p99_us: null, ops_per_s: null, calls: 0, bytes: 0, verified: false, cpu_us_per_op: null });
      }
    }
  } finally {
    await session.close();
    if (traceDir) rmSync(traceDir, { recursive: true, force: true });
  }
  const workload = PROGRAM_WORKLOAD[program];
  const field = ratioField(workload);
  const figure = (p: RunPath): number | null => results.find((r) => r.path === p)?.[field] ?? null;
  const ratio = (a: RunPath, b: RunPath): number | null => {
    const x = figure(a);
    const y = figure(b);
    return x !== null && y ? x / y : null;
  };
  const ratios: Record<string, number | null> = { 'delegated/direct': ratio('delegated', 'direct') };
  if (paths.includes('emulated')) ratios['delegated/emulated'] = ratio('delegated', 'emulated');
  const report: ProgramBenchReport = {
    workload,
    program,
    guest: 'ns',
    mode: paths.includes('emulated') ? mode : null,
    mtu: paths.includes('emulated') ? nicProfile(mode).mtu : loopbackMtu(),
    results,
    ratios,
  };
  if (Object.keys(unavailable).length) report.unavailable = unavailable;
  if (reverse) report.reverse = true;
  if (!trace) report.untraced = 'bench --trace off: the program ran without the interposer\'s tracing';
  return { report, notes };
}
