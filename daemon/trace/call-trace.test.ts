import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CallRecord, TraceRecord } from '../../protocol';
import { CallTracer, MAX_EARLY_STAMPS } from './call-trace';
import { CallStamps } from './call-stamps';

function tracer(): { t: CallTracer; records: CallRecord[] } {
  const records: CallRecord[] = [];
  const sink = { enabled: true, publish: (r: TraceRecord) => void (r.kind === 'call' && records.push(r)) };
  return { t: new CallTracer(sink, 'g', 'run', 16), records };
}

function send(id: number, noReply: boolean): CallStamps {
  const c = new CallStamps(id, 1, 'send', false, 200, 210);
  c.noReply = noReply;
  c.execEnd = 220;
  c.replyOut = noReply ? 0 : 230;
  return c;
}

describe('CallTracer', () => {
  it('joins guest stamps that arrive before the host part is complete', () => {
    const { t, records } = tracer();
    t.stamps([{ id: 7, enter: 100, channelOut: 150, replyIn: 150, return: 150 }]);
    assert.equal(records.length, 0);
    t.done(send(7, true));
    assert.equal(records.length, 1);
    assert.deepEqual(records[0]?.stages.map((s) => [s.name, s.start, s.end]), [
      ['guest', 100, 150], ['channel-out', 150, 200], ['host-queue', 200, 210], ['execute', 210, 220],
    ]);
  });

  it('gives a replied call all seven stages and a pipelined send none after execute', () => {
    const { t, records } = tracer();
    t.done(send(1, false));
    t.stamps([{ id: 1, enter: 100, channelOut: 150, replyIn: 240, return: 250 }]);
    assert.deepEqual(records[0]?.stages.map((s) => s.name), ['guest', 'channel-out', 'host-queue', 'execute', 'reply-out', 'channel-in', 'guest-return']);
    assert.equal(records[0]?.stages[6]?.end, 250);
  });

  it('keeps a bounded number of early stamps', () => {
    const { t, records } = tracer();
    t.stamps(Array.from({ length: MAX_EARLY_STAMPS + 10 }, (_, i) => ({ id: i + 1, enter: 100, channelOut: 150, replyIn: 150, return: 150 })));
    t.done(send(1, true)); // its early stamp was dropped (oldest): host stages only once evicted or flushed
    t.done(send(MAX_EARLY_STAMPS + 10, true));
    assert.equal(records.length, 1);
    assert.equal(records[0]?.stages[0]?.name, 'guest');
    t.flush();
    assert.equal(records.length, 2);
    assert.equal(records[1]?.stages[0]?.name, 'host-queue');
  });

  it('counts the application calls a pipelined send frame carried, and the time spent in them', () => {
    const { t, records } = tracer();
    t.done(send(3, true));
    t.stamps([
      { id: 3, enter: 100, channelOut: 150, replyIn: 0, return: 104 },
      { id: 3, enter: 110, channelOut: 150, replyIn: 0, return: 113 },
      { id: 4, enter: 120, channelOut: 150, replyIn: 0, return: 0 }, // another frame: waits for its host part
    ]);
    assert.equal(records.length, 1);
    assert.equal(records[0]?.calls, 2);
    assert.equal(records[0]?.waitedNs, 7);
    assert.equal(records[0]?.stages.at(-1)?.end, 220, 'the record runs to the host\'s completion');
    t.done(send(4, true));
    assert.equal(records[1]?.calls, 0, 'a frame with only part of a write counts no call');
  });

  it('orders guest stamps within the clock error by a stated shift, and marks and counts disorder beyond it', () => {
    const { t, records } = tracer();
    t.errorNs = 30;
    t.done(send(1, false)); // host: receive 200, execute 210-220, reply out 230
    t.stamps([{ id: 1, enter: 180, channelOut: 220, replyIn: 260, return: 270 }]); // channel out 20 after the host's receive
    const r = records[0] as CallRecord;
    assert.equal(r.clockShiftNs, -20);
    assert.equal(r.disorderNs, undefined);
    assert.deepEqual(r.stages.map((s) => [s.start, s.end]), [[160, 200], [200, 200], [200, 210], [210, 220], [220, 230], [230, 240], [240, 250]]);
    t.done(send(2, false));
    t.stamps([{ id: 2, enter: 100, channelOut: 290, replyIn: 330, return: 340 }]); // 90 late: beyond the error of 30
    assert.equal(records[1]?.clockShiftNs, -90);
    assert.equal(records[1]?.disorderNs, 60);
    t.done(send(3, false));
    t.stamps([{ id: 3, enter: 100, channelOut: 150, replyIn: 160, return: 170 }]); // a round trip shorter than the host's part
    assert.ok((records[2]?.disorderNs ?? 0) > 0);
    assert.equal(t.disordered, 2);
    for (const x of records) for (const s of x.stages) assert.ok(s.end >= s.start);
  });

  it('maps guest stamps through the clock offset', () => {
    const { t, records } = tracer();
    t.offsetNs = 1_000_000;
    t.errorNs = 10;
    t.done(send(1, false));
    t.stamps([{ id: 1, enter: 100 - 1_000_000, channelOut: 150 - 1_000_000, replyIn: 240 - 1_000_000, return: 250 - 1_000_000 }]);
    assert.equal(records[0]?.stages[0]?.start, 100);
    assert.equal(records[0]?.clockShiftNs, undefined);
  });
});
