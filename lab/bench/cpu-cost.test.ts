import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuWindow, pathCpuUs, processCpuUs, unixListenerPid } from './cpu-cost';
import { setTimeout as sleep } from 'node:timers/promises';

/** Burns `ms` of this process's CPU (not of wall time: the machine is shared). */
function spin(ms: number): void {
  const from = process.cpuUsage();
  for (let u = process.cpuUsage(from); u.user + u.system < ms * 1000; u = process.cpuUsage(from)) {
    // burn
  }
}

it('reads a process\'s CPU from /proc and adds the path\'s processes to its own', () => {
  const mine = processCpuUs(process.pid);
  assert.ok(mine !== null && mine > 0);
  assert.equal(processCpuUs(2 ** 22 + 1), null, 'a pid that cannot exist has no CPU');
  // This process twice: once by /proc (10 ms ticks), once by process.cpuUsage().
  const before = pathCpuUs([process.pid]) as number;
  spin(200);
  const used = (pathCpuUs([process.pid]) as number) - before;
  assert.ok(used >= 2 * 180_000 && used <= 2 * 260_000, `200 ms of CPU counted twice gave ${used} µs`);
  assert.equal(pathCpuUs([2 ** 22 + 1]), null, 'a vanished process makes the figure unknown');
});

it('a latency workload\'s CPU counts from the end of its warm-up, a stream\'s per 64 KiB over the whole run', async () => {
  const latency = new CpuWindow([], 1); // warms up for 100 ms
  spin(100); // the warm-up's CPU, left out
  await sleep(20);
  spin(200);
  // 1000 ops/s over the ~220 ms since the warm-up: about 220 ops for 200 ms of CPU (more ops when the
  // machine stretches the spinning); with the warm-up's 100 ms it would be over 1300 µs per op.
  const perOp = latency.perOp({ ops_per_s: 1000, bytes: 0 });
  assert.ok(perOp !== null && perOp > 300 && perOp < 1100, `${perOp} µs per op`);
  const stream = new CpuWindow([], 1);
  spin(100);
  const per64k = stream.perOp({ ops_per_s: null, bytes: 10 * 65536 });
  assert.ok(per64k !== null && per64k > 9000 && per64k < 13000, `${per64k} µs per 64 KiB`);
  assert.equal(new CpuWindow([2 ** 22 + 1], 1).perOp({ ops_per_s: null, bytes: 65536 }), null);
  assert.equal(new CpuWindow([], 1).perOp({ ops_per_s: null, bytes: 0 }), null, 'no op, no figure');
  const early = new CpuWindow([], 10);
  assert.equal(early.perOp({ ops_per_s: 5, bytes: 5 }), null, 'a latency run that ended inside its warm-up has no figure');
});

it('finds the process listening on a Unix socket path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-cpu-'));
  const server = createServer();
  try {
    const path = join(dir, 'guest.sock');
    await new Promise<void>((resolve) => server.listen(path, resolve));
    assert.equal(unixListenerPid(path), process.pid);
    assert.equal(unixListenerPid(join(dir, 'nobody.sock')), null);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
