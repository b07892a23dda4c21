import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCount } from './format';

test('counts shorten by thousands', () => {
  assert.deepEqual([0, 999, 1234, 56_789, 1_234_567, 45_000_000].map(formatCount), ['0', '999', '1.2k', '57k', '1.23M', '45.0M']);
});
