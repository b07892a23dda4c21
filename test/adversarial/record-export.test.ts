// `linsock record` and `linsock export` against outputs that cannot be written: /dev/full, a full tmpfs, a
// missing or read-only directory. Each is one clear line on stderr (no stack, no unhandled event), a
// non-zero exit, and a file that reads back (it ends at a whole chunk) or no file at all. Then the record
// options that stop by themselves (--max-calls, --until-idle) and the "recording" line, on a real trace server.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LstraceReader, encodeFile, type TraceRecord } from '../../protocol';
import { TraceHub } from '../../daemon/trace/trace-hub';
import { startTraceServer } from '../../daemon/trace/trace-server';
import { syntheticCalls, syntheticStream } from '../fixtures/synthetic';

const ROOT = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'linsock-adv-record-'));
const mounts: string[] = [];
let hub: TraceHub;
let server: Awaited<ReturnType<typeof startTraceServer>>;
const tokenFile = join(dir, 'token');

before(async () => {
  hub = new TraceHub({ batchMs: 5 });
  server = await startTraceServer({ port: 0, tokenFile, hub });
});
after(async () => {
  await server.close();
  hub.close();
  for (const m of mounts) execFileSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
});

/** A tmpfs of `size` bytes (ro: read-only) on a fresh folder; unmounted after the file. */
function tmpfs(name: string, options: string): string {
  const at = join(dir, name);
  mkdirSync(at);
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', at]);
  mounts.push(at);
  return at;
}

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs `linsock ARGS` (the CLI from source) while the hub publishes records; resolves when it exits. */
function linsock(args: string[], publish = true): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'lab/cli.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += String(b)));
    child.stderr.on('data', (b: Buffer) => (stderr += String(b)));
    let seed = 100;
    const timer = publish ? setInterval(() => {
      for (const r of syntheticStream(2000, { seed: seed++ })) hub.publish(r);
    }, 20) : null;
    const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      if (timer) clearInterval(timer);
      clearTimeout(kill);
      // The streams may still hold the last bytes: read them to their end.
      let open = 2;
      const done = (): void => void (--open === 0 && resolveRun({ code, stdout, stderr }));
      if (child.stdout.readableEnded) done(); else child.stdout.once('end', done);
      if (child.stderr.readableEnded) done(); else child.stderr.once('end', done);
    });
  });
}

