import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises';
import { BusyPoll, policyFromEnv, runnableTasks } from './busy-poll';
import { nowNs } from '../clock';

/** An idle machine, as far as the adaptive poll can tell. */
const idle = { runnable: () => 1, cpus: 2 };

/** A stepped clock (a loaded machine cannot stretch its gaps) and a way to move it in 5 µs steps. */
function steppedClock(): { now: () => number; advance: (ns: number) => Promise<void>; jump: (ns: number) => Promise<void> } {
  let t = 1e12;
  return {
    now: () => t,
    /** Moves the clock in one step, as a process that lost its CPU sees it. */
    jump: async (ns: number) => {
      t += ns;
      await turn();
    },
    advance: async (ns: number) => {
      const to = t + ns;
      while (t < to) {
        t = Math.min(to, t + 5000);
        await turn(); // the polling loop sees each step
      }
    },
  };
}

it('fixed: keeps the event loop polling for the window after activity, then lets it sleep', async () => {
  const clock = steppedClock();
  const poll = new BusyPoll(20_000, { policy: 'fixed', now: clock.now }); // 20 ms
  poll.touch(clock.now());
  assert.equal(poll.active, true);
  await clock.advance(5e6);
  assert.equal(poll.active, true, 'stopped polling inside the window');
  await clock.advance(16e6);
  assert.equal(poll.active, false, 'still polling after the window');
  // A touch inside the window extends it.
  poll.touch(clock.now());
  await clock.advance(15e6);
  poll.touch(clock.now());
  await clock.advance(15e6);
  assert.equal(poll.active, true, 'the second touch did not extend the window');
  await clock.advance(6e6);
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
  const clock = steppedClock();
  let runnable = 3;
  const poll = new BusyPoll(50_000, { policy: 'adaptive', runnable: () => runnable, cpus: 2, now: clock.now });
  poll.touch(clock.now());
  assert.equal(poll.active, false, 'polled with 3 runnable tasks on 2 CPUs');
  runnable = 2;
  await clock.advance(10e6); // the reading holds for 5 ms
  poll.touch(clock.now());
  assert.equal(poll.active, true, 'did not poll with 2 runnable tasks (itself included) on 2 CPUs');
  runnable = 4;
  await clock.advance(15e6);
  assert.equal(poll.active, false, 'kept polling for its window after the machine filled up');
  // The fixed policy does not look.
  const fixed = new BusyPoll(50_000, { policy: 'fixed', runnable: () => 9, cpus: 2, now: clock.now });
  fixed.touch(clock.now());
  assert.equal(fixed.active, true);
  fixed.bulk(clock.now());
  await turn();
});

