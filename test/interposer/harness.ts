// What the interposer tests share: the interposer built from the current sources (atomically, as test files
// run in parallel), `linsock run` from source, and a clear failure when a program a test needs is missing.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, renameSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { whichProgram } from '../../lab/run/elf';

export const root = join(__dirname, '..', '..');

export function cc(args: string[]): void {
  const r = spawnSync('cc', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `cc ${args.join(' ')}: ${r.stderr}`);
}

/** Builds build/Release/liblinsock_preload.so from native/interposer/*.c as native/build.mjs does, with -Werror. */
export function buildPreload(): void {
  const src = join(root, 'native', 'interposer');
  const sources = readdirSync(src).filter((f) => f.endsWith('.c')).map((f) => join(src, f));
  const out = join(root, 'build', 'Release', 'liblinsock_preload.so');
  const tmp = `${out}.${process.pid}.tmp`;
  cc(['-O2', '-Wall', '-Wextra', '-Werror', '-fPIC', '-shared', '-pthread', '-o', tmp, ...sources, '-ldl']);
  renameSync(tmp, out); // a program of another test file never loads a half-written library
}

/** Fails with the command to run when `program` is not installed (never a silent skip). */
export function requireProgram(program: string, pkg: string): void {
  assert.ok(whichProgram(program), `${program} is not installed: run \`apt-get install -y ${pkg}\` (or node scripts/prerequisites.mjs test as root)`);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `linsock run ARGS` (source, through tsx) to completion, `input` on its stdin; stdout as latin1 (byte
 * per char). `env` adds to the environment (the program inherits it).
 */
export function linsockRun(args: string[], input: string | Buffer = '', env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'lab', 'cli.ts'), 'run', ...args], { cwd: root, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

export interface Started {
  child: ChildProcess;
  output: () => string;
  /** Sends SIGTERM (passed on to the program) and waits for `linsock run` to end; its exit code. */
  stop: () => Promise<number | null>;
}

/** Starts `linsock run ARGS` that runs until stopped (a server); its stdout and stderr are collected. */
export function linsockStart(args: string[]): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'lab', 'cli.ts'), 'run', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A loopback TCP port free a moment ago, for a host server a test starts (nginx, iperf3). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
