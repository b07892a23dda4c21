// The shared-memory addon on real descriptors: a region mapped twice is one memory, a doorbell wakes the
// event loop, the side connection carries descriptors, and what a daemon must refuse is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { mkdtempSync, rmSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  closeFd, createRegion, doorbellPair, isDoorbell, mapRegion, receiveFds, ringDoorbell, sendFds, shmProblem, unwatchDoorbell, watchDoorbell,
} from './shm-channel';

test('the addon is built', () => {
  assert.equal(shmProblem(), null);
});

test('a region mapped again through its fd is the same memory', () => {
  const { fd, memory } = createRegion(65536);
  const again = mapRegion(fd, 1 << 20);
  closeFd(fd);
  assert.equal(again.byteLength, 65536);
  memory[12345] = 77;
  assert.equal(again[12345], 77);
  again[0] = 5;
  assert.equal(memory[0], 5);
});

test('a region larger than allowed, or a file that is not a sealed memfd, is refused', () => {
  const { fd } = createRegion(65536);
  assert.throws(() => mapRegion(fd, 4096), /EFBIG/);
  closeFd(fd);
  const dir = mkdtempSync(join(tmpdir(), 'shm-test-'));
  try {
    const file = join(dir, 'plain');
    writeFileSync(file, Buffer.alloc(8192));
    const plain = openSync(file, 'r+');
    assert.throws(() => mapRegion(plain, 1 << 20), /EINVAL/);
    closeFd(plain);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('a doorbell wakes the loop from the other end, and many rings cost one call or a few', async () => {
  const { mine, theirs } = doorbellPair();
  assert.ok(isDoorbell(theirs));
  let calls = 0;
  const woke = new Promise<boolean>((resolve) => {
    const w = watchDoorbell(mine, (gone) => {
      calls++;
      unwatchDoorbell(w);
      resolve(gone);
    });
  });
  for (let i = 0; i < 10; i++) ringDoorbell(theirs);
  assert.equal(await woke, false);
  assert.equal(calls, 1);
  closeFd(theirs);
});

test('descriptors cross the side connection with their message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shm-test-'));
  const path = join(dir, 'side.sock');
  const got = new Promise<{ message: Buffer; fds: number[] }>((resolve, reject) => {
    const server = net.createServer({ pauseOnConnect: true }, (s) => {
      const fd = (s as unknown as { _handle: { fd: number } })._handle.fd;
      const tryRead = (): void => {
        try {
          const r = receiveFds(fd);
          if (!r) return void setTimeout(tryRead, 2);
          s.destroy();
          server.close();
          resolve(r);
        } catch (e) {
          reject(e as Error);
        }
      };
      tryRead();
    });
    server.listen(path);
  });
  try {
    await new Promise((r) => setTimeout(r, 50));
    const { fd, memory } = createRegion(65536);
    const bell = doorbellPair();
    sendFds(path, Buffer.from('hello'), [fd, bell.theirs]);
    const r = await got;
    assert.equal(r.message.toString(), 'hello');
    assert.equal(r.fds.length, 2);
    const mapped = mapRegion(r.fds[0] as number, 1 << 20);
    memory[3] = 9;
    assert.equal(mapped[3], 9);
    assert.ok(isDoorbell(r.fds[1] as number));
    assert.ok(!isDoorbell(r.fds[0] as number));
    for (const f of [...r.fds, fd, bell.mine, bell.theirs]) closeFd(f);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
