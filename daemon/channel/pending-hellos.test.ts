// PendingHellos: a peer over its cap loses its own oldest connection; over the total cap the oldest of all goes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PendingHellos } from './pending-hellos';

class Conn {
  evicted: string | null = null;
  constructor(readonly name: string) {}
  evict(reason: string): void {
    this.evicted = reason;
  }
}

test('a flooding peer pushes out only its own oldest connections', () => {
  const p = new PendingHellos<Conn>(2, 10);
  const other = new Conn('other');
  p.add(other, 'uid:1');
  const flood = Array.from({ length: 5 }, (_, i) => new Conn(`f${i}`));
  for (const c of flood) p.add(c, 'uid:2');
  assert.equal(other.evicted, null);
  assert.deepEqual(flood.map((c) => c.evicted !== null), [true, true, true, false, false]);
  assert.equal(p.size, 3);
});

test('over the total the oldest of all goes, and a removed connection is never evicted', () => {
  const p = new PendingHellos<Conn>(10, 2);
  const [a, b, c] = [new Conn('a'), new Conn('b'), new Conn('c')];
  p.add(a, 'x');
  p.add(b, 'y');
  p.remove(a);
  p.add(c, 'z');
  assert.equal(a.evicted, null);
  const d = new Conn('d');
  p.add(d, 'w');
  assert.match(b.evicted ?? '', /more than 2 connections waiting/);
  assert.equal(p.size, 2);
});
