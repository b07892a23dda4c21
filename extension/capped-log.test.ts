import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CappedLog, oneLine } from './capped-log';

test('lines are cut to length with control characters made visible', () => {
  assert.equal(oneLine('a\nb', 10), 'a\\u000ab');
  assert.equal(oneLine('x'.repeat(20), 5), 'xxxxx… (20 characters)');
});

test('each kind is rate-limited per window; what was held back is said when the window ends', () => {
  let now = 0;
  const out: string[] = [];
  const log = new CappedLog((_l, m) => out.push(m), { perWindow: 2, windowMs: 1000, maxLineChars: 100, now: () => now });
  for (let i = 0; i < 10; i++) log.write('error', `bad ${i}`, 'bad');
  log.write('info', 'other kind', 'other');
  assert.deepEqual(out, ['bad 0', 'bad 1', 'other kind']);
  now = 1500;
  log.write('error', 'bad 10', 'bad');
  assert.deepEqual(out.slice(3), ["suppressed 8 more 'bad' messages", 'bad 10']);
});
