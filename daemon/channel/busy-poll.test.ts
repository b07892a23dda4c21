import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises';
import { BusyPoll, policyFromEnv, runnableTasks } from './busy-poll';
import { nowNs } from '../clock';

/** An idle machine, as far as the adaptive poll can tell. */
const idle = { runnable: () => 1, cpus: 2 };

async function untilAsleep(poll: BusyPoll): Promise<void> {
  const give = nowNs() + 1e9;
  while (poll.active && nowNs() < give) await turn();
  assert.equal(poll.active, false, 'still polling a second after its window');
}

it('fixed: keeps the event loop polling for the window after activity, then lets it sleep', async () => {
  const poll = new BusyPoll(20_000, { policy: 'fixed' }); // 20 ms
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
  for (const policy of ['fixed', 'adaptive'] as const) {
    const poll = new BusyPoll(0, { policy, ...idle });
    poll.touch(nowNs());
    assert.equal(poll.active, false);
  }
});

it('stops polling on bulk data and starts again only after a quiet while', async () => {
  const poll = new BusyPoll(50_000, { policy: 'fixed' });
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

it('adaptive: does not poll while more tasks are runnable than CPUs, and stops when they come', async () => {
  let runnable = 3;
  const poll = new BusyPoll(50_000, { policy: 'adaptive', runnable: () => runnable, cpus: 2 });
  poll.touch(nowNs());
  assert.equal(poll.active, false, 'polled with 3 runnable tasks on 2 CPUs');
  runnable = 2;
  await sleep(10); // the reading holds for 5 ms
  poll.touch(nowNs());
  assert.equal(poll.active, true, 'did not poll with 2 runnable tasks (itself included) on 2 CPUs');
  runnable = 4;
  await sleep(15);
  assert.equal(poll.active, false, 'kept polling for its window after the machine filled up');
  // The fixed policy does not look.
  const fixed = new BusyPoll(50_000, { policy: 'fixed', runnable: () => 9, cpus: 2 });
  fixed.touch(nowNs());
  assert.equal(fixed.active, true);
  fixed.bulk(nowNs());
});

it('adaptive: the window halves to nothing while activity comes back late, and grows while it comes back soon', async () => {
  const poll = new BusyPoll(1000, { policy: 'adaptive', ...idle }); // 1 ms at most
  assert.equal(poll.windowUs, 1000);
  const seen: number[] = [];
  for (let i = 0; i < 8; i++) {
    poll.touch(nowNs());
    await sleep(4); // the window ran out, and 3 ms more: polling found nothing to do
    assert.equal(poll.active, false);
    seen.push(poll.windowUs);
  }
  // The first touch opens the whole window; each later one comes back late and halves the last.
  assert.deepEqual(seen.slice(0, 6), [1000, 500, 250, 125, 62.5, 31.25]);
  assert.equal(seen[7], 0, 'the window never shrank to nothing');
  poll.touch(nowNs());
  assert.equal(poll.active, false, 'polled with a window of nothing');
  // Activity right after a window ran out: polling longer would have caught it.
  const grown: number[] = [];
  for (let i = 0; i < 4; i++) {
    poll.touch(nowNs());
    grown.push(poll.windowUs);
    await untilAsleep(poll);
  }
  assert.deepEqual(grown, [10, 20, 40, 80]);
  poll.touch(nowNs());
  await untilAsleep(poll);
  for (let i = 0; i < 6; i++) {
    poll.touch(nowNs());
    await untilAsleep(poll);
  }
  assert.equal(poll.windowUs, 1000, 'grew past the longest window');
});

it('LINSOCK_BUSY_POLL picks the policy; the runnable count comes from /proc/loadavg', () => {
  assert.equal(policyFromEnv({}), 'adaptive');
  assert.equal(policyFromEnv({ LINSOCK_BUSY_POLL: 'fixed' }), 'fixed');
  assert.throws(() => policyFromEnv({ LINSOCK_BUSY_POLL: 'sometimes' }), /LINSOCK_BUSY_POLL must be adaptive or fixed, got 'sometimes'/);
  const n = runnableTasks();
  assert.ok(n !== null && Number.isInteger(n) && n >= 1, `runnable ${n}: the reader itself runs`);
});
