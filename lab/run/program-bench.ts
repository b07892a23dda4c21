// `linsock bench --program iperf3|curl`: a real program instead of a built-in workload. iperf3: per path, a host
// `iperf3 -s` (a real process on 127.0.0.1) and `iperf3 -c` run by `linsock run` on that path (direct on
// the host; delegated in a fresh namespace through the interposer and an in-process daemon). The figures
// are iperf3's own: mb_per_s is what the server received over its seconds; `verified` means iperf3's
// counts agree (something arrived, the server's own report matches what the client reports of it, and no
// more is missing than may still be in flight) -- iperf3 sends no checksummable content. curl (curl.ts):
// per path a download of 64 MiB from a host nginx, verified by sha256, at curl's own speed.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchReport, BenchResult } from '../../protocol';
import { loopbackMtu } from '../bench/host-facts';
import { CURL_FILE_BYTES, curlDownload, makeServedFile } from './curl';
import { countsAgree, parseIperf3, type Iperf3Result } from './iperf3';
import { startHostNginx } from './nginx';
import { runProgram, type RunPath } from './run-program';
import { callRecordsIn } from './run-trace';

export const BENCH_PROGRAMS = ['iperf3', 'curl'] as const;
export type BenchProgram = (typeof BENCH_PROGRAMS)[number];
export const PROGRAM_PATHS: readonly RunPath[] = ['direct', 'delegated'];

/** What may still be in flight (socket buffers, socketpairs, the channel) when iperf3 stops counting. */
const IN_FLIGHT_SLACK = 32 * 1024 * 1024;
/** The client retries while the server is not listening yet, this many times. */
const CONNECT_TRIES = 20;

export interface ProgramBenchReport extends BenchReport {
  program: BenchProgram;
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
function hostServer(port: number): { done: Promise<string>; stop: () => void } {
  const child = spawn('iperf3', ['-s', '-1', '-B', '127.0.0.1', '-p', String(port), '-J'], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  measure: (path: RunPath, traceFile: string | undefined) => Promise<Measured>;
  close: () => Promise<void>;
}

async function iperf3Session(seconds: number): Promise<ProgramSession> {
  return { measure: (path, traceFile) => measureIperf3(path, seconds, traceFile), close: async () => undefined };
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

const SESSIONS: Record<BenchProgram, (seconds: number) => Promise<ProgramSession>> = {
  iperf3: iperf3Session,
  curl: () => curlSession(),
};

async function measureIperf3(path: RunPath, seconds: number, traceFile: string | undefined): Promise<Measured> {
  const port = await freePort();
  const server = hostServer(port);
  try {
    let c: Iperf3Result;
    try {
      c = parseIperf3(await client(path, port, seconds, traceFile));
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
): Promise<{ report: ProgramBenchReport; notes: Record<string, string[]> }> {
  const results: ProgramBenchReport['results'] = [];
  // Traced runs write each path's records to a file of their own here; the row counts them (`calls`).
  const traceDir = trace ? mkdtempSync(join(tmpdir(), 'linsock-bench-trace-')) : null;
  const unavailable: Record<string, string> = {};
  const notes: Record<string, string[]> = {};
  const session = await SESSIONS[program](seconds);
  try {
    for (const path of paths) {
      progress(program === 'iperf3' ? `${program} on ${path} for ${seconds} s` : `${program} on ${path}`);
      try {
        const traceFile = traceDir ? join(traceDir, `${path}.lstrace`) : undefined;
        const { row, problem } = await session.measure(path, traceFile);
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
  const mb = (p: RunPath): number | null => results.find((r) => r.path === p)?.mb_per_s ?? null;
  const d = mb('delegated');
  const base = mb('direct');
  const report: ProgramBenchReport = {
    workload: 'stream',
    program,
    guest: 'ns',
    mode: null,
    mtu: loopbackMtu(),
    results,
    ratios: { 'delegated/direct': d !== null && base ? d / base : null },
  };
  if (Object.keys(unavailable).length) report.unavailable = unavailable;
  if (!trace) report.untraced = 'bench --trace off: the program ran without the interposer\'s tracing';
  return { report, notes };
}
