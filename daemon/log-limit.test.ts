// LogLimit: a burst of one kind costs perSecond lines plus one count; other kinds are not held back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogLimit } from './log-limit';
import type { Logger } from './log';

function recorder(): { log: Logger; lines: { level: string; msg: string; fields?: Record<string, unknown> }[] } {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, ...(fields ? { fields } : {}) });
  return { lines, log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

test('a burst is cut at perSecond lines and the rest is counted when the window turns', () => {
  const { log, lines } = recorder();
  let now = 0;
  const limit = new LogLimit(log, 3, () => now);
  for (let i = 0; i < 10_000; i++) limit.warn('malformed frame from guest', { i });
  limit.warn('other kind');
  assert.equal(lines.length, 4);
  now = 1500;
  limit.warn('malformed frame from guest', { i: -1 });
  assert.deepEqual(lines[4], { level: 'warn', msg: 'log lines suppressed', fields: { kind: 'malformed frame from guest', suppressed: 9997, seconds: 1.5 } });
  assert.equal(lines[5]?.msg, 'malformed frame from guest');
  limit.flush();
  assert.equal(lines.length, 6);
});

test('flush reports what is still suppressed', () => {
  const { log, lines } = recorder();
  const limit = new LogLimit(log, 1, () => 0);
  limit.error('x');
  limit.error('x');
  limit.flush();
  assert.deepEqual(lines.map((l) => l.msg), ['x', 'log lines suppressed']);
});
