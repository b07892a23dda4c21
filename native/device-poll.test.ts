// The device watcher on a FIFO opened read/write: what it writes comes back to it, so one fd exercises
// both directions. 1 MiB through a 64 KiB pipe makes writes meet EAGAIN (and wait for room) and reads come
// in bounded batches; the bytes must come back whole and in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devicePollProblem, PolledDevice } from './device-poll';

function fifo(): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-devpoll-'));
  const path = join(dir, 'port');
  execFileSync('mkfifo', [path]);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

test('a looped-back FIFO carries 1 MiB through the watcher whole, with a drain after the device was full', async () => {
  assert.equal(devicePollProblem(), null);
  const f = fifo();
  const fd = fs.openSync(f.path, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  const payload = Buffer.alloc(1 << 20).map((_, i) => (i * 13 + (i >> 11)) & 0xff);
  const got: Buffer[] = [];
  let received = 0;
  let largest = 0;
  let drains = 0;
  let device: PolledDevice | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      device = new PolledDevice(fd, {
        onData: (chunk) => {
          got.push(chunk);
          received += chunk.length;
          largest = Math.max(largest, chunk.length);
          if (received >= payload.length) resolve();
        },
        onEnd: () => reject(new Error('a FIFO open for writing here cannot end')),
        onError: reject,
        onDrain: () => { drains++; },
      });
      // Three writes in one turn: the first fills the pipe, the rest queue behind it in order.
      device.write([payload.subarray(0, 100_000)]);
      device.write([payload.subarray(100_000, 700_000), payload.subarray(700_000, 700_001)]);
      assert.ok(device.queued > 0, 'a 64 KiB pipe cannot take 700 KiB at once');
      device.write([payload.subarray(700_001)]);
    });
    assert.ok(Buffer.concat(got).equals(payload), 'the bytes came back changed or out of order');
    assert.ok(drains >= 1, 'no drain after the device was full');
    assert.ok(largest <= 256 * 1024, `one chunk of ${largest} bytes: reads are bounded`);
    assert.equal(device!.queued, 0);
  } finally {
    (device as PolledDevice | null)?.close();
    f.remove();
  }
});

test('close() closes the fd and drops what waits; whenWritten is told', async () => {
  const f = fifo();
  const fd = fs.openSync(f.path, fs.constants.O_RDWR);
  try {
    const device = new PolledDevice(fd, { onData: () => undefined, onEnd: () => undefined, onError: () => undefined, onDrain: () => undefined });
    device.write([Buffer.alloc(200_000)]);
    assert.ok(device.queued > 0);
    let told = false;
    device.whenWritten(() => { told = true; });
    device.close();
    assert.equal(told, true);
    assert.equal(device.queued, 0);
    // The fd is closed in libuv's close callback, at the end of a later turn of the loop.
    await new Promise((r) => setTimeout(r, 20));
    assert.throws(() => fs.fstatSync(fd), /EBADF/);
  } finally {
    f.remove();
  }
});

test('watching a descriptor that is not open is an errno, not a crash', () => {
  assert.throws(() => new PolledDevice(987_654, { onData: () => undefined, onEnd: () => undefined, onError: () => undefined, onDrain: () => undefined }), /EBADF/);
});
