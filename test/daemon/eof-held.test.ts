// Received bytes the daemon holds back for a guest without credit are still delivered when the host socket
// closes meanwhile (peer sent and closed, guest shut its side): first every byte, then EOF.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withConnectedGuest } from './harness';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('data held for credit', { timeout: 20_000 }, () => {
  it('outlives the host socket: the tail arrives before EOF once the guest grants credit', async () => {
    await withConnectedGuest('slow-reader', async ({ g, handle, conn }) => {
      // Just over the guest's initial receive credit (1 MiB), then FIN: the tail waits in the daemon.
      const total = 1024 * 1024 + 10_000;
      const payload = Buffer.alloc(total);
      for (let i = 0; i < total; i++) payload[i] = (i * 31) & 0xff;
      // Most of the credit first; then the rest with FIN in one go, so that the daemon reads the end of the
      // stream while it holds the tail.
      const first = 1024 * 1024 - 5000;
      conn.write(payload.subarray(0, first));
      await g.waitBytes(handle, first);
      conn.end(payload.subarray(first));
      await g.waitBytes(handle, 1024 * 1024);
      assert.equal((await g.request({ type: 'shutdown', handle, how: 'write' })).type, 'ok');
      await new Promise((r) => conn.once('close', r)); // the host connection is fully closed now
      await sleep(100);
      assert.equal(g.bytesOn(handle), 1024 * 1024, 'nothing beyond the credit was pushed');
      g.post({ type: 'credit', handle, bytes: 1024 * 1024 });
      const got = await g.waitBytes(handle, total);
      assert.equal(Buffer.compare(got, payload), 0, 'every byte, in order');
      await g.waitFor((m) => m.type === 'peerClosed' && m.handle === handle, 5000, 'EOF after the data');
      const kinds = g.events.filter((m) => m.handle === handle && (m.type === 'data' || m.type === 'peerClosed')).map((m) => m.type);
      assert.equal(kinds[kinds.length - 1], 'peerClosed');
    });
  });
});
