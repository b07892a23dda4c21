// `linsock bench --load N` end to end: the report says the load and every row its CPU per op; the load's
// processes run during the measurement and none is left when the run ends, however it ends.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchReport } from '../../protocol';
import { runningBurners } from '../../lab/bench/cpu-load';

function runIdOf(stderr: string): string {
  const m = /linsock bench: run (\S+)/.exec(stderr);
  assert.ok(m, `no run id in: ${stderr}`);
  return m[1] as string;
}

test('bench --load 2 --json: the report has load 2, every row cpu_us_per_op, and no burner outlives the run', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'bench', '--workload', 'rr', '--paths', 'direct,delegated', '--seconds', '1', '--load', '2', '--json'], { encoding: 'utf8', timeout: 90_000 });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as BenchReport;
  assert.equal(report.load, 2);
  for (const row of report.results) {
    assert.equal(row.verified, true);
    const cpu = row.cpu_us_per_op;
    // A round trip costs CPU in at least two processes: more than 1 µs, less than a second.
    assert.ok(typeof cpu === 'number' && cpu > 1 && cpu < 1e6, `${row.path}: cpu_us_per_op ${cpu}`);
  }
  // The burners ran during each path's measurement (2 per path) and were stopped after it.
  const started = [...r.stderr.matchAll(/with 2 CPU-bound processes running \(pids (\d+), (\d+)\)/g)];
  assert.equal(started.length, 2, r.stderr);
  assert.deepEqual(runningBurners(runIdOf(r.stderr)), []);
});

test('bench --load: a bad count is a usage error; Ctrl-C mid-run leaves no burner behind', async () => {
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'bench', '--workload', 'rr', '--paths', 'direct', '--load', 'many'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--load must be a whole number of CPU-bound processes 0\.\.32, got 'many'/);
  const big = spawnSync(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'bench', '--workload', 'rr', '--paths', 'direct', '--load', '33'], { encoding: 'utf8' });
  assert.equal(big.status, 2);

  const child = spawn(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'bench', '--workload', 'rr', '--paths', 'direct', '--seconds', '30', '--load', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const give = Date.now() + 30_000;
  while (!/CPU-bound processes running/.test(stderr) && Date.now() < give) await sleep(50);
  const runId = runIdOf(stderr);
  assert.equal(runningBurners(runId).length, 2, 'the load is not running');
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.deepEqual(runningBurners(runId), [], 'burners outlived the cancelled run');
});
