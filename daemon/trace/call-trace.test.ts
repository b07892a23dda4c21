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
});
