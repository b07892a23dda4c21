import assert from 'node:assert/strict';
import { it } from 'node:test';
import { GuestClock } from './guest-clock';

/** A guest whose clock reads `offset` less than the host's, probing with the given one-way delays. */
function probes(c: GuestClock, offset: number, delays: [number, number][]): void {
  let host = 1_000_000_000;
  for (const [out, back] of delays) {
    const sent = host - offset;
    host += out;
    c.probe(sent, host, host);
    host += back + 1_000; // the answer's way back, then the guest's next probe after a µs
  }
  c.probe(host - offset, host + 5_000, host + 5_000);
}

it('has no mapping before a round trip closed, and offers HELLO\'s upper bound meanwhile', () => {
  const c = new GuestClock();
  assert.equal(c.errorNs, null);
  c.probe(10, 3_000_000_500, 3_000_000_600);
  assert.equal(c.errorNs, null);
  assert.equal(c.offsetNs, 3_000_000_490);
});

it('maps every clock, the host\'s own included, with the error of the fastest round trip', () => {
  for (const offset of [0, 3_000_000_000, -4_000_000_000, 7_123_456_789]) {
    const c = new GuestClock();
    probes(c, offset, [[400_000, 300_000], [20_000, 30_000], [90_000, 10_000]]);
    const m = c.mapping;
    assert.ok(m, 'a mapping');
    assert.ok(Math.abs(m.offsetNs - offset) <= m.errorNs, `offset ${m.offsetNs} within ${m.errorNs} of ${offset}`);
    assert.ok(m.errorNs <= 26_000, `the fastest round trip (51 µs) bounds the error: ${m.errorNs}`);
  }
});

it('ignores probes whose guest time went backwards (not one guest clock)', () => {
  const c = new GuestClock();
  c.probe(1_000, 2_000, 2_000);
  c.probe(500, 3_000, 3_000);
  assert.equal(c.mapping, null);
});