it('adaptive: the window halves to nothing while activity comes back late, and grows while it comes back soon', async () => {
  const clock = steppedClock();
  const poll = new BusyPoll(1000, { policy: 'adaptive', ...idle, now: clock.now }); // 1 ms at most
  assert.equal(poll.windowUs, 1000);
  const seen: number[] = [];
  for (let i = 0; i < 8; i++) {
    poll.touch(clock.now());
    await clock.advance(4e6); // the window ran out, and 3 ms more: polling found nothing to do
    assert.equal(poll.active, false);
    seen.push(poll.windowUs);
  }
  // The first touch opens the whole window; each later one comes back late and halves the last.
  assert.deepEqual(seen.slice(0, 6), [1000, 500, 250, 125, 62.5, 31.25]);
  assert.equal(seen[7], 0, 'the window never shrank to nothing');
  poll.touch(clock.now());
  assert.equal(poll.active, false, 'polled with a window of nothing');
  // Activity right after a window ran out: polling longer would have caught it.
  const grown: number[] = [];
  for (let i = 0; i < 4; i++) {
    await clock.advance(5000);
    poll.touch(clock.now());
    grown.push(poll.windowUs);
    await clock.advance(poll.windowUs * 1000);
    assert.equal(poll.active, false);
  }
  assert.deepEqual(grown, [10, 20, 40, 80]);
  for (let i = 0; i < 7; i++) {
    await clock.advance(5000);
    poll.touch(clock.now());
    await clock.advance(poll.windowUs * 1000);
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

/**
 * An idle machine's delegated rr on a stepped clock: each half of a round trip (request to the host's
 * answer, answer to the guest's next request) takes `polled` µs when the daemon polls through it and
 * `slept` µs when it sleeps and is woken. Returns the share of the last `n` requests that found it polling.
 */
async function idleRoundTrips(answersCount: boolean, n: number): Promise<number> {
  const clock = steppedClock();
  const poll = new BusyPoll(200, { policy: 'adaptive', ...idle, now: clock.now });
  const polled = 25_000;
  const slept = 110_000; // a whole round trip without polling, 220 µs, is longer than the window
  // A guest's start: a few frames a millisecond or more apart halve the window to nothing.
  for (let i = 0; i < 6; i++) {
    poll.read(40, clock.now());
    await clock.advance(1.5e6);
  }
  assert.equal(poll.windowUs, 0, 'the start did not empty the window');
  let found = 0;
  for (let i = 0; i < 200 + n; i++) {
    const awake = poll.active;
    if (i >= 200 && awake) found++;
    poll.read(40, clock.now());
    await clock.advance(poll.active ? polled : slept);
    if (answersCount) poll.wrote(40, clock.now());
    await clock.advance(poll.active ? polled : slept);
  }
  await clock.advance(1e6); // the last window runs out: the polling loop ends
  assert.equal(poll.active, false);
  return found / n;
}

it('adaptive: an emptied window grows back on an idle round trip, because answers count as activity', async () => {
  // The regression this guards: with only the guest's frames counted, a round trip without polling is
  // longer than the window, so the window stays empty and every round trip pays two wake-ups.
  assert.equal(await idleRoundTrips(false, 50), 0, 'requests alone regrew the window: the model changed');
  const share = await idleRoundTrips(true, 50);
  assert.ok(share >= 0.9, `only ${share} of round trips found the daemon polling`);
});

it('counts what activity found: polling, a crowded machine, an empty window', async () => {
  let runnable = 1;
  let t = 1e12;
  const poll = new BusyPoll(100, { policy: 'adaptive', runnable: () => runnable, cpus: 2, now: () => t });
  poll.read(10, t);
  poll.wrote(10, (t += 1000));
  assert.deepEqual(poll.stats(), { activity: 2, found: 1, crowded: 0, empty: 0 });
  poll.wrote(64 * 1024, t); // bulk: a quiet while, not counted
  await turn(); // the polling loop sees it and ends
  assert.equal(poll.active, false);
  poll.read(10, (t += 1000));
  assert.equal(poll.stats().activity, 2);
  runnable = 5;
  poll.read(10, (t += 30e6));
  assert.deepEqual(poll.stats(), { activity: 3, found: 1, crowded: 1, empty: 0 });
});

it('adaptive: a polling loop that loses its CPU stops, and does not poll again for a while', async () => {
  const clock = steppedClock();
  const poll = new BusyPoll(5000, { policy: 'adaptive', ...idle, now: clock.now }); // 5 ms
  poll.touch(clock.now());
  await clock.advance(1e6); // its turns come every 5 µs: its own work
  assert.equal(poll.active, true, 'a polling loop that kept its CPU stopped');
  await clock.jump(3e6); // another task had the CPU for 3 ms: the next turn comes that late
  assert.equal(poll.active, false, 'kept polling after losing its CPU');
  await clock.advance(40e6);
  poll.touch(clock.now());
  assert.equal(poll.active, false, 'polled again right after losing its CPU');
  await clock.advance(20e6);
  poll.touch(clock.now());
  assert.equal(poll.active, true, 'never polled again');
  poll.bulk(clock.now());
  await turn();
  // The fixed policy does not look.
  const fixed = new BusyPoll(5000, { policy: 'fixed', now: clock.now });
  fixed.touch(clock.now());
  await clock.jump(3e6);
  assert.equal(fixed.active, true);
  fixed.bulk(clock.now());
  await turn();
});
