// The guest's stage stamps reach the daemon without a round trip of their own, and the daemon joins
// them with its own: calls and pushed data come out as delegated call records with guest stages.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type TraceSink } from '../../daemon';
import { invalidRecord, type CallRecord, type TraceRecord } from '../../protocol';
import { createChannel, connect } from '../../guest';
import { LOOPBACK_POLICY } from './test-daemon';

/** A daemon that collects its call records, a host echo server, and a traced guest connected to it. */
async function tracedEcho(guest: string) {
  const records: CallRecord[] = [];
  const sink: TraceSink = { enabled: true, publish: (r: TraceRecord) => { if (r.kind === 'call') records.push(r); } };
  const daemon = await startDaemon({ guestSocket: join(mkdtempSync(join(tmpdir(), 'linsock-stamps-')), 'g.sock'), policy: LOOPBACK_POLICY, trace: sink });
  const server = net.createServer((s) => s.pipe(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const channel = createChannel({ path: daemon.guestPath as string }, { guest });
  await channel.ready;
  const sock = connect({ channel, host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
  await once(sock, 'connect');
  const close = async (): Promise<void> => {
    sock.destroy();
    await channel.close();
    await daemon.close();
    server.close();
  };
  return { records, daemon, channel, sock, close };
}

test('send, recv and connect calls carry guest stages joined with host stages', async () => {
  const { records, channel, sock, close } = await tracedEcho('stamped');
  assert.equal(channel.tracing, true);
  const ops = 50;
  for (let i = 0; i < ops; i++) {
    sock.write(Buffer.from([i]));
    await once(sock, 'data');
  }
  // Give the last sends time to complete on the host, then leave: the channel flushes its stamps first.
  await new Promise((r) => setTimeout(r, 30));
  await close();
  const full = (r: CallRecord): boolean => r.stages.some((s) => s.name === 'guest-return') && r.stages.some((s) => s.name === 'execute');
  const byOp = (op: string): CallRecord[] => records.filter((r) => r.op === op);
  assert.ok(byOp('connect').some(full), 'connect has guest and host stages');
  const sends = byOp('send').filter((r) => r.stages[0]?.name === 'guest' && r.stages.some((s) => s.name === 'execute'));
  const recvs = byOp('recv').filter(full);
  assert.ok(sends.length >= ops * 0.9, `${sends.length} of ${ops} sends have guest stages`);
  assert.ok(recvs.length >= ops * 0.9, `${recvs.length} of ${ops} pushed data have guest stages`);
  for (const r of [...sends, ...recvs]) {
    assert.equal(r.path, 'delegated');
    assert.equal(r.guest, 'stamped');
    for (let i = 1; i < r.stages.length; i++) assert.ok((r.stages[i] as { start: number }).start >= (r.stages[i - 1] as { end: number }).end - 1);
  }
  // A pipelined send has no reply: guest, channel out, host queue and execute are its stages.
  assert.deepEqual(sends[0]?.stages.map((s) => s.name), ['guest', 'channel-out', 'host-queue', 'execute']);
  const connectRec = byOp('connect').find(full);
  assert.deepEqual(connectRec?.stages.map((s) => s.name), ['guest', 'channel-out', 'host-queue', 'execute', 'reply-out', 'channel-in', 'guest-return']);
});

const HOST_STAGES = new Set(['host-queue', 'execute', 'reply-out']);
const ORDER = ['guest', 'channel-out', 'host-queue', 'execute', 'reply-out', 'channel-in', 'guest-return'];

/** Why a delegated record is inconsistent, or null: the checks every record of a real run must pass. */
function inconsistency(r: CallRecord): string | null {
  const bad = invalidRecord(r);
  if (bad) return bad;
  let prevIndex = -1;
  for (let i = 0; i < r.stages.length; i++) {
    const st = r.stages[i] as CallRecord['stages'][number];
    if (st.end < st.start) return `${st.name} ends before it starts`;
    const at = ORDER.indexOf(st.name);
    if (at <= prevIndex) return `${st.name} out of order`;
    prevIndex = at;
    const prev = r.stages[i - 1];
    if (prev && st.start !== prev.end) return `${st.name} does not start where ${prev.name} ended`;
  }
  const host = r.stages.filter((s) => HOST_STAGES.has(s.name));
  const first = r.stages[0] as CallRecord['stages'][number];
  const last = r.stages[r.stages.length - 1] as CallRecord['stages'][number];
  if (host.length > 0 && first.name === 'guest' && first.start > (host[0] as { start: number }).start) return 'the guest stage starts after the host stages';
  if (host.length > 0 && last.name === 'guest-return' && last.end < (host[host.length - 1] as { end: number }).end) return 'the guest returns before the host stages end';
  return null;
}

test('every record of a real delegated run is consistent: ordered, end >= start, guest stages enclose host stages', async () => {
  const { records, daemon, sock, close } = await tracedEcho('consistent');
  // Ping-pong, then a burst of pipelined sends whose echo comes back as pushed data.
  for (let i = 0; i < 30; i++) {
    sock.write(Buffer.from([i]));
    await once(sock, 'data');
  }
  const burst = Buffer.alloc(512 * 1024, 7);
  let echoed = 0;
  const back = new Promise<void>((resolve) => sock.on('data', (d: Buffer) => { echoed += d.length; if (echoed >= burst.length) resolve(); }));
  for (let off = 0; off < burst.length; off += 16 * 1024) sock.write(burst.subarray(off, off + 16 * 1024));
  await back;
  // A guest on this host's clock is mapped through its probes like any other: its offset is 0 within the error.
  const clock = daemon.clocks().consistent;
  assert.ok(clock && Math.abs(clock.offsetNs) <= clock.errorNs, `offset ${clock?.offsetNs} within ${clock?.errorNs} of 0`);
  assert.equal(daemon.clockErrors().consistent, clock.errorNs);
  await close();
  assert.ok(records.length > 60, `${records.length} records`);
  const withGuest = records.filter((r) => r.stages[0]?.name === 'guest' || r.stages[r.stages.length - 1]?.name === 'guest-return');
  assert.ok(withGuest.length >= records.length * 0.9, `${withGuest.length} of ${records.length} records have guest stages`);
  for (const r of records) assert.equal(inconsistency(r), null, JSON.stringify(r));
});
