import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProblemMemory } from './connection-problem';
import type { Failure } from './connection-state';

test('a failure shows until a session is up again; a later plain disconnect does not bring it back', () => {
  const m = new ProblemMemory();
  assert.equal(m.update('disconnected', null), null);
  const refused: Failure = { kind: 'unreachable', detail: 'nothing answers at this address (ECONNREFUSED)' };
  assert.equal(m.update('disconnected', refused), refused);
  assert.equal(m.update('connecting', refused), refused);
  assert.equal(m.update('connected', refused), null);
  assert.equal(m.update('disconnected', refused), null, 'the old failure came back after a clean session');
  const silent: Failure = { kind: 'protocol', detail: 'the daemon went silent' };
  assert.equal(m.update('reconnecting', silent), silent);
  assert.equal(m.update('reconnecting', silent), silent);
  assert.equal(m.update('disconnected', silent), silent);
});
