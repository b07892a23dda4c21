// A hostile guest on the shared-memory channel: one that writes a head out of range into its ring, and one
// that hands the daemon a region from another process. The daemon ends (or refuses) only that guest's
// session, says why on its socket, and goes on serving others.
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import assert from 'node:assert/strict';
import { Capability, DEFAULT_RING_BYTES, ShmPipe, encodeAttach, regionBytes, sideSocketPath } from '../../protocol';
import { closeFd, createRegion, doorbellPair, ringDoorbell, sendFds } from '../../native/shm-channel';
import { RawGuest } from './raw-guest';
import { LOOPBACK_ALLOWED, withDaemon } from './harness';

const ROOT = resolve(__dirname, '../..');

test('a guest that scribbles its ring head out of range loses its session, told EPROTO; another guest is served', async () => {
  await withDaemon({ policy: LOOPBACK_ALLOWED }, async (d, path) => {
    const g = await RawGuest.open(path, 'scribbler', { capabilities: Capability.pushData | Capability.shm });
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

test('a region passed for a session by another process is refused; the session goes on over its socket', async () => {
  await withDaemon({ policy: LOOPBACK_ALLOWED }, async (_d, path) => {
    const g = await RawGuest.open(path, 'victim', { capabilities: Capability.pushData | Capability.shm });
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test/daemon/fixtures/shm-impostor.ts'), path, 'victim'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(out, 'sent\n');
    await new Promise((r) => setTimeout(r, 100));
    // Had the daemon taken the impostor's region, this answer would have gone into its ring.
    const r = await g.request({ type: 'clock', handle: 0, guestTimeNs: 1 });
    assert.equal(r.type, 'clockOk');
    g.socket.destroy();
  });
});
