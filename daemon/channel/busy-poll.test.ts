import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BusyPoll } from './busy-poll';
import { nowNs } from '../clock';

it('keeps the event loop polling for the window after activity, then lets it sleep', async () => {
  const poll = new BusyPoll(20_000); // 20 ms
  poll.touch(nowNs());
  assert.equal(poll.active, true);
  await sleep(5);
  assert.equal(poll.active, true, 'stopped polling inside the window');
  await sleep(40);
  assert.equal(poll.active, false, 'still polling long after the window');
  // A touch inside the window extends it.
  poll.touch(nowNs());
  await sleep(15);
  poll.touch(nowNs());
  await sleep(15);
  assert.equal(poll.active, true, 'the second touch did not extend the window');
  await sleep(40);
  assert.equal(poll.active, false);
});

it('with a window of 0 never polls', () => {
  const poll = new BusyPoll(0);
  poll.touch(nowNs());
  assert.equal(poll.active, false);
});

it('stops polling on bulk data and starts again only after a quiet while', async () => {
  const poll = new BusyPoll(50_000);
  poll.touch(nowNs());
  assert.equal(poll.active, true);
  poll.bulk(nowNs());
  await sleep(5);
  assert.equal(poll.active, false, 'bulk data did not stop the polling');
  poll.touch(nowNs());
  assert.equal(poll.active, false, 'activity right after bulk data started polling');
  await sleep(30);
  poll.touch(nowNs());
  assert.equal(poll.active, true, 'activity after the quiet while did not start polling');
  poll.bulk(nowNs());
});
