import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INITIAL, step, classifyFailure, type ConnectionEvent, type Machine, type Effect } from './connection-state';

const dropped = { type: 'failed', failure: { kind: 'dropped', detail: 'closed' } } as const;
const refused = { type: 'failed', failure: { kind: 'unreachable', detail: 'ECONNREFUSED' } } as const;
const unauthorized = { type: 'failed', failure: { kind: 'unauthorized', detail: '401' } } as const;

/** Runs events from a machine, collecting the effects; delays count up 100, 200, ... */
function run(events: ConnectionEvent[], from: Machine = INITIAL) {
  let m = from;
  let delay = 0;
  const effects: Effect[][] = [];
  for (const e of events) {
    const r = step(m, e, () => (delay += 100));
    m = r.machine;
    effects.push(r.effects);
  }
  return { m, effects };
}
const types = (es: Effect[]) => es.map((e) => e.type);

test('connect, open: connected; the backoff resets only once the session proves healthy', () => {
  const { m, effects } = run([{ type: 'connect' }, { type: 'opened' }, { type: 'healthy' }]);
  assert.equal(m.state, 'connected');
  assert.deepEqual(types(effects[0]!), ['open']);
  assert.deepEqual(types(effects[1]!), []);
  assert.deepEqual(types(effects[2]!), ['resetBackoff']);
  // A late health timer of a session already gone does nothing.
  assert.deepEqual(run([dropped, { type: 'healthy' }], m).effects[1], []);
});

test('a daemon that drops every session right after hello is redialled with growing delays', () => {
  const cycle: ConnectionEvent[] = [{ type: 'retryDue' }, { type: 'opened' }, dropped];
  const { effects } = run([{ type: 'connect' }, { type: 'opened' }, dropped, ...cycle, ...cycle, ...cycle]);
  const delays = effects.flat().filter((e) => e.type === 'scheduleRetry').map((e) => (e as { delayMs: number }).delayMs);
  assert.deepEqual(delays, [100, 200, 300, 400]);
  assert.ok(!effects.flat().some((e) => e.type === 'resetBackoff'));
});

test('a first connection that fails is reported and does not retry by itself', () => {
  const { m, effects } = run([{ type: 'connect' }, refused]);
  assert.equal(m.state, 'disconnected');
  assert.deepEqual(effects[1], [{ type: 'close' }, { type: 'report', failure: refused.failure, retrying: false }]);
});

test('a dropped connection reconnects with growing delays until it opens again', () => {
  const { m, effects } = run([{ type: 'connect' }, { type: 'opened' }, dropped, { type: 'retryDue' }, refused, { type: 'retryDue' }, { type: 'opened' }]);
  assert.equal(m.state, 'connected');
  assert.deepEqual(effects[2], [{ type: 'close' }, { type: 'scheduleRetry', delayMs: 100 }, { type: 'report', failure: dropped.failure, retrying: true }]);
  assert.deepEqual(types(effects[3]!), ['open']);
  // A failed retry schedules the next, longer wait and does not nag the user again.
  assert.deepEqual(effects[4], [{ type: 'close' }, { type: 'scheduleRetry', delayMs: 200 }]);
  assert.deepEqual(types(effects[6]!), []);
});

test('a refused token stops reconnecting: waiting cannot fix it', () => {
  const { m, effects } = run([{ type: 'connect' }, { type: 'opened' }, dropped, { type: 'retryDue' }, unauthorized]);
  assert.equal(m.state, 'disconnected');
  assert.deepEqual(types(effects[4]!), ['close', 'cancelRetry', 'report']);
  assert.equal((effects[4]![2] as { retrying: boolean }).retrying, false);
});

test('disconnect during a backoff cancels the timer; a late timer does nothing', () => {
  const { m, effects } = run([{ type: 'connect' }, { type: 'opened' }, dropped, { type: 'disconnect' }, { type: 'retryDue' }]);
  assert.equal(m.state, 'disconnected');
  assert.deepEqual(types(effects[3]!), ['cancelRetry', 'close']);
  assert.deepEqual(effects[4], []);
});

test('connect while waiting out a backoff tries at once; connect while connected does nothing', () => {
  const waiting = run([{ type: 'connect' }, { type: 'opened' }, dropped]).m;
  assert.deepEqual(types(run([{ type: 'connect' }], waiting).effects[0]!), ['cancelRetry', 'open']);
  const up = run([{ type: 'connect' }, { type: 'opened' }]).m;
  assert.deepEqual(run([{ type: 'connect' }], up).effects[0], []);
});

test('a retry timer that fires during an attempt does not open a second socket', () => {
  const attempting = run([{ type: 'connect' }, { type: 'opened' }, dropped, { type: 'retryDue' }]).m;
  assert.equal(attempting.attempting, true);
  assert.deepEqual(run([{ type: 'retryDue' }], attempting).effects[0], []);
});

test('failures are classified by what can fix them', () => {
  assert.equal(classifyFailure({ httpStatus: 401 }).kind, 'unauthorized');
  assert.equal(classifyFailure({ closeCode: 4401 }).kind, 'unauthorized');
  assert.equal(classifyFailure({ serverCode: 'unauthorized', message: 'bad token' }).detail, 'bad token');
  assert.equal(classifyFailure({ closeCode: 4406 }).kind, 'bad-version');
  assert.match(classifyFailure({ peerProtocol: 9 }).detail, /protocol 9/);
  assert.equal(classifyFailure({ httpStatus: 404 }).kind, 'bad-url');
  assert.equal(classifyFailure({ errorCode: 'ENOTFOUND' }).kind, 'bad-url');
  assert.equal(classifyFailure({ invalidUrl: true }).kind, 'bad-url');
  assert.equal(classifyFailure({ errorCode: 'ECONNREFUSED' }).kind, 'unreachable');
  assert.equal(classifyFailure({ closeCode: 1006 }).kind, 'dropped');
  assert.match(classifyFailure({ closeCode: 4408 }).detail, /too slowly/);
  assert.deepEqual(classifyFailure({ protocolError: 'a second hello', closeCode: 1000 }), { kind: 'protocol', detail: 'a second hello' });
});
