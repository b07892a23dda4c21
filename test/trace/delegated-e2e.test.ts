// The whole trace path with real parts: a guest's delegated calls through a real linsockd publish into the
// TraceHub; a subscriber on the WebSocket trace server receives them; they pass the record checks, and
// their Chrome export passes the Trace Event Format checks (real stage times must nest).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon } from '../../daemon';
import { TraceHub } from '../../daemon/trace/trace-hub';
import { startTraceServer } from '../../daemon/trace/trace-server';
import { createChannel, connect } from '../../guest';
import { invalidRecord, type CallRecord } from '../../protocol';
import { toChromeTrace } from '../../protocol/chrome-trace';
import { LOOPBACK_POLICY } from '../guest/test-daemon';
import { StreamClient } from './stream-client';
import { traceEventProblems } from './trace-event-format';

test('delegated calls of a real guest stream to a subscriber as complete records that export cleanly', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-e2e-'));
  const hub = new TraceHub({ batchMs: 5 });
  const daemon = await startDaemon({ guestSocket: join(dir, 'guest.sock'), policy: LOOPBACK_POLICY, trace: hub, run: 'e2e' });
  const server = await startTraceServer({ port: 0, tokenFile: join(dir, 'token'), hub, guests: () => daemon.guests(), status: () => daemon.stats() });
  const echo = net.createServer((s) => s.pipe(s));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const channel = createChannel({ path: daemon.guestPath as string }, { guest: 'e2e-guest' });
  try {
    const client = await StreamClient.open(server.url, { token: readFileSync(join(dir, 'token'), 'utf8').trim() });
    client.send({ op: 'subscribe', id: 1, filter: { guest: 'e2e-guest' }, history: false });
    await client.reply(1);
    await channel.ready;
    const sock = connect({ channel, host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port });
    await once(sock, 'connect');
    let got = 0;
    sock.on('data', (d: Buffer) => (got += d.length));
    for (let i = 0; i < 50; i++) sock.write(Buffer.alloc(1000, i));
    while (got < 50_000) await new Promise((r) => setTimeout(r, 10));
    sock.end();
    await once(sock, 'close');
    const ops = (): Set<string> => new Set(client.records.map((r) => (r.kind === 'call' ? r.op : r.kind)));
    await client.until(() => ['connect', 'send', 'recv'].every((o) => ops().has(o)), 10_000, `connect, send and recv records (have ${[...ops()].join(', ')})`);
    const calls = client.records.filter((r): r is CallRecord => r.kind === 'call');
    for (const c of calls) {
      assert.equal(invalidRecord(c), null, JSON.stringify(c));
      assert.equal(c.guest, 'e2e-guest');
      assert.equal(c.path, 'delegated');
      for (let i = 1; i < c.stages.length; i++) assert.ok((c.stages[i] as { start: number }).start >= (c.stages[i - 1] as { end: number }).end - 0, `stages overlap in ${JSON.stringify(c)}`);
    }
    const sent = calls.filter((c) => c.op === 'send').reduce((n, c) => n + c.bytes, 0);
    assert.equal(sent, 50_000, 'every send is traced with its bytes');
    assert.deepEqual(traceEventProblems(JSON.parse(toChromeTrace(client.records))), []);
    client.send({ op: 'guests', id: 2 });
    client.close();
  } finally {
    await channel.close();
    echo.close();
    await server.close();
    await daemon.close();
    hub.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
