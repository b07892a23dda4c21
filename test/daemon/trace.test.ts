// Recording inside the daemon: host stamps per call merged with the guest's `stamps` into CallRecords.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { invalidRecord, type CallRecord, type StampEntry, type TraceRecord } from '../../protocol';
import type { TraceSink } from '../../daemon';
import { RawGuest } from './raw-guest';
import { eventually, LOOPBACK_ALLOWED, tcpServer, withDaemon } from './harness';

const now = (): number => Number(process.hrtime.bigint());

class CapturingSink implements TraceSink {
  readonly enabled = true;
  readonly records: TraceRecord[] = [];
  publish(r: TraceRecord): void {
    this.records.push(r);
  }
}

describe('call records from the daemon', { timeout: 20000 }, () => {
  it('publishes each call with guest and host stages, in order and contiguous, and pushed data as recv', async () => {
    const sink = new CapturingSink();
    await withDaemon({ policy: LOOPBACK_ALLOWED, trace: sink, run: 'run-1' }, async (_d, path) => {
      const srv = await tcpServer();
      const g = await RawGuest.open(path, 'traced');
      try {
        const stamps: StampEntry[] = [];
        const call = async (m: Parameters<RawGuest['request']>[0]) => {
          const enter = now();
          const channelOut = now();
          const r = await g.request(m);
          const replyIn = now();
          stamps.push({ id: r.id, enter, channelOut, replyIn, return: now() });
          return r;
        };
        const s = await call({ type: 'socket', handle: 0, family: 4, kind: 'tcp' });
        const handle = s.type === 'ok' ? s.value : 0;
        await call({ type: 'connect', handle, remote: { family: 4, address: '127.0.0.1', port: srv.port } });
        const conn = await srv.next();
        await call({ type: 'send', handle, noReply: false, data: Buffer.alloc(1000, 1) });
        conn.write('pushed!');
        const data = await g.waitFor((m) => m.type === 'data', 2000, 'data');
        const t = now();
        stamps.push({ id: data.id, enter: 0, channelOut: 0, replyIn: t, return: t + 1000 });
        g.post({ type: 'stamps', handle: 0, entries: stamps });
        await g.request({ type: 'getsockname', handle }); // the stamps frame was processed before this
        const calls = await eventually('four call records published', () => sink.records.filter((r): r is CallRecord => r.kind === 'call'), (cs) => cs.length >= 4);
        assert.deepEqual(calls.map((c) => c.op), ['socket', 'connect', 'send', 'recv']);
        for (const c of calls) {
          assert.equal(invalidRecord(c), null, JSON.stringify(c));
          assert.equal(c.path, 'delegated');
          assert.equal(c.guest, 'traced');
          assert.equal(c.run, 'run-1');
          assert.equal(c.socket, handle);
          assert.equal(c.result, 'ok');
          for (let i = 1; i < c.stages.length; i++) assert.equal(c.stages[i]?.start, c.stages[i - 1]?.end, `${c.op} stages are contiguous`);
        }
        const names = (c: CallRecord | undefined): string[] => (c ? c.stages.map((x) => x.name) : []);
        assert.deepEqual(names(calls[2]), ['guest', 'channel-out', 'host-queue', 'execute', 'reply-out', 'channel-in', 'guest-return']);
        assert.equal(calls[2]?.bytes, 1000);
        assert.deepEqual(names(calls[3]), ['execute', 'reply-out', 'channel-in', 'guest-return']);
        assert.equal(calls[3]?.bytes, 7);
      } finally {
        g.close();
        await srv.close();
      }
    });
    // The getsockname call had no guest stamps: it is published with host stages when the guest leaves.
    const last = sink.records[sink.records.length - 1] as CallRecord;
    assert.equal(last.op, 'getsockname');
    assert.deepEqual(last.stages.map((x) => x.name), ['host-queue', 'execute', 'reply-out']);
  });

  it("maps a guest on another clock onto the host's (offset from HELLO and clock probes)", async () => {
    const sink = new CapturingSink();
    const SKEW = -10_000_000_000; // the guest's clock runs 10 s behind the host's
    const guestNow = (): number => now() + SKEW;
    await withDaemon({ trace: sink }, async (d, path) => {
      const g = await RawGuest.open(path, 'skewed', { guestTimeNs: guestNow() });
      for (let i = 0; i < 3; i++) await g.request({ type: 'clock', handle: 0, guestTimeNs: guestNow() });
      const enter = guestNow();
      const r = await g.request({ type: 'socket', handle: 0, family: 4, kind: 'udp' });
      const replyIn = guestNow();
      g.post({ type: 'stamps', handle: 0, entries: [{ id: r.id, enter, channelOut: enter + 1000, replyIn, return: replyIn + 1000 }] });
      await g.request({ type: 'getsockname', handle: r.type === 'ok' ? r.value : 0 });
      const c = await eventually('the socket call\'s record', () => sink.records.find((x): x is CallRecord => x.kind === 'call' && x.op === 'socket'), (x) => x !== undefined);
      assert.ok(c);
      assert.equal(invalidRecord(c), null);
      assert.deepEqual(c.stages.map((x) => x.name), ['guest', 'channel-out', 'host-queue', 'execute', 'reply-out', 'channel-in', 'guest-return']);
      const host = c.stages.find((x) => x.name === 'execute');
      const guestStart = c.stages[0]?.start ?? 0;
      // Mapped within the channel's one-way delay, not 10 s away.
      assert.ok(Math.abs((host?.start ?? 0) - guestStart) < 50_000_000, `guest stage at ${guestStart}, host at ${host?.start}`);
      // The estimated error is published per guest (for RunInfo.clockErrorNs): a round trip, not 0, not 10 s.
      const err = await eventually('the guest\'s clock error in clockErrors()', () => d.clockErrors().skewed, (e) => e !== undefined);
      assert.ok(err !== undefined && err > 0 && err < 50_000_000, `clock error ${err}`);
      g.close();
      await g.waitEnd();
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(d.clockErrors().skewed, err, 'still reported after the guest left');
    });
  });

  it('builds no record at all when the sink is disabled', async () => {
    const sink: TraceSink = { enabled: false, publish: () => assert.fail('publish called with tracing off') };
    await withDaemon({ trace: sink }, async (_d, path) => {
      const g = await RawGuest.open(path, 'untraced');
      const r = await g.request({ type: 'socket', handle: 0, family: 4, kind: 'udp' });
      g.post({ type: 'stamps', handle: 0, entries: [{ id: r.id, enter: 1, channelOut: 2, replyIn: 3, return: 4 }] });
      await g.request({ type: 'getsockname', handle: r.type === 'ok' ? r.value : 0 });
      g.close();
    });
  });
});
