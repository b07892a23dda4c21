import { UNLIMITED_FDS } from '../fd-budget';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SocketInfo } from '../../protocol';
import type { HostHandle } from '../sockets/host-handle';
import { HandleTable } from './handle-table';

/** A host socket that only records what the table did to it. */
function fake(handle: number, log: string[]): HostHandle {
  const said = (what: string) => () => void log.push(`${what} ${handle}`);
  const info = (): SocketInfo => ({ handle, kind: 'tcp', state: 'test', local: null, remote: null, bytesIn: 0, bytesOut: 0 });
  const none = (): void => undefined;
  return {
    handle, kind: 'tcp', info, close: said('close'), destroy: said('destroy'), resume: said('resume'), credit: none,
    connect: none, bind: none, listen: none, send: none, sendto: none, shutdown: none, setsockopt: none, getsockopt: none, getsockname: none, getpeername: none,
  };
}

describe('a guest\'s handle table', () => {
  it('hands out handles from 1 up to maxSockets, lingering sockets counted, and frees them on close', () => {
    const log: string[] = [];
    const t = new HandleTable(2, UNLIMITED_FDS());
    const a = t.adopt((h) => fake(h, log));
    const b = t.adopt((h) => fake(h, log));
    assert.deepEqual([a?.handle, b?.handle], [1, 2]);
    assert.equal(t.adopt((h) => fake(h, log)), null, 'a third socket over maxSockets 2');
    const gone = t.linger(a as HostHandle);
    t.close(1);
    assert.deepEqual(log, ['close 1']);
    assert.equal(t.get(1), undefined, 'a closed handle still named a socket');
    assert.equal(t.count, 2, 'the lingering socket stopped counting before its data was out');
    assert.equal(t.adopt((h) => fake(h, log)), null);
    gone();
    assert.equal(t.adopt((h) => fake(h, log))?.handle, 3, 'handles are not reused');
  });

  it('wakes whoever waits for a free handle, one per freed handle, in order', () => {
    const t = new HandleTable(1, UNLIMITED_FDS());
    t.adopt((h) => fake(h, []));
    const woken: string[] = [];
    t.whenFree(() => woken.push('first'));
    t.whenFree(() => woken.push('second'));
    t.forget(42); // not a handle of this guest: frees nothing
    assert.deepEqual(woken, []);
    t.forget(1);
    assert.deepEqual(woken, ['first']);
  });

  it('destroys a socket that replaces a handle closed meanwhile, and everything at the end', () => {
    const log: string[] = [];
    const t = new HandleTable(8, UNLIMITED_FDS());
    t.adopt((h) => fake(h, log));
    t.adopt((h) => fake(h, log));
    t.replace(fake(1, log)); // a connect that finished: takes the handle's place
    t.close(2);
    t.replace(fake(2, log)); // a listen that finished after the guest closed the handle
    assert.deepEqual(log, ['close 2', 'destroy 2']);
    t.linger(fake(9, log));
    assert.equal(t.destroyAll(), 2);
    assert.deepEqual(log.slice(2).sort(), ['destroy 1', 'destroy 9']);
    assert.equal(t.count, 0);
  });

  it('a passed descriptor goes back to the budget at once; its handle stays counted until the guest closes it', () => {
    const fds = UNLIMITED_FDS();
    const t = new HandleTable(8, fds);
    const a = t.adopt((h) => fake(h, [])) as HostHandle;
    t.adopt((h) => fake(h, []));
    assert.equal(fds.inUse, 2);
    t.descriptorPassed(a);
    t.descriptorPassed(a); // once only
    assert.equal(fds.inUse, 1, 'the daemon closed its copy: one descriptor back');
    assert.equal(t.count, 2, 'the passed socket still counts against the guest');
    t.close(a.handle);
    assert.equal(fds.inUse, 1, 'closing the passed handle gave its descriptor back a second time');
    assert.equal(t.count, 1);
    const b = t.adopt((h) => fake(h, [])) as HostHandle;
    t.descriptorPassed(b);
    t.forget(b.handle);
    assert.equal(fds.inUse, 1, 'a passed socket that went away on its own gave its descriptor back twice');
    const c = t.adopt((h) => fake(h, [])) as HostHandle;
    t.descriptorPassed(c);
    assert.equal(t.destroyAll(), 2);
    assert.equal(fds.inUse, 0, 'destroying every socket gives back only the descriptors still held');
  });
});
