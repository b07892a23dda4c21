// A hostile guest on the shared-memory channel: one that writes a head out of range into its ring, and one
// that hands the daemon a region from another process. The daemon ends (or refuses) only that guest's
// session, says why on its socket, and goes on serving others. A daemon with worker processes
// (LINSOCK_TEST_WORKERS) offers no shared memory at all, by design: there each test asserts that instead
// (no shm granted, no side socket to pass a region to, the session served over its socket).
import { test, type TestContext } from 'node:test';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import assert from 'node:assert/strict';
import { Capability, DEFAULT_RING_BYTES, ShmPipe, encodeAttach, regionBytes, sideSocketPath } from '../../protocol';
import { closeFd, createRegion, doorbellPair, ringDoorbell, sendFds } from '../../native/shm-channel';
import { RawGuest } from './raw-guest';
import type { RunningDaemon } from '../../daemon';
import { LOOPBACK_ALLOWED, withDaemon } from './harness';

const ROOT = resolve(__dirname, '../..');

/** With worker processes, a guest that asks for shm stays on its socket, and no process can pass a region. */
async function assertNoShmUnderWorkers(t: TestContext, d: RunningDaemon, path: string, g: RawGuest): Promise<void> {
  t.diagnostic('linsockd with workers offers no shm: asserted that the guest stays on its socket and no region can be passed');
  assert.equal((g.helloOk?.capabilities ?? 0) & Capability.shm, 0, 'a daemon with workers grants no shm');
  assert.equal(existsSync(sideSocketPath(path)), false, 'no side socket to pass a region to');
  const r = await g.request({ type: 'clock', handle: 0, guestTimeNs: 1 });
  assert.equal(r.type, 'clockOk', 'the session is served over its socket');
  assert.ok(d.workerPids().length > 1);
}

test('a guest that scribbles its ring head out of range loses its session, told EPROTO; another guest is served', async (t) => {
  await withDaemon({ policy: LOOPBACK_ALLOWED }, async (d, path) => {
    const g = await RawGuest.open(path, 'scribbler', { capabilities: Capability.pushData | Capability.shm });
    if (d.workerPids().length > 0) {
      await assertNoShmUnderWorkers(t, d, path, g);
      g.socket.destroy();
      return;
    }
    assert.ok(((g.helloOk?.capabilities ?? 0) & Capability.shm) !== 0, 'the daemon grants shm to a local guest');
    const region = createRegion(regionBytes(DEFAULT_RING_BYTES));
    const bell = doorbellPair();
    new ShmPipe(region.memory, 'guest', () => undefined, DEFAULT_RING_BYTES);
    sendFds(sideSocketPath(path), Buffer.from(encodeAttach('scribbler')), [region.fd, bell.theirs]);
    closeFd(region.fd);
    closeFd(bell.theirs);
    while (d.guests().length === 0) await new Promise((r) => setTimeout(r, 10));
    // The toHost ring's head (byte 64) claims more bytes than the ring holds.
    new Uint32Array(region.memory.buffer, 0, 1024)[16] = DEFAULT_RING_BYTES + 4096;
    ringDoorbell(bell.mine);
    const err = await g.waitFor((m) => m.type === 'error' && m.id === 0, 3000, 'the error');
    assert.ok(err.type === 'error' && err.errno === 'EPROTO' && /ring corrupted/.test(err.message), JSON.stringify(err));
    await g.waitFor((m) => m.type === 'goodbye', 3000, 'goodbye');
    await g.waitEnd(3000);
    closeFd(bell.mine);
    const other = await RawGuest.open(path, 'bystander');
    assert.ok(other.helloOk);
    other.socket.destroy();
  });
});

test('a region passed for a session by another process is refused; the session goes on over its socket', async (t) => {
  await withDaemon({ policy: LOOPBACK_ALLOWED }, async (d, path) => {
    const g = await RawGuest.open(path, 'victim', { capabilities: Capability.pushData | Capability.shm });
    if (d.workerPids().length > 0) {
      await assertNoShmUnderWorkers(t, d, path, g);
      // The impostor finds nowhere to pass its region.
      const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test/daemon/fixtures/shm-impostor.ts'), path, 'victim'], { cwd: ROOT, encoding: 'utf8' });
      assert.notEqual(run.status, 0, 'the impostor cannot pass its region');
      assert.match(run.stderr, /passing the channel to .* failed: ENOENT/);
      assert.equal((await g.request({ type: 'clock', handle: 0, guestTimeNs: 1 })).type, 'clockOk');
      g.socket.destroy();
      return;
    }
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test/daemon/fixtures/shm-impostor.ts'), path, 'victim'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(out, 'sent\n');
    await new Promise((r) => setTimeout(r, 100));
    // Had the daemon taken the impostor's region, this answer would have gone into its ring.
    const r = await g.request({ type: 'clock', handle: 0, guestTimeNs: 1 });
    assert.equal(r.type, 'clockOk');
    g.socket.destroy();
  });
});
