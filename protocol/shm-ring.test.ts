import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShmPipe } from './shm-pipe';
import { MIN_RING_BYTES, RingCorruption, SHM_HEADER_BYTES, checkRegion, regionBytes } from './shm-ring';
import { FrameDecoder, encodeFrameParts } from './wire-codec';

const RING = MIN_RING_BYTES;

/** A deterministic PRNG (xorshift32): a failing seed can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

function pair(ring = RING): { region: Uint8Array; guest: ShmPipe; host: ShmPipe; bells: { guest: number; host: number } } {
  const region = new Uint8Array(regionBytes(ring));
  const bells = { guest: 0, host: 0 };
  // The guest's doorbell rings the host and the other way round.
  const guest = new ShmPipe(region, 'guest', () => bells.host++, ring);
  const host = new ShmPipe(region, 'host', () => bells.guest++);
  return { region, guest, host, bells };
}

function drain(p: ShmPipe, max = Infinity): Uint8Array {
  const got: number[] = [];
  while (p.receive((views) => { for (const v of views) got.push(...v); }, max) > 0) { /* until empty */ }
  return Uint8Array.from(got);
}

test('bytes cross both rings in order, across many wrap-arounds, with random write and read sizes', () => {
  const byteAt = (i: number): number => (i * 31 + 7) & 0xff;
  for (const seed of [1, 7, 42, 1234]) {
    const r = rng(seed);
    const { guest, host } = pair();
    for (const [from, to] of [[guest, host], [host, guest]] as const) {
      let sent = 0;
      let got = 0;
      let wrong = -1;
      const take = (views: Uint8Array[]): void => {
        for (const v of views) for (let i = 0; i < v.length; i++, got++) if (v[i] !== byteAt(got) && wrong < 0) wrong = got;
      };
      for (let round = 0; round < 200; round++) {
        const parts: Uint8Array[] = [];
        for (let k = Math.floor(r() * 4); k > 0; k--) {
          const p = new Uint8Array(Math.floor(r() * RING * 0.6));
          for (let i = 0; i < p.length; i++) p[i] = byteAt(sent++);
          parts.push(p);
        }
        from.write(parts);
        // The consumer takes a random bite; the producer moves what now fits.
        to.receive(take, Math.floor(r() * RING));
        from.pump();
      }
      for (let guard = 0; from.queued() > 0 || got < sent; guard++) {
        assert.ok(guard < 1000, 'the pipe stalled');
        to.receive(take, RING);
        from.pump();
      }
      assert.equal(got, sent, `seed ${seed}`);
      assert.equal(wrong, -1, `seed ${seed}: byte ${wrong} differs`);
    }
  }
});

test('a full ring keeps the rest queued and the consumer rings the producer once it frees space', () => {
  const { guest, host, bells } = pair();
  const big = new Uint8Array(RING + 1000).fill(9);
  guest.write([big]);
  assert.equal(guest.queued(), 1000);
  assert.equal(host.receive(() => undefined, 10), 10);
  assert.equal(bells.guest, 1, 'the producer said it waits for space: the consumer rings it');
  guest.pump();
  assert.equal(guest.queued(), 990);
  assert.equal(drain(host).length, RING);
  assert.equal(guest.pump(), true);
  assert.equal(drain(host).length, 990);
});

test('the producer rings only a consumer that said it sleeps, once per sleep', () => {
  const { guest, host, bells } = pair();
  guest.write([new Uint8Array(10)]);
  assert.equal(bells.host, 0);
  drain(host);
  assert.equal(host.sleep(), false);
  guest.write([new Uint8Array(10)]);
  guest.write([new Uint8Array(10)]);
  assert.equal(bells.host, 1);
  assert.equal(host.sleep(), true, 'bytes arrived: do not sleep');
});

