// The bench's one daemon starter: whether the daemon starts or not, it leaves no temp dir and no hub behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startDaemon, TraceHub, type DaemonOptions } from '../../daemon';
import { startBenchDaemon, type BenchDaemonParts } from './bench-daemon';

/** Runs `body` with os.tmpdir() pointing at a fresh, empty dir; returns what is left in it afterwards. */
async function inOwnTmp(body: () => Promise<void>): Promise<string[]> {
  const own = mkdtempSync(join(tmpdir(), 'bench-daemon-test-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = own;
  try {
    await body();
    return readdirSync(own);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    rmSync(own, { recursive: true, force: true });
  }
}

/** A real hub that tells whether it was closed. */
function watchedHub(): { hub: TraceHub; closed: () => boolean } {
  const hub = new TraceHub();
  let closed = false;
  const close = hub.close.bind(hub);
  hub.close = () => {
    closed = true;
    close();
  };
  return { hub, closed: () => closed };
}

test('a daemon that fails to start leaves neither its temp dir nor its hub behind', async () => {
  const w = watchedHub();
  let given: DaemonOptions | null = null;
  const parts: BenchDaemonParts = {
    start: (options) => {
      given = options;
      assert.ok(options.guestSocket && existsSync(dirname(options.guestSocket)), 'the starter made its temp dir before starting the daemon');
      return Promise.reject(new Error('listen EADDRINUSE (made up by the test)'));
    },
    hub: () => w.hub,
  };
  const left = await inOwnTmp(async () => {
    await assert.rejects(startBenchDaemon({ sink: null, trace: true, run: 'r1' }, parts), /made up by the test/);
  });
  assert.ok(given, 'startDaemon was called');
  assert.deepEqual(left, [], 'the temp dir is gone');
  assert.equal(w.closed(), true, 'the hub is closed');
});

test('a daemon that started removes its temp dir and closes its hub at close', async () => {
  const w = watchedHub();
  let socket = '';
  const left = await inOwnTmp(async () => {
    const d = await startBenchDaemon({ sink: null, trace: true, run: 'r2' }, { start: startDaemon, hub: () => w.hub });
    socket = d.guestPath;
    assert.ok(existsSync(socket), 'the daemon listens on its guest socket');
    d.allow('connect', '127.0.0.1', 9);
    d.setTracing(false);
    await d.close();
  });
  assert.deepEqual(left, [], 'the temp dir is gone');
  assert.equal(existsSync(socket), false);
  assert.equal(w.closed(), true, 'the hub is closed');
});

test('with the caller\'s sink or tracing off the starter makes no hub', async () => {
  const left = await inOwnTmp(async () => {
    const noHub = (): TraceHub => assert.fail('no hub was wanted');
    const sink = { enabled: true, publish: () => undefined };
    for (const o of [{ sink, trace: true }, { sink: null, trace: false }]) {
      const d = await startBenchDaemon({ ...o, run: 'r3' }, { start: startDaemon, hub: noHub });
      await d.close();
    }
  });
  assert.deepEqual(left, []);
});