function assertOneClearLine(run: Run, pattern: RegExp): void {
  assert.equal(run.code, 1, `exit 1; stderr: ${run.stderr}`);
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${run.stderr}`);
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(run.stderr, /Unhandled|\n\s+at |ERR_UNHANDLED/);
}

function readLstrace(file: string): { records: TraceRecord[]; error: string | null } {
  const r = new LstraceReader();
  const { records, error } = r.push(new Uint8Array(readFileSync(file)));
  return { records, error: (error ?? r.end())?.message ?? null };
}

const rec = (out: string, extra: string[] = ['--seconds', '20']): string[] => ['record', '-o', out, '--url', server.url, '--token-file', tokenFile, ...extra];

test('record to /dev/full: one line naming ENOSPC, exit 1', async () => {
  assertOneClearLine(await linsock(rec('/dev/full')), /^linsock record: cannot write \/dev\/full \(ENOSPC: no space left on the device\)/);
});

test('record into a missing or read-only directory: one line before recording, exit 1, no file', async () => {
  const missing = join(dir, 'no', 'such', 'x.lstrace');
  assertOneClearLine(await linsock(rec(missing), false), /^linsock record: cannot write .*x\.lstrace \(ENOENT: no such directory\)$/);
  assert.equal(existsSync(missing), false);
  const ro = tmpfs('ro', 'ro,size=64k');
  assertOneClearLine(await linsock(rec(join(ro, 'x.lstrace')), false), /^linsock record: cannot write .*x\.lstrace \(EROFS: read-only file system\)$/);
});

test('record onto a tmpfs that fills up: exit 1, the file ends at a whole chunk and reads back', async () => {
  const small = tmpfs('full', 'size=256k');
  const out = join(small, 'r.lstrace');
  const run = await linsock(rec(out));
  assertOneClearLine(run, /^linsock record: cannot write .*r\.lstrace \(ENOSPC: no space left on the device\); stopped recording; .* ends at the last whole chunk \((\d+) of \d+ records kept\)$/);
  const kept = Number(/\((\d+) of/.exec(run.stderr)?.[1]);
  assert.match(run.stdout, /^recording /m, 'it had started recording');
  const back = readLstrace(out);
  assert.equal(back.error, null, 'the file reads back without damage');
  assert.ok(kept > 0, 'some records were kept');
  assert.equal(back.records.length, kept);
  // A Chrome JSON cannot end mid-way: it is removed rather than left invalid.
  rmSync(out);
  const json = join(small, 'r.linsock.json');
  writeFileSync(join(small, 'filler'), Buffer.alloc(200 * 1024));
  const runJson = await linsock(rec(json));
  assertOneClearLine(runJson, /ENOSPC.*; removed .*r\.linsock\.json: this format cannot end mid-way$/);
  assert.equal(existsSync(json), false);
});

test('export to a missing directory or a full disk: one line, exit 1, no partial output', async () => {
  const input = join(dir, 'in.lstrace');
  writeFileSync(input, encodeFile(syntheticCalls(20_000, { seed: 7 }), 4096));
  const missing = join(dir, 'missing', 'dir', 'x.json');
  assertOneClearLine(await linsock(['export', input, '--format', 'chrome', '-o', missing], false), /^linsock export: cannot write .*x\.json \(ENOENT: no such directory\)$/);
  assert.equal(existsSync(missing), false);
  assertOneClearLine(await linsock(['export', input, '--format', 'csv', '-o', '/dev/full'], false), /^linsock export: cannot write \/dev\/full \(ENOSPC/);
  const small = tmpfs('export-full', 'size=64k');
  const out = join(small, 'x.csv');
  assertOneClearLine(await linsock(['export', input, '--format', 'csv', '-o', out], false), /^linsock export: cannot write .*x\.csv \(ENOSPC: no space left on the device\); removed the partial .*x\.csv$/);
  assert.equal(existsSync(out), false, 'no invalid output left behind');
});

test('record says "recording" once subscribed and stops by itself after exactly --max-calls N', async () => {
  const out = join(dir, 'max.lstrace');
  const run = await linsock(rec(out, ['--max-calls', '5000', '--seconds', '30']));
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.match(lines[0] as string, /^recording ws:\/\/.* until 30 s or 5000 calls or Ctrl-C$/);
  assert.match(lines[lines.length - 1] as string, /^recorded \d+ records \(5000 calls, .*stopped: 5000 calls$/);
  const back = readLstrace(out);
  assert.equal(back.error, null);
  assert.equal(back.records.filter((r) => r.kind === 'call').length, 5000, 'exactly N calls in the file');
});

test('record --until-idle stops once no record came for S seconds (the idle clock starts at the first record); plain progress lines', async () => {
  const out = join(dir, 'idle.lstrace');
  const started = Date.now();
  const child = linsock(rec(out, ['--until-idle', '1', '--seconds', '60']), false);
  // Nothing for 2.5 s (longer than the idle time: it must not stop before the first record), then a burst.
  await new Promise((r) => setTimeout(r, 2500 + 1500)); // tsx start-up is part of the wait
  const burst = [...syntheticStream(3000, { seed: 9 })];
  for (const r of burst) hub.publish(r);
  const run = await child;
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /stopped: 1 s idle$/m);
  // Not a terminal: a plain line per second with the rates and totals.
  assert.match(run.stdout, /^recording: 0 calls\/s, 0 B\/s, 0 drops\/s; total 0 calls, 0 dropped$/m);
  assert.ok(Date.now() - started < 30_000);
  const back = readLstrace(out);
  assert.equal(back.error, null);
  assert.deepEqual(back.records, burst);
});
