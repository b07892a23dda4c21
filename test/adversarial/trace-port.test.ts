// Issue 13.3: the trace server. Silent WebSockets (no token, reopened as fast as they close) hold no client
// slot; idle and slow-header HTTP connections are closed within seconds; a real client gets in within 1 s
// while 1,000 idle or half-open connections sit on the port.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { startTraceServer, TraceHub, type TraceServer } from '../../daemon';
import { loadOrCreateToken } from '../../daemon/trace/token';
import { getMetrics, traceClient } from './http';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function closedWithin(s: Socket, ms: number): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    });
  });
}

describe('trace server under silent, slow and idle connections', { timeout: 60_000 }, () => {
  let dir = '';
  let server: TraceServer;
  let token = '';
  const hub = new TraceHub();
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'linsock-trace-adv-'));
    const tokenFile = join(dir, 'token');
    token = loadOrCreateToken(tokenFile);
    server = await startTraceServer({ port: 0, tokenFile, hub });
  });
  after(async () => {
    await server.close();
    hub.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('16 silent WebSockets, reopened as they close, never keep a real client at 503', async () => {
    let stop = false;
    const open = (): void => {
      if (stop) return;
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/trace`);
      ws.on('error', () => undefined);
      ws.on('close', () => open());
    };
    for (let i = 0; i < 16; i++) open();
    await sleep(500);
    try {
      for (let round = 0; round < 3; round++) {
        const t = await traceClient(server.port, token);
        assert.ok(t.ms < 1000, `took ${t.ms} ms`);
        t.ws.terminate();
        await sleep(1500);
      }
    } finally {
      stop = true;
    }
  });

  it('an idle connection and one that sends its headers slowly are closed within a few seconds', async () => {
    const idle = connect(server.port, '127.0.0.1');
    const slow = connect(server.port, '127.0.0.1');
    idle.on('error', () => undefined).resume();
    slow.on('error', () => undefined).resume();
    slow.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => slow.writable && slow.write('X-A: b\r\n'), 500);
    try {
      const [a, b] = await Promise.all([closedWithin(idle, 6000), closedWithin(slow, 6000)]);
      assert.ok(a < 6000 && b < 6000);
    } finally {
      clearInterval(drip);
    }
  });

  it('a real client and /metrics get in within 1 s while 1,000 idle or half-open connections sit on the port', async () => {
    const held: Socket[] = [];
    for (let i = 0; i < 1000; i++) {
      const s = connect(server.port, '127.0.0.1');
      s.on('error', () => undefined);
      if (i % 2) s.write('GET /trace HTTP/1.1\r\n'); // half a request, never finished
      held.push(s);
      if (i % 100 === 99) await sleep(10);
    }
    await sleep(200);
    try {
      const t = await traceClient(server.port, token);
      assert.ok(t.ms < 1000, `trace client took ${t.ms} ms`);
      const m = await getMetrics(server.port, token);
      assert.equal(m.status, 200);
      assert.ok(m.ms < 1000, `/metrics took ${m.ms} ms`);
      t.ws.terminate();
    } finally {
      for (const s of held) s.destroy();
    }
  });
});
