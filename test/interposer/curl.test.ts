// An unmodified curl delegated downloads 64 MiB from Debian's nginx on the host (sha256 equal, through the
// daemon); and `linsock bench --program curl --json` reports both paths in the bench row contract.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type RunningDaemon } from '../../daemon';
import { CURL_FILE_BYTES, sha256File, withHostNginx } from '../../lab/run/curl';
import { RUN_POLICY } from '../../lab/run/run-program';
import { buildPreload, linsockRun, requireProgram, root, freePort } from './harness';

/** The frames plane: the daemon carries the data (fd-pass.test.ts covers the passed plane). */
const FRAMES = { LINSOCK_FD_PASS: '0' };
let dir: string;
let daemon: RunningDaemon;


before(async () => {
  requireProgram('nginx', 'nginx');
  requireProgram('curl', 'curl');
  dir = mkdtempSync(join(tmpdir(), 'linsock-curl-'));
  buildPreload();
  daemon = await startDaemon({ guestSocket: join(dir, 'guest.sock'), policy: RUN_POLICY });
});

after(async () => {
  await daemon?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('curl delegated on the frames plane (LINSOCK_FD_PASS=0) fetches 64 MiB from a host nginx through the daemon, sha256 equal', async () => {
  const port = await freePort();
  await withHostNginx(dir, port, async (sha256) => {
    const out = join(dir, 'got');
    const before = daemon.stats().bytes;
    const r = await linsockRun(['--path', 'delegated', '--daemon', join(dir, 'guest.sock'), '--', 'curl', '-sS', '-o', out, `http://127.0.0.1:${port}/big`], '', FRAMES);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await sha256File(out), sha256);
    assert.ok(daemon.stats().bytes - before >= CURL_FILE_BYTES, `the daemon carried ${daemon.stats().bytes - before} bytes`);
  });
});

test('bench --program curl --json: both paths verified by sha256, curl\'s own MB/s', async () => {
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'lab', 'cli.ts'), 'bench', '--program', 'curl', '--paths', 'direct,delegated', '--json'], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { workload: string; program: string; results: Record<string, unknown>[]; ratios: Record<string, number | null> };
  assert.equal(report.program, 'curl');
  assert.equal(report.workload, 'stream');
  assert.deepEqual(report.results.map((x) => x.path), ['direct', 'delegated']);
  for (const row of report.results) {
    assert.deepEqual(Object.keys(row).sort(), ['bytes', 'calls', 'cpu_us_per_op', 'mb_per_s', 'ops_per_s', 'p50_us', 'p99_us', 'path', 'verified']);
    assert.equal(row.verified, true, `${String(row.path)} verified`);
    assert.equal(row.bytes, CURL_FILE_BYTES);
    assert.ok(typeof row.mb_per_s === 'number' && row.mb_per_s > 0);
  }
  const [direct, delegated] = report.results.map((x) => x.mb_per_s as number);
  console.log(`# curl 64 MiB: direct ${direct?.toFixed(0)} MB/s, delegated ${delegated?.toFixed(0)} MB/s, delegated/direct ${report.ratios['delegated/direct']?.toFixed(2)}`);
  assert.ok(Math.abs((report.ratios['delegated/direct'] as number) - (delegated as number) / (direct as number)) < 1e-9);
});
