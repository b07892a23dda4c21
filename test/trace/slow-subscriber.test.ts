// A subscriber that reads nothing while 1,000,000 calls pass: the daemon side (hub + server, in its own
// process) must stay within its ring and socket caps, and the subscriber then learns how much it missed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import type { HubStats } from '../../daemon/trace/trace-hub';
import { StreamClient } from './stream-client';

interface Report {
  stats: HubStats;
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
}

const MB = 1024 * 1024;

test('a subscriber that reads nothing while 1,000,000 calls pass keeps the daemon bounded and gets a drop count', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-slow-'));
  const ringSize = 1_048_576; // the default
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/trace/hub-daemon.ts'], {
    env: { ...process.env, RING_SIZE: String(ringSize), TOKEN_FILE: join(dir, 'token') },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async <T>(): Promise<T> => JSON.parse((await lines.next()).value as string) as T;
  try {
    const { url, tokenFile } = await next<{ url: string; tokenFile: string }>();
    const token = readFileSync(tokenFile, 'utf8').trim();
    let raw: Socket | undefined;
    const ws = new WebSocket(url, {
      headers: { Authorization: `Bearer ${token}` },
      createConnection: (o: { port?: number; host?: string }) => (raw = createConnection({ port: Number(o.port), host: '127.0.0.1' })),
    } as WebSocket.ClientOptions);
    const client = new StreamClient(ws);
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    client.send({ op: 'subscribe', id: 1, filter: {}, history: false });
    await client.reply(1);
    (raw as Socket).pause(); // from now on the client reads nothing

    // Warm up to the steady state (ring full), then measure what another 1,000,000 calls add.
    child.stdin.write('publish 300000\n');
    const warm = await next<Report>();
    child.stdin.write('publish 1000000\n');
    const after = await next<Report>();
    const growth = after.rss - warm.rss;
    console.log(`daemon rss ${(warm.rss / MB).toFixed(0)} MB after warm-up, ${(after.rss / MB).toFixed(0)} MB after 1,000,000 more calls (ring ${after.stats.ringUsed} records, ${(after.stats.ringBytes / MB).toFixed(1)} MB; array buffers ${(warm.arrayBuffers / MB).toFixed(0)} -> ${(after.arrayBuffers / MB).toFixed(0)} MB)`);
    assert.ok(after.stats.ringUsed <= ringSize);
    // Encoded chunks live in array buffers: the ring plus at most one socket cap (4 MiB) and a chunk.
    assert.ok(after.arrayBuffers - warm.arrayBuffers < after.stats.ringBytes + 16 * MB, `array buffers grew from ${(warm.arrayBuffers / MB).toFixed(0)} to ${(after.arrayBuffers / MB).toFixed(0)} MB`);
    assert.ok(growth < 128 * MB, `rss grew by ${(growth / MB).toFixed(0)} MB while a reader was stalled`);
    assert.ok(after.rss < 400 * MB, `rss ${(after.rss / MB).toFixed(0)} MB`);
    assert.ok(client.records.length < 300_000, `the stalled reader cannot have received ${client.records.length}`);

    (raw as Socket).resume();
    const total = after.stats.nextSeq;
    const seen = (): number => client.records.reduce((n, r) => n + (r.kind === 'dropped' ? r.count : 1), 0);
    await client.until(() => seen() >= total, 60_000, 'the reader to catch up');
    const dropped = client.records.filter((r) => r.kind === 'dropped');
    assert.ok(dropped.length >= 1, 'a drop mark arrived');
    const count = dropped.reduce((n, r) => n + (r.kind === 'dropped' ? r.count : 0), 0);
    assert.ok(count >= after.stats.nextSeq - ringSize - 300_000, `dropped ${count}`);
    assert.equal(seen(), total, 'delivered + dropped = every record published');
    const lastCall = client.records.filter((r) => r.kind === 'call').at(-1);
    assert.equal(lastCall && lastCall.kind === 'call' && lastCall.seq, total - 1, 'it ends with the newest record');
    client.close();
    child.stdin.write('quit\n');
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
