// Issue 13.6: the socket and token directories. A directory another user made (or anyone may write) is
// refused with a clear error before anything is put in it; a missing one is made with mode 0700.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startDaemon, startTraceServer, TraceHub } from '../../daemon';

describe('private directories for the guest socket and the token', { timeout: 20_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'linsock-dirs-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('a missing directory is made 0700', async () => {
    const d = await startDaemon({ guestSocket: join(root, 'fresh', 'linsock', 'guest.sock') });
    try {
      assert.equal(statSync(join(root, 'fresh', 'linsock')).mode & 0o777, 0o700);
    } finally {
      await d.close();
    }
  });

  it('a world-writable directory, another user\'s, or a symlink is refused for the guest socket', async () => {
    const open = join(root, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    await assert.rejects(startDaemon({ guestSocket: join(open, 'guest.sock') }), /guest socket directory .*open is writable by group or others \(mode 777\)/);
    const theirs = join(root, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, 65534, 65534);
    await assert.rejects(startDaemon({ guestSocket: join(theirs, 'guest.sock') }), /belongs to uid 65534/);
    const link = join(root, 'link');
    symlinkSync(open, link);
    await assert.rejects(startDaemon({ guestSocket: join(link, 'guest.sock') }), /is a symbolic link/);
  });

  it('the token file\'s directory is held to the same rule', async () => {
    const open = join(root, 'open-token');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const hub = new TraceHub();
    try {
      await assert.rejects(startTraceServer({ port: 0, tokenFile: join(open, 'token'), hub }), /token file directory .*open-token is writable by group or others/);
    } finally {
      hub.close();
    }
  });
});
