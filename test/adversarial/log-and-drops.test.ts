// Issue 13.10: what floods cost. Thousands of connections that each send a malformed frame cost a few log
// lines and a count of the rest, not a line each; a stalled trace reader's drops are counted in
// dropped_total as they happen, not all at once when it reads again.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { TraceHub } from '../../daemon';
import { syntheticStream } from '../fixtures/synthetic';
import { startDaemonProcess } from './daemon-process';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('log and drop accounting under floods', { timeout: 60_000 }, () => {
  it('3,000 malformed connections write a bounded log with a count of what was suppressed', async () => {
    const d = await startDaemonProcess();
    try {
      const before = d.logBytes();
      const garbage = Buffer.alloc(16, 0xee); // frame type 0xee: no such type
      for (let batch = 0; batch < 30; batch++) {
        await Promise.all(Array.from({ length: 100 }, () => new Promise<void>((resolve) => {
          const s = connect(d.guestPath);
          s.on('error', () => resolve());
          s.on('close', () => resolve());
          s.on('connect', () => s.end(garbage));
          s.resume();
        })));
      }
      await sleep(1200);
      // One more after the window turned: it brings the count of the suppressed ones.
      await new Promise<void>((resolve) => {
        const s = connect(d.guestPath, () => s.end(garbage));
        s.on('close', () => resolve()).resume();
      });
      await sleep(300);
      const written = d.logBytes() - before;
      const malformed = d.log.filter((l) => l.msg === 'malformed frame from guest').length;
      const suppressed = d.log.filter((l) => l.msg === 'log lines suppressed' && l.kind === 'malformed frame from guest').reduce((n, l) => n + Number(l.suppressed), 0);
      assert.ok(written < 40_000, `wrote ${written} bytes of log`);
      // Some connections are pushed out before their frame is read (pending-hello cap): not every one is a line.
      assert.ok(malformed <= 150, `${malformed} malformed-frame lines`);
      assert.ok(suppressed >= 1000, `${suppressed} counted as suppressed`);
      assert.equal(d.exitCode(), null);
    } finally {
      await d.stop();
    }
  });

  it('a stalled reader\'s drops are in the drop counter while it is stalled', async () => {
    const hub = new TraceHub({ ringSize: 1000, batchRecords: 100, batchMs: 5, backlogCap: 1024 });
    let stalled = true;
    const got: Uint8Array[] = [];
    hub.subscribe({ backlog: () => (stalled ? 1 << 30 : 0), send: (c) => void got.push(c) });
    try {
      for (const r of syntheticStream(20_000, { seed: 7 })) hub.publish(r);
      hub.flush();
      await sleep(100);
      const whileStalled = hub.stats().drops;
      assert.ok(whileStalled >= 19_000 - 1000, `drops while stalled: ${whileStalled}`);
      stalled = false;
      await sleep(100);
      assert.ok(hub.stats().drops - whileStalled < 1000, 'no jump when the reader reads again');
      assert.ok(got.length > 0);
    } finally {
      hub.close();
    }
  });
});
