import assert from 'node:assert/strict';
import { it } from 'node:test';
import { GuestClock } from './guest-clock';

it('leaves a guest on this host\'s clock unmapped, with no error', () => {
  const c = new GuestClock();
  assert.equal(c.errorNs, null, 'an error before any sample');
  c.sample(1_000_300_000, 1_000_000_000); // 300 µs of channel delay
  assert.equal(c.offsetNs, 0);
  assert.equal(c.errorNs, 0);
});

it('maps another clock by the smallest difference, and bounds its error by the smallest round trip', () => {
  const c = new GuestClock();
  const offset = 7_000_000_000; // a VM booted 7 s after the host
  c.sample(offset + 500_000 + 10, 10);
  c.sample(offset + 80_000 + 20, 20); // the probe with the least delay wins
  assert.equal(c.offsetNs, offset + 80_000);
  assert.equal(c.errorNs, null, 'no round trip seen yet');
  c.answered(5_000);
  assert.equal(c.awaitingFrame, true);
  c.frameArrived(165_000);
  assert.equal(c.awaitingFrame, false);
  c.answered(200_000);
  c.frameArrived(900_000); // a slower round trip does not widen the bound
  assert.equal(c.errorNs, 160_000);
});
