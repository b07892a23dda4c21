import assert from 'node:assert/strict';
import { it } from 'node:test';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { CpuLoad, MAX_LOAD, runningBurners as burnersOf } from './cpu-load';
import { processCpuUs } from './cpu-cost';

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(20);
  return cond();
}

it('starts N CPU-bound processes that burn CPU, and stop() leaves none', async () => {
  const tag = `t${process.pid}-a`;
  const load = await CpuLoad.start(2, 30, tag);
  try {
    assert.equal(load.pids.length, 2);
    assert.deepEqual(burnersOf(tag).sort(), [...load.pids].sort());
    const pids = load.pids;
    const before = pids.map((p) => processCpuUs(p) ?? 0);
    // Each runs (on a shared 2-core machine, not necessarily all of the time).
    const ran = (): boolean => pids.every((p, i) => (processCpuUs(p) ?? 0) >= (before[i] as number) + 50_000);
    assert.ok(await until(ran, 5000), 'a burner used less than 50 ms of CPU in 5 s');
  } finally {
    await load.stop();
  }
  assert.deepEqual(burnersOf(tag), []);
  assert.deepEqual(load.pids, []);
});

it('a burner exits by itself when its deadline passes', async () => {
  const tag = `t${process.pid}-b`;
  const load = await CpuLoad.start(1, 0.3, tag);
  try {
    assert.equal(burnersOf(tag).length, 1);
    assert.ok(await until(() => burnersOf(tag).length === 0, 5000), 'the burner outlived its deadline by 5 s');
  } finally {
    await load.stop();
  }
});

it('burners exit by themselves when the process that started them is killed', async () => {
  const tag = `t${process.pid}-c`;
  // A parent that starts 2 burners for a minute, says so, and is then SIGKILLed (no cleanup runs).
  const code = `require('./lab/bench/cpu-load').CpuLoad.start(2, 60, ${JSON.stringify(tag)}).then(() => console.log('up'))`;
  const parent = spawn(process.execPath, ['--import', 'tsx', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    parent.stdout.on('data', (d: Buffer) => (String(d).includes('up') ? resolve() : undefined));
    parent.once('exit', () => reject(new Error('the parent exited before starting its load')));
  });
  assert.equal(burnersOf(tag).length, 2);
  parent.kill('SIGKILL');
  assert.ok(await until(() => burnersOf(tag).length === 0, 5000), `burners left 5 s after their parent died: ${burnersOf(tag).join(', ')}`);
});

it('refuses a load out of bounds', async () => {
  await assert.rejects(CpuLoad.start(MAX_LOAD + 1, 1, 'x'), /load must be 0\.\.32 processes, got 33/);
  await assert.rejects(CpuLoad.start(-1, 1, 'x'), /load must be 0\.\.32/);
  await assert.rejects(CpuLoad.start(1, 0, 'x'), /lifetime must be positive/);
  const none = await CpuLoad.start(0, 1, 'x');
  assert.deepEqual(none.pids, []);
  await none.stop();
});
