// Issue 13.4: the guest socket. 1,000 silent or half-open connections on the Unix socket and on the TCP
// channel, and 1,000 guests that said HELLO from one peer, must not keep a real guest out: it gets in
// within 1 s. Connections that never say HELLO are closed fast and hold no guest slot.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { HEADER_BYTES } from '../../protocol';
import { withDaemon } from '../daemon/harness';
import { RawGuest } from '../daemon/raw-guest';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function flood(target: string | { port: number; host: string; localAddress?: string }, n: number): Socket[] {
  const out: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = typeof target === 'string' ? connect(target) : connect({ port: target.port, host: target.host, localAddress: target.localAddress });
    s.on('error', () => undefined);
    // Every other one is half-open: half a frame header, then nothing.
    if (i % 2) s.once('connect', () => s.write(Buffer.alloc(HEADER_BYTES / 2, 1)));
    out.push(s);
  }
  return out;
}

async function timedOpen(path: string | { host: string; port: number }, name: string): Promise<number> {
  const t0 = Date.now();
  const g = await RawGuest.open(path, name);
  const ms = Date.now() - t0;
  g.close();
  return ms;
}

describe('the guest socket under floods', { timeout: 60_000 }, () => {
  it('1,000 idle or half-open connections on each port leave a real guest a way in within 1 s', async () => {
    await withDaemon({ guestTcp: { host: '127.0.0.1', port: 0 } }, async (d, path) => {
      const tcp = { host: '127.0.0.1', port: d.tcpAddress?.port as number };
      const held = [...flood(path, 1000), ...flood({ ...tcp, localAddress: '127.0.0.2' }, 1000)];
      await sleep(500);
      try {
        const unixMs = await timedOpen(path, 'real-unix');
        assert.ok(unixMs < 1000, `unix guest took ${unixMs} ms`);
        const tcpMs = await timedOpen(tcp, 'real-tcp');
        assert.ok(tcpMs < 1000, `tcp guest took ${tcpMs} ms`);
        // Silent connections are closed after the short hello timeout.
        await sleep(2500);
        assert.ok(held.filter((s) => !s.destroyed && s.readyState === 'open').length < 100, 'silent connections were not closed');
      } finally {
        for (const s of held) s.destroy();
      }
    });
  });

  it('1,000 guests that said HELLO from one peer leave a guest of another peer a way in', async () => {
    await withDaemon({ guestTcp: { host: '127.0.0.1', port: 0 } }, async (d) => {
      const tcp = { host: '127.0.0.1', port: d.tcpAddress?.port as number };
      const hogs: RawGuest[] = [];
      let refused = 0;
      const attempts = [];
      for (let i = 0; i < 1000; i++) {
        attempts.push(
          new Promise<void>((resolve) => {
            const s = connect({ ...tcp, localAddress: '127.0.0.2' });
            s.on('error', () => resolve());
            s.once('connect', () => {
              void RawGuest.fromSocket(s, `hog-${i}`).then((g) => hogs.push(g), () => refused++).finally(resolve);
            });
          }),
        );
        if (i % 100 === 99) await sleep(10);
      }
      await Promise.all(attempts);
      try {
        assert.ok(refused > 0, 'one peer got every slot it asked for');
        const ms = await timedOpen(tcp, 'real');
        assert.ok(ms < 1000, `took ${ms} ms`);
      } finally {
        for (const g of hogs) g.close();
      }
    });
  });
});