test('frames go through the ring and decode as on a socket', () => {
  const { guest, host } = pair();
  const data = new Uint8Array(100_000).map((_, i) => i & 0xff);
  const decoded: Uint8Array[] = [];
  const dec = new FrameDecoder({ maxPayload: 256 * 1024, pieces: true });
  for (let i = 0; i < 5; i++) {
    guest.write(encodeFrameParts({ type: 'send', id: i + 1, handle: 3, noReply: true, data }));
    const take = (views: Uint8Array[]): void => {
      for (const v of views) {
        const { messages, error } = dec.push(v.slice());
        assert.equal(error, null);
        for (const m of messages) if (m.type === 'send') decoded.push(m.data.slice());
      }
    };
    for (let guard = 0; guest.queued() > 0 || host.receive(take, RING) > 0; guard++) {
      assert.ok(guard < 100, 'the pipe stalled');
      host.receive(take, RING);
      guest.pump();
    }
  }
  assert.equal(decoded.reduce((n, d) => n + d.length, 0), 5 * data.length);
  const joined = Buffer.concat(decoded);
  for (let i = 0; i < 5; i++) assert.ok(joined.subarray(i * data.length, (i + 1) * data.length).equals(data), `frame ${i + 1}`);
});

test('a head or tail out of range is a RingCorruption, never a wrong read', () => {
  const words = (region: Uint8Array) => new Uint32Array(region.buffer, 0, SHM_HEADER_BYTES / 4);
  {
    const { region, guest, host } = pair();
    guest.write([new Uint8Array(100)]);
    words(region)[16] = RING + 1; // the toHost ring's head, scribbled by the guest
    assert.throws(() => host.receive(() => undefined, RING), RingCorruption);
  }
  {
    const { region, host } = pair();
    host.write([new Uint8Array(100)]);
    words(region)[48 + 16] = 5000; // the toGuest ring's tail, ahead of its head: scribbled by the guest
    assert.throws(() => host.write([new Uint8Array(1)]), RingCorruption);
  }
});

test('a bad header is refused when the region is opened', () => {
  const region = new Uint8Array(regionBytes(RING));
  assert.throws(() => checkRegion(region), /magic/);
  new ShmPipe(region, 'guest', () => undefined, RING);
  const w = new Uint32Array(region.buffer, 0, 4);
  w[2] = RING * 2; // claims rings larger than the region
  assert.throws(() => new ShmPipe(region, 'host', () => undefined), RingCorruption);
  w[2] = RING + 1; // not a power of two
  assert.throws(() => new ShmPipe(region, 'host', () => undefined), RingCorruption);
  assert.throws(() => checkRegion(region.subarray(0, 100)), RingCorruption);
});

test('fuzz: random scribbles on the header and the data either work or fail cleanly, never throw otherwise or hang', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const r = rng(seed);
    const { region, guest, host } = pair();
    const dec = new FrameDecoder({ maxPayload: 256 * 1024, pieces: true });
    let failed: Error | null = null;
    try {
      for (let round = 0; round < 20 && !failed; round++) {
        guest.write(encodeFrameParts({ type: 'send', id: round + 1, handle: 1, noReply: true, data: new Uint8Array(Math.floor(r() * 5000)) }));
        // The hostile guest writes random words anywhere in the header, or random bytes in its ring.
        const w = new Uint32Array(region.buffer, 0, SHM_HEADER_BYTES / 4);
        if (r() < 0.5) w[Math.floor(r() * 80)] = Math.floor(r() * 0x100000000);
        else region[SHM_HEADER_BYTES + Math.floor(r() * RING)] = Math.floor(r() * 256);
        let guard = 0;
        while (host.receive((views) => {
          for (const v of views) {
            const { error } = dec.push(v.slice());
            if (error) throw error;
          }
        }, RING) > 0) assert.ok(++guard < 100, `seed ${seed}: the consumer never ran dry`);
        host.write([new Uint8Array(64)]);
        guest.receive(() => undefined, RING);
      }
    } catch (e) {
      failed = e as Error;
    }
    if (failed) assert.ok(failed instanceof RingCorruption || /malformed frame/.test(failed.message), `seed ${seed}: ${failed.message}`);
  }
});
