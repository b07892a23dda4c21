// Pausing tracing within a run (what `linsock bench --trace alternate` does in phases): a guest's stamps
// stop and resume with Channel.setTracing, and a daemon whose sink is switched off records nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type TraceSink } from '../../daemon';
import { TraceHub } from '../../daemon/trace/trace-hub';
import { createChannel, connect, type Channel } from '../../guest';
import { decodeChunk, type CallRecord, type TraceRecord } from '../../protocol';
import { LOOPBACK_POLICY } from '../guest/test-daemon';

async function sends(channel: Channel, port: number, n: number): Promise<void> {
  const sock = connect({ channel, host: '127.0.0.1', port }).resume();
  await once(sock, 'connect');
  for (let i = 0; i < n; i++) sock.write(Buffer.alloc(100, i));
  sock.end();
  await once(sock, 'close');
}

// The runtime may join the writes of one tick into one send: count bytes, not calls.
const bytes = (list: CallRecord[]): number => list.reduce((n, c) => n + c.bytes, 0);
const withGuest = (calls: CallRecord[]): CallRecord[] => calls.filter((c) => c.stages[0]?.name === 'guest');
const hostOnly = (calls: CallRecord[]): CallRecord[] => calls.filter((c) => c.stages[0]?.name === 'host-queue');

/** The send records held once `done` holds of them (polled: stamps and the guest's leaving take a while). */
async function heldWhen(hub: TraceHub, done: (calls: CallRecord[]) => boolean): Promise<CallRecord[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const calls = await held(hub);
    if (done(calls) || Date.now() > deadline) return calls;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function held(hub: TraceHub): Promise<CallRecord[]> {
  hub.flush();
  const got: TraceRecord[] = [];
  return new Promise((resolve) => {
    hub.snapshot({ backlog: () => 0, send: (c) => got.push(...decodeChunk(c).records) }, 1e6, () =>
      resolve(got.filter((r): r is CallRecord => r.kind === 'call' && r.op === 'send')));
  });
}

test('a guest that pauses its stamps leaves host-only records for those calls, and full ones again once resumed', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-pause-'));
  const hub = new TraceHub();
  // A switch in front of the hub, as the bench's embedded daemon has.
  const sink: TraceSink & { enabled: boolean } = { enabled: true, publish: (r) => hub.publish(r) };
  const daemon = await startDaemon({ guestSocket: join(dir, 'guest.sock'), policy: LOOPBACK_POLICY, trace: sink, run: 'pause' });
  const server = net.createServer((s) => s.resume().on('end', () => s.end()));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const channel = createChannel({ path: daemon.guestPath as string }, { guest: 'pausing' });
  try {
    await channel.ready;
    assert.equal(channel.tracing, true);
    channel.setTracing(false);
    await sends(channel, port, 20);
    channel.setTracing(true);
    await sends(channel, port, 30);
    // The resumed calls' stamps reach the daemon within STAMP_FLUSH_MS; a record still waiting for them
    // when the sink turns off would be dropped.
    await heldWhen(hub, (calls) => bytes(withGuest(calls)) >= 3000);
    // The daemon sink switched off: no records at all, whatever the guest stamps.
    sink.enabled = false;
    await sends(channel, port, 40);
    sink.enabled = true;
    await channel.close();
    // The paused calls wait for stamps that never come, until the guest leaves.
    const calls = await heldWhen(hub, (c) => bytes(hostOnly(c)) >= 2000);
    assert.equal(withGuest(calls).length + hostOnly(calls).length, calls.length);
    assert.equal(bytes(hostOnly(calls)), 2000, 'the paused calls carry the host\'s stages only');
    assert.equal(bytes(withGuest(calls)), 3000, 'the resumed calls carry the guest\'s stages');
    assert.equal(bytes(calls), 5000, 'nothing is recorded while the daemon\'s sink is off');
  } finally {
    await channel.close();
    server.close();
    await daemon.close();
    hub.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
