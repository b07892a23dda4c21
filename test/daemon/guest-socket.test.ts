// The guest socket file: mode 0660, a stale one (its daemon died) replaced, a live one or a non-socket kept.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startDaemon } from '../../daemon';
import { RawGuest } from './raw-guest';

describe('the guest socket file', { timeout: 20000 }, () => {
  it('is created with mode 0660, refuses a second daemon, replaces a stale file, never removes a non-socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linsockd-sock-'));
    try {
      const path = join(dir, 'sub', 'guest.sock');
      const d = await startDaemon({ guestSocket: path });
      assert.equal(statSync(path).mode & 0o777, 0o660);
      await assert.rejects(startDaemon({ guestSocket: path }), /another daemon is listening on/);
      (await RawGuest.open(path, 'still-served')).close();
      await d.close();
      assert.equal(existsSync(path), false);

      // A daemon killed with SIGKILL leaves its socket file behind; nobody listens on it any more.
      const stale = join(dir, 'stale.sock');
      spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
      assert.ok(statSync(stale).isSocket());
      const d2 = await startDaemon({ guestSocket: stale });
      (await RawGuest.open(stale, 'after-stale')).close();
      await d2.close();

      const notSocket = join(dir, 'file.sock');
      writeFileSync(notSocket, 'precious');
      await assert.rejects(startDaemon({ guestSocket: notSocket }), /exists and is not a socket/);
      assert.ok(existsSync(notSocket));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
